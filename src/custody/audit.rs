//! The audit log: one JSON object per line, each naming the SHA-256 of the line before it
//! (`prev`: lowercase hex of the previous line's bytes without its newline; 64 zeros on
//! the first line), so editing, removing or reordering any line breaks the chain at the
//! next one. [`AuditLog::append`] locks, chains, appends and syncs; [`verify_log`] checks a
//! whole file, seals included. A log holds no signature bytes but the seals' own (a seal
//! signs a public text): never an Enable Identity signature nor anything derived from it.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::identity::{Address, WalletSignature};

use super::text::seal_text;

/// The `prev` of the first line.
pub const GENESIS: [u8; 32] = [0; 32];

/// The longest line read or chained to. A record is at most a few KiB beyond its text,
/// and a text the Ethereum app signs is under 64 KiB.
pub const MAX_LINE_BYTES: usize = 256 * 1024;

/// What went wrong with an audit log file.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file could not be opened, locked, read, written or synced.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path is a symlink, a directory or some other non-file.
    #[error("{path} is not a regular file (a symlink is refused: give the real file)")]
    NotAFile {
        /// The file.
        path: PathBuf,
    },
    /// The file does not end with a whole line (a torn write, or an edit): appending
    /// would chain to a fragment.
    #[error("{path} does not end with a complete line: check it with `xmtp-ledger audit verify`")]
    Incomplete {
        /// The file.
        path: PathBuf,
    },
    /// The last line is longer than [`MAX_LINE_BYTES`].
    #[error("the last line of {path} is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong {
        /// The file.
        path: PathBuf,
    },
    /// The chain is broken (seal refuses to vouch for a broken log).
    #[error(transparent)]
    Broken(#[from] BrokenChain),
}

/// The device an entry was signed on, as far as it is known.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The Ledger model (`Nano S Plus`, …), when the transport knows it.
    pub device_model: Option<String>,
    /// The Ethereum app version.
    pub app_version: Option<String>,
}

/// One sign request and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureRecord {
    /// The device.
    #[serde(flatten)]
    pub device: DeviceInfo,
    /// The account's derivation path.
    pub hd_path: String,
    /// The account's address (EIP-55).
    pub address: String,
    /// `create_identity`, `enable_identity`, `authenticate_to_inbox`, `audit_seal` or `other`.
    pub purpose: String,
    /// Lowercase hex SHA-256 of the text's UTF-8 bytes.
    pub text_sha256: String,
    /// The text itself, only when it is public ([`super::TextKind::is_public`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub text: Option<String>,
    /// `approved`, `rejected`, `refused_by_policy`, `cancelled`, or the device error's
    /// code (`locked`, `device_disconnected`, …).
    pub decision: String,
    /// Why the policy refused it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
}

/// An account the policy refused before the device was opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRefusal {
    /// The derivation path asked for.
    pub hd_path: String,
    /// Always `refused_by_policy`.
    pub decision: String,
    /// Which rule refused it.
    pub reason: String,
}

/// One publication a run made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedRecord {
    /// The content topic.
    pub topic: String,
    /// Lowercase hex SHA-256 of the envelope's message bytes.
    pub message_sha256: String,
    /// `sent`, or `already_there` when the topic already ended with these bytes.
    pub outcome: String,
}

/// How one command run that opened a signer ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The subcommand (`init`, `inbox create`, …).
    pub command: String,
    /// The node it talked to, if any.
    pub node: Option<String>,
    /// What it published, in order.
    pub published: Vec<PublishedRecord>,
    /// The process's exit status.
    pub exit_code: u8,
    /// The error's code when it failed.
    pub error: Option<String>,
}

/// The chain head signed on the device: the log is complete up to line `lines`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealRecord {
    /// The signing account's derivation path.
    pub hd_path: String,
    /// The signing account (EIP-55).
    pub address: String,
    /// How many lines the seal covers.
    pub lines: u64,
    /// Lowercase hex SHA-256 of line `lines` (64 zeros for 0).
    pub head: String,
    /// `0x` + r‖s‖v of the personal_sign of [`seal_text`]`(head, lines)`.
    pub signature: String,
}

