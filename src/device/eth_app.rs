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

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use zeroize::Zeroize;

use crate::identity::{Address, WalletSignature};

use super::error::DeviceError;
use super::path::DerivationPath;
use super::transport::{ApduAnswer, ApduCommand, MAX_APDU_DATA, Transport};

/// Class byte of every Ethereum app command.
pub const CLA: u8 = 0xE0;
/// GET ETH PUBLIC ADDRESS.
pub const INS_GET_PUBLIC_KEY: u8 = 0x02;
/// GET APP CONFIGURATION.
pub const INS_GET_APP_CONFIGURATION: u8 = 0x06;
/// SIGN ETH PERSONAL MESSAGE (EIP-191).
pub const INS_SIGN_PERSONAL_MESSAGE: u8 = 0x08;
/// Address P1: return without showing it.
pub const P1_NON_CONFIRM: u8 = 0x00;
/// Address P1: show it on the device and wait for the user to approve.
pub const P1_CONFIRM: u8 = 0x01;
/// Address P2: no chain code.
pub const P2_NO_CHAINCODE: u8 = 0x00;
/// Address P2: append the 32-byte BIP-32 chain code.
pub const P2_CHAINCODE: u8 = 0x01;
/// Chunked command P1: first chunk (carries the path and the message length).
pub const P1_FIRST: u8 = 0x00;
/// Chunked command P1: a following chunk.
pub const P1_MORE: u8 = 0x80;
/// Class byte of the OS commands every app and the dashboard answer.
pub const CLA_OS: u8 = 0xB0;
/// OS: GET APP AND VERSION.
pub const INS_OS_GET_APP_AND_VERSION: u8 = 0x01;

/// Longest message the Ethereum app (≥ 1.18) accepts: it stores the length in 16 bits and
/// refuses more than `(0xFFFF − 3) / 2`. In practice its 16 KiB heap runs out earlier
/// ([`DeviceError::OutOfMemory`]), but lengths above this are refused before anything is sent,
/// because larger ones would wrap on the device.
pub const MAX_PERSONAL_MESSAGE_LEN: usize = (0xFFFF - 3) / 2;

/// Name the Ethereum app reports to `B0 01`.
pub const ETHEREUM_APP_NAME: &str = "Ethereum";

const PUBLIC_KEY_LEN: usize = 65;
const ADDRESS_TEXT_LEN: usize = 40;
const CHAIN_CODE_LEN: usize = 32;
const SIGNATURE_LEN: usize = 65;

/// An app version `major.minor.patch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppVersion {
    /// Major.
    pub major: u8,
    /// Minor.
    pub minor: u8,
    /// Patch.
    pub patch: u8,
}

impl fmt::Display for AppVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The answer to GET APP CONFIGURATION.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppConfiguration {
    /// Raw flag byte.
    pub flags: u8,
    /// Ethereum app version.
    pub version: AppVersion,
}

impl AppConfiguration {
    /// Flag `0x01`: the user enabled blind signing. Not needed for personal_sign.
    pub fn blind_signing_enabled(&self) -> bool {
        self.flags & 0x01 != 0
    }

    /// Flag `0x02`: ERC-20 token info must be provided by the host (always set today).
    pub fn erc20_external_info(&self) -> bool {
        self.flags & 0x02 != 0
    }

    /// Flag `0x10`: Transaction Check enabled (Stax/Flex/Apex).
    pub fn transaction_check_enabled(&self) -> bool {
        self.flags & 0x10 != 0
    }

    fn parse(data: &[u8]) -> Result<Self, DeviceError> {
        match *data {
            [flags, major, minor, patch] => Ok(Self {
                flags,
                version: AppVersion {
                    major,
                    minor,
                    patch,
                },
            }),
            _ => Err(DeviceError::malformed(format!(
                "app configuration must be 4 bytes, got {}",
                data.len()
            ))),
        }
    }
}

/// The answer to the OS's GET APP AND VERSION: which app is running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppAndVersion {
    /// App name (`Ethereum`; `BOLOS` on the dashboard).
    pub name: String,
    /// Version text as the app reports it.
    pub version: String,
    /// OS flags (opaque).
    pub flags: Vec<u8>,
}

impl AppAndVersion {
    /// True on the dashboard (no app open).
    pub fn is_dashboard(&self) -> bool {
        // Older firmware reports "OLOS\0".
        self.name == "BOLOS" || self.name == "OLOS\0"
    }

    /// True when the Ethereum app is open.
    pub fn is_ethereum(&self) -> bool {
        self.name == ETHEREUM_APP_NAME
    }

    fn parse(data: &[u8]) -> Result<Self, DeviceError> {
        let mut reader = Reader::new(data, "app and version");
        let format = reader.byte()?;
        if format != 0x01 {
            return Err(DeviceError::malformed(format!(
                "app and version: unknown format byte {format:#04x}"
            )));
        }
        let name = reader.text()?;
        let version = reader.text()?;
        // Some firmware omits the flags; a partial flags field is still malformed.
        let flags = if reader.is_empty() {
            Vec::new()
        } else {
            let len = reader.byte()?;
            reader.take(usize::from(len))?.to_vec()
        };
        reader.finish()?;
        Ok(Self {
            name,
            version,
            flags,
        })
    }
}

