//! BIP-32 derivation paths: the APDU encoding, the text form, and the app's allowed prefixes.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Bit set on hardened path components.
pub const HARDENED: u32 = 0x8000_0000;

/// Most components a path may have (`MAX_BIP32_PATH` in the Ledger SDK).
pub const MAX_COMPONENTS: usize = 10;

/// Path prefixes the Ethereum app is installed with (`PATH_APP_LOAD_PARAMS` in
/// `makefile_conf/chain/ethereum.mk`: `44'/60'`, `45'`, and `12381/3600` for its ETH2 keys), as
/// components.
///
/// The OS refuses to derive any path that does not start with one of these (see
/// [`PathRefusal`]). Speculos checks the prefix whatever the curve, so a secp256k1 key under
/// `12381/3600` with a hardened component is derived like any other.
pub const ALLOWED_PREFIXES: &[&[u32]] = &[
    &[44 | HARDENED, 60 | HARDENED],
    &[45 | HARDENED],
    &[12381, 3600],
];

/// Why the OS refuses to derive a path for the Ethereum app, as Speculos models the device OS
/// (`src/bolos/os_bip32.c`, `sys_os_perso_derive_node_with_seed_key`), checked in this order.
///
/// GET ETH PUBLIC ADDRESS answers the refusal's status word at once (recorded from app 1.22.0
/// for both kinds, `ethapp-apdus.json`). SIGN ETH PERSONAL MESSAGE derives only after the
/// review, and the app exits instead of answering, because its `CX_ASSERT` on the signing call
/// fails (recorded for [`Self::Forbidden`] paths; the SDK's `os_derive_bip32_with_seed_no_throw`
/// returns either exception as the same kind of error, so [`Self::NotHardened`] ones exit too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathRefusal {
    /// No hardened component: deriving from the master key needs
    /// `APPLICATION_FLAG_DERIVE_MASTER`, which the Ethereum app does not set.
    NotHardened,
    /// Not under any of [`ALLOWED_PREFIXES`].
    Forbidden,
}

impl PathRefusal {
    /// The status word GET ETH PUBLIC ADDRESS answers.
    pub fn status_word(self) -> u16 {
        match self {
            Self::NotHardened => crate::sw::PATH_NOT_HARDENED,
            Self::Forbidden => crate::sw::PATH_FORBIDDEN,
        }
    }
}

/// A BIP-32 path: 1 to [`MAX_COMPONENTS`] components, hardened ones with [`HARDENED`] set.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DerivationPath(Vec<u32>);

impl DerivationPath {
    /// Builds a path from its components; refuses 0 or more than [`MAX_COMPONENTS`].
    pub fn new(components: Vec<u32>) -> Result<Self, Error> {
        if components.is_empty() || components.len() > MAX_COMPONENTS {
            return Err(Error::InvalidPath {
                path: format!("{components:?}"),
                reason: "a path has 1 to 10 components",
            });
        }
        Ok(Self(components))
    }

    /// Ledger Live account `n`: `m/44'/60'/n'/0/0`. `n` must be below 2^31.
    pub fn ledger_live(account: u32) -> Self {
        Self(vec![
            44 | HARDENED,
            60 | HARDENED,
            (account & !HARDENED) | HARDENED,
            0,
            0,
        ])
    }

    /// Legacy (MEW/MyCrypto) account `n`: `m/44'/60'/0'/n`. `n` must be below 2^31.
    pub fn legacy(index: u32) -> Self {
        Self(vec![
            44 | HARDENED,
            60 | HARDENED,
            HARDENED,
            index & !HARDENED,
        ])
    }

    /// The components, hardened bit included.
    pub fn components(&self) -> &[u32] {
        &self.0
    }

    /// The APDU encoding: one count byte, then each component as 4 bytes big-endian.
    pub fn to_apdu_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 4 * self.0.len());
        // The constructor caps the length at 10, so it fits a byte.
        out.push(self.0.len() as u8);
        for c in &self.0 {
            out.extend_from_slice(&c.to_be_bytes());
        }
        out
    }

    /// Reads a path from the front of APDU data, the way the app's `parseBip32` does, and
    /// returns it with the bytes that follow. `None` (the app answers `0x6A80`) when the count is
    /// 0 or above 10, or the data is shorter than the count says.
    pub fn read_apdu(data: &[u8]) -> Option<(Self, &[u8])> {
        let (&count, rest) = data.split_first()?;
        let count = usize::from(count);
        if count == 0 || count > MAX_COMPONENTS || rest.len() < 4 * count {
            return None;
        }
        let (encoded, rest) = rest.split_at(4 * count);
        let components = encoded
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Some((Self(components), rest))
    }

    /// Whether and why the OS refuses to let the Ethereum app derive this path (see
    /// [`PathRefusal`]); `None` when it may.
    pub fn refusal(&self) -> Option<PathRefusal> {
        if self.0.iter().all(|c| c & HARDENED == 0) {
            Some(PathRefusal::NotHardened)
        } else if ALLOWED_PREFIXES
            .iter()
            .any(|prefix| self.0.starts_with(prefix))
        {
            None
        } else {
            Some(PathRefusal::Forbidden)
        }
    }
}