/// What a line records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A sign request.
    Signature(SignatureRecord),
    /// An account refused before the device was opened.
    AccountRefused(AccountRefusal),
    /// The end of a command run.
    Run(RunRecord),
    /// A seal.
    Seal(SealRecord),
}

/// A whole line: the chain link, when and by which version, then the entry.
#[derive(Serialize)]
struct Line<'a> {
    prev: String,
    time: String,
    tool_version: &'static str,
    #[serde(flatten)]
    entry: &'a Entry,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An audit log file open for appending.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
}

impl AuditLog {
    /// Opens `path` for appending, creating it with mode 0600 if it does not exist.
    /// Never through a symlink (`O_NOFOLLOW`), only a regular file, tightened to 0600 if
    /// others could read it; and it must end with a whole line, so a log that cannot be
    /// chained to fails here, before any device is asked anything.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let io = |what| {
            let path = path.to_owned();
            move |source| AuditError::Io { what, path, source }
        };
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| {
                // O_NOFOLLOW on a symlink fails with ELOOP.
                if e.raw_os_error() == Some(libc::ELOOP) {
                    AuditError::NotAFile {
                        path: path.to_owned(),
                    }
                } else {
                    io("opening")(e)
                }
            })?;
        let meta = file.metadata().map_err(io("reading"))?;
        if !meta.is_file() {
            return Err(AuditError::NotAFile {
                path: path.to_owned(),
            });
        }
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io("making private (0600)"))?;
        }
        let log = Self {
            path: path.to_owned(),
            file,
        };
        log.locked(|file| last_line_hash(file, &log.path).map(drop))?;
        Ok(log)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `entry` stamped with `time` and this tool's version: under an exclusive
    /// lock, reads the last line to chain to it, writes the line in one call, and syncs
    /// it to disk before returning. Returns the new line's SHA-256.
    pub fn append_at(&self, entry: &Entry, time: SystemTime) -> Result<[u8; 32], AuditError> {
        self.locked(|file| {
            let prev = last_line_hash(file, &self.path)?;
            let line = Line {
                prev: hex::encode(prev),
                time: humantime::format_rfc3339_millis(time).to_string(),
                tool_version: env!("CARGO_PKG_VERSION"),
                entry,
            };
            // Serializing plain strings and numbers cannot fail.
            let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
            let hash: [u8; 32] = Sha256::digest(&bytes).into();
            bytes.push(b'\n');
            let mut writer = file;
            writer
                .write_all(&bytes)
                .and_then(|()| file.sync_data())
                .map_err(|source| AuditError::Io {
                    what: "appending to",
                    path: self.path.clone(),
                    source,
                })?;
            Ok(hash)
        })
    }

    /// [`AuditLog::append_at`] now.
    pub fn append(&self, entry: &Entry) -> Result<[u8; 32], AuditError> {
        self.append_at(entry, SystemTime::now())
    }

    /// Checks the whole log under the lock (see [`verify_log`]).
    pub fn verify(&self) -> Result<Verified, AuditError> {
        self.locked(|file| {
            let mut reader = file;
            reader
                .seek(SeekFrom::Start(0))
                .map_err(|source| AuditError::Io {
                    what: "reading",
                    path: self.path.clone(),
                    source,
                })?;
            Ok(verify_log(std::io::BufReader::new(reader))?)
        })
    }

    /// Runs `work` holding the exclusive lock on the file.
    fn locked<T>(
        &self,
        work: impl FnOnce(&File) -> Result<T, AuditError>,
    ) -> Result<T, AuditError> {
        let io = |what| {
            let path = self.path.clone();
            move |source| AuditError::Io { what, path, source }
        };
        self.file.lock().map_err(io("locking"))?;
        let result = work(&self.file);
        // Closing the file would release it too; an unlock error changes nothing written.
        let _ = self.file.unlock();
        result
    }
}

