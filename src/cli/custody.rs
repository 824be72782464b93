//! The run's custody: the audit log (`--audit-log`, `--no-audit-log`) and the signing
//! policy (`--signing-policy`) as one [`Custodian`], made when the first signer is opened and
//! installed on every signer [`super::context::open_signer_at`] opens, whatever the
//! command; the run record written when the command ends; and the accounts confirmed
//! with `address --confirm`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use super::args::GlobalArgs;
use super::error::CliError;
use super::files::{create_private_dir, read_small_regular_file, write_private};
use super::time::now_rfc3339;
use super::ui::Ui;
use xmtp_ledger::custody::audit::PublishedRecord;
use xmtp_ledger::custody::confirmed::MAX_CONFIRMED_BYTES;
use xmtp_ledger::custody::policy::MAX_POLICY_BYTES;
use xmtp_ledger::custody::{AuditLog, ConfirmedAccounts, Custodian, Policy, RunRecord};
use xmtp_ledger::device::{DerivationPath, DeviceSpec};
use xmtp_ledger::endpoint::default_data_dir;
use xmtp_ledger::identity::Address;
use xmtp_ledger::network::PublishOutcome;
use xmtp_ledger::session::TopicOutcome;

/// The variable naming the data directory (audit log, confirmed accounts).
pub const DATA_DIR_ENV: &str = "XMTP_LEDGER_DATA_DIR";
/// The audit log's file name in the data directory.
pub const AUDIT_LOG_FILE: &str = "audit.jsonl";
/// The confirmed accounts' file name in the data directory.
pub const CONFIRMED_FILE: &str = "confirmed-accounts.json";

/// What this run did, for its run record.
#[derive(Default)]
struct Run {
    command: String,
    custodian: Option<Arc<Custodian>>,
    node: Option<String>,
    published: Vec<PublishedRecord>,
}

static RUN: Mutex<Option<Run>> = Mutex::new(None);

fn with_run<T>(f: impl FnOnce(&mut Run) -> T) -> T {
    let mut run = RUN.lock().unwrap_or_else(PoisonError::into_inner);
    f(run.get_or_insert_with(Run::default))
}

