//! XMTP's storage cipher: key = HKDF-SHA256(secret, salt, info = ""), 32 bytes;
//! AES-256-GCM with a 12-byte nonce, the 16-byte tag appended and no associated data.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::KeystoreError;
use crate::proto::message_contents as pb;

/// HKDF salt length.
pub const SALT_LEN: usize = 32;
/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;

/// Derives the 32-byte AES key from a secret and salt.
pub fn derive_key(secret: &[u8], salt: &[u8; SALT_LEN]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(salt), secret).expand(&[], key.as_mut());
    key
}

/// Validated `Ciphertext.aes256_gcm_hkdf_sha256` parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBox {
    /// HKDF salt.
    pub hkdf_salt: [u8; SALT_LEN],
    /// AES-GCM nonce.
    pub gcm_nonce: [u8; NONCE_LEN],
    /// Ciphertext with the tag appended.
    pub payload: Vec<u8>,
}

impl SealedBox {
    /// Encrypts with a fresh random salt and nonce from the operating system.
    pub fn seal(plaintext: &[u8], secret: &[u8]) -> Result<Self, KeystoreError> {
        let mut hkdf_salt = [0u8; SALT_LEN];
        let mut gcm_nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut hkdf_salt);
        OsRng.fill_bytes(&mut gcm_nonce);
        Self::seal_with(plaintext, secret, hkdf_salt, gcm_nonce)
    }

    /// Encrypts with the given salt and nonce. Only for reproducing known vectors:
    /// reusing a nonce under one key breaks AES-GCM.
    pub fn seal_with(
        plaintext: &[u8],
        secret: &[u8],
        hkdf_salt: [u8; SALT_LEN],
        gcm_nonce: [u8; NONCE_LEN],
    ) -> Result<Self, KeystoreError> {
        let key = derive_key(secret, &hkdf_salt);
        let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| KeystoreError::Cipher)?;
        let payload = cipher
            .encrypt(Nonce::from_slice(&gcm_nonce), plaintext)
            .map_err(|_| KeystoreError::Cipher)?;
        Ok(Self {
            hkdf_salt,
            gcm_nonce,
            payload,
        })
    }

    /// Decrypts; a wrong secret or any tampering is [`KeystoreError::WrongKeyOrTampered`].
    pub fn open(&self, secret: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        let key = derive_key(secret, &self.hkdf_salt);
        let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| KeystoreError::Cipher)?;
        cipher
            .decrypt(Nonce::from_slice(&self.gcm_nonce), self.payload.as_slice())
            .map(Zeroizing::new)
            .map_err(|_| KeystoreError::WrongKeyOrTampered)
    }

    /// The protobuf `Ciphertext`.
    pub fn to_proto(&self) -> pb::Ciphertext {
        pb::Ciphertext {
            union: Some(pb::ciphertext::Union::Aes256GcmHkdfSha256(
                pb::ciphertext::Aes256gcmHkdfsha256 {
                    hkdf_salt: self.hkdf_salt.to_vec(),
                    gcm_nonce: self.gcm_nonce.to_vec(),
                    payload: self.payload.clone(),
                },
            )),
        }
    }

    /// Validates a protobuf `Ciphertext` as xmtp-js does: 32-byte salt, 12-byte nonce,
    /// payload at least one tag long.
    pub fn from_proto(ciphertext: &pb::Ciphertext) -> Result<Self, KeystoreError> {
        let Some(pb::ciphertext::Union::Aes256GcmHkdfSha256(aes)) = &ciphertext.union else {
            return Err(KeystoreError::Malformed(
                "ciphertext is not aes256_gcm_hkdf_sha256".into(),
            ));
        };
        let hkdf_salt = aes.hkdf_salt.as_slice().try_into().map_err(|_| {
            KeystoreError::Malformed(format!(
                "hkdf salt must be 32 bytes, got {}",
                aes.hkdf_salt.len()
            ))
        })?;
        let gcm_nonce = aes.gcm_nonce.as_slice().try_into().map_err(|_| {
            KeystoreError::Malformed(format!(
                "gcm nonce must be 12 bytes, got {}",
                aes.gcm_nonce.len()
            ))
        })?;
        if aes.payload.len() < TAG_LEN {
            return Err(KeystoreError::Malformed(
                "payload shorter than the GCM tag".into(),
            ));
        }
        Ok(Self {
            hkdf_salt,
            gcm_nonce,
            payload: aes.payload.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn hkdf_matches_xmtp_js_vectors() {
        let cases = [
            (
                "aff491a0fe153a4ac86065b4b4f6953a4cb33477aa233facb94d5fb88c82778c39167f453aa0690b5358abe9e027ddca5a6185bce3699d8b2ac7efa30510a7991b",
                "e3412c112c28353088c99bd5c7350c81b1bc879b4d08ea1192ec3c03202ff337",
                "0159d9ad511263c3754a8e2045fadc657c0016b1801720e67bbeb2661c60f176",
            ),
            (
                "af43ad68d9fcf40967f194497246a6e30515b6c4f574ee2ff58e31df32f5f18040812188cfb5ce34e74ae27b73be08dca626b3eb55c55e6733f32a59dd1b8e021c",
                "a8500ae6f90a7ccaa096adc55857b90c03508f7d5f8d103a49d58e69058f0c3c",
                "6181d0905f3f31cc3940336696afe1337d9e4d7f6655b9a6eaed2880be38150c",
            ),
        ];
        for (secret, salt, expected) in cases {
            let salt: [u8; 32] = h(salt).try_into().unwrap();
            assert_eq!(hex::encode(*derive_key(&h(secret), &salt)), expected);
        }
    }

    #[test]
    fn seal_then_open_round_trips_and_wrong_secret_fails() {
        let sealed = SealedBox::seal(b"plain", b"secret").unwrap();
        assert_eq!(sealed.payload.len(), 5 + TAG_LEN);
        assert_eq!(sealed.open(b"secret").unwrap().as_slice(), b"plain");
        assert!(matches!(
            sealed.open(b"other"),
            Err(KeystoreError::WrongKeyOrTampered)
        ));
        let again = SealedBox::seal(b"plain", b"secret").unwrap();
        assert_ne!(sealed.gcm_nonce, again.gcm_nonce, "nonces must be fresh");
    }
}
