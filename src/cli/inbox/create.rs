//! `inbox create [--nonce N | --from-v2]`: the account creates its inbox.

use serde::Serialize;

use super::super::args::GlobalArgs;
use super::super::connect::connect;
use super::super::context::open_signer;
use super::super::error::CliError;
use super::super::progress::FlowProgress;
use super::super::ui::Ui;
use super::error::inbox_error;
use super::output::published_note;
use xmtp_ledger::session::inbox::InboxSession;

#[derive(Serialize)]
struct CreateOutput {
    address: String,
    nonce: u64,
    inbox_id: String,
}

/// Creates the account's inbox: one approval (of the update, or with `--from-v2` of the
/// Enable Identity text that opens the v2 keys).
pub fn run(global: &GlobalArgs, ui: &Ui, nonce: u64, from_v2: bool) -> Result<(), CliError> {
    if from_v2 && nonce != 0 {
        return Err(CliError::Usage(
            "--from-v2 creates the nonce-0 inbox only (the v2 key may sign for no other)".into(),
        ));
    }
    let signer = open_signer(global, ui)?;
    let connection = connect(global, ui)?;
    let mut progress = FlowProgress::new(ui).with_node(connection.name());
    let session = InboxSession::new(&signer, connection.client().identity());
    if from_v2 {
        ui.warn(
            "--from-v2: the v2 identity key creates this inbox on the wallet's behalf; the network \
             accepts that once, ever, for this wallet",
        );
    }
    let created = if from_v2 {
        session.create_from_v2(connection.client(), &mut |e| progress.on(e))
    } else {
        session.create(nonce, &mut |e| progress.on(e))
    }
    .map_err(|e| inbox_error(e, Some(&connection)));
    if created.is_ok() {
        // Only now is the pending approval known to be given (and its signature good).
        progress.done();
    }
    let node = connection.name();
    connection.shutdown()?;
    let created = created?;
    ui.status(format!("✔ {} ({node})", published_note(created.published)));
    let output = CreateOutput {
        address: created.address.to_string(),
        nonce: created.nonce,
        inbox_id: created.inbox_id.to_string(),
    };
    ui.result(&output, || {
        format!(
            "XMTP inbox created\n  inbox id          {}\n  owner, recovery   {}\n  nonce             {}",
            output.inbox_id, output.address, output.nonce
        )
    });
    Ok(())
}