/// The SHA-256 of the file's last line (without its newline), or [`GENESIS`] for an empty
/// file. Reads backwards from the end, at most [`MAX_LINE_BYTES`].
fn last_line_hash(mut file: &File, path: &Path) -> Result<[u8; 32], AuditError> {
    let io = |source| AuditError::Io {
        what: "reading",
        path: path.to_owned(),
        source,
    };
    let len = file.seek(SeekFrom::End(0)).map_err(io)?;
    if len == 0 {
        return Ok(GENESIS);
    }
    let window = len.min(MAX_LINE_BYTES as u64 + 1);
    let start = len - window;
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut tail = Vec::with_capacity(window as usize);
    file.take(window).read_to_end(&mut tail).map_err(io)?;
    let Some((&b'\n', body)) = tail.split_last() else {
        return Err(AuditError::Incomplete {
            path: path.to_owned(),
        });
    };
    let line = match body.iter().rposition(|&b| b == b'\n') {
        Some(at) => &body[at + 1..],
        // The window holds the start of the file: the whole body is the one line.
        None if start == 0 => body,
        None => {
            return Err(AuditError::LineTooLong {
                path: path.to_owned(),
            });
        }
    };
    Ok(Sha256::digest(line).into())
}

/// Why a line breaks the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    /// Not a JSON object (or not UTF-8).
    #[error("not a JSON object ({0})")]
    BadJson(String),
    /// No `prev`, or not 64 lowercase hex digits.
    #[error("no valid \"prev\" (64 lowercase hex digits)")]
    NoPrev,
    /// `prev` is not the SHA-256 of the line before: a line was edited, removed or moved.
    #[error("\"prev\" is {found} but the line before hashes to {expected}")]
    PrevMismatch {
        /// The previous line's hash.
        expected: String,
        /// What the line says.
        found: String,
    },
    /// Longer than [`MAX_LINE_BYTES`].
    #[error("longer than {MAX_LINE_BYTES} bytes")]
    TooLong,
    /// The file ends in the middle of this line.
    #[error("the file ends without a newline after it (a torn or edited last line)")]
    Incomplete,
    /// A seal record that does not parse.
    #[error("a seal record that does not parse ({0})")]
    BadSeal(String),
    /// A seal naming lines past itself, or a head that is not the hash of that line.
    #[error("the seal's head {head} for {lines} lines does not match the log ({why})")]
    SealMismatch {
        /// What the seal says.
        head: String,
        /// What the seal says.
        lines: u64,
        /// What the log has.
        why: String,
    },
    /// The seal's signature does not recover to its address over its text.
    #[error("the seal's signature is not {address}'s over its text ({why})")]
    SealSignature {
        /// The address the seal names.
        address: String,
        /// What the check found.
        why: String,
    },
}

/// The first line that breaks the chain (1-based), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} breaks the audit log's chain: {why}")]
pub struct BrokenChain {
    /// 1-based line number.
    pub line: u64,
    /// Why.
    pub why: Break,
}

/// A seal that checked out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedSeal {
    /// The seal's own line (1-based).
    pub line: u64,
    /// How many lines it covers.
    pub lines: u64,
    /// The account that signed it.
    pub address: String,
}

/// An intact log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Its lines.
    pub lines: u64,
    /// Lowercase hex SHA-256 of the last line (64 zeros for an empty log).
    pub head: String,
    /// Every seal, in order.
    pub seals: Vec<VerifiedSeal>,
}