/// What the device is doing, for a `devices` listing. Never an error: a failure to ask is a
/// state too.
#[derive(Debug)]
pub enum AppStatus {
    /// The Ethereum app is open and answered its configuration.
    Ethereum(AppConfiguration),
    /// The dashboard is showing; no app is open.
    Dashboard {
        /// OS version as reported.
        os_version: String,
    },
    /// Another app is open.
    OtherApp {
        /// Its name.
        name: String,
        /// Its version.
        version: String,
    },
    /// The device is locked.
    Locked,
    /// Asking failed (disconnected, permission, unknown status word...).
    Error(DeviceError),
}

impl fmt::Display for AppStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ethereum(config) => write!(f, "Ethereum app {} open", config.version),
            Self::Dashboard { .. } => f.write_str("dashboard (no app open)"),
            Self::OtherApp { name, version } => write!(f, "{name} {version} open (not Ethereum)"),
            Self::Locked => f.write_str("locked"),
            Self::Error(error) => write!(f, "error: {error}"),
        }
    }
}

/// Options of GET ETH PUBLIC ADDRESS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressOptions {
    /// Show the address on the device and wait for the user to approve it (P1 = 1).
    pub confirm: bool,
    /// Ask for the BIP-32 chain code too (P2 = 1).
    pub chain_code: bool,
}

/// A checked answer to GET ETH PUBLIC ADDRESS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicAddress {
    /// Uncompressed secp256k1 public key `04 ‖ X ‖ Y`.
    pub public_key: [u8; 65],
    /// The account address, checked to be the one of `public_key`.
    pub address: Address,
    /// The BIP-32 chain code, when asked for.
    pub chain_code: Option<[u8; 32]>,
}

impl PublicAddress {
    /// Parses and cross-checks the answer: exact length, `04` key prefix, a point on the curve,
    /// 40 hex characters in EIP-55 form, and the address being the key's.
    fn parse(data: &[u8], chain_code: bool) -> Result<Self, DeviceError> {
        let mut reader = Reader::new(data, "address answer");
        let key_len = reader.byte()?;
        if usize::from(key_len) != PUBLIC_KEY_LEN {
            return Err(DeviceError::malformed(format!(
                "public key length byte is {key_len}, expected 65"
            )));
        }
        let mut public_key = [0u8; PUBLIC_KEY_LEN];
        public_key.copy_from_slice(reader.take(PUBLIC_KEY_LEN)?);
        if public_key[0] != 0x04 {
            return Err(DeviceError::malformed(format!(
                "public key starts with {:#04x}, expected 0x04 (uncompressed)",
                public_key[0]
            )));
        }
        if k256::PublicKey::from_sec1_bytes(&public_key).is_err() {
            return Err(DeviceError::malformed(
                "public key is not a point on secp256k1",
            ));
        }
        let address_len = reader.byte()?;
        if usize::from(address_len) != ADDRESS_TEXT_LEN {
            return Err(DeviceError::malformed(format!(
                "address length byte is {address_len}, expected 40"
            )));
        }
        let text = reader.take(ADDRESS_TEXT_LEN)?;
        let chain_code = if chain_code {
            let mut code = [0u8; CHAIN_CODE_LEN];
            code.copy_from_slice(reader.take(CHAIN_CODE_LEN)?);
            Some(code)
        } else {
            None
        };
        reader.finish()?;

        let text = std::str::from_utf8(text)
            .ok()
            .filter(|t| t.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| DeviceError::malformed("address is not 40 hex characters"))?;
        let derived = Address::from_uncompressed_public_key(&public_key)
            .map_err(|e| DeviceError::malformed(e.to_string()))?;
        let checksum = derived.to_checksum();
        if !checksum[2..].eq_ignore_ascii_case(text) {
            return Err(DeviceError::AddressMismatch {
                reported: format!("0x{text}"),
                derived,
            });
        }
        if checksum[2..] != *text {
            // Same account, other casing: not EIP-55 (e.g. an EIP-1191 chain-specific checksum
            // from an RSK clone app), so this is not the app we expect.
            return Err(DeviceError::malformed(format!(
                "address 0x{text} is not in EIP-55 checksum form (expected {checksum})"
            )));
        }
        Ok(Self {
            public_key,
            address: derived,
            chain_code,
        })
    }
}

/// Builds the SIGN ETH PERSONAL MESSAGE commands for `message`: the stream
/// `path ‖ u32be(len) ‖ message` cut into 255-byte slices, the first with P1 `0x00` and the rest
/// with P1 `0x80`. That is the fewest APDUs possible: `ceil((path_len + 4 + len) / 255)`, and
/// always at least one (an empty message is sent as path and a zero length).
pub fn personal_message_apdus(
    path: &DerivationPath,
    message: &[u8],
) -> Result<Vec<ApduCommand>, DeviceError> {
    if message.len() > MAX_PERSONAL_MESSAGE_LEN {
        return Err(DeviceError::MessageTooLong {
            len: message.len(),
            max: MAX_PERSONAL_MESSAGE_LEN,
        });
    }
    let mut stream = path.to_apdu_bytes();
    // Bounded by MAX_PERSONAL_MESSAGE_LEN above, so it fits in u32.
    stream.extend_from_slice(&(message.len() as u32).to_be_bytes());
    stream.extend_from_slice(message);
    stream
        .chunks(MAX_APDU_DATA)
        .enumerate()
        .map(|(i, chunk)| {
            let p1 = if i == 0 { P1_FIRST } else { P1_MORE };
            ApduCommand::new(CLA, INS_SIGN_PERSONAL_MESSAGE, p1, 0x00, chunk.to_vec())
        })
        .collect()
}

