//! secp256k1 signatures in the forms XMTP v2 meets them: 65-byte wallet signatures
//! (`r || s || v`, v in 0/1 or 27/28) and compact `r || s` + recovery id.
//!
//! Two libraries, split by whether a secret is involved. Signing (RFC 6979, low-S) stays
//! on RustCrypto's k256, whose `SigningKey` wipes itself on drop. Public-key recovery and
//! signature checks, which see only public, often untrusted bytes and dominate the cost
//! of every flow and of `verify`, run on Bitcoin Core's libsecp256k1 (the `secp256k1`
//! crate), about five times faster than k256 at recovery. Both produce and accept the
//! same bytes; a test holds them to it.

use std::fmt;

use k256::ecdsa::{RecoveryId as K256RecoveryId, Signature, VerifyingKey};
use secp256k1::ecdsa::{self, RecoverableSignature, RecoveryId};
use secp256k1::{Message, PublicKey};
use zeroize::Zeroize;

use super::{Address, IdentityError, eip191};

/// A compact ECDSA signature: 64 bytes `r || s` and a recovery id of 0 or 1.
///
/// Construction checks the length, the recovery id and that `r` and `s` are valid,
/// low-S scalars, so holding one means it can be used for recovery.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CompactSignature {
    bytes: [u8; 64],
    recovery: u8,
}

impl CompactSignature {
    /// Validates `r || s` (64 bytes, both scalars in range, S low) and a recovery id of 0 or 1.
    pub fn new(bytes: &[u8], recovery: u32) -> Result<Self, IdentityError> {
        let bytes: [u8; 64] = bytes.try_into().map_err(|_| {
            IdentityError::InvalidSignature(format!(
                "compact signature must be 64 bytes, got {}",
                bytes.len()
            ))
        })?;
        let recovery = match recovery {
            0 | 1 => recovery as u8,
            other => {
                return Err(IdentityError::InvalidSignature(format!(
                    "recovery id must be 0 or 1, got {other}"
                )));
            }
        };
        let signature = Signature::from_slice(&bytes)
            .map_err(|_| IdentityError::InvalidSignature("r or s out of range".into()))?;
        if signature.normalize_s().is_some() {
            return Err(IdentityError::InvalidSignature(
                "high-S signature (not canonical)".into(),
            ));
        }
        Ok(Self { bytes, recovery })
    }

    pub(crate) fn from_k256(signature: &Signature, recovery_id: K256RecoveryId) -> Self {
        let mut bytes = [0u8; 64];
        bytes.copy_from_slice(&signature.to_bytes());
        Self {
            bytes,
            recovery: recovery_id.to_byte() & 1,
        }
    }

    /// `r || s`.
    pub fn bytes(&self) -> &[u8; 64] {
        &self.bytes
    }

    /// The recovery id, 0 or 1.
    pub fn recovery(&self) -> u8 {
        self.recovery
    }

    fn libsecp256k1(&self) -> Result<RecoverableSignature, IdentityError> {
        let recovery_id = RecoveryId::try_from(i32::from(self.recovery))
            .map_err(|_| IdentityError::InvalidSignature("bad recovery id".into()))?;
        RecoverableSignature::from_compact(&self.bytes, recovery_id)
            .map_err(|_| IdentityError::InvalidSignature("r or s out of range".into()))
    }

    /// Recovers the 65-byte uncompressed public key that signed `digest`.
    pub fn recover_public_key(&self, digest: &[u8; 32]) -> Result<[u8; 65], IdentityError> {
        let key = self
            .libsecp256k1()?
            .recover_ecdsa(Message::from_digest(*digest))
            .map_err(|_| IdentityError::RecoveryFailed)?;
        Ok(key.serialize_uncompressed())
    }

    /// Checks the signature over `digest` against a 65-byte uncompressed public key
    /// (`0x04 || X || Y`; the compressed and hybrid forms are refused).
    pub fn verify(&self, digest: &[u8; 32], public_key: &[u8; 65]) -> Result<(), IdentityError> {
        if public_key[0] != 0x04 {
            return Err(IdentityError::InvalidPublicKey(
                "not an uncompressed point".into(),
            ));
        }
        let key = PublicKey::from_byte_array_uncompressed(*public_key)
            .map_err(|_| IdentityError::InvalidPublicKey("not a secp256k1 point".into()))?;
        // Construction refused high-S, which libsecp256k1's verify would refuse too.
        ecdsa::verify(
            &self.libsecp256k1()?.to_standard(),
            Message::from_digest(*digest),
            &key,
        )
        .map_err(|_| IdentityError::BadKeySignature)
    }

    /// Recovers the wallet that personal_signed `message` (EIP-191 digest).
    pub fn recover_personal_sign_address(&self, message: &[u8]) -> Result<Address, IdentityError> {
        let point = self.recover_public_key(&eip191::personal_message_digest(message))?;
        Address::from_uncompressed_public_key(&point)
    }
}