/// Checks a whole log read from `reader`: every line a JSON object whose `prev` is the
/// hash of the line before, ending with a newline; every seal's head and line count
/// those of the log at that point, and its signature its address's over exactly its
/// text. Stops at the first line that breaks it. An I/O error counts as a break of the
/// line being read (the log could not be shown to be intact).
pub fn verify_log(mut reader: impl BufRead) -> Result<Verified, BrokenChain> {
    // The hash of every line so far, [0] = GENESIS: a seal may name any earlier line.
    let mut hashes: Vec<[u8; 32]> = vec![GENESIS];
    let mut seals = Vec::new();
    let mut buffer = Vec::new();
    loop {
        let number = hashes.len() as u64;
        let broken = |why| BrokenChain { line: number, why };
        buffer.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buffer)
            .map_err(|e| broken(Break::BadJson(format!("cannot read: {e}"))))?;
        if read == 0 {
            break;
        }
        let Some((&b'\n', line)) = buffer.split_last() else {
            return Err(broken(if buffer.len() > MAX_LINE_BYTES {
                Break::TooLong
            } else {
                Break::Incomplete
            }));
        };
        let value: serde_json::Value =
            serde_json::from_slice(line).map_err(|e| broken(Break::BadJson(e.to_string())))?;
        let Some(object) = value.as_object() else {
            return Err(broken(Break::BadJson("not an object".into())));
        };
        let prev = object
            .get("prev")
            .and_then(|p| p.as_str())
            .filter(|p| p.len() == 64 && p.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .ok_or_else(|| broken(Break::NoPrev))?;
        let expected = hex::encode(hashes[hashes.len() - 1]);
        if prev != expected {
            return Err(broken(Break::PrevMismatch {
                expected,
                found: prev.to_owned(),
            }));
        }
        if object.get("kind").and_then(|k| k.as_str()) == Some("seal") {
            let seal = check_seal(object, &hashes).map_err(broken)?;
            seals.push(VerifiedSeal {
                line: number,
                lines: seal.lines,
                address: seal.address,
            });
        }
        hashes.push(Sha256::digest(line).into());
    }
    Ok(Verified {
        lines: hashes.len() as u64 - 1,
        head: hex::encode(hashes[hashes.len() - 1]),
        seals,
    })
}

/// Checks one seal line against the hashes of the lines before it.
fn check_seal(
    object: &serde_json::Map<String, serde_json::Value>,
    hashes: &[[u8; 32]],
) -> Result<SealRecord, Break> {
    let mut fields = object.clone();
    for common in ["prev", "kind", "time", "tool_version"] {
        fields.remove(common);
    }
    let seal: SealRecord = serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| Break::BadSeal(e.to_string()))?;
    let mismatch = |why: String| Break::SealMismatch {
        head: seal.head.clone(),
        lines: seal.lines,
        why,
    };
    let covered = usize::try_from(seal.lines)
        .ok()
        .and_then(|n| hashes.get(n))
        .ok_or_else(|| mismatch("it names lines past itself".into()))?;
    if hex::encode(covered) != seal.head {
        return Err(mismatch(format!(
            "line {} hashes to {}",
            seal.lines,
            hex::encode(covered)
        )));
    }
    let address: Address = seal
        .address
        .parse()
        .map_err(|e| Break::BadSeal(format!("address: {e}")))?;
    let signature = WalletSignature::from_hex(&seal.signature)
        .map_err(|e| Break::BadSeal(format!("signature: {e}")))?;
    signature
        .verify_personal_sign(seal_text(covered, seal.lines).as_bytes(), &address)
        .map_err(|e| Break::SealSignature {
            address: seal.address.clone(),
            why: e.to_string(),
        })?;
    Ok(seal)
}

