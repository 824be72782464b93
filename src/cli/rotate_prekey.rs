//! `rotate-prekey`: a new current pre-key for the account's identity (see
//! [`xmtp_ledger::session::Session::rotate_pre_key`]).

use super::args::GlobalArgs;
use super::connect::{check_v2_publish, connect};
use super::context::open_signer;
use super::error::{CliError, session_error};
use super::identity_output::{IdentityOutput, OutcomeOutput};
use super::progress::FlowProgress;
use super::ui::Ui;
use xmtp_ledger::session::{RotateOutcome, Session};
use xmtp_ledger::signer::Signer;

/// Runs `rotate-prekey`.
pub fn run(global: &GlobalArgs, ui: &Ui) -> Result<(), CliError> {
    check_v2_publish(global)?;
    let signer = open_signer(global, ui)?;
    let wallet = signer.address();
    let hd_path = signer.path().to_string();
    ui.status(format!("account {wallet} ({hd_path})"));

    let connection = connect(global, ui)?;
    let session = Session::new(&signer, connection.client());
    let mut progress = FlowProgress::new(ui).with_node(connection.name());
    let rotated = session
        .rotate_pre_key(&mut |e| progress.on(e))
        .map_err(|e| session_error(e, &connection))?;
    progress.finish(connection, &rotated.published)?;

    let headline = match rotated.outcome {
        RotateOutcome::Rotated => "XMTP pre-key rotated and published",
        RotateOutcome::Completed => "XMTP pre-key rotation completed and published",
    };
    OutcomeOutput {
        outcome: rotated.outcome.as_str(),
        identity: IdentityOutput::new(&wallet, hd_path, &rotated.identity.bundle),
    }
    .print(ui, headline);
    Ok(())
}
