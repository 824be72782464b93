//! The Ethereum app client: app configuration, addresses, EIP-191 `personal_sign`, and the
//! OS's "which app is open" query. Every answer is length-checked and every status word becomes
//! a typed [`DeviceError`].
//!
//! Wire formats (reference `ledger-ethereum-app.md` §1):
//! - `E0 06 00 00 00` → `flags major minor patch`.
//! - `E0 02 P1 P2 Lc path` → `41 ‖ pubkey(65, 04‖X‖Y) ‖ 28 ‖ address(40 ASCII, EIP-55, no 0x)
//!   [‖ chain code(32)]`.
//! - `E0 08 P1 00 Lc chunk`: the stream `path ‖ u32be(len) ‖ message` cut in 255-byte slices,
//!   P1 `00` first then `80`; intermediate answers are bare `9000`, the last is `v ‖ r ‖ s`.
//! - `B0 01 00 00` → `01 ‖ len ‖ name ‖ len ‖ version ‖ len ‖ flags`.

mod answer;
mod apdu;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::identity::{Address, WalletSignature};

use super::error::DeviceError;
use super::model::LedgerModel;
use super::path::DerivationPath;
use super::transport::{ApduAnswer, ApduCommand, Transport};

use answer::parse_signature;
pub use answer::{AppAndVersion, AppConfiguration, AppStatus, AppVersion, PublicAddress};
pub use apdu::{
    AddressOptions, CLA, CLA_OS, ETHEREUM_APP_NAME, INS_GET_APP_CONFIGURATION, INS_GET_PUBLIC_KEY,
    INS_OS_GET_APP_AND_VERSION, INS_SIGN_PERSONAL_MESSAGE, MAX_PERSONAL_MESSAGE_LEN, P1_CONFIRM,
    P1_FIRST, P1_MORE, P1_NON_CONFIRM, P2_CHAINCODE, P2_NO_CHAINCODE, personal_message_apdus,
};

/// A client of the Ethereum app over any [`Transport`]. Cheap to clone; clones share the
/// transport and take turns: each operation (a multi-APDU personal_sign included) runs to its
/// end before another starts, because the app keeps one message in progress and an
/// interleaved command would reset it (`0x6980`/`0x6A80`).
///
/// Make one `EthApp` per device and clone it: two `EthApp`s built over the same transport do
/// not coordinate.
///
/// Commands the device answers by itself (app configuration, the open app, an address not
/// shown for confirmation) get [`DeviceError::Timeout`] after [`EthApp::timeout`]; commands
/// that may wait for a person (an address shown for confirmation, every personal_sign chunk)
/// wait as long as the person takes.
#[derive(Clone)]
pub struct EthApp {
    transport: Arc<dyn Transport>,
    session: Arc<Mutex<()>>,
    timeout: Duration,
}

/// What the answer to a command waits for, which decides whether its wait is bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaits {
    /// Only the device, which answers at once: silence past the timeout means it is stuck.
    Device,
    /// A person reviewing on the device: no limit.
    Person,
}

impl fmt::Debug for EthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EthApp")
    }
}