/// The data directory: `$XMTP_LEDGER_DATA_DIR`, else `$XDG_DATA_HOME/xmtp-ledger` (an
/// absolute one), else `~/.local/share/xmtp-ledger`.
pub fn data_dir() -> Option<PathBuf> {
    std::env::var_os(DATA_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(default_data_dir)
}

fn no_data_dir(what: &str) -> CliError {
    CliError::Usage(format!(
        "no data directory for {what}: set {DATA_DIR_ENV} (or XDG_DATA_HOME or HOME)"
    ))
}

/// The data directory, created 0700 if missing.
fn private_data_dir(what: &str) -> Result<PathBuf, CliError> {
    let dir = data_dir().ok_or_else(|| no_data_dir(what))?;
    create_private_dir(&dir)?;
    Ok(dir)
}

/// The audit log this run writes to, if any: `--audit-log`; else, for a real device, the
/// data directory's; none with `--no-audit-log` or for the in-process software device
/// unless `--audit-log` names one. A `tcp://` device counts as real: it may be Speculos
/// or the emulator, but it may as well be a bridge to a Ledger, and the host cannot tell.
pub fn audit_log_path(global: &GlobalArgs) -> Result<Option<PathBuf>, CliError> {
    if global.no_audit_log {
        return Ok(None);
    }
    if let Some(file) = &global.audit_log {
        return Ok(Some(file.clone()));
    }
    let spec: DeviceSpec = global.device.parse()?;
    if spec == DeviceSpec::Emulator {
        return Ok(None);
    }
    Ok(Some(
        private_data_dir("the audit log")?.join(AUDIT_LOG_FILE),
    ))
}

/// The run's custodian, made on first use: opens the audit log (failing before any device
/// is asked anything if it cannot be chained to), reads the policy and, if the policy
/// needs them, the confirmed accounts.
pub fn custodian(global: &GlobalArgs, ui: &Ui) -> Result<Arc<Custodian>, CliError> {
    if let Some(existing) = with_run(|run| run.custodian.clone()) {
        return Ok(existing);
    }
    let log = match audit_log_path(global)? {
        Some(path) => {
            let log = AuditLog::open(&path)?;
            ui.detail(format!("audit log: {}", path.display()));
            Some(log)
        }
        None => None,
    };
    let policy = match &global.signing_policy {
        Some(file) => {
            let bytes = read_small_regular_file(file, MAX_POLICY_BYTES as u64)?;
            let text = std::str::from_utf8(&bytes).map_err(|_| {
                CliError::Usage(format!("policy {} is not UTF-8 text", file.display()))
            })?;
            let policy = Policy::from_toml(text)
                .map_err(|e| CliError::Usage(format!("policy {}: {e}", file.display())))?;
            ui.detail(format!("signing policy: {}", file.display()));
            Some(policy)
        }
        None => None,
    };
    let confirmed = if policy.as_ref().is_some_and(|p| p.require_confirmed_address) {
        read_confirmed()?
    } else {
        ConfirmedAccounts::default()
    };
    let custodian = Arc::new(Custodian::new(log, policy, confirmed));
    with_run(|run| run.custodian = Some(Arc::clone(&custodian)));
    Ok(custodian)
}

/// Remembers the command's name for its run record (`init`, `inbox create`, …).
pub fn start(command: String) {
    with_run(|run| run.command = command);
}

/// Remembers what was published, for the run record.
pub fn published(node: &str, published: &[TopicOutcome]) {
    with_run(|run| {
        run.node = Some(node.to_owned());
        run.published.extend(published.iter().map(|topic| {
            PublishedRecord {
                topic: topic.topic.clone(),
                message_sha256: hex::encode(topic.message_sha256),
                outcome: match topic.outcome {
                    PublishOutcome::Published => "sent",
                    PublishOutcome::AlreadyNewest => "already_there",
                }
                .into(),
            }
        }));
    });
}

/// Remembers the node a command talked to, for the run record.
pub fn node(node: &str) {
    with_run(|run| run.node = Some(node.to_owned()));
}

/// Writes the run record (if the run opened a signer, and writes a log): how it exited.
/// A failure is reported on stderr; the exit status stays the command's.
pub fn finish(exit_code: u8, error: Option<&str>) {
    let Some(run) = RUN.lock().unwrap_or_else(PoisonError::into_inner).take() else {
        return;
    };
    let Some(custodian) = run.custodian else {
        return;
    };
    let record = RunRecord {
        command: run.command,
        node: run.node,
        published: run.published,
        exit_code,
        error: error.map(str::to_owned),
    };
    if let Err(e) = custodian.finish(record) {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("warning: the run record was not written: {e}\n").as_bytes(),
        );
    }
}

/// The accounts confirmed so far (none if the file does not exist yet).
fn read_confirmed() -> Result<ConfirmedAccounts, CliError> {
    let path = data_dir()
        .ok_or_else(|| no_data_dir("the confirmed accounts"))?
        .join(CONFIRMED_FILE);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(ConfirmedAccounts::default());
    }
    let bytes = read_small_regular_file(&path, MAX_CONFIRMED_BYTES as u64)?;
    ConfirmedAccounts::from_json(&bytes)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// Records that the device showed `address` for `path` and the person approved it, so a
/// policy with `require_confirmed_address` lets it sign (written atomically, 0600).
pub fn record_confirmation(path: &DerivationPath, address: &Address) -> Result<(), CliError> {
    let dir = private_data_dir("the confirmed accounts")?;
    let mut confirmed = read_confirmed()?;
    let now = now_rfc3339();
    if confirmed.add(path, address, &now) {
        write_private(&dir.join(CONFIRMED_FILE), &confirmed.to_json(), true)?;
    }
    Ok(())
}