/// Reads and checks the whole log at `path` (see [`verify_log`]) without locking it, so
/// a copy on read-only media can be checked too.
pub fn verify_file(path: &Path) -> Result<Result<Verified, BrokenChain>, AuditError> {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| AuditError::Io {
            what: "reading",
            path: path.to_owned(),
            source,
        })?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(AuditError::NotAFile {
            path: path.to_owned(),
        });
    }
    Ok(verify_log(std::io::BufReader::new(file)))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::signer::{LocalKeySigner, Signer};

    /// Hardhat account #0 (the public test mnemonic's account 0).
    const KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn record(n: u32) -> Entry {
        Entry::Signature(SignatureRecord {
            device: DeviceInfo {
                device_model: Some("Nano S Plus".into()),
                app_version: Some("1.22.0".into()),
            },
            hd_path: format!("m/44'/60'/{n}'/0/0"),
            address: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into(),
            purpose: "create_identity".into(),
            text_sha256: sha256_hex(&n.to_be_bytes()),
            text: None,
            decision: "approved".into(),
            reason: None,
        })
    }

    /// A log of `n` records in a fresh directory.
    fn log_of(n: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        for i in 0..n {
            log.append(&record(i)).unwrap();
        }
        (dir, path)
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn verify_lines(lines: &[String]) -> Result<Verified, BrokenChain> {
        let mut text = lines.join("\n");
        if !lines.is_empty() {
            text.push('\n');
        }
        verify_log(text.as_bytes())
    }

    /// Rewrites every `prev` from line `from` on, as a forger who edited a line would.
    fn rechain(lines: &mut [String], from: usize) {
        for i in from..lines.len() {
            let prev = if i == 0 {
                hex::encode(GENESIS)
            } else {
                sha256_hex(lines[i - 1].as_bytes())
            };
            let mut value: serde_json::Value = serde_json::from_str(&lines[i]).unwrap();
            value["prev"] = prev.into();
            lines[i] = serde_json::to_string(&value).unwrap();
        }
    }

    fn seal(path: &Path) {
        let log = AuditLog::open(path).unwrap();
        let verified = log.verify().unwrap();
        let head: [u8; 32] = hex::decode(&verified.head).unwrap().try_into().unwrap();
        let signer = LocalKeySigner::from_private_key(&hex::decode(KEY).unwrap()).unwrap();
        let signature = signer
            .personal_sign(&seal_text(&head, verified.lines))
            .unwrap();
        log.append(&Entry::Seal(SealRecord {
            hd_path: "m/44'/60'/0'/0/0".into(),
            address: signer.address().to_checksum(),
            lines: verified.lines,
            head: verified.head,
            signature: format!("0x{}", hex::encode(signature.as_bytes())),
        }))
        .unwrap();
    }

    #[test]
    fn an_intact_log_verifies_and_is_created_private() {
        let (_dir, path) = log_of(4);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let all = lines(&path);
        let first: serde_json::Value = serde_json::from_str(&all[0]).unwrap();
        assert_eq!(first["prev"], hex::encode(GENESIS));
        assert_eq!(first["kind"], "signature");
        assert_eq!(first["tool_version"], env!("CARGO_PKG_VERSION"));
        assert!(first["time"].as_str().unwrap().ends_with('Z'));
        let verified = verify_file(&path).unwrap().unwrap();
        assert_eq!(verified.lines, 4);
        assert_eq!(verified.head, sha256_hex(all[3].as_bytes()));
        assert_eq!(verify_log(&b""[..]).unwrap().lines, 0);
    }

    #[test]
    fn an_edited_line_breaks_the_chain_at_the_next_line() {
        let (_dir, path) = log_of(4);
        let mut all = lines(&path);
        all[1] = all[1].replace("approved", "rejected");
        let broken = verify_lines(&all).unwrap_err();
        assert_eq!(broken.line, 3, "{broken}");
        assert!(matches!(broken.why, Break::PrevMismatch { .. }), "{broken}");
        // Editing the last line is caught too once anything is chained to it; alone,
        // only a seal proves it (see below).
    }

    #[test]
    fn a_removed_line_breaks_the_chain() {
        let (_dir, path) = log_of(4);
        let mut all = lines(&path);
        all.remove(1);
        let broken = verify_lines(&all).unwrap_err();
        assert_eq!(broken.line, 2);
        assert!(matches!(broken.why, Break::PrevMismatch { .. }));
        // The first line too.
        let mut all = lines(&path);
        all.remove(0);
        assert_eq!(verify_lines(&all).unwrap_err().line, 1);
    }

    #[test]
    fn two_reordered_lines_break_the_chain() {
        let (_dir, path) = log_of(4);
        let mut all = lines(&path);
        all.swap(1, 2);
        let broken = verify_lines(&all).unwrap_err();
        assert_eq!(broken.line, 2);
        assert!(matches!(broken.why, Break::PrevMismatch { .. }));
    }

    #[test]
    fn bad_json_a_missing_prev_and_a_torn_tail_are_named() {
        let (_dir, path) = log_of(3);
        let mut all = lines(&path);
        all[1] = "{not json".into();
        assert!(matches!(
            verify_lines(&all).unwrap_err(),
            BrokenChain {
                line: 2,
                why: Break::BadJson(_)
            }
        ));
        let mut all = lines(&path);
        all[1] = all[1].replacen("\"prev\"", "\"prov\"", 1);
        assert!(matches!(
            verify_lines(&all).unwrap_err(),
            BrokenChain {
                line: 2,
                why: Break::NoPrev
            }
        ));
        let all = lines(&path);
        let torn = format!("{}\n{}", all[0], &all[1][..20]);
        assert!(matches!(
            verify_log(torn.as_bytes()).unwrap_err(),
            BrokenChain {
                line: 2,
                why: Break::Incomplete
            }
        ));
        // An append never chains to a fragment.
        std::fs::write(&path, torn).unwrap();
        assert!(matches!(
            AuditLog::open(&path).unwrap_err(),
            AuditError::Incomplete { .. }
        ));
        let long = format!("{}\n", "x".repeat(MAX_LINE_BYTES + 10));
        assert!(matches!(
            verify_log(long.as_bytes()).unwrap_err(),
            BrokenChain {
                line: 1,
                why: Break::TooLong
            }
        ));
        assert!(matches!(
            verify_log(&b"\xff\xfe\n"[..]).unwrap_err(),
            BrokenChain {
                line: 1,
                why: Break::BadJson(_)
            }
        ));
    }

    #[test]
    fn seals_verify_and_a_seal_over_a_tampered_prefix_fails() {
        let (_dir, path) = log_of(3);
        seal(&path);
        AuditLog::open(&path).unwrap().append(&record(9)).unwrap();
        let verified = verify_file(&path).unwrap().unwrap();
        assert_eq!(verified.lines, 5);
        assert_eq!(verified.seals.len(), 1);
        assert_eq!((verified.seals[0].line, verified.seals[0].lines), (4, 3));

        // A forger edits line 2 and rewrites every prev after it: the chain holds, the
        // seal does not.
        let mut all = lines(&path);
        all[1] = all[1].replace("approved", "rejected");
        rechain(&mut all, 2);
        let broken = verify_lines(&all).unwrap_err();
        assert_eq!(broken.line, 4, "{broken}");
        assert!(matches!(broken.why, Break::SealMismatch { .. }), "{broken}");

        // A seal whose count is moved to match another line: its signature fails.
        let mut all = lines(&path);
        let mut value: serde_json::Value = serde_json::from_str(&all[3]).unwrap();
        value["lines"] = 2.into();
        value["head"] = sha256_hex(all[1].as_bytes()).into();
        all[3] = serde_json::to_string(&value).unwrap();
        rechain(&mut all, 4);
        let broken = verify_lines(&all).unwrap_err();
        assert!(
            matches!(broken.why, Break::SealSignature { .. }),
            "{broken}"
        );

        // A seal claiming lines past itself.
        let mut all = lines(&path);
        let mut value: serde_json::Value = serde_json::from_str(&all[3]).unwrap();
        value["lines"] = 4.into();
        all[3] = serde_json::to_string(&value).unwrap();
        rechain(&mut all, 4);
        assert!(matches!(
            verify_lines(&all).unwrap_err().why,
            Break::SealMismatch { .. }
        ));
    }

    #[test]
    fn a_symlink_or_a_directory_is_refused() {
        let (dir, path) = log_of(1);
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(matches!(
            AuditLog::open(&link).unwrap_err(),
            AuditError::NotAFile { .. }
        ));
        // A dangling link is not followed to create its target.
        let dangling = dir.path().join("dangling.jsonl");
        std::os::unix::fs::symlink(dir.path().join("target.jsonl"), &dangling).unwrap();
        assert!(AuditLog::open(&dangling).is_err());
        assert!(!dir.path().join("target.jsonl").exists());
        assert!(AuditLog::open(dir.path()).is_err());
    }

    #[test]
    fn concurrent_appends_keep_one_chain() {
        let (_dir, path) = log_of(0);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    // Each thread its own open file description, as separate processes.
                    let log = AuditLog::open(&path).unwrap();
                    for i in 0..10 {
                        log.append(&record(t * 100 + i)).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(verify_file(&path).unwrap().unwrap().lines, 40);
    }
}
