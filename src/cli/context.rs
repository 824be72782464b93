//! Turning the global flags into the things commands use: the derivation path, the
//! device (USB, TCP or the in-process software device) and the output settings.

use std::sync::Arc;
use std::time::Duration;

use ledger_app::{DeviceConfig, SoftwareDevice};
use zeroize::Zeroizing;

use super::args::GlobalArgs;
use super::custody;
use super::error::CliError;
use super::files::read_small_regular_file;
use super::ui::Ui;
use xmtp_ledger::custody::DeviceInfo;
use xmtp_ledger::device::{
    DerivationPath, DeviceSpec, EthApp, InProcessTransport, LedgerSigner, TcpOptions,
};
use xmtp_ledger::signer::Signer;

/// The environment variable holding the software device's mnemonic words.
pub const MNEMONIC_ENV: &str = "XMTP_LEDGER_MNEMONIC";
/// The most a mnemonic file may hold: 24 words of at most 8 letters and their spaces
/// are under 220 bytes; anything much larger is not a mnemonic.
const MAX_MNEMONIC_FILE_BYTES: u64 = 4096;

/// The environment variable holding the software device's BIP-39 passphrase.
pub const PASSPHRASE_ENV: &str = "XMTP_LEDGER_PASSPHRASE";

/// The derivation path chosen by `--account`, `--hd-path` or `--legacy` (default: account 0).
pub fn derivation_path(global: &GlobalArgs) -> Result<DerivationPath, CliError> {
    let account = &global.account;
    let path = if let Some(text) = &account.hd_path {
        text.parse()
    } else if let Some(index) = &account.legacy {
        let index = index.trim().parse().map_err(|_| {
            CliError::Usage(format!(
                "bad account: --legacy takes one index here, not {index:?} (ranges and lists \
                 are for `provision`)"
            ))
        })?;
        DerivationPath::legacy(index)
    } else {
        DerivationPath::ledger_live(account.account.unwrap_or(0))
    };
    path.map_err(|e| CliError::Usage(format!("bad account: {e}")))
}

/// The software device's configuration: mnemonic from `XMTP_LEDGER_MNEMONIC` or
/// `--mnemonic-file` (never from argv), else the public test mnemonic. Warns loudly.
pub fn emulator_config(global: &GlobalArgs, ui: &Ui) -> Result<DeviceConfig, CliError> {
    let mnemonic: Option<Zeroizing<String>> = if let Some(file) = &global.mnemonic_file {
        let bytes = Zeroizing::new(read_small_regular_file(file, MAX_MNEMONIC_FILE_BYTES)?);
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            CliError::Usage(format!(
                "mnemonic file {} is not UTF-8 text",
                file.display()
            ))
        })?;
        Some(Zeroizing::new(text.trim().to_owned()))
    } else {
        secret_env(MNEMONIC_ENV)?.map(|words| Zeroizing::new(words.trim().to_owned()))
    };
    let mut config = match &mnemonic {
        Some(words) => DeviceConfig::new(words.as_str()),
        None => DeviceConfig::test_mnemonic(),
    };
    if let Some(passphrase) = secret_env(PASSPHRASE_ENV)? {
        config = config.with_passphrase(passphrase.as_str());
    }
    if config.is_public_test_key() {
        ui.warn(
            "SOFTWARE DEVICE with the PUBLIC test mnemonic \"test test … junk\": anyone can \
             sign as this account. Never use it for a real identity.",
        );
    } else {
        ui.warn("SOFTWARE DEVICE: keys are in this process's memory, NOT protected by hardware.");
    }
    Ok(config)
}

/// A secret from the environment (`None` when unset). A value that is not UTF-8 is a usage
/// error, never "unset": taking it for unset would silently fall back to the public test
/// mnemonic, or derive another account without the passphrase. The value is never printed.
fn secret_env(name: &str) -> Result<Option<Zeroizing<String>>, CliError> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(Zeroizing::new(value))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(CliError::Usage(format!(
            "{name} is not valid UTF-8 text; set it to the words (or passphrase) themselves"
        ))),
    }
}

