//! BIP-32 derivation paths as the Ethereum app takes them.
//!
//! On the wire a path is one byte with the number of components (1 to 10; the SDK's
//! `MAX_BIP32_PATH`) followed by each component as a big-endian `u32`, hardened components with
//! bit 31 set. The text form is `m/44'/60'/0'/0/0`; `h` or `H` are accepted for `'`.

use std::fmt;
use std::str::FromStr;

/// Bit set on hardened components.
pub const HARDENED: u32 = 0x8000_0000;

/// Most components a path may have (`MAX_BIP32_PATH` in the Ledger SDK).
pub const MAX_COMPONENTS: usize = 10;

/// Why a path was refused. Caught before anything is sent to the device.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// No components (`m` alone or an empty string).
    #[error("derivation path {path:?} has no components; expected e.g. m/44'/60'/0'/0/0")]
    Empty {
        /// The text given.
        path: String,
    },
    /// More than [`MAX_COMPONENTS`] components.
    #[error("derivation path has {count} components; a Ledger accepts at most 10")]
    TooLong {
        /// How many were given.
        count: usize,
    },
    /// A component that is not a decimal number below 2^31 with an optional `'`/`h` suffix.
    #[error(
        "derivation path {path:?}: component {position} ({component:?}) must be a number below \
         2147483648, optionally followed by ' or h"
    )]
    InvalidComponent {
        /// The text given.
        path: String,
        /// 1-based position of the bad component.
        position: usize,
        /// The component text.
        component: String,
    },
    /// An account or address index of 2^31 or more (it would collide with the hardened range).
    #[error("index {index} is too large; it must be below 2147483648")]
    IndexTooLarge {
        /// The index given.
        index: u32,
    },
}

/// A BIP-32 derivation path of 1 to 10 components.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DerivationPath(Vec<u32>);

impl DerivationPath {
    /// From raw components (hardened bit included); 1 to [`MAX_COMPONENTS`] of them.
    pub fn new(components: Vec<u32>) -> Result<Self, PathError> {
        if components.is_empty() {
            return Err(PathError::Empty {
                path: String::new(),
            });
        }
        if components.len() > MAX_COMPONENTS {
            return Err(PathError::TooLong {
                count: components.len(),
            });
        }
        Ok(Self(components))
    }

    /// Ledger Live account `account`: `m/44'/60'/account'/0/0` (what Ledger Live shows as
    /// "Ethereum N+1").
    pub fn ledger_live(account: u32) -> Result<Self, PathError> {
        let account = check_index(account)?;
        Ok(Self(vec![
            44 | HARDENED,
            60 | HARDENED,
            account | HARDENED,
            0,
            0,
        ]))
    }

    /// Legacy (MEW/MyCrypto, older Ledger Live) account `index`: `m/44'/60'/0'/index`.
    pub fn legacy(index: u32) -> Result<Self, PathError> {
        let index = check_index(index)?;
        Ok(Self(vec![44 | HARDENED, 60 | HARDENED, HARDENED, index]))
    }

    /// The components, hardened bit included.
    pub fn components(&self) -> &[u32] {
        &self.0
    }

    /// True when the path is under `m/44'/60'`, the prefix the Ethereum app may derive.
    /// Other paths are refused by the device.
    pub fn is_ethereum(&self) -> bool {
        self.0.starts_with(&[44 | HARDENED, 60 | HARDENED])
    }

    /// The APDU encoding: component count, then each component as big-endian `u32`.
    pub fn to_apdu_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        // The constructor guarantees 1..=10 components, so the count fits in a byte.
        out.push(self.0.len() as u8);
        for component in &self.0 {
            out.extend_from_slice(&component.to_be_bytes());
        }
        out
    }

    /// Length of [`DerivationPath::to_apdu_bytes`]: `1 + 4 * components`.
    pub fn encoded_len(&self) -> usize {
        1 + 4 * self.0.len()
    }
}

fn check_index(index: u32) -> Result<u32, PathError> {
    if index & HARDENED != 0 {
        Err(PathError::IndexTooLarge { index })
    } else {
        Ok(index)
    }
}

impl FromStr for DerivationPath {
    type Err = PathError;