impl EthApp {
    /// How long [`EthApp::new`] lets a command that needs no approval take.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A client over `transport`, with [`EthApp::DEFAULT_TIMEOUT`].
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self {
            transport,
            session: Arc::new(Mutex::new(())),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// The Ledger model, when the transport says it ([`Transport::model`]): what the host's
    /// preview of a review ([`crate::device::review`]) lays the pages out for.
    pub fn model(&self) -> Option<LedgerModel> {
        self.transport.model()
    }

    /// The same client, with `timeout` for every command that needs no approval (never for
    /// those that wait for a person).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a command that needs no approval may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A client that owns `transport`.
    pub fn from_transport(transport: impl Transport + 'static) -> Self {
        Self::new(Arc::new(transport))
    }

    /// The shared transport.
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// Holds the device for one whole operation.
    fn session(&self) -> MutexGuard<'_, ()> {
        // The guarded value is `()`: nothing can be left half-updated by a panic.
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends one command; returns the data of a `9000` answer, or the status word's error.
    fn call(&self, command: &ApduCommand, awaits: Awaits) -> Result<ApduAnswer, DeviceError> {
        let answer = match awaits {
            Awaits::Device => self.transport.exchange_within(command, self.timeout)?,
            Awaits::Person => self.transport.exchange(command)?,
        };
        tracing::debug!(
            cla = command.cla(),
            ins = command.ins(),
            p1 = command.p1(),
            sent = command.data().len(),
            received = answer.data().len(),
            status = answer.status(),
            "apdu"
        );
        answer.into_result()
    }

    /// GET APP CONFIGURATION: app version and settings. Needs no user action and does not
    /// disturb the app, so it doubles as a liveness probe (locked / wrong app show up here).
    pub fn app_configuration(&self) -> Result<AppConfiguration, DeviceError> {
        let _session = self.session();
        self.app_configuration_unlocked()
    }

    fn app_configuration_unlocked(&self) -> Result<AppConfiguration, DeviceError> {
        let command = ApduCommand::new(CLA, INS_GET_APP_CONFIGURATION, 0x00, 0x00, Vec::new())?;
        AppConfiguration::parse(self.call(&command, Awaits::Device)?.data())
    }

    /// The OS's GET APP AND VERSION (`B0 01 00 00`): which app is open (`BOLOS` = dashboard).
    pub fn app_and_version(&self) -> Result<AppAndVersion, DeviceError> {
        let _session = self.session();
        self.app_and_version_unlocked()
    }

    fn app_and_version_unlocked(&self) -> Result<AppAndVersion, DeviceError> {
        let command = ApduCommand::new(CLA_OS, INS_OS_GET_APP_AND_VERSION, 0x00, 0x00, Vec::new())?;
        AppAndVersion::parse(self.call(&command, Awaits::Device)?.data())
    }

    /// Checks that the Ethereum app is the one open and answering; returns its configuration.
    /// Fails with [`DeviceError::Locked`] or [`DeviceError::WrongApp`] (naming the open app
    /// when the device says) otherwise.
    pub fn ensure_ethereum_app(&self) -> Result<AppConfiguration, DeviceError> {
        let _session = self.session();
        match self.app_and_version_unlocked() {
            Ok(app) if !app.is_ethereum() => {
                return Err(DeviceError::WrongApp {
                    status: super::error::SW_OK,
                    open_app: Some(app.name),
                });
            }
            Ok(_) => {}
            // Emulators and old firmware may not implement B0 01; the app check below decides.
            Err(DeviceError::WrongApp { .. } | DeviceError::Status { .. }) => {}
            Err(other) => return Err(other),
        }
        self.app_configuration_unlocked()
    }

    /// What the device is doing right now, for a listing. Sends only commands that need no user
    /// action.
    pub fn status(&self) -> AppStatus {
        let _session = self.session();
        match self.app_and_version_unlocked() {
            Ok(app) if app.is_dashboard() => {
                return AppStatus::Dashboard {
                    os_version: app.version,
                };
            }
            Ok(app) if !app.is_ethereum() => {
                return AppStatus::OtherApp {
                    name: app.name,
                    version: app.version,
                };
            }
            Ok(_) => {}
            Err(DeviceError::Locked { .. }) => return AppStatus::Locked,
            // Not implemented by some emulators and old firmware: ask the app directly.
            Err(DeviceError::WrongApp { .. } | DeviceError::Status { .. }) => {}
            Err(other) => return AppStatus::Error(other),
        }
        match self.app_configuration_unlocked() {
            Ok(config) => AppStatus::Ethereum(config),
            Err(DeviceError::Locked { .. }) => AppStatus::Locked,
            Err(error) => AppStatus::Error(error),
        }
    }

    /// GET ETH PUBLIC ADDRESS for `path`, checked (see [`PublicAddress`]). With
    /// `options.confirm` the device shows the address and waits for the user; a rejection is
    /// [`DeviceError::Rejected`]. A path the app refuses is [`DeviceError::PathRefused`], before
    /// anything is shown.
    pub fn get_address(
        &self,
        path: &DerivationPath,
        options: AddressOptions,
    ) -> Result<PublicAddress, DeviceError> {
        let (p1, awaits) = if options.confirm {
            (P1_CONFIRM, Awaits::Person)
        } else {
            (P1_NON_CONFIRM, Awaits::Device)
        };
        let p2 = if options.chain_code {
            P2_CHAINCODE
        } else {
            P2_NO_CHAINCODE
        };
        let command = ApduCommand::new(CLA, INS_GET_PUBLIC_KEY, p1, p2, path.to_apdu_bytes())?;
        let _session = self.session();
        let answer = self.call(&command, awaits).map_err(|error| match error {
            // The command carries nothing but a well-formed path (1 to 10 components, no
            // leftover bytes), so "incorrect data" can only be the path being refused, which is
            // how a device whose OS reports a refused derivation as bad data answers. (App
            // 1.22.0 in Speculos answers 0x6A15 or 0x6A12, mapped the same way.)
            DeviceError::InvalidData { status } => DeviceError::PathRefused { status },
            other => other,
        })?;
        PublicAddress::parse(answer.data(), options.chain_code)
    }

    /// The account address at `path`, without showing it on the device.
    pub fn address(&self, path: &DerivationPath) -> Result<Address, DeviceError> {
        Ok(self.get_address(path, AddressOptions::default())?.address)
    }

    /// EIP-191 personal_sign of `message` with the key at `path`, returned as `r ‖ s ‖ v`
    /// (v = 27/28, as the device gives it).
    ///
    /// The answer is checked for shape only (65 bytes, a valid `v`, `r` and `s` in range: see
    /// [`DeviceError::Malformed`]), not for whose signature it is: a stale or other-account
    /// answer is returned as is. Take signatures through [`crate::signer::sign_verified`]
    /// (with [`super::LedgerSigner`]), the one place that checks them, so that they are
    /// checked once and the same way for every wallet.
    pub fn sign_personal_message(
        &self,
        path: &DerivationPath,
        message: &[u8],
    ) -> Result<WalletSignature, DeviceError> {
        let commands = personal_message_apdus(path, message)?;
        let _session = self.session();
        let last = commands.len() - 1;
        let mut final_answer = None;
        for (i, command) in commands.iter().enumerate() {
            // Every chunk may wait for a person, not only the last: apps 1.9.20 to 1.17
            // review the message chunk by chunk and answer a chunk only once the person has
            // scrolled through it (reference §1, "streaming"), so no chunk is bounded.
            let answer = self.call(command, Awaits::Person)?;
            if i < last {
                if !answer.data().is_empty() {
                    return Err(DeviceError::malformed(format!(
                        "personal_sign chunk {} of {} was answered with {} data bytes, expected none",
                        i + 1,
                        commands.len(),
                        answer.data().len()
                    )));
                }
            } else {
                final_answer = Some(answer);
            }
        }
        let answer = final_answer.ok_or_else(|| DeviceError::malformed("no answer"))?;
        parse_signature(answer.data())
    }
}

#[cfg(test)]
mod tests;
