//! XMTP v2 identity: keys, the wallet sign-request texts, EIP-191, signature forms,
//! EIP-55 addresses, key bundles, content topics and the publish auth token.
//!
//! Everything here is pure computation over bytes; nothing talks to a device or a network.

mod address;
pub mod auth;
mod bundle;
pub mod eip191;
mod keys;
mod signature;
pub mod topic;

pub use address::Address;
pub use auth::{AuthToken, TokenPolicy, VerifiedToken};
pub use bundle::{
    ContactBundle, PrivateKeyBundleV1, PublicKeyBundleV1, SignedPublicKey, SignedPublicKeyBundle,
    VerifiedContact,
};
pub use keys::{KeySignature, PrivateKeyV1, PublicKeyV1};
pub(crate) use signature::signature_from_digest;
pub use signature::{CompactSignature, WalletSignature};

/// A short form of an identity key for people to compare by eye (on two screens, over
/// the phone): the first 16 bytes of SHA-256 of its 65-byte uncompressed point, as 8
/// colon-separated groups of 4 hex digits. Every command shows it in this one format.
pub fn fingerprint(identity_public_key: &[u8; 65]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(identity_public_key);
    digest[..16]
        .chunks(2)
        .map(hex::encode)
        .collect::<Vec<_>>()
        .join(":")
}

/// Errors of the identity layer: malformed input or a signature that does not check out.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// An address string that is not `0x` + 40 hex digits or has a bad checksum.
    #[error("invalid Ethereum address {0}")]
    InvalidAddress(String),
    /// Bytes that are not a 65-byte uncompressed secp256k1 point.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    /// A signature of the wrong length, recovery id or range.
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    /// Public-key recovery found no key for the signature.
    #[error("signature does not recover to any public key")]
    RecoveryFailed,
    /// An ECDSA signature that does not verify against the expected key.
    #[error("key signature does not verify")]
    BadKeySignature,
    /// A wallet signature made by another account than the one expected.
    #[error("signature was made by {recovered}, expected {expected}")]
    WrongSigner {
        /// The account that should have signed.
        expected: Address,
        /// The account that did sign.
        recovered: Address,
    },
    /// A key that should be signed carries no signature.
    #[error("key is not signed")]
    Unsigned,
    /// A v2 identity key signed with a plain key signature instead of a wallet signature.
    #[error("identity key was not signed by a wallet")]
    NotWalletSigned,
    /// Protobuf bytes that do not decode.
    #[error("malformed protobuf: {0}")]
    Decode(#[from] prost::DecodeError),
    /// Protobuf that decodes but lacks required parts.
    #[error("malformed: {0}")]
    Malformed(String),
    /// A format this implementation does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The secp256k1 signer failed (practically unreachable with a valid key).
    #[error("signing failed")]
    SigningFailed,
    /// An auth token that is not well formed.
    #[error("bad auth token: {0}")]
    BadToken(String),
    /// An auth token older than its lifetime.
    #[error("auth token expired")]
    TokenExpired,
    /// An auth token created too far in the future.
    #[error("auth token is dated in the future")]
    TokenFromFuture,
    /// An auth token whose claimed wallet is not the one that signed its identity key.
    #[error("auth token claims wallet {claimed} but its identity key was signed by {recovered}")]
    TokenWalletMismatch {
        /// `AuthData.wallet_addr`.
        claimed: String,
        /// The wallet recovered from the identity key.
        recovered: Address,
    },
}
