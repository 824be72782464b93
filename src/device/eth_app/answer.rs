//! Decoding the Ethereum app's answers. Every length is checked and every shortfall or
//! inconsistency is a typed [`DeviceError`], so a confused or hostile device can neither make
//! the host read past an answer nor get one accepted that does not add up.

use std::fmt;

use zeroize::Zeroize;

use crate::identity::{Address, WalletSignature};

use super::super::error::DeviceError;
use super::apdu::ETHEREUM_APP_NAME;

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

    pub(super) fn parse(data: &[u8]) -> Result<Self, DeviceError> {
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

    pub(super) fn parse(data: &[u8]) -> Result<Self, DeviceError> {
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
    pub(super) fn parse(data: &[u8], chain_code: bool) -> Result<Self, DeviceError> {
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

/// Decodes the `v ‖ r ‖ s` answer to SIGN ETH PERSONAL MESSAGE into `r ‖ s ‖ v`. Only the shape
/// is checked here (length, `v`, `r` and `s` in range); whose signature it is, is for
/// [`crate::signer::sign_verified`] to decide.
pub(super) fn parse_signature(vrs: &[u8]) -> Result<WalletSignature, DeviceError> {
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
    parsed.map_err(|e| DeviceError::malformed(format!("signature: {e}")))
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
