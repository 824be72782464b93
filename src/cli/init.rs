//! `init [--force] [--out DIR]`: create the identity on the device, then publish it.

use std::path::Path;

use super::args::GlobalArgs;
use super::connect::{check_v2_publish, connect};
use super::context::open_signer;
use super::error::{CliError, session_error};
use super::identity_output::IdentityOutput;
use super::out_dir;
use super::progress::FlowProgress;
use super::ui::Ui;
use xmtp_ledger::flow::generate_identity;
use xmtp_ledger::session::{InitOptions, InitOutcome, Session};
use xmtp_ledger::signer::Signer;

/// Runs `init`.
pub fn run(global: &GlobalArgs, ui: &Ui, force: bool, out: Option<&Path>) -> Result<(), CliError> {
    if out.is_none() {
        // `--out` stays offline and may be published elsewhere later.
        check_v2_publish(global)?;
    }
    if let Some(dir) = out {
        // Before the device is asked anything: a path that cannot be written fails now.
        out_dir::check_writable(dir, force)?;
    }
    let signer = open_signer(global, ui)?;
    let wallet = signer.address();
    let hd_path = signer.path().to_string();
    ui.status(format!("account {wallet} ({hd_path})"));

    if let Some(dir) = out {
        // Offline: nothing touches the network; `publish DIR` does the checks later.
        let mut progress = FlowProgress::new(ui);
        let identity = generate_identity(&signer, &mut |p| progress.announce(p))?;
        progress.done();
        out_dir::write(dir, &identity, &hd_path, force)?;
        let output = IdentityOutput::new(&wallet, hd_path, &identity.bundle);
        ui.result(&output, || {
            output.human(&format!(
                "XMTP identity created and written to {} (not published: run `xmtp-ledger publish {}`)",
                dir.display(),
                dir.display()
            ))
        });
        return Ok(());
    }

    let connection = connect(global, ui)?;
    let session = Session::new(&signer, connection.client());
    let mut progress = FlowProgress::new(ui).with_node(connection.name());
    let initialized = session
        .init(InitOptions { force }, &mut |e| progress.on(e))
        .map_err(|e| session_error(e, &connection))?;
    progress.finish(connection, &initialized.published)?;

    let headline = match initialized.outcome {
        InitOutcome::Completed => "XMTP identity completed and published",
        InitOutcome::Created | InitOutcome::Replaced => "XMTP identity created and published",
    };
    let output = IdentityOutput::new(&wallet, hd_path, &initialized.bundle);
    ui.result(&output, || output.human(headline));
    Ok(())
}