impl fmt::Debug for CompactSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CompactSignature({}, recovery {})",
            hex::encode(self.bytes),
            self.recovery
        )
    }
}

/// RFC 6979 (HMAC-SHA256) signature of a 32-byte digest, low-S, with its recovery id:
/// the algorithm of xmtp-js (noble-secp256k1) and of the Ledger Ethereum app.
pub(crate) fn signature_from_digest(
    key: &k256::ecdsa::SigningKey,
    digest: &[u8; 32],
) -> Result<CompactSignature, IdentityError> {
    let (signature, recovery_id) = key
        .sign_prehash_recoverable(digest)
        .map_err(|_| IdentityError::SigningFailed)?;
    Ok(CompactSignature::from_k256(&signature, recovery_id))
}

pub(crate) fn uncompressed(key: &VerifyingKey) -> [u8; 65] {
    let point = key.to_encoded_point(false);
    let mut out = [0u8; 65];
    out.copy_from_slice(point.as_bytes());
    out
}

/// A 65-byte wallet signature `r || s || v` exactly as the wallet returned it.
///
/// The exact bytes matter: the Enable Identity signature *is* the storage secret, so
/// the `v` form (0/1 from older Ledger flows, 27/28 from most wallets) is kept as is.
/// The bytes are wiped on drop because an Enable Identity signature is a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct WalletSignature([u8; 65]);

impl WalletSignature {
    /// Parses 65 bytes `r || s || v` with v in {0, 1, 27, 28}.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        let bytes: [u8; 65] = bytes.try_into().map_err(|_| {
            IdentityError::InvalidSignature(format!(
                "wallet signature must be 65 bytes, got {}",
                bytes.len()
            ))
        })?;
        let signature = Self(bytes);
        signature.compact()?;
        Ok(signature)
    }

    /// Parses the hex form wallets return (`0x` optional).
    pub fn from_hex(text: &str) -> Result<Self, IdentityError> {
        let text = text.trim();
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let mut bytes = hex::decode(digits)
            .map_err(|_| IdentityError::InvalidSignature("signature is not hex".into()))?;
        let parsed = Self::from_bytes(&bytes);
        bytes.zeroize();
        parsed
    }

    /// Builds the 27/28 form from a compact signature (what software wallets return).
    pub fn from_compact(signature: &CompactSignature) -> Self {
        let mut bytes = [0u8; 65];
        bytes[..64].copy_from_slice(signature.bytes());
        bytes[64] = 27 + signature.recovery();
        Self(bytes)
    }

    /// The raw 65 bytes, as returned by the wallet.
    pub fn as_bytes(&self) -> &[u8; 65] {
        &self.0
    }

    /// The `v` byte as returned.
    pub fn v(&self) -> u8 {
        self.0[64]
    }

    /// The same signature with `v` in the other form (0/1 <-> 27/28).
    pub fn with_other_v_form(&self) -> Self {
        let mut bytes = self.0;
        bytes[64] = if bytes[64] < 27 {
            bytes[64] + 27
        } else {
            bytes[64] - 27
        };
        Self(bytes)
    }

    /// Splits into `r || s` and recovery id the way xmtp-js does: v < 27 gets 27 added,
    /// then recovery = 1 - (v mod 2).
    pub fn compact(&self) -> Result<CompactSignature, IdentityError> {
        let v = self.0[64];
        let v = if v < 27 { v.wrapping_add(27) } else { v };
        if v != 27 && v != 28 {
            return Err(IdentityError::InvalidSignature(format!(
                "v must be 0, 1, 27 or 28, got {}",
                self.0[64]
            )));
        }
        CompactSignature::new(&self.0[..64], u32::from(1 - (v % 2)))
    }

    /// Recovers the address that personal_signed `message`.
    pub fn recover_address(&self, message: &[u8]) -> Result<Address, IdentityError> {
        self.compact()?.recover_personal_sign_address(message)
    }

    /// Checks that this is `expected`'s personal_sign of exactly `message`.
    pub fn verify_personal_sign(
        &self,
        message: &[u8],
        expected: &Address,
    ) -> Result<(), IdentityError> {
        let recovered = self.recover_address(message)?;
        if recovered == *expected {
            Ok(())
        } else {
            Err(IdentityError::WrongSigner {
                expected: *expected,
                recovered,
            })
        }
    }
}

impl Drop for WalletSignature {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for WalletSignature {
    /// Never prints the bytes: an Enable Identity signature is a decryption secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WalletSignature(<65 bytes>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBSERVED_TEXT: &str =
        "XMTP : Create Identity\n0a0b\n\nFor more info: https://xmtp.org/signatures/";
    const OBSERVED_SIGNATURE: &str = "5c18e354ed7466546ee23bc6d8d40142079ad930d88e05019c60a0ed200618ac23485508048e94a4399373821e124147447ed304e451669ea2355e373fb33b371c";