    /// Parses `m/44'/60'/0'/0/0`; the leading `m/` is optional, hardened components take `'`,
    /// `h` or `H`.
    fn from_str(text: &str) -> Result<Self, PathError> {
        let trimmed = text.trim();
        let body = match trimmed
            .strip_prefix('m')
            .or_else(|| trimmed.strip_prefix('M'))
        {
            Some("") => "",
            Some(rest) => rest
                .strip_prefix('/')
                .ok_or_else(|| PathError::InvalidComponent {
                    path: text.to_owned(),
                    position: 1,
                    component: trimmed.to_owned(),
                })?,
            None => trimmed,
        };
        if body.is_empty() {
            return Err(PathError::Empty {
                path: text.to_owned(),
            });
        }
        let mut components = Vec::new();
        for (i, part) in body.split('/').enumerate() {
            let invalid = || PathError::InvalidComponent {
                path: text.to_owned(),
                position: i + 1,
                component: part.to_owned(),
            };
            let (digits, hardened) = match part.strip_suffix(['\'', 'h', 'H']) {
                Some(digits) => (digits, true),
                None => (part, false),
            };
            // `u32::from_str` accepts a leading '+'; a path component must be plain digits.
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            let index: u32 = digits.parse().map_err(|_| invalid())?;
            if index & HARDENED != 0 {
                return Err(invalid());
            }
            components.push(if hardened { index | HARDENED } else { index });
            if components.len() > MAX_COMPONENTS {
                return Err(PathError::TooLong {
                    count: body.split('/').count(),
                });
            }
        }
        Self::new(components)
    }
}

impl fmt::Display for DerivationPath {
    /// `m/44'/60'/0'/0/0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("m")?;
        for component in &self.0 {
            if component & HARDENED != 0 {
                write!(f, "/{}'", component & !HARDENED)?;
            } else {
                write!(f, "/{component}")?;
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
    fn ledger_live_and_legacy_layouts() {
        assert_eq!(
            DerivationPath::ledger_live(0).unwrap().to_string(),
            "m/44'/60'/0'/0/0"
        );
        assert_eq!(
            DerivationPath::ledger_live(7).unwrap().to_string(),
            "m/44'/60'/7'/0/0"
        );
        assert_eq!(
            DerivationPath::legacy(3).unwrap().to_string(),
            "m/44'/60'/0'/3"
        );
        assert_eq!(
            DerivationPath::ledger_live(HARDENED),
            Err(PathError::IndexTooLarge { index: HARDENED })
        );
        assert!(DerivationPath::legacy(u32::MAX).is_err());
    }

    #[test]
    fn apdu_encoding_is_count_then_big_endian_components() {
        let path = DerivationPath::ledger_live(1).unwrap();
        assert_eq!(
            hex::encode(path.to_apdu_bytes()),
            "058000002c8000003c800000010000000000000000"
        );
        assert_eq!(path.encoded_len(), 21);
        assert_eq!(path.to_apdu_bytes().len(), path.encoded_len());
    }

    #[test]
    fn parses_all_hardened_notations_and_round_trips() {
        let expected = DerivationPath::ledger_live(0).unwrap();
        for text in [
            "m/44'/60'/0'/0/0",
            "44'/60'/0'/0/0",
            "m/44h/60h/0h/0/0",
            "M/44H/60H/0H/0/0",
            " m/44'/60'/0h/0/0 ",
        ] {
            assert_eq!(text.parse::<DerivationPath>().unwrap(), expected, "{text}");
        }
        let custom: DerivationPath = "m/45'/1/2147483647'".parse().unwrap();
        assert_eq!(custom.components(), &[45 | HARDENED, 1, u32::MAX]);
        assert_eq!(
            custom.to_string().parse::<DerivationPath>().unwrap(),
            custom
        );
        assert!(!custom.is_ethereum());
        assert!(expected.is_ethereum());
    }

    #[test]
    fn accepts_one_to_ten_components() {
        assert_eq!("m/0".parse::<DerivationPath>().unwrap().components(), &[0]);
        let ten = "m/1/2/3/4/5/6/7/8/9/10".parse::<DerivationPath>().unwrap();
        assert_eq!(ten.components().len(), 10);
        assert_eq!(ten.to_apdu_bytes()[0], 10);
        assert_eq!(
            "m/1/2/3/4/5/6/7/8/9/10/11".parse::<DerivationPath>(),
            Err(PathError::TooLong { count: 11 })
        );
        assert_eq!(
            DerivationPath::new(vec![0; 11]),
            Err(PathError::TooLong { count: 11 })
        );
        assert!(matches!(
            DerivationPath::new(vec![]),
            Err(PathError::Empty { .. })
        ));
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "m",
            "m/",
            "m//0",
            "m/44'/60'/",
            "m/x",
            "m/-1",
            "m/+1",
            "m/1''",
            "m/2147483648",
            "m/2147483648'",
            "m/4294967296",
            "/44'/60'",
            "n/44'",
            "m44'",
            "m/1 /2",
        ] {
            let error = bad.parse::<DerivationPath>();
            assert!(
                matches!(
                    error,
                    Err(PathError::Empty { .. } | PathError::InvalidComponent { .. })
                ),
                "{bad:?} gave {error:?}"
            );
        }
        // The error names the offending component so the user can find it.
        let error = "m/44'/60'/x/0".parse::<DerivationPath>().unwrap_err();
        assert_eq!(
            error,
            PathError::InvalidComponent {
                path: "m/44'/60'/x/0".into(),
                position: 3,
                component: "x".into()
            }
        );
    }
}