/// The Ethereum app on the device named by `--device`. A real device is never replaced
/// by the software one: `emulator` has to be asked for by name.
///
/// `--timeout` bounds every command the device answers by itself; a command that waits for
/// the person to approve on the device waits as long as they take.
pub fn open_app(global: &GlobalArgs, ui: &Ui) -> Result<EthApp, CliError> {
    let timeout = Duration::from_secs(global.timeout);
    let spec: DeviceSpec = global.device.parse()?;
    if spec == DeviceSpec::Emulator {
        let config = emulator_config(global, ui)?;
        let device = SoftwareDevice::new(config)
            .map_err(|e| CliError::Usage(format!("software device: {e}")))?;
        return Ok(
            EthApp::new(Arc::new(InProcessTransport::new(Arc::new(device)))).with_timeout(timeout),
        );
    }
    let transport = spec.open(TcpOptions {
        connect_timeout: timeout,
        // Approvals take as long as the person takes; EthApp bounds the other commands.
        read_timeout: None,
    })?;
    Ok(EthApp::new(transport).with_timeout(timeout))
}

/// The derivation path the account flags (or their variables) name, if any does.
pub fn chosen_derivation_path(global: &GlobalArgs) -> Result<Option<DerivationPath>, CliError> {
    let account = &global.account;
    if account.account.is_none() && account.hd_path.is_none() && account.legacy.is_none() {
        return Ok(None);
    }
    derivation_path(global).map(Some)
}

/// A signer for the chosen account, checked to be the Ethereum app and unlocked, with the
/// run's audit log and signing policy around every signature it asks for.
pub fn open_signer(global: &GlobalArgs, ui: &Ui) -> Result<LedgerSigner, CliError> {
    // A bad path is a usage error whether or not a device is plugged in.
    let path = derivation_path(global)?;
    open_signer_at(global, ui, path)
}

/// A signer for the account at `path` (which the caller chose), checked as
/// [`open_signer`] checks it.
pub fn open_signer_at(
    global: &GlobalArgs,
    ui: &Ui,
    path: DerivationPath,
) -> Result<LedgerSigner, CliError> {
    // The audit log and the policy's account rule come before the device: a log that
    // cannot be written or an account outside the policy fails with no APDU sent.
    custody::custodian(global, ui)?.check_path(&path)?;
    let device = open_ethereum_app(global, ui)?;
    signer_on(global, &device, ui, path)
}

/// An open device with the Ethereum app, and what the audit log records of it.
pub struct OpenDevice {
    /// The app client, shared by every signer made on it.
    pub app: EthApp,
    info: DeviceInfo,
}

/// The device, checked to be unlocked with the Ethereum app open: one session that
/// several accounts' signers share ([`signer_on`]).
pub fn open_ethereum_app(global: &GlobalArgs, ui: &Ui) -> Result<OpenDevice, CliError> {
    let app = open_app(global, ui)?;
    let config = app.ensure_ethereum_app()?;
    ui.detail(format!("Ethereum app {} is open", config.version));
    ui.set_device_model(app.model());
    let info = DeviceInfo {
        device_model: app.model().map(|m| m.name()),
        app_version: Some(config.version.to_string()),
    };
    Ok(OpenDevice { app, info })
}

/// The signer of the account at `path` on an open device (its address read from the
/// device), with the run's audit log and signing policy installed: every command's
/// signer is made here. An account outside the policy is refused before its address is
/// read.
pub fn signer_on(
    global: &GlobalArgs,
    device: &OpenDevice,
    ui: &Ui,
    path: DerivationPath,
) -> Result<LedgerSigner, CliError> {
    let custodian = custody::custodian(global, ui)?;
    custodian.check_path(&path)?;
    let signer = LedgerSigner::connect(device.app.clone(), path)?
        .with_guard(custodian.guard(device.info.clone()));
    ui.set_account(format!("{} ({})", signer.address(), signer.path()));
    Ok(signer)
}
