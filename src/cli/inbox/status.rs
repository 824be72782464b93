//! `inbox status [ADDRESS | --inbox-id ID]`: an inbox's whole log, fetched and verified.

use super::super::args::GlobalArgs;
use super::super::connect::connect;
use super::super::context::open_signer;
use super::super::error::CliError;
use super::super::ui::Ui;
use super::error::inbox_error;
use super::output::InboxState;
use super::{parse_address, parse_inbox_id};
use xmtp_ledger::device::DeviceError;
use xmtp_ledger::session::inbox::{address_status, inbox_status};
use xmtp_ledger::signer::Signer;

/// What `inbox status` looks up.
enum Subject {
    Address(xmtp_ledger::identity::Address),
    Inbox(xmtp_ledger::v3::InboxId),
}

/// Prints the verified state of ADDRESS's inbox (the device account's without one), or of
/// `--inbox-id`; exit 4 when there is none or its log does not verify.
pub fn run(
    global: &GlobalArgs,
    ui: &Ui,
    address: Option<&str>,
    inbox_id: Option<&str>,
) -> Result<(), CliError> {
    // What to look up is known before the node is reached: a bad argument fails first.
    let subject = match (address, inbox_id) {
        (_, Some(text)) => Subject::Inbox(parse_inbox_id(text)?),
        (Some(text), None) => Subject::Address(parse_address(text)?),
        (None, None) => Subject::Address(open_signer(global, ui)?.address()),
    };
    let connection = connect(global, ui)?;
    let client = connection.client().identity();
    let status = match &subject {
        Subject::Inbox(inbox_id) => inbox_status::<DeviceError>(&client, inbox_id),
        Subject::Address(address) => address_status::<DeviceError>(&client, address),
    }
    .map_err(|e| inbox_error(e, Some(&connection)));
    let node = connection.name();
    connection.shutdown()?;
    let status = status?;
    let output = InboxState::new(&status.state);
    for warning in output.limit_warnings() {
        ui.warn(warning);
    }
    ui.result(&output, || {
        format!(
            "{}\n  node              {node} (the whole log verified)",
            output.human()
        )
    });
    Ok(())
}
