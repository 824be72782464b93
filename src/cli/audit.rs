//! `audit verify FILE` and `audit seal [FILE]`: check an audit log's chain and seals, or
//! append its head signed on the device.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::args::{AuditCommand, GlobalArgs};
use super::context::open_signer;
use super::custody::audit_log_path;
use super::error::CliError;
use super::ui::Ui;
use xmtp_ledger::custody::audit::VerifiedSeal;
use xmtp_ledger::custody::{AuditError, AuditLog, Entry, SealRecord, seal_text, verify_file};
use xmtp_ledger::signer::{SignError, Signer, sign_verified};

#[derive(Serialize)]
struct VerifyOutput {
    file: String,
    intact: bool,
    lines: u64,
    head: String,
    seals: Vec<VerifiedSeal>,
}

#[derive(Serialize)]
struct SealOutput {
    file: String,
    lines: u64,
    head: String,
    address: String,
    hd_path: String,
}

/// Runs `audit …`.
pub fn run(global: &GlobalArgs, ui: &Ui, command: &AuditCommand) -> Result<(), CliError> {
    match command {
        AuditCommand::Verify { file } => verify(ui, file),
        AuditCommand::Seal { file } => {
            let file = match file {
                Some(file) => file.clone(),
                None => default_log(global)?,
            };
            seal(global, ui, &file)
        }
    }
}

/// The log `audit seal` seals when no FILE is given: the one this run would write.
fn default_log(global: &GlobalArgs) -> Result<PathBuf, CliError> {
    audit_log_path(global)?.ok_or_else(|| {
        CliError::Usage(
            "no audit log to seal: name it (`audit seal FILE`) or give --audit-log".into(),
        )
    })
}

fn verify(ui: &Ui, file: &Path) -> Result<(), CliError> {
    let verified = verify_file(file)?
        .map_err(|broken| CliError::Verification(format!("{}: {broken}", file.display())))?;
    let output = VerifyOutput {
        file: file.display().to_string(),
        intact: true,
        lines: verified.lines,
        head: verified.head,
        seals: verified.seals,
    };
    ui.result(&output, || {
        let mut text = format!(
            "{}: intact, {} line(s), head {}",
            output.file, output.lines, output.head
        );
        for seal in &output.seals {
            text.push_str(&format!(
                "\n  line {}: sealed the first {} line(s), signed by {}",
                seal.line, seal.lines, seal.address
            ));
        }
        text
    });
    Ok(())
}

fn seal(global: &GlobalArgs, ui: &Ui, file: &Path) -> Result<(), CliError> {
    // A missing log is not created just to be sealed.
    if std::fs::symlink_metadata(file).is_err() {
        return Err(CliError::Usage(format!(
            "{}: no such audit log",
            file.display()
        )));
    }
    let log = AuditLog::open(file)?;
    // Never vouch for a broken chain: the seal would prove nothing.
    let verified = log.verify().map_err(|e| match e {
        AuditError::Broken(broken) => {
            CliError::Verification(format!("{}: {broken}: not sealed", file.display()))
        }
        other => other.into(),
    })?;
    let head: [u8; 32] = hex::decode(&verified.head)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .unwrap_or_default();
    let text = seal_text(&head, verified.lines);
    let signer = open_signer(global, ui)?;
    ui.status(format!(
        "sealing {} at line {} (head {}): approve the message on the Ledger",
        file.display(),
        verified.lines,
        verified.head
    ));
    let signature = {
        let _prompt = ui.device_prompt("Ledger: check the head, then sign");
        sign_verified(&signer, &text).map_err(|e| match e {
            SignError::Signer(e) => CliError::Device(e),
            SignError::DoesNotVerify(e) => CliError::Verification(format!(
                "the device's seal signature does not verify ({e}); nothing was written"
            )),
        })?
    };
    log.append(&Entry::Seal(SealRecord {
        hd_path: signer.path().to_string(),
        address: signer.address().to_checksum(),
        lines: verified.lines,
        head: verified.head.clone(),
        signature: format!("0x{}", hex::encode(signature.as_bytes())),
    }))?;
    let output = SealOutput {
        file: file.display().to_string(),
        lines: verified.lines,
        head: verified.head,
        address: signer.address().to_checksum(),
        hd_path: signer.path().to_string(),
    };
    ui.result(&output, || {
        format!(
            "{}: sealed the first {} line(s) (head {}), signed by {}",
            output.file, output.lines, output.head, output.address
        )
    });
    Ok(())
}
