//! `connect [--keystore FILE [--force]]`: generate the identity or retrieve it, whichever
//! the node calls for (see [`xmtp_ledger::session::Session::connect`]).

use std::path::Path;

use super::args::GlobalArgs;
use super::connect::{check_v2_publish, connect};
use super::context::open_signer;
use super::error::{CliError, session_error};
use super::files::check_output_file;
use super::identity_output::{IdentityOutput, OutcomeOutput};
use super::keystore_file;
use super::progress::FlowProgress;
use super::ui::Ui;
use xmtp_ledger::session::{ConnectOutcome, Session};
use xmtp_ledger::signer::Signer;

/// Runs `connect`.
pub fn run(
    global: &GlobalArgs,
    ui: &Ui,
    keystore: Option<&Path>,
    force: bool,
) -> Result<(), CliError> {
    check_v2_publish(global)?;
    if let Some(path) = keystore {
        // Before the device is asked anything: a path that cannot be written fails now.
        check_output_file(path, force)?;
    }
    let signer = open_signer(global, ui)?;
    let wallet = signer.address();
    let hd_path = signer.path().to_string();
    ui.status(format!("account {wallet} ({hd_path})"));

    let connection = connect(global, ui)?;
    let session = Session::new(&signer, connection.client());
    // The session's own count of approvals, plus one for the keystore.
    let extra = usize::from(keystore.is_some());
    let mut progress = FlowProgress::new(ui)
        .with_extra(extra)
        .with_node(connection.name());
    let connected = session
        .connect(&mut |e| progress.on(e))
        .map_err(|e| session_error(e, &connection))?;
    progress.finish(connection, &connected.published)?;

    if let Some(path) = keystore {
        let flow_approvals = match connected.outcome {
            ConnectOutcome::Created => 2,
            ConnectOutcome::Retrieved | ConnectOutcome::Completed => 1,
        };
        keystore_file::save(
            ui,
            &signer,
            &connected.identity.bundle,
            path,
            force,
            flow_approvals + 1,
        )?;
    }

    let headline = match connected.outcome {
        ConnectOutcome::Created => "XMTP identity created and published",
        ConnectOutcome::Retrieved => "XMTP identity retrieved",
        ConnectOutcome::Completed => "XMTP identity completed and published",
    };
    OutcomeOutput {
        outcome: connected.outcome.as_str(),
        identity: IdentityOutput::new(&wallet, hd_path, &connected.identity.bundle),
    }
    .print(ui, headline);
    Ok(())
}