    #[test]
    fn recovers_observed_ledger_signature_in_both_v_forms() {
        let expected: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .unwrap();
        let signature = WalletSignature::from_hex(OBSERVED_SIGNATURE).unwrap();
        assert_eq!(signature.v(), 28);
        signature
            .verify_personal_sign(OBSERVED_TEXT.as_bytes(), &expected)
            .unwrap();
        let zero_one = signature.with_other_v_form();
        assert_eq!(zero_one.v(), 1);
        zero_one
            .verify_personal_sign(OBSERVED_TEXT.as_bytes(), &expected)
            .unwrap();
        assert_eq!(zero_one.with_other_v_form(), signature);
    }

    #[test]
    fn a_signature_over_other_text_names_another_signer() {
        let expected: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .unwrap();
        let signature = WalletSignature::from_hex(OBSERVED_SIGNATURE).unwrap();
        let err = signature.verify_personal_sign(b"something else", &expected);
        assert!(matches!(
            err,
            Err(IdentityError::WrongSigner { .. }) | Err(IdentityError::RecoveryFailed)
        ));
    }

    #[test]
    fn rejects_bad_forms() {
        assert!(WalletSignature::from_bytes(&[0u8; 64]).is_err());
        let mut bytes = hex::decode(OBSERVED_SIGNATURE).unwrap();
        bytes[64] = 29;
        assert!(WalletSignature::from_bytes(&bytes).is_err());
        assert!(
            WalletSignature::from_bytes(&[0u8; 65]).is_err(),
            "zero r and s"
        );
        assert!(CompactSignature::new(&bytes[..64], 2).is_err());
        assert!(WalletSignature::from_hex("zz").is_err());
        assert!(WalletSignature::from_hex(&format!("0x0x{OBSERVED_SIGNATURE}")).is_err());
    }

    #[test]
    fn rejects_high_s() {
        let bytes = hex::decode(OBSERVED_SIGNATURE).unwrap();
        let signature = Signature::from_slice(&bytes[..64]).unwrap();
        // n - s is the high-S twin of a valid signature.
        let high = Signature::from_scalars(signature.r(), -*signature.s()).unwrap();
        assert!(CompactSignature::new(&high.to_bytes(), 0).is_err());
    }

    /// libsecp256k1 does the recovery and the checks, k256 the signing: the two must
    /// agree on every key, recovery id and digest, or a flow would refuse its own keys.
    #[test]
    fn libsecp256k1_recovers_and_verifies_what_k256_signs() {
        use sha2::{Digest, Sha256};
        for i in 1u8..=64 {
            let key = k256::ecdsa::SigningKey::from_slice(&Sha256::digest([i])).unwrap();
            let public = uncompressed(key.verifying_key());
            let digest: [u8; 32] = Sha256::digest([i, i]).into();
            let signature = signature_from_digest(&key, &digest).unwrap();
            assert_eq!(signature.recover_public_key(&digest).unwrap(), public);
            signature.verify(&digest, &public).unwrap();

            let mut other_digest = digest;
            other_digest[0] ^= 1;
            assert!(matches!(
                signature.verify(&other_digest, &public),
                Err(IdentityError::BadKeySignature)
            ));
            assert_ne!(
                signature.recover_public_key(&other_digest).ok(),
                Some(public)
            );
            let flipped =
                CompactSignature::new(signature.bytes(), 1 - u32::from(signature.recovery()))
                    .unwrap();
            assert_ne!(flipped.recover_public_key(&digest).ok(), Some(public));
        }
    }

    #[test]
    fn verify_takes_only_uncompressed_points_on_the_curve() {
        let key = k256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let digest = [9u8; 32];
        let signature = signature_from_digest(&key, &digest).unwrap();
        let public = uncompressed(key.verifying_key());
        // 0x06/0x07 is the "hybrid" form libsecp256k1 would otherwise parse.
        let mut hybrid = public;
        hybrid[0] = 0x06 | (public[64] & 1);
        assert!(matches!(
            signature.verify(&digest, &hybrid),
            Err(IdentityError::InvalidPublicKey(_))
        ));
        let mut off_curve = public;
        off_curve[64] ^= 1;
        assert!(matches!(
            signature.verify(&digest, &off_curve),
            Err(IdentityError::InvalidPublicKey(_))
        ));
    }

    #[test]
    fn debug_does_not_leak_bytes() {
        let signature = WalletSignature::from_hex(OBSERVED_SIGNATURE).unwrap();
        assert!(!format!("{signature:?}").contains("5c18"));
    }
}