/// A client of the Ethereum app over any [`Transport`]. Cheap to clone; clones share the
/// transport and take turns: each operation (a multi-APDU personal_sign included) runs to its
/// end before another starts, because the app keeps one message in progress and an
/// interleaved command would reset it (`0x6980`/`0x6A80`).
///
/// Make one `EthApp` per device and clone it: two `EthApp`s built over the same transport do
/// not coordinate.
#[derive(Clone)]
pub struct EthApp {
    transport: Arc<dyn Transport>,
    session: Arc<Mutex<()>>,
}

impl fmt::Debug for EthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EthApp")
    }
}

impl EthApp {
    /// A client over `transport`.
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self {
            transport,
            session: Arc::new(Mutex::new(())),
        }
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
    fn call(&self, command: &ApduCommand) -> Result<ApduAnswer, DeviceError> {
        let answer = self.transport.exchange(command)?;
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
        AppConfiguration::parse(self.call(&command)?.data())
    }

    /// The OS's GET APP AND VERSION (`B0 01 00 00`): which app is open (`BOLOS` = dashboard).
    pub fn app_and_version(&self) -> Result<AppAndVersion, DeviceError> {
        let _session = self.session();
        self.app_and_version_unlocked()
    }

    fn app_and_version_unlocked(&self) -> Result<AppAndVersion, DeviceError> {
        let command = ApduCommand::new(CLA_OS, INS_OS_GET_APP_AND_VERSION, 0x00, 0x00, Vec::new())?;
        AppAndVersion::parse(self.call(&command)?.data())
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
    /// [`DeviceError::Rejected`].
    pub fn get_address(
        &self,
        path: &DerivationPath,
        options: AddressOptions,
    ) -> Result<PublicAddress, DeviceError> {
        let p1 = if options.confirm {
            P1_CONFIRM
        } else {
            P1_NON_CONFIRM
        };
        let p2 = if options.chain_code {
            P2_CHAINCODE
        } else {
            P2_NO_CHAINCODE
        };
        let command = ApduCommand::new(CLA, INS_GET_PUBLIC_KEY, p1, p2, path.to_apdu_bytes())?;
        let _session = self.session();
        PublicAddress::parse(self.call(&command)?.data(), options.chain_code)
    }

    /// The account address at `path`, without showing it on the device.
    pub fn address(&self, path: &DerivationPath) -> Result<Address, DeviceError> {
        Ok(self.get_address(path, AddressOptions::default())?.address)
    }

    /// EIP-191 personal_sign of `message` with the key at `path`, returned as `r ‖ s ‖ v`
    /// (v = 27/28, as the device gives it).
    ///
    /// The device's answer is only returned after checking that it recovers to `expected` over
    /// exactly `message`; a stale, corrupted or other-account signature is
    /// [`DeviceError::BadSignature`] and is wiped, never returned. `expected` should come from
    /// [`EthApp::address`] for the same path (see [`super::LedgerSigner`], which does this).
    pub fn sign_personal_message(
        &self,
        path: &DerivationPath,
        message: &[u8],
        expected: &Address,
    ) -> Result<WalletSignature, DeviceError> {
        let commands = personal_message_apdus(path, message)?;
        let _session = self.session();
        let last = commands.len() - 1;
        let mut final_answer = None;
        for (i, command) in commands.iter().enumerate() {
            let answer = self.call(command)?;
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
        let vrs = answer.data();
        if vrs.len() != SIGNATURE_LEN {
            return Err(DeviceError::malformed(format!(
                "signature must be 65 bytes (v ‖ r ‖ s), got {}",
                vrs.len()
            )));
        }
        // The device sends v first; the Ethereum convention is r ‖ s ‖ v.
        let mut rsv = [0u8; SIGNATURE_LEN];
        rsv[..64].copy_from_slice(&vrs[1..]);
        rsv[64] = vrs[0];
        let parsed = WalletSignature::from_bytes(&rsv);
        rsv.zeroize();
        let signature = parsed.map_err(|e| DeviceError::BadSignature {
            expected: *expected,
            detail: e.to_string(),
        })?;
        match signature.recover_address(message) {
            Ok(recovered) if recovered == *expected => Ok(signature),
            Ok(recovered) => Err(DeviceError::BadSignature {
                expected: *expected,
                detail: format!("it recovers to {recovered}"),
            }),
            Err(e) => Err(DeviceError::BadSignature {
                expected: *expected,
                detail: e.to_string(),
            }),
        }
    }
}

/// Bounds-checked reading of an answer; every shortfall is a [`DeviceError::Malformed`].
struct Reader<'a> {
    data: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Self { data, what }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DeviceError> {
        if self.data.len() < n {
            return Err(DeviceError::malformed(format!(
                "{} is too short: needed {n} more bytes, {} left",
                self.what,
                self.data.len()
            )));
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, DeviceError> {
        Ok(self.take(1)?[0])
    }

    fn text(&mut self) -> Result<String, DeviceError> {
        let len = self.byte()?;
        let bytes = self.take(usize::from(len))?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| DeviceError::malformed(format!("{}: text is not UTF-8", self.what)))
    }

    fn finish(self) -> Result<(), DeviceError> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(DeviceError::malformed(format!(
                "{} has {} unexpected trailing bytes",
                self.what,
                self.data.len()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::DeviceErrorKind;
    use crate::device::error::sw;
    use crate::device::testing::{
        Tamper, address_answer, answering, device_address, device_signature, fake_app, key,
    };
    use crate::device::transport::MockTransport;

    const XMTP_TEXT: &str =
        "XMTP : Create Identity\n0a0b\n\nFor more info: https://xmtp.org/signatures/";

    fn path() -> DerivationPath {
        DerivationPath::ledger_live(0).unwrap()
    }

    /// Every status word class, the variant it must map to, and its kind.
    /// (status word, predicate its error must satisfy, its kind).
    type StatusCase = (u16, fn(&DeviceError) -> bool, DeviceErrorKind);

    fn status_table() -> Vec<StatusCase> {
        vec![
            (
                0x6985,
                |e| matches!(e, DeviceError::Rejected { status: 0x6985 }),
                DeviceErrorKind::Rejected,
            ),
            (
                0x5501,
                |e| matches!(e, DeviceError::Rejected { status: 0x5501 }),
                DeviceErrorKind::Rejected,
            ),
            (
                0x5515,
                |e| matches!(e, DeviceError::Locked { status: 0x5515 }),
                DeviceErrorKind::Locked,
            ),
            (
                0x6804,
                |e| matches!(e, DeviceError::Locked { status: 0x6804 }),
                DeviceErrorKind::Locked,
            ),
            (
                0x6B0C,
                |e| matches!(e, DeviceError::Locked { status: 0x6B0C }),
                DeviceErrorKind::Locked,
            ),
            (
                0x6982,
                |e| matches!(e, DeviceError::Locked { status: 0x6982 }),
                DeviceErrorKind::Locked,
            ),
            (
                0x650F,
                |e| matches!(e, DeviceError::Locked { status: 0x650F }),
                DeviceErrorKind::Locked,
            ),
            (
                0x6D00,
                |e| {
                    matches!(
                        e,
                        DeviceError::WrongApp {
                            status: 0x6D00,
                            open_app: None
                        }
                    )
                },
                DeviceErrorKind::WrongApp,
            ),
            (
                0x6E00,
                |e| matches!(e, DeviceError::WrongApp { status: 0x6E00, .. }),
                DeviceErrorKind::WrongApp,
            ),
            (
                0x6E01,
                |e| matches!(e, DeviceError::WrongApp { status: 0x6E01, .. }),
                DeviceErrorKind::WrongApp,
            ),
            (
                0x6D02,
                |e| matches!(e, DeviceError::WrongApp { status: 0x6D02, .. }),
                DeviceErrorKind::WrongApp,
            ),
            (
                0x6511,
                |e| matches!(e, DeviceError::WrongApp { status: 0x6511, .. }),
                DeviceErrorKind::WrongApp,
            ),
            (
                0x6A15,
                |e| matches!(e, DeviceError::PathRefused { status: 0x6A15 }),
                DeviceErrorKind::WrongApp,
            ),
            (
                0x6A80,
                |e| matches!(e, DeviceError::InvalidData { status: 0x6A80 }),
                DeviceErrorKind::InvalidRequest,
            ),
            (
                0x6A87,
                |e| matches!(e, DeviceError::WrongLength { status: 0x6A87 }),
                DeviceErrorKind::InvalidRequest,
            ),
            (
                0x6700,
                |e| matches!(e, DeviceError::WrongLength { status: 0x6700 }),
                DeviceErrorKind::InvalidRequest,
            ),
            (
                0x6B00,
                |e| matches!(e, DeviceError::WrongParameters { status: 0x6B00 }),
                DeviceErrorKind::InvalidRequest,
            ),
            (
                0x6A84,
                |e| matches!(e, DeviceError::OutOfMemory { status: 0x6A84 }),
                DeviceErrorKind::InvalidRequest,
            ),
            (
                0x6980,
                |e| matches!(e, DeviceError::CommandNotAllowed { status: 0x6980 }),
                DeviceErrorKind::InvalidRequest,
            ),
            (
                0x6D07,
                |e| matches!(e, DeviceError::NotReady { status: 0x6D07 }),
                DeviceErrorKind::Other,
            ),
            (
                0x6611,
                |e| matches!(e, DeviceError::NotReady { status: 0x6611 }),
                DeviceErrorKind::Other,
            ),
            (
                0x662F,
                |e| matches!(e, DeviceError::NotReady { status: 0x662F }),
                DeviceErrorKind::Other,
            ),
            (
                0x6F00,
                |e| matches!(e, DeviceError::Status { status: 0x6F00 }),
                DeviceErrorKind::Other,
            ),
            (
                0x6881,
                |e| matches!(e, DeviceError::Status { status: 0x6881 }),
                DeviceErrorKind::Other,
            ),
            (
                0x1234,
                |e| matches!(e, DeviceError::Status { status: 0x1234 }),
                DeviceErrorKind::Other,
            ),
            (
                0x0000,
                |e| matches!(e, DeviceError::Status { status: 0x0000 }),
                DeviceErrorKind::Other,
            ),
            (
                0xFFFF,
                |e| matches!(e, DeviceError::Status { status: 0xFFFF }),
                DeviceErrorKind::Other,
            ),
            // 0x9000 never reaches from_status from the client, but must not become success.
            (
                0x9000,
                |e| matches!(e, DeviceError::Status { status: 0x9000 }),
                DeviceErrorKind::Other,
            ),
        ]
    }

    #[test]
    fn every_status_word_maps_to_its_typed_error_and_is_kept() {
        for (status, is_expected, kind) in status_table() {
            let error = DeviceError::from_status(status);
            assert!(is_expected(&error), "{status:#06x} gave {error:?}");
            assert_eq!(error.kind(), kind, "{status:#06x}");
            assert_eq!(error.status_word(), Some(status));
            // The number is always in the message, for bug reports.
            let text = error.to_string();
            assert!(
                text.to_lowercase().contains(&format!("{status:#06x}")),
                "{status:#06x}: {text}"
            );
        }
    }

    #[test]
    fn every_status_word_surfaces_from_every_command() {
        for (status, is_expected, _) in status_table() {
            if status == 0x9000 {
                continue;
            }
            // Status words come with no data, and a stray data byte must not hide them.
            for data in [vec![], vec![0x01]] {
                let error = answering(data.clone(), status, 1)
                    .app_configuration()
                    .unwrap_err();
                assert!(is_expected(&error), "config {status:#06x}: {error:?}");
                let error = answering(data.clone(), status, 1)
                    .get_address(&path(), AddressOptions::default())
                    .unwrap_err();
                assert!(is_expected(&error), "address {status:#06x}: {error:?}");
                let error = answering(data.clone(), status, 1)
                    .sign_personal_message(&path(), b"hi", &device_address())
                    .unwrap_err();
                assert!(is_expected(&error), "sign {status:#06x}: {error:?}");
            }
        }
    }

    #[test]
    fn messages_are_actionable() {
        let locked = DeviceError::from_status(0x5515).to_string();
        assert!(
            locked.contains("locked") && locked.contains("unlock"),
            "{locked}"
        );
        let dashboard = DeviceError::from_status(0x6E01).to_string();
        assert!(dashboard.contains("dashboard") && dashboard.contains("open the Ethereum app"));
        let other = DeviceError::WrongApp {
            status: 0x9000,
            open_app: Some("Bitcoin".into()),
        }
        .to_string();
        assert!(other.contains("\"Bitcoin\"") && other.contains("open the Ethereum app"));
        assert!(!other.contains("0x9000"), "{other}");
        assert!(
            DeviceError::from_status(0x6985)
                .to_string()
                .contains("rejected")
        );
        assert!(
            DeviceError::from_status(0x6A84)
                .to_string()
                .contains("shorter")
        );
        assert!(
            DeviceError::from_status(0x1234)
                .to_string()
                .contains("unknown status 0x1234")
        );
        assert!(
            DeviceError::from_status(0x6F00)
                .to_string()
                .contains("technical problem")
        );
    }

    #[test]
    fn app_configuration_parses_flags_and_version() {
        let config = answering(vec![0x03, 1, 22, 0], 0x9000, 1)
            .app_configuration()
            .unwrap();
        assert_eq!(config.version.to_string(), "1.22.0");
        assert!(config.blind_signing_enabled());
        assert!(config.erc20_external_info());
        assert!(!config.transaction_check_enabled());
        let config = answering(vec![0x12, 1, 9, 19], 0x9000, 1)
            .app_configuration()
            .unwrap();
        assert!(!config.blind_signing_enabled() && config.transaction_check_enabled());
        assert_eq!(
            config.version,
            AppVersion {
                major: 1,
                minor: 9,
                patch: 19
            }
        );
    }

    #[test]
    fn app_configuration_of_wrong_length_is_malformed() {
        for data in [vec![], vec![2], vec![2, 1, 22], vec![2, 1, 22, 0, 0]] {
            let error = answering(data.clone(), 0x9000, 1)
                .app_configuration()
                .unwrap_err();
            assert!(
                matches!(error, DeviceError::Malformed { .. }),
                "{data:?}: {error:?}"
            );
        }
    }

    #[test]
    fn app_configuration_command_bytes() {
        let (app, state) = fake_app();
        app.app_configuration().unwrap();
        let log = &state.lock().unwrap().log;
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].to_bytes(), [0xE0, 0x06, 0x00, 0x00, 0x00]);
    }

    #[test]
    fn address_is_parsed_and_cross_checked() {
        let (app, state) = fake_app();
        let answer = app.get_address(&path(), AddressOptions::default()).unwrap();
        assert_eq!(answer.address, device_address());
        assert_eq!(answer.chain_code, None);
        assert_eq!(
            &answer.public_key[..],
            key().verifying_key().to_encoded_point(false).as_bytes()
        );
        let with_code = app
            .get_address(
                &path(),
                AddressOptions {
                    confirm: true,
                    chain_code: true,
                },
            )
            .unwrap();
        assert_eq!(with_code.chain_code, Some([0xCC; 32]));
        let log = &state.lock().unwrap().log;
        // P1 = confirm, P2 = chain code, data = the path encoding exactly.
        assert_eq!((log[0].ins(), log[0].p1(), log[0].p2()), (0x02, 0x00, 0x00));
        assert_eq!((log[1].ins(), log[1].p1(), log[1].p2()), (0x02, 0x01, 0x01));
        assert_eq!(log[0].data(), path().to_apdu_bytes());
    }

    fn address_error(data: Vec<u8>, chain_code: bool) -> DeviceError {
        answering(data, 0x9000, 1)
            .get_address(
                &path(),
                AddressOptions {
                    confirm: false,
                    chain_code,
                },
            )
            .unwrap_err()
    }

    #[test]
    fn malformed_address_answers_are_refused() {
        let good = address_answer(&key());
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("length byte only", vec![65]),
            ("truncated key", good[..40].to_vec()),
            ("truncated address", good[..good.len() - 1].to_vec()),
            ("trailing byte", [good.clone(), vec![0]].concat()),
            (
                "chain code without asking",
                [good.clone(), vec![0xCC; 32]].concat(),
            ),
        ];
        let mut wrong_key_len = good.clone();
        wrong_key_len[0] = 64;
        cases.push(("key length byte 64", wrong_key_len));
        let mut wrong_address_len = good.clone();
        wrong_address_len[66] = 42;
        cases.push(("address length byte 42", wrong_address_len));
        let mut compressed_prefix = good.clone();
        compressed_prefix[1] = 0x02;
        cases.push(("key prefix 02", compressed_prefix));
        let mut off_curve = good.clone();
        off_curve[65] ^= 0x01;
        // The address is re-derived from the point, but a point off the curve is refused first.
        cases.push(("point not on curve", off_curve));
        let mut not_hex = good.clone();
        not_hex[67] = b'g';
        cases.push(("address not hex", not_hex));
        let mut lowercase = good.clone();
        lowercase[67..].make_ascii_lowercase();
        cases.push(("address not EIP-55", lowercase));
        for (what, data) in cases {
            let error = address_error(data, false);
            assert!(
                matches!(error, DeviceError::Malformed { .. }),
                "{what}: {error:?}"
            );
            assert_eq!(error.kind(), DeviceErrorKind::BadAnswer);
        }
        // Asked for a chain code, none came.
        assert!(matches!(
            address_error(good, true),
            DeviceError::Malformed { .. }
        ));
    }

    #[test]
    fn address_not_matching_the_public_key_is_refused() {
        let other = k256::ecdsa::SigningKey::from_slice(&[0x33; 32]).unwrap();
        let mut data = address_answer(&key());
        data[67..].copy_from_slice(&address_answer(&other)[67..]);
        let error = address_error(data, false);
        assert!(
            matches!(error, DeviceError::AddressMismatch { derived, .. } if derived == device_address()),
            "{error:?}"
        );
    }

    fn stream_of(commands: &[ApduCommand]) -> Vec<u8> {
        commands.iter().flat_map(|c| c.data().to_vec()).collect()
    }

    #[test]
    fn personal_sign_chunking_is_minimal() {
        let paths = [
            DerivationPath::ledger_live(0).unwrap(),       // 21 bytes
            "m/44'".parse().unwrap(),                      // 5 bytes
            "m/44'/60'/0'/0/0/1/2/3/4/5".parse().unwrap(), // 41 bytes
        ];
        for path in &paths {
            let header = path.encoded_len() + 4;
            let boundary = 255 - header;
            for len in [
                0,
                1,
                boundary - 1,
                boundary,
                boundary + 1,
                boundary + 255,
                boundary + 256,
                1000,
                4000,
                MAX_PERSONAL_MESSAGE_LEN,
            ] {
                let message: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                let commands = personal_message_apdus(path, &message).unwrap();
                assert_eq!(
                    commands.len(),
                    (header + len).div_ceil(255),
                    "{path} len {len}"
                );
                // Every chunk full but the last, P1 00 then 80, P2 00, INS 08.
                for (i, command) in commands.iter().enumerate() {
                    assert_eq!(
                        (command.cla(), command.ins(), command.p2()),
                        (0xE0, 0x08, 0)
                    );
                    assert_eq!(command.p1(), if i == 0 { 0x00 } else { 0x80 });
                    if i + 1 < commands.len() {
                        assert_eq!(command.data().len(), 255);
                    }
                }
                // The stream is path ‖ u32be(len) ‖ message, nothing more or less.
                let mut expected = path.to_apdu_bytes();
                expected.extend_from_slice(&(len as u32).to_be_bytes());
                expected.extend_from_slice(&message);
                assert_eq!(stream_of(&commands), expected);
            }
        }
    }

    #[test]
    fn boundary_lengths_for_the_default_path() {
        // path (21) + length (4) + message: 255 fits one APDU, 256 needs two.
        let count = |len: usize| {
            personal_message_apdus(&path(), &vec![b'x'; len])
                .unwrap()
                .len()
        };
        assert_eq!(count(0), 1);
        assert_eq!(count(1), 1);
        assert_eq!(count(230), 1);
        assert_eq!(count(231), 2);
        assert_eq!(count(485), 2);
        assert_eq!(count(486), 3);
    }

    #[test]
    fn personal_sign_sends_exactly_the_minimal_apdus_and_verifies() {
        for len in [0usize, 1, 230, 231, 485, 486, 3000] {
            let (app, state) = fake_app();
            let message: Vec<u8> = (0..len).map(|i| b' ' + (i % 90) as u8).collect();
            let signature = app
                .sign_personal_message(&path(), &message, &device_address())
                .unwrap();
            // v ‖ r ‖ s from the device became r ‖ s ‖ v, bytes unchanged.
            let vrs = device_signature(&key(), &message);
            assert_eq!(signature.as_bytes()[..64], vrs[1..]);
            assert_eq!(signature.v(), vrs[0]);
            assert!(signature.v() == 27 || signature.v() == 28);
            let state = state.lock().unwrap();
            assert_eq!(state.log.len(), (25 + len).div_ceil(255), "len {len}");
        }
    }

    #[test]
    fn tampered_signatures_are_never_returned() {
        for tamper in [Tamper::Stale, Tamper::Corrupt, Tamper::OtherKey] {
            let (app, state) = fake_app();
            // A first, genuine signature so that "stale" has something to replay.
            app.sign_personal_message(&path(), b"first", &device_address())
                .unwrap();
            state.lock().unwrap().tamper = tamper;
            let error = app
                .sign_personal_message(&path(), XMTP_TEXT.as_bytes(), &device_address())
                .unwrap_err();
            assert!(
                matches!(error, DeviceError::BadSignature { expected, .. } if expected == device_address()),
                "{tamper:?}: {error:?}"
            );
            assert_eq!(error.kind(), DeviceErrorKind::BadAnswer);
        }
    }

    #[test]
    fn signature_for_another_expected_account_is_refused() {
        let (app, _) = fake_app();
        let someone_else = crate::device::testing::address_of(
            &k256::ecdsa::SigningKey::from_slice(&[0x44; 32]).unwrap(),
        );
        let error = app
            .sign_personal_message(&path(), b"hello", &someone_else)
            .unwrap_err();
        assert!(
            matches!(error, DeviceError::BadSignature { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains(&device_address().to_string()));
    }

    #[test]
    fn malformed_signature_answers_are_refused() {
        let good = device_signature(&key(), b"hi");
        let mut v_29 = good.clone();
        v_29[0] = 29;
        let mut zero_r = good.clone();
        zero_r[1..33].fill(0);
        for (what, data, malformed) in [
            ("empty", vec![], true),
            ("short", good[..64].to_vec(), true),
            ("long", [good.clone(), vec![0]].concat(), true),
            ("v 29", v_29, false),
            ("r zero", zero_r, false),
        ] {
            let error = answering(data, 0x9000, 1)
                .sign_personal_message(&path(), b"hi", &device_address())
                .unwrap_err();
            if malformed {
                assert!(
                    matches!(error, DeviceError::Malformed { .. }),
                    "{what}: {error:?}"
                );
            } else {
                assert!(
                    matches!(error, DeviceError::BadSignature { .. }),
                    "{what}: {error:?}"
                );
            }
        }
    }

    #[test]
    fn intermediate_chunk_answers_must_be_bare_9000() {
        // First chunk answered with data: the device is out of step; stop there.
        let error = answering(vec![1], 0x9000, 1)
            .sign_personal_message(&path(), &[b'x'; 600], &device_address())
            .unwrap_err();
        assert!(matches!(error, DeviceError::Malformed { .. }), "{error:?}");
    }

    #[test]
    fn an_error_on_a_middle_chunk_stops_the_stream() {
        let mut mock = MockTransport::new();
        let mut seq = mockall::Sequence::new();
        mock.expect_exchange()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(ApduAnswer::new(vec![], 0x9000)));
        mock.expect_exchange()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(ApduAnswer::new(vec![], sw::INSUFFICIENT_MEMORY)));
        // Three chunks needed; the third must never be sent (mock panics on a third call).
        let error = EthApp::from_transport(mock)
            .sign_personal_message(&path(), &[b'x'; 600], &device_address())
            .unwrap_err();
        assert!(
            matches!(error, DeviceError::OutOfMemory { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn transport_errors_pass_through_unchanged() {
        let mut mock = MockTransport::new();
        mock.expect_exchange().times(1).returning(|_| {
            Err(DeviceError::Disconnected {
                detail: "unplugged".into(),
            })
        });
        let error = EthApp::from_transport(mock).address(&path()).unwrap_err();
        assert!(matches!(error, DeviceError::Disconnected { .. }));
    }

    #[test]
    fn too_long_messages_are_refused_before_sending() {
        // `answering(.., 0)`: the mock fails the test if anything is sent.
        let error = answering(vec![], 0x9000, 0)
            .sign_personal_message(
                &path(),
                &vec![0; MAX_PERSONAL_MESSAGE_LEN + 1],
                &device_address(),
            )
            .unwrap_err();
        assert!(matches!(
            error,
            DeviceError::MessageTooLong { len, max: MAX_PERSONAL_MESSAGE_LEN } if len == MAX_PERSONAL_MESSAGE_LEN + 1
        ));
    }

    fn app_and_version_answer(name: &[u8], version: &[u8], flags: Option<&[u8]>) -> Vec<u8> {
        let mut data = vec![1, name.len() as u8];
        data.extend_from_slice(name);
        data.push(version.len() as u8);
        data.extend_from_slice(version);
        if let Some(flags) = flags {
            data.push(flags.len() as u8);
            data.extend_from_slice(flags);
        }
        data
    }

    #[test]
    fn app_and_version_parses_and_checks_lengths() {
        let app = answering(
            app_and_version_answer(b"Ethereum", b"1.22.0", Some(&[0x02])),
            0x9000,
            1,
        )
        .app_and_version()
        .unwrap();
        assert_eq!(
            app,
            AppAndVersion {
                name: "Ethereum".into(),
                version: "1.22.0".into(),
                flags: vec![2]
            }
        );
        assert!(app.is_ethereum() && !app.is_dashboard());
        let dashboard = answering(app_and_version_answer(b"BOLOS", b"2.2.3", None), 0x9000, 1)
            .app_and_version()
            .unwrap();
        assert!(dashboard.is_dashboard() && dashboard.flags.is_empty());

        let good = app_and_version_answer(b"Ethereum", b"1.22.0", Some(&[0x02]));
        let mut bad_format = good.clone();
        bad_format[0] = 2;
        let mut long_name = good.clone();
        long_name[1] = 200;
        for (what, data) in [
            ("empty", vec![]),
            ("format", bad_format),
            ("name overruns", long_name),
            ("flags overrun", good[..good.len() - 1].to_vec()),
            ("trailing", [good.clone(), vec![9]].concat()),
            (
                "not utf-8",
                app_and_version_answer(&[0xFF, 0xFE], b"1", None),
            ),
        ] {
            let error = answering(data, 0x9000, 1).app_and_version().unwrap_err();
            assert!(
                matches!(error, DeviceError::Malformed { .. }),
                "{what}: {error:?}"
            );
        }
    }

    /// A mock that answers `B0 01` with `os` and `E0 06` with `eth`.
    fn os_and_eth(os: (Vec<u8>, u16), eth: (Vec<u8>, u16)) -> EthApp {
        let mut mock = MockTransport::new();
        mock.expect_exchange().returning(move |command| {
            let (data, status) = if command.cla() == CLA_OS { &os } else { &eth };
            Ok(ApduAnswer::new(data.clone(), *status))
        });
        EthApp::from_transport(mock)
    }

    #[test]
    fn status_tells_apart_ethereum_dashboard_other_app_and_locked() {
        let eth = (vec![2, 1, 22, 0], 0x9000);
        let named = |name: &[u8]| (app_and_version_answer(name, b"1.0.0", Some(&[0])), 0x9000);
        let status = os_and_eth(named(b"Ethereum"), eth.clone()).status();
        assert!(matches!(status, AppStatus::Ethereum(c) if c.version.to_string() == "1.22.0"));
        assert!(matches!(
            os_and_eth(named(b"BOLOS"), (vec![], 0x6D02)).status(),
            AppStatus::Dashboard { .. }
        ));
        assert!(matches!(
            os_and_eth(named(b"Bitcoin"), (vec![], 0x6E00)).status(),
            AppStatus::OtherApp { name, .. } if name == "Bitcoin"
        ));
        assert!(matches!(
            os_and_eth((vec![], 0x5515), (vec![], 0x5515)).status(),
            AppStatus::Locked
        ));
        // No B0 01 support: decided by the app configuration alone.
        assert!(matches!(
            os_and_eth((vec![], 0x6D00), eth).status(),
            AppStatus::Ethereum(_)
        ));
        assert!(matches!(
            os_and_eth((vec![], 0x6D00), (vec![], 0x6E00)).status(),
            AppStatus::Error(DeviceError::WrongApp { .. })
        ));
    }

    #[test]
    fn ensure_ethereum_app_names_the_open_app() {
        let named = |name: &[u8]| (app_and_version_answer(name, b"1.0.0", Some(&[0])), 0x9000);
        let error = os_and_eth(named(b"Bitcoin"), (vec![2, 1, 22, 0], 0x9000))
            .ensure_ethereum_app()
            .unwrap_err();
        assert!(
            matches!(&error, DeviceError::WrongApp { open_app: Some(n), .. } if n == "Bitcoin")
        );
        assert_eq!(error.kind(), DeviceErrorKind::WrongApp);
        let error = os_and_eth((vec![], 0x5515), (vec![], 0x5515))
            .ensure_ethereum_app()
            .unwrap_err();
        assert!(matches!(error, DeviceError::Locked { .. }));
        let config = os_and_eth(named(b"Ethereum"), (vec![2, 1, 22, 0], 0x9000))
            .ensure_ethereum_app()
            .unwrap();
        assert_eq!(config.version.to_string(), "1.22.0");
    }
}
