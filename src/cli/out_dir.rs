//! The directory `init --out DIR` writes and `publish DIR` reads: everything needed to
//! publish an identity later, nothing in clear that is secret.
//!
//! - `private-store.bin`: the `EncryptedPrivateKeyBundle` (opens only with the device)
//! - `contact-v1.bin`, `contact-v2.bin`: the public contact bundles
//! - `identity.json`: the public description (address, path, keys, topics)

use std::path::{Path, PathBuf};

use super::error::CliError;
use super::files::{check_output_file, create_private_dir, write_private};
use super::identity_output::IdentityOutput;
use xmtp_ledger::flow::SealedIdentity;
use xmtp_ledger::session::PreparedIdentity;

/// File names inside the directory.
pub const PRIVATE_STORE: &str = "private-store.bin";
/// The v1 contact bundle.
pub const CONTACT_V1: &str = "contact-v1.bin";
/// The v2 contact bundle.
pub const CONTACT_V2: &str = "contact-v2.bin";
/// The public description.
pub const IDENTITY_JSON: &str = "identity.json";

const MAX_FILE_BYTES: u64 = 1 << 20;

/// Fails early (before the device is asked anything) unless every file can be written:
/// `dir` is a real directory (or can be created), and none of the files exists unless
/// `force` (a planted symlink counts as existing).
pub fn check_writable(dir: &Path, force: bool) -> Result<(), CliError> {
    if let Ok(meta) = std::fs::symlink_metadata(dir)
        && (meta.file_type().is_symlink() || !meta.is_dir())
    {
        return Err(CliError::Usage(format!(
            "{} is not a directory (a symlink is refused: give the real directory)",
            dir.display()
        )));
    }
    if !force && std::fs::symlink_metadata(dir.join(PRIVATE_STORE)).is_ok() {
        return Err(CliError::Usage(format!(
            "{} already holds an identity (add --force to replace it)",
            dir.display()
        )));
    }
    for name in FILES {
        check_output_file(&dir.join(name), force)?;
    }
    Ok(())
}

/// Every file the directory holds.
const FILES: [&str; 4] = [CONTACT_V1, CONTACT_V2, IDENTITY_JSON, PRIVATE_STORE];

/// Writes the identity's files (0600, each atomically) into `dir` (0700), replacing
/// existing ones only with `force`. The private store goes last: a run that fails midway
/// over an older identity leaves that identity's private store, which `publish` then
/// refuses to pair with the newer contacts.
pub fn write(
    dir: &Path,
    identity: &SealedIdentity,
    hd_path: &str,
    force: bool,
) -> Result<(), CliError> {
    create_private_dir(dir)?;
    let description = IdentityOutput::new(&identity.wallet, hd_path.to_owned(), &identity.bundle);
    let json = serde_json::to_vec_pretty(&description)
        .map_err(|e| CliError::Usage(format!("encoding identity.json: {e}")))?;
    write_private(&dir.join(CONTACT_V1), identity.contact_v1(), force)?;
    write_private(&dir.join(CONTACT_V2), identity.contact_v2(), force)?;
    write_private(&dir.join(IDENTITY_JSON), &json, force)?;
    write_private(
        &dir.join(PRIVATE_STORE),
        &identity.encrypted_bundle.encode(),
        force,
    )
}

/// The part of `identity.json` that `publish` needs: which account the identity is for.
#[derive(Debug, serde::Deserialize)]
pub struct Description {
    /// The wallet, EIP-55.
    pub address: String,
    /// Its derivation path on the device.
    pub hd_path: String,
}

/// Reads `dir/identity.json`.
pub fn read_description(dir: &Path) -> Result<Description, CliError> {
    let path = dir.join(IDENTITY_JSON);
    let bytes = super::input::read_input(&path, MAX_FILE_BYTES).map_err(CliError::io(format!(
        "reading {} (written by `init --out`?)",
        path.display()
    )))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        CliError::Usage(format!(
            "{} is not what `init --out` writes: {e}",
            path.display()
        ))
    })
}

/// Reads the identity files from `dir`.
pub fn read(dir: &Path) -> Result<PreparedIdentity, CliError> {
    let read = |name: &str| -> Result<Vec<u8>, CliError> {
        let path: PathBuf = dir.join(name);
        super::input::read_input(&path, MAX_FILE_BYTES).map_err(CliError::io(format!(
            "reading {} (written by `init --out`?)",
            path.display()
        )))
    };
    Ok(PreparedIdentity {
        private_store: read(PRIVATE_STORE)?,
        contact_v1: read(CONTACT_V1)?,
        contact_v2: read(CONTACT_V2)?,
    })
}
