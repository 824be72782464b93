//! XMTP v2 "legacy" (v1-format) keys: the identity key that stands in for the wallet
//! and the pre-keys it signs. These are the forms xmtp-js stores and publishes.

use std::fmt;

use k256::ecdsa::SigningKey;
use prost::Message;
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::signature::{signature_from_digest, uncompressed};
use super::{Address, CompactSignature, IdentityError, eip191};
use crate::proto::message_contents as pb;

/// How a key's signature is labelled on the wire.
///
/// xmtp-js stores the wallet's signature of a legacy identity key as `ecdsa_compact`
/// (field 1) and moves it to `wallet_ecdsa_compact` (field 2) in the v2 form; readers
/// accept either on a legacy key, so the label is kept to re-encode byte for byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySignature {
    /// `Signature.ecdsa_compact` (field 1).
    Ecdsa(CompactSignature),
    /// `Signature.wallet_ecdsa_compact` (field 2).
    Wallet(CompactSignature),
}

impl KeySignature {
    /// The signature whatever its label.
    pub fn compact(&self) -> &CompactSignature {
        match self {
            Self::Ecdsa(s) | Self::Wallet(s) => s,
        }
    }

    pub(crate) fn to_proto(self) -> pb::Signature {
        use pb::signature::{EcdsaCompact, Union, WalletEcdsaCompact};
        let union = match self {
            Self::Ecdsa(s) => Union::EcdsaCompact(EcdsaCompact {
                bytes: s.bytes().to_vec(),
                recovery: u32::from(s.recovery()),
            }),
            Self::Wallet(s) => Union::WalletEcdsaCompact(WalletEcdsaCompact {
                bytes: s.bytes().to_vec(),
                recovery: u32::from(s.recovery()),
            }),
        };
        pb::Signature { union: Some(union) }
    }

    pub(crate) fn from_proto(signature: &pb::Signature) -> Result<Self, IdentityError> {
        use pb::signature::Union;
        match &signature.union {
            Some(Union::EcdsaCompact(s)) => {
                Ok(Self::Ecdsa(CompactSignature::new(&s.bytes, s.recovery)?))
            }
            Some(Union::WalletEcdsaCompact(s)) => {
                Ok(Self::Wallet(CompactSignature::new(&s.bytes, s.recovery)?))
            }
            None => Err(IdentityError::Malformed("signature has no value".into())),
        }
    }
}

/// A validated 65-byte SEC1 uncompressed secp256k1 point (`04 || X || Y`).
pub(crate) fn check_point(bytes: &[u8]) -> Result<[u8; 65], IdentityError> {
    let point: [u8; 65] = bytes.try_into().map_err(|_| {
        IdentityError::InvalidPublicKey(format!("expected 65 bytes, got {}", bytes.len()))
    })?;
    if point[0] != 0x04 {
        return Err(IdentityError::InvalidPublicKey(
            "not an uncompressed point".into(),
        ));
    }
    k256::PublicKey::from_sec1_bytes(&point)
        .map_err(|_| IdentityError::InvalidPublicKey("not on secp256k1".into()))?;
    Ok(point)
}

/// A legacy `PublicKey`: millisecond timestamp, uncompressed point, optional signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyV1 {
    timestamp_ms: u64,
    point: [u8; 65],
    signature: Option<KeySignature>,
}

impl PublicKeyV1 {
    /// The creation time in milliseconds since the epoch.
    pub fn timestamp_ms(&self) -> u64 {
        self.timestamp_ms
    }

    /// The 65-byte uncompressed point.
    pub fn point(&self) -> &[u8; 65] {
        &self.point
    }

    /// The signature over [`Self::bytes_to_sign`], if signed.
    pub fn signature(&self) -> Option<&KeySignature> {
        self.signature.as_ref()
    }

    /// The bytes a signer signs: this key encoded without its signature (fields 1 and 3).
    /// They are also a valid v2 `UnsignedPublicKey`, which is why one signature serves both forms.
    pub fn bytes_to_sign(&self) -> Vec<u8> {
        self.proto_without_signature().encode_to_vec()
    }

    fn proto_without_signature(&self) -> pb::PublicKey {
        pb::PublicKey {
            timestamp: self.timestamp_ms,
            signature: None,
            union: Some(pb::public_key::Union::Secp256k1Uncompressed(
                pb::public_key::Secp256k1Uncompressed {
                    bytes: self.point.to_vec(),
                },
            )),
        }
    }

    /// The protobuf form, signature included.
    pub fn to_proto(&self) -> pb::PublicKey {
        pb::PublicKey {
            signature: self.signature.map(KeySignature::to_proto),
            ..self.proto_without_signature()
        }
    }

    /// Validates a decoded protobuf key: a well-formed point and, if present, a well-formed signature.
    pub fn from_proto(key: &pb::PublicKey) -> Result<Self, IdentityError> {
        let point = match &key.union {
            Some(pb::public_key::Union::Secp256k1Uncompressed(p)) => check_point(&p.bytes)?,
            None => return Err(IdentityError::Malformed("public key has no point".into())),
        };
        let signature = key
            .signature
            .as_ref()
            .map(KeySignature::from_proto)
            .transpose()?;
        Ok(Self {
            timestamp_ms: key.timestamp,
            point,
            signature,
        })
    }

