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

/// Prints the verified state of ADDRESS's inbox (the device account's without one), or of
/// `--inbox-id`; exit 4 when there is none or its log does not verify.
pub fn run(
    global: &GlobalArgs,
    ui: &Ui,
    address: Option<&str>,
    inbox_id: Option<&str>,
) -> Result<(), CliError> {
    let inbox_id = inbox_id.map(parse_inbox_id).transpose()?;
    let address = match (address, &inbox_id) {
        (Some(text), _) => Some(parse_address(text)?),
        (None, Some(_)) => None,
        (None, None) => Some(open_signer(global, ui)?.address()),
    };
    let connection = connect(global, ui)?;
    let client = connection.client().identity();
    let status = match (&inbox_id, address) {
        (Some(inbox_id), _) => inbox_status::<DeviceError>(&client, inbox_id),
        (None, Some(address)) => address_status::<DeviceError>(&client, &address),
        (None, None) => unreachable!("an address is read from the device without --inbox-id"),
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
