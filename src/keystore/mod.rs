//! Storage encryption of the private key bundle: HKDF-SHA256 + AES-256-GCM under a
//! wallet signature, and the `EncryptedPrivateKeyBundle` encoding.

mod cipher;
mod encrypted_bundle;

pub use cipher::{NONCE_LEN, SALT_LEN, SealedBox, TAG_LEN, derive_key};
pub use encrypted_bundle::EncryptedBundle;

use crate::identity::IdentityError;

/// Errors of the keystore layer.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// Authentication failed: the signature is not the one the bundle was sealed
    /// under (wrong account, wrong wallet pre-key) or the bytes were altered.
    #[error("cannot decrypt: wrong wallet signature or tampered ciphertext")]
    WrongKeyOrTampered,
    /// Encrypted bytes that are not a well-formed encrypted bundle.
    #[error("malformed encrypted bundle: {0}")]
    Malformed(String),
    /// Protobuf that does not decode.
    #[error("malformed protobuf: {0}")]
    Decode(#[from] prost::DecodeError),
    /// Decrypted bytes that are not a valid private key bundle.
    #[error("decrypted bundle is invalid: {0}")]
    Bundle(#[from] IdentityError),
    /// The AES implementation refused its inputs (unreachable with fixed-size keys).
    #[error("cipher failure")]
    Cipher,
}
