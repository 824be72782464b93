//! Ethereum addresses: derivation from a secp256k1 public key and EIP-55 checksums.

use std::fmt;
use std::str::FromStr;

use sha3::{Digest, Keccak256};

use super::IdentityError;

/// A 20-byte Ethereum account address.
///
/// `Display` always renders the EIP-55 mixed-case checksum form, which is the
/// form XMTP puts into topics and auth tokens (the node compares it as an exact string).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address([u8; 20]);

impl Address {
    /// Wraps 20 raw bytes.
    pub const fn from_bytes(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }

    /// The raw 20 bytes.
    pub const fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// Derives the address of a 65-byte SEC1 uncompressed public key (`04 || X || Y`):
    /// the last 20 bytes of keccak256(X || Y).
    pub fn from_uncompressed_public_key(point: &[u8]) -> Result<Self, IdentityError> {
        if point.len() != 65 || point[0] != 0x04 {
            return Err(IdentityError::InvalidPublicKey(format!(
                "expected 65 bytes starting with 04, got {} bytes",
                point.len()
            )));
        }
        let hash = Keccak256::digest(&point[1..]);
        let mut bytes = [0u8; 20];
        bytes.copy_from_slice(&hash[12..]);
        Ok(Self(bytes))
    }

    /// `0x` followed by 40 lowercase hex digits: the form XMTP v3 hashes into inbox ids
    /// and writes into identity updates and their signature texts.
    pub fn to_lower_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// The EIP-55 checksummed form, `0x` followed by 40 mixed-case hex digits.
    pub fn to_checksum(&self) -> String {
        let lower = hex::encode(self.0);
        let hash = Keccak256::digest(lower.as_bytes());
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower.chars().enumerate() {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
            if c.is_ascii_alphabetic() && nibble >= 8 {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.to_checksum())
    }
}

impl FromStr for Address {
    type Err = IdentityError;

    /// Parses `0x` + 40 hex digits. All-lowercase and all-uppercase inputs are
    /// accepted as they carry no checksum; mixed case must be a valid EIP-55 checksum,
    /// so a mistyped address is caught rather than silently used.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |why: &str| IdentityError::InvalidAddress(format!("{s:?}: {why}"));
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .ok_or_else(|| invalid("must start with 0x"))?;
        if digits.len() != 40 {
            return Err(invalid("must have 40 hex digits"));
        }
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| invalid("not hex"))?;
        let address = Self(bytes);
        let has_lower = digits.chars().any(|c| c.is_ascii_lowercase());
        let has_upper = digits.chars().any(|c| c.is_ascii_uppercase());
        if has_lower && has_upper && address.to_checksum()[2..] != *digits {
            return Err(invalid("EIP-55 checksum does not match"));
        }
        Ok(address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_reference_address_from_public_key() {
        // xmtp-js PublicKey.test.ts "derives address from public key".
        let point = hex::decode("04836b35a026743e823a90a0ee3b91bf615c6a757e2b60b9e1dc1826fd0dd16106f7bc1e8179f665015f43c6c81f39062fc2086ed849625c06e04697698b21855e").unwrap();
        let address = Address::from_uncompressed_public_key(&point).unwrap();
        assert_eq!(
            address.to_string(),
            "0x0BED7ABd61247635c1973eB38474A2516eD1D884"
        );
    }

    #[test]
    fn parses_and_checks_eip55() {
        let good = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
        assert_eq!(good.parse::<Address>().unwrap().to_string(), good);
        let lower = good.to_lowercase();
        assert_eq!(lower.parse::<Address>().unwrap().to_string(), good);
        let bad = "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
        assert!(bad.parse::<Address>().is_err());
        assert!(
            "f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                .parse::<Address>()
                .is_err()
        );
        assert!("0x1234".parse::<Address>().is_err());
    }

    #[test]
    fn rejects_malformed_public_keys() {
        assert!(Address::from_uncompressed_public_key(&[4u8; 64]).is_err());
        assert!(Address::from_uncompressed_public_key(&[2u8; 65]).is_err());
    }
}
