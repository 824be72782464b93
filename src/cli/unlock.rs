//! `unlock [--from-file FILE [--check-node]] [--keystore FILE]`: retrieve and decrypt the
//! identity.

use std::path::Path;

use super::args::GlobalArgs;
use super::connect::{check_v2_publish, connect};
use super::context::open_signer;
use super::error::{CliError, session_error};
use super::files::check_output_file;
use super::identity_output::IdentityOutput;
use super::input::{decode_flexible, read_input};
use super::keystore_file;
use super::progress::FlowProgress;
use super::ui::Ui;
use xmtp_ledger::flow::unlock_identity;
use xmtp_ledger::identity::{Address, PrivateKeyBundleV1, fingerprint};
use xmtp_ledger::session::{Session, find_identity};
use xmtp_ledger::signer::Signer;

const MAX_BUNDLE_BYTES: u64 = 1 << 20;

/// Runs `unlock`. `from_file` is the file to decrypt offline, and whether to check it
/// against the node afterwards.
pub fn run(
    global: &GlobalArgs,
    ui: &Ui,
    from_file: Option<(&Path, bool)>,
    keystore: Option<&Path>,
    force: bool,
) -> Result<(), CliError> {
    if from_file.is_none() {
        // Unlocking from the node republishes the contact bundles where they are missing.
        check_v2_publish(global)?;
    }
    if let Some(path) = keystore {
        // Before the device is asked anything: a path that cannot be written fails now.
        check_output_file(path, force)?;
    }
    let signer = open_signer(global, ui)?;
    let wallet = signer.address();
    // The unlock's approval, plus one for the keystore.
    let mut progress = FlowProgress::new(ui).with_extra(usize::from(keystore.is_some()));

    let unlocked = if let Some((file, check_node)) = from_file {
        // Offline: decrypt a bundle from a file; nothing is fetched or published.
        let raw = read_input(file, MAX_BUNDLE_BYTES)
            .map_err(CliError::io(format!("reading {}", file.display())))?;
        let encrypted = decode_flexible(raw).bytes;
        let unlocked = unlock_identity(&signer, &encrypted, &mut |p| progress.announce(p))?;
        progress.done();
        if check_node {
            warn_if_not_newest(global, ui, &wallet, &unlocked.bundle)?;
        }
        unlocked
    } else {
        let connection = connect(global, ui)?;
        progress = progress.with_node(connection.name());
        let session = Session::new(&signer, connection.client());
        let unlocked = session
            .unlock(&mut |e| progress.on(e))
            .map_err(|e| session_error(e, &connection))?;
        progress.finish(connection, &unlocked.published)?;
        unlocked.identity
    };

    if let Some(path) = keystore {
        keystore_file::save(ui, &signer, &unlocked.bundle, path, force, 2)?;
    }

    let output = IdentityOutput::new(&wallet, signer.path().to_string(), &unlocked.bundle);
    ui.result(&output, || output.human("XMTP identity unlocked"));
    Ok(())
}

/// Warns when the node's newest valid identity of the account is not the one decrypted:
/// messages sent to the account now reach other keys.
fn warn_if_not_newest(
    global: &GlobalArgs,
    ui: &Ui,
    wallet: &Address,
    bundle: &PrivateKeyBundleV1,
) -> Result<(), CliError> {
    let connection = connect(global, ui)?;
    let found = find_identity(connection.client(), wallet)?;
    let node = connection.name();
    connection.shutdown()?;
    let decrypted = bundle.identity_key().public_key().point();
    match found.contact {
        Some((_, current)) if current.identity_public_key == *decrypted => {
            ui.status(format!("this is the newest identity of {wallet} on {node}"));
        }
        Some((_, current)) => ui.warn(format!(
            "the identity decrypted ({}) is no longer the newest of {wallet} on {node}: \
             clients now use {}; messages sent since reach that one, not these keys",
            fingerprint(decrypted),
            fingerprint(&current.identity_public_key)
        )),
        None => ui.warn(format!(
            "{node} has no valid identity of {wallet}: nobody can reach these keys there \
             until they are published"
        )),
    }
    Ok(())
}