impl FromStr for DerivationPath {
    type Err = Error;

    /// Parses `m/44'/60'/0'/0/0` (the leading `m/` is optional; `'`, `h` or `H` mark hardened).
    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidPath {
            path: s.to_owned(),
            reason,
        };
        let body = s.trim();
        let body = body
            .strip_prefix("m/")
            .or_else(|| body.strip_prefix("M/"))
            .unwrap_or(body);
        if body.is_empty() {
            return Err(invalid("a path has 1 to 10 components"));
        }
        let mut components = Vec::new();
        for part in body.split('/') {
            let (digits, hardened) = match part.strip_suffix(['\'', 'h', 'H']) {
                Some(d) => (d, true),
                None => (part, false),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "each component is a decimal number, optionally followed by '",
                ));
            }
            let index: u32 = digits
                .parse()
                .map_err(|_| invalid("a component must be below 2^31"))?;
            if index & HARDENED != 0 {
                return Err(invalid("a component must be below 2^31"));
            }
            components.push(if hardened { index | HARDENED } else { index });
        }
        Self::new(components).map_err(|_| invalid("a path has 1 to 10 components"))
    }
}

impl fmt::Display for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("m")?;
        for c in &self.0 {
            if c & HARDENED != 0 {
                write!(f, "/{}'", c & !HARDENED)?;
            } else {
                write!(f, "/{c}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DerivationPath({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_apdu_encoding() {
        let p: DerivationPath = "m/44'/60'/0'/0/0".parse().unwrap();
        assert_eq!(p, DerivationPath::ledger_live(0));
        assert_eq!(p.to_string(), "m/44'/60'/0'/0/0");
        assert_eq!(
            hex::encode(p.to_apdu_bytes()),
            "058000002c8000003c800000000000000000000000"
        );
        let encoded = p.to_apdu_bytes();
        let (back, rest) = DerivationPath::read_apdu(&encoded).unwrap();
        assert_eq!(back, p);
        assert!(rest.is_empty());
        assert_eq!(
            "44h/60h/0h/7".parse::<DerivationPath>().unwrap(),
            DerivationPath::legacy(7)
        );
    }

    #[test]
    fn bad_text_paths_are_refused() {
        for bad in [
            "",
            "m/",
            "m/44'/x",
            "m/44''",
            "m//1",
            "m/2147483648",
            "m/1/2/3/4/5/6/7/8/9/10/11",
        ] {
            assert!(bad.parse::<DerivationPath>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn apdu_path_count_must_be_1_to_10_and_fully_present() {
        assert!(DerivationPath::read_apdu(&[]).is_none());
        assert!(DerivationPath::read_apdu(&[0]).is_none());
        assert!(DerivationPath::read_apdu(&[11; 45]).is_none());
        assert!(DerivationPath::read_apdu(&[2, 0, 0, 0, 1, 0, 0, 0]).is_none());
        let (p, rest) = DerivationPath::read_apdu(&[1, 0x80, 0, 0, 45, 7]).unwrap();
        assert_eq!(p.components(), &[45 | HARDENED]);
        assert_eq!(rest, &[7]);
    }

    #[test]
    fn only_the_app_prefixes_with_a_hardened_component_are_allowed() {
        let allowed = [
            "m/44'/60'/0'/0/0",
            "m/44'/60'",
            "m/45'",
            "m/45'/1/2",
            "m/12381/3600/0'/0",
        ];
        let forbidden = ["m/44'", "m/44'/0'/0'/0/0", "m/44'/60/0'/0/0", "m/0'"];
        let not_hardened = ["m/44/60/0/0/0", "m/12381/3600/0/0", "m/0"];
        for p in allowed {
            assert_eq!(p.parse::<DerivationPath>().unwrap().refusal(), None, "{p}");
        }
        for p in forbidden {
            let refusal = p.parse::<DerivationPath>().unwrap().refusal();
            assert_eq!(refusal, Some(PathRefusal::Forbidden), "{p}");
        }
        for p in not_hardened {
            let refusal = p.parse::<DerivationPath>().unwrap().refusal();
            assert_eq!(refusal, Some(PathRefusal::NotHardened), "{p}");
        }
        assert_eq!(PathRefusal::Forbidden.status_word(), 0x6A15);
        assert_eq!(PathRefusal::NotHardened.status_word(), 0x6A12);
    }
}
