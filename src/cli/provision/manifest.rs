//! The record of a `provision` run: which accounts it covered, what each ended as, and
//! against which node (or into which directory). Written atomically (0600) after every
//! account, so a run cut off at any point leaves a manifest the next run resumes from.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cli::error::CliError;
use crate::cli::files::{read_small_regular_file, write_private};
use crate::cli::time::now_rfc3339;

/// `kind` of a manifest, so another JSON file is not mistaken for one.
pub const MANIFEST_KIND: &str = "xmtp-ledger-provision-manifest";
/// The manifest format this version writes and reads.
pub const MANIFEST_VERSION: u32 = 1;
/// The largest manifest read (10,000 accounts fit easily).
const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

/// How an account's provisioning ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new identity was made (and published, unless the run is offline).
    Created,
    /// The node already held a valid identity: nothing was signed.
    Existing,
    /// The node held a private store without contact bundles: completed with the same keys.
    Completed,
    /// See the entry's `error`.
    Failed,
}

impl Outcome {
    /// Whether the account is done: a re-run skips it.
    pub fn is_done(self) -> bool {
        self != Self::Failed
    }
}

/// Why an account failed: the error code a `--json` error document would carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The stable code (`rejected`, `verification_failed`, …).
    pub code: String,
    /// What happened, for a person.
    pub message: String,
}

impl Failure {
    /// What `error` records: its `--json` code and its message.
    pub fn of(error: &CliError) -> Self {
        Self {
            code: error.name().into(),
            message: error.to_string(),
        }
    }
}

/// One account of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEntry {
    /// Position in the run's list of accounts, from 0.
    pub index: usize,
    /// The derivation path, as the device takes it.
    pub hd_path: String,
    /// The account's address (EIP-55), once the device gave it.
    pub address: Option<String>,
    /// The identity key (hex of the uncompressed point) the account ended with.
    pub identity_public_key: Option<String>,
    /// Its fingerprint.
    pub fingerprint: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// For `--force`: the identity key the new one replaced.
    pub replaced_identity_public_key: Option<String>,
    /// Device approvals this account took in this run.
    pub approvals: usize,
    /// When it ended (RFC 3339, UTC).
    pub time: String,
    /// Why it failed, for `failed`.
    pub error: Option<Failure>,
}

/// The manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_KIND`].
    pub kind: String,
    /// Always [`MANIFEST_VERSION`].
    pub version: u32,
    /// The tool version that last wrote it.
    pub tool_version: String,
    /// The node the identities were published to; `null` for an offline (`--out`) run.
    pub node: Option<String>,
    /// When the first run of this manifest started (RFC 3339, UTC).
    pub started_at: String,
    /// When it was last written.
    pub updated_at: String,
    /// Every account handled so far, in the order of the run.
    pub accounts: Vec<AccountEntry>,
}

impl Manifest {
    /// An empty manifest for a run against `node` (`None` offline).
    pub fn new(node: Option<String>) -> Self {
        let now = now_rfc3339();
        Self {
            kind: MANIFEST_KIND.into(),
            version: MANIFEST_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            node,
            started_at: now.clone(),
            updated_at: now,
            accounts: Vec::new(),
        }
    }

    /// Reads `path`, or `None` if nothing is there.
    pub fn load(path: &Path) -> Result<Option<Self>, CliError> {
        if std::fs::symlink_metadata(path).is_err() {
            return Ok(None);
        }
        let bytes = read_small_regular_file(path, MAX_MANIFEST_BYTES)?;
        let manifest: Self = serde_json::from_slice(&bytes).map_err(|e| {
            CliError::Usage(format!(
                "{} is not a provision manifest: {e}",
                path.display()
            ))
        })?;
        if manifest.kind != MANIFEST_KIND || manifest.version != MANIFEST_VERSION {
            return Err(CliError::Usage(format!(
                "{} is not a version {MANIFEST_VERSION} provision manifest ({} {})",
                path.display(),
                manifest.kind,
                manifest.version
            )));
        }
        Ok(Some(manifest))
    }

    /// The entry of the account at `hd_path`, if the manifest has one.
    pub fn entry(&self, hd_path: &str) -> Option<&AccountEntry> {
        self.accounts.iter().find(|entry| entry.hd_path == hd_path)
    }

    /// Records `entry`, replacing the account's earlier entry, and writes the manifest.
    pub fn record(&mut self, path: &Path, entry: AccountEntry) -> Result<(), CliError> {
        match self
            .accounts
            .iter_mut()
            .find(|existing| existing.hd_path == entry.hd_path)
        {
            Some(existing) => *existing = entry,
            None => self.accounts.push(entry),
        }
        self.save(path)
    }

    /// Writes the manifest to `path`, atomically, 0600.
    pub fn save(&mut self, path: &Path) -> Result<(), CliError> {
        self.updated_at = now_rfc3339();
        self.tool_version = env!("CARGO_PKG_VERSION").into();
        let mut json = serde_json::to_vec_pretty(self)
            .map_err(|e| CliError::Usage(format!("encoding the manifest: {e}")))?;
        json.push(b'\n');
        write_private(path, &json, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AccountEntry {
        AccountEntry {
            index: 0,
            hd_path: "m/44'/60'/0'/0/0".into(),
            address: None,
            identity_public_key: None,
            fingerprint: None,
            outcome: Outcome::Failed,
            replaced_identity_public_key: None,
            approvals: 0,
            time: now_rfc3339(),
            error: Some(Failure {
                code: "rejected".into(),
                message: "no".into(),
            }),
        }
    }

    #[test]
    fn what_is_not_a_manifest_is_refused_with_a_usage_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.json");
        assert!(Manifest::load(&path).expect("absent").is_none());

        let mut manifest = Manifest::new(Some("http://node".into()));
        manifest.record(&path, entry()).expect("write");
        assert_eq!(Manifest::load(&path).expect("read"), Some(manifest.clone()));

        let good = serde_json::to_value(&manifest).expect("json");
        let mut cases: Vec<Vec<u8>> = vec![
            b"\xff\x00 not json".to_vec(),
            b"{}".to_vec(),
            br#"{"accounts":[]}"#.to_vec(),
            vec![b'['; 100_000],
        ];
        for (key, value) in [
            ("kind", serde_json::json!("something-else")),
            ("version", serde_json::json!(2)),
            ("surprise", serde_json::json!(true)),
        ] {
            let mut bad = good.clone();
            bad[key] = value;
            cases.push(serde_json::to_vec(&bad).expect("json"));
        }
        for bytes in cases {
            std::fs::write(&path, &bytes).expect("write");
            assert!(
                matches!(Manifest::load(&path), Err(CliError::Usage(_))),
                "{}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(60)])
            );
        }

        // A directory where the manifest should be is refused, not read.
        let as_dir = dir.path().join("d");
        std::fs::create_dir(&as_dir).expect("dir");
        assert!(Manifest::load(&as_dir).is_err());
    }

    #[test]
    fn saving_replaces_a_planted_symlink_instead_of_writing_through_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("victim");
        std::fs::write(&target, b"untouched").expect("write");
        let path = dir.path().join("m.json");
        std::os::unix::fs::symlink(&target, &path).expect("symlink");
        Manifest::new(None).record(&path, entry()).expect("write");
        assert_eq!(std::fs::read(&target).expect("read"), b"untouched");
        let meta = std::fs::symlink_metadata(&path).expect("stat");
        assert!(meta.is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
}