    /// Decodes and validates an encoded legacy `PublicKey`.
    pub fn decode(bytes: &[u8]) -> Result<Self, IdentityError> {
        Self::from_proto(&pb::PublicKey::decode(bytes)?)
    }

    /// The text the wallet signed to vouch for this key ("XMTP : Create Identity" ...).
    pub fn create_identity_text(&self) -> String {
        eip191::create_identity_text(&self.bytes_to_sign())
    }

    /// Recovers the wallet that signed this identity key (either signature label).
    pub fn wallet_address(&self) -> Result<Address, IdentityError> {
        let signature = self.signature.ok_or(IdentityError::Unsigned)?;
        signature
            .compact()
            .recover_personal_sign_address(self.create_identity_text().as_bytes())
    }

    /// Checks that this key was signed by `signer` (SHA-256 of [`Self::bytes_to_sign`]),
    /// as a pre-key is signed by its identity key.
    pub fn verify_signed_by(&self, signer: &PublicKeyV1) -> Result<(), IdentityError> {
        let signature = self.signature.ok_or(IdentityError::Unsigned)?;
        let digest: [u8; 32] = Sha256::digest(self.bytes_to_sign()).into();
        signature.compact().verify(&digest, &signer.point)
    }

    /// Attaches a signature over [`Self::bytes_to_sign`].
    pub fn with_signature(mut self, signature: KeySignature) -> Self {
        self.signature = Some(signature);
        self
    }
}

/// A legacy `PrivateKey`: the secret scalar, its timestamp and its (signed) public key.
///
/// The scalar lives in a k256 `SigningKey`, which wipes itself on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct PrivateKeyV1 {
    secret: SigningKey,
    public: PublicKeyV1,
}

impl PrivateKeyV1 {
    /// A fresh key from the operating system's random source, not yet signed.
    pub fn generate(timestamp_ms: u64) -> Self {
        Self::from_signing_key(SigningKey::random(&mut OsRng), timestamp_ms)
    }

    /// A key from a known 32-byte scalar (for vectors and imports), not yet signed.
    pub fn from_secret_bytes(secret: &[u8], timestamp_ms: u64) -> Result<Self, IdentityError> {
        let secret = SigningKey::from_slice(secret)
            .map_err(|_| IdentityError::Malformed("private key is not a valid scalar".into()))?;
        Ok(Self::from_signing_key(secret, timestamp_ms))
    }

    fn from_signing_key(secret: SigningKey, timestamp_ms: u64) -> Self {
        let point = uncompressed(secret.verifying_key());
        Self {
            secret,
            public: PublicKeyV1 {
                timestamp_ms,
                point,
                signature: None,
            },
        }
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKeyV1 {
        &self.public
    }

    /// The timestamp shared by the private and public key.
    pub fn timestamp_ms(&self) -> u64 {
        self.public.timestamp_ms
    }

    /// Attaches a signature to the public half.
    pub fn set_signature(&mut self, signature: KeySignature) {
        self.public.signature = Some(signature);
    }

    /// Signs a 32-byte digest (the caller hashes): RFC 6979 nonce, low-S, as xmtp-js does.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<CompactSignature, IdentityError> {
        signature_from_digest(&self.secret, digest)
    }

    /// Signs another key's `bytes_to_sign` (SHA-256) and attaches the signature as `ecdsa_compact`.
    pub fn sign_key(&self, key: &mut PrivateKeyV1) -> Result<(), IdentityError> {
        let digest: [u8; 32] = Sha256::digest(key.public.bytes_to_sign()).into();
        key.set_signature(KeySignature::Ecdsa(self.sign_digest(&digest)?));
        Ok(())
    }

    /// The protobuf form. It holds the secret scalar: the caller must wipe it
    /// (see [`zeroize_private_key_proto`]).
    pub(crate) fn to_proto(&self) -> pb::PrivateKey {
        pb::PrivateKey {
            timestamp: self.public.timestamp_ms,
            union: Some(pb::private_key::Union::Secp256k1(
                pb::private_key::Secp256k1 {
                    bytes: self.secret.to_bytes().to_vec(),
                },
            )),
            public_key: Some(self.public.to_proto()),
        }
    }

    /// Validates a decoded protobuf key: a valid scalar whose public key is the stored one.
    pub(crate) fn from_proto(key: &pb::PrivateKey) -> Result<Self, IdentityError> {
        let secret_bytes = match &key.union {
            Some(pb::private_key::Union::Secp256k1(s)) => Zeroizing::new(s.bytes.clone()),
            None => return Err(IdentityError::Malformed("private key has no scalar".into())),
        };
        let public = key
            .public_key
            .as_ref()
            .ok_or_else(|| IdentityError::Malformed("private key has no public key".into()))?;
        let public = PublicKeyV1::from_proto(public)?;
        let derived = Self::from_secret_bytes(&secret_bytes, key.timestamp)?;
        if derived.public.point != public.point {
            return Err(IdentityError::Malformed(
                "private key does not match its public key".into(),
            ));
        }
        Ok(Self {
            secret: derived.secret,
            public,
        })
    }
}

/// Wipes the secret scalar inside a protobuf private key.
pub(crate) fn zeroize_private_key_proto(key: &mut pb::PrivateKey) {
    if let Some(pb::private_key::Union::Secp256k1(s)) = &mut key.union {
        s.bytes.zeroize();
    }
}

impl fmt::Debug for PrivateKeyV1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKeyV1")
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}
