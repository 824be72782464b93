//! The device's secrets and the cryptography done with them: BIP-39 seed, BIP-32 derivation,
//! Ethereum addresses (EIP-55), EIP-191 digests and RFC 6979 low-S signatures.

use std::fmt;

use bip32::{ChildNumber, XPrv};
use k256::ecdsa::{SigningKey, VerifyingKey};
use sha3::{Digest, Keccak256};
use zeroize::Zeroizing;

use crate::{DerivationPath, Error};

/// The EIP-191 version `0x45` prefix the app hashes before the decimal length.
pub const PERSONAL_MESSAGE_PREFIX: &[u8] = b"\x19Ethereum Signed Message:\n";

/// A 64-byte BIP-39 seed. Zeroized on drop; its `Debug` shows nothing.
pub struct Seed(Zeroizing<[u8; 64]>);

impl Seed {
    /// Derives the seed from an English BIP-39 mnemonic and optional passphrase (empty for none),
    /// as the device does at onboarding and Speculos does for `--seed`.
    pub fn from_mnemonic(mnemonic: &str, passphrase: &str) -> Result<Self, Error> {
        let parsed =
            bip39::Mnemonic::parse_in(bip39::Language::English, mnemonic).map_err(|e| {
                Error::InvalidMnemonic {
                    reason: e.to_string(),
                }
            })?;
        Ok(Self(Zeroizing::new(parsed.to_seed(passphrase))))
    }

    /// Derives the key pair and chain code at `path`.
    pub fn derive(&self, path: &DerivationPath) -> Result<DerivedKey, Error> {
        let mut xprv =
            XPrv::new(self.0.as_slice()).map_err(|e| Error::Derivation(e.to_string()))?;
        for &c in path.components() {
            xprv = xprv
                .derive_child(ChildNumber(c))
                .map_err(|e| Error::Derivation(e.to_string()))?;
        }
        Ok(DerivedKey {
            chain_code: xprv.attrs().chain_code,
            signing_key: xprv.private_key().clone(),
        })
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

/// A key derived at some path. The private key (k256 `SigningKey`) zeroizes itself on drop.
pub struct DerivedKey {
    signing_key: SigningKey,
    chain_code: [u8; 32],
}

impl DerivedKey {
    /// The 65-byte uncompressed public key `04 || X || Y`.
    pub fn public_key_uncompressed(&self) -> [u8; 65] {
        let point = self.signing_key.verifying_key().to_encoded_point(false);
        let mut out = [0u8; 65];
        out.copy_from_slice(point.as_bytes());
        out
    }

    /// The BIP-32 chain code at this path.
    pub fn chain_code(&self) -> [u8; 32] {
        self.chain_code
    }

    /// The 40 EIP-55 checksummed hex characters of the address, without `0x`.
    pub fn address_eip55(&self) -> String {
        eip55(&address_bytes(self.signing_key.verifying_key()))
    }

    /// Signs a 32-byte digest the way the app does (`CX_RND_RFC6979` with SHA-256, low-S) and
    /// returns the device's wire form `v || r || s`, with `v = 27 + y-parity (+ 2 if R.x ≥ n)`.
    ///
    /// Fails only if k256 refuses the prehash (a zero scalar: probability about 2^-256).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<[u8; 65], Error> {
        // k256 uses RFC 6979 with HMAC-SHA256 and normalises s to the low half, adjusting the
        // recovery id: the same algorithm as the device and Speculos, so the bytes are identical.
        let (signature, recovery_id) = self
            .signing_key
            .sign_prehash_recoverable(digest)
            .map_err(|e| Error::Signing(e.to_string()))?;
        let mut out = [0u8; 65];
        out[0] = 27 + recovery_id.to_byte();
        out[1..].copy_from_slice(&signature.to_bytes());
        Ok(out)
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DerivedKey")
            .field("address", &self.address_eip55())
            .finish_non_exhaustive()
    }
}

/// The 20-byte Ethereum address of a public key: the last 20 bytes of Keccak-256(X || Y).
pub fn address_bytes(key: &VerifyingKey) -> [u8; 20] {
    let point = key.to_encoded_point(false);
    let hash = Keccak256::digest(&point.as_bytes()[1..]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    out
}

/// EIP-55 mixed-case hex of an address, without `0x`: a letter is upper case when the matching
/// nibble of Keccak-256(lower-case hex) is 8 or more.
pub fn eip55(address: &[u8; 20]) -> String {
    let lower = hex::encode(address);
    let hash = Keccak256::digest(lower.as_bytes());
    lower
        .char_indices()
        .map(|(i, c)| {
            let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0F;
            if nibble >= 8 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// The EIP-191 `personal_sign` digest: Keccak-256 of the prefix, the decimal length and the
/// message.
pub fn personal_message_digest(message: &[u8]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    hasher.update(PERSONAL_MESSAGE_PREFIX);
    hasher.update(message.len().to_string().as_bytes());
    hasher.update(message);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eip55_matches_the_spec_examples() {
        // From EIP-55.
        for expected in [
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "fB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "dbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "D1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let mut bytes = [0u8; 20];
            hex::decode_to_slice(expected.to_lowercase(), &mut bytes).unwrap();
            assert_eq!(eip55(&bytes), expected);
        }
    }

    #[test]
    fn digest_of_hello_matches_the_reference() {
        assert_eq!(
            hex::encode(personal_message_digest(b"hello")),
            "50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750"
        );
    }

    #[test]
    fn bad_mnemonics_are_refused_without_echoing_words() {
        let err = Seed::from_mnemonic("test test test", "").unwrap_err();
        assert!(matches!(err, Error::InvalidMnemonic { .. }));
        let err = Seed::from_mnemonic(
            "secretword test test test test test test test test test test junk",
            "",
        )
        .unwrap_err();
        assert!(!err.to_string().contains("secretword"), "{err}");
        // Valid words, bad checksum.
        assert!(Seed::from_mnemonic(&["test"; 12].join(" "), "").is_err());
    }

    #[test]
    fn debug_output_hides_the_seed() {
        let seed = Seed::from_mnemonic(crate::TEST_MNEMONIC, "").unwrap();
        assert_eq!(format!("{seed:?}"), "Seed(<redacted>)");
    }
}
