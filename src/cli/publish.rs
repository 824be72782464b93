//! `publish DIR`: publish what `init --out DIR` wrote. The device opens the private
//! bundle once (1 signature) so that the contacts can be checked against it and the
//! publish can be authenticated with a fresh token.

use std::path::Path;

use super::args::GlobalArgs;
use super::connect::{check_v2_publish, connect};
use super::context::{chosen_derivation_path, open_signer_at};
use super::error::{CliError, session_error};
use super::identity_output::IdentityOutput;
use super::out_dir;
use super::progress::FlowProgress;
use super::ui::Ui;
use xmtp_ledger::device::{DerivationPath, DeviceError};
use xmtp_ledger::identity::Address;
use xmtp_ledger::session::{PublishOptions, Session, SessionError, check_prepared_fits};
use xmtp_ledger::signer::Signer;

/// Runs `publish`. Everything that can be checked is checked before the device is asked:
/// the files decode and their contacts verify for the account `identity.json` names, the
/// account flags (if any) name that same account, and the node holds no other identity
/// for it (unless `force`).
pub fn run(global: &GlobalArgs, ui: &Ui, dir: &Path, force: bool) -> Result<(), CliError> {
    check_v2_publish(global)?;
    let prepared = out_dir::read(dir)?;
    let description = out_dir::read_description(dir)?;
    let wallet: Address = description.address.parse().map_err(|e| {
        CliError::Usage(format!(
            "{}: bad address in identity.json: {e}",
            dir.display()
        ))
    })?;
    let path: DerivationPath = description.hd_path.parse().map_err(|e| {
        CliError::Usage(format!(
            "{}: bad hd_path in identity.json: {e}",
            dir.display()
        ))
    })?;
    if let Some(chosen) = chosen_derivation_path(global)?
        && chosen != path
    {
        return Err(CliError::Usage(format!(
            "{} was prepared for {wallet} at {path}, but the account flags name {chosen}: \
             drop them (publish reads the account from identity.json)",
            dir.display()
        )));
    }
    let mismatch = |e: SessionError<DeviceError>| match e {
        SessionError::PreparedMismatch => CliError::Verification(format!(
            "the contact bundles in {} do not match its private store: refusing to publish",
            dir.display()
        )),
        SessionError::PreparedWallet { expected, found } => CliError::Verification(format!(
            "the contact bundles in {} were signed by {found}, but its identity.json names \
             {expected}: refusing to publish",
            dir.display()
        )),
        SessionError::Flow(e) => e.into(),
        other => CliError::Verification(other.to_string()),
    };
    prepared.verify_offline(&wallet).map_err(mismatch)?;
    ui.status(format!(
        "account {wallet} ({path}), from {}",
        dir.join(out_dir::IDENTITY_JSON).display()
    ));

    let connection = connect(global, ui)?;
    let options = PublishOptions { force };
    check_prepared_fits(connection.client(), &wallet, &prepared, options)
        .map_err(|e| session_error(e, &connection))?;

    let signer = open_signer_at(global, ui, path)?;
    if signer.address() != wallet {
        return Err(CliError::Verification(format!(
            "the device's account at {} is {}, but {} was prepared for {wallet}: is this the \
             device (and passphrase) that made it?",
            signer.path(),
            signer.address(),
            dir.display()
        )));
    }
    let session = Session::new(&signer, connection.client());
    let mut progress = FlowProgress::new(ui).with_node(connection.name());
    let published = session
        .publish_prepared(&prepared, options, &mut |e| progress.on(e))
        .map_err(|e| match e {
            e @ (SessionError::PreparedMismatch | SessionError::PreparedWallet { .. }) => {
                mismatch(e)
            }
            other => session_error(other, &connection),
        })?;
    progress.finish(connection, &published.published)?;

    let output = IdentityOutput::new(&wallet, signer.path().to_string(), &published.bundle);
    ui.result(&output, || output.human("XMTP identity published"));
    Ok(())
}
