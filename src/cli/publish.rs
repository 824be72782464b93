//! `publish DIR`: publish what `init --out DIR` wrote. The device opens the private
//! bundle once (1 signature) so that the contacts can be checked against it and the
//! publish can be authenticated with a fresh token.

use std::path::Path;

use super::args::GlobalArgs;
use super::connect::connect;
use super::context::open_signer;
use super::error::{CliError, session_error};
use super::identity_output::IdentityOutput;
use super::out_dir;
use super::progress::{FlowProgress, report_published};
use super::ui::Ui;
use xmtp_ledger::session::{PublishOptions, Session, SessionError};
use xmtp_ledger::signer::Signer;

/// Runs `publish`.
pub fn run(global: &GlobalArgs, ui: &Ui, dir: &Path, force: bool) -> Result<(), CliError> {
    let prepared = out_dir::read(dir)?;
    let signer = open_signer(global, ui)?;
    let wallet = signer.address();

    let connection = connect(global, ui)?;
    let session = Session::new(&signer, connection.client());
    let mut progress = FlowProgress::new(ui).with_node(connection.name());
    let published = session
        .publish_prepared(&prepared, PublishOptions { force }, &mut |e| progress.on(e))
        .map_err(|e| match e {
            SessionError::PreparedMismatch => CliError::Verification(format!(
                "the contact bundles in {} do not match its private store: refusing to publish",
                dir.display()
            )),
            other => session_error(other, &connection),
        })?;
    progress.done();
    report_published(ui, &connection.name(), &published.published);
    connection.shutdown()?;

    let output = IdentityOutput::new(&wallet, signer.path().to_string(), &published.bundle);
    ui.result(&output, || output.human("XMTP identity published"));
    Ok(())
}
