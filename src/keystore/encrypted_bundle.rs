//! `EncryptedPrivateKeyBundle{v1}`: a private key bundle sealed under the wallet's
//! signature of the "XMTP : Enable Identity" text for a random 32-byte wallet pre-key.

use prost::Message;

use super::{KeystoreError, SealedBox};
use crate::identity::{PrivateKeyBundleV1, WalletSignature, eip191};
use crate::proto::message_contents as pb;

/// A decoded, validated `EncryptedPrivateKeyBundleV1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedBundle {
    /// The random value whose Enable Identity text the wallet signs.
    pub wallet_pre_key: [u8; 32],
    /// The sealed `PrivateKeyBundle{v1}`.
    pub sealed: SealedBox,
}

impl EncryptedBundle {
    /// Seals `bundle` under `signature`, which must be the wallet's signature of
    /// `enable_identity_text(wallet_pre_key)`. The signature bytes are used exactly as given.
    pub fn seal(
        bundle: &PrivateKeyBundleV1,
        wallet_pre_key: [u8; 32],
        signature: &WalletSignature,
    ) -> Result<Self, KeystoreError> {
        let plaintext = bundle.encode();
        Ok(Self {
            wallet_pre_key,
            sealed: SealedBox::seal(&plaintext, signature.as_bytes())?,
        })
    }

    /// The text the wallet must sign to open this bundle.
    pub fn enable_identity_text(&self) -> String {
        eip191::enable_identity_text(&self.wallet_pre_key)
    }

    /// Opens with the wallet's Enable Identity signature. Tries the signature as given,
    /// then with `v` in the other form (0/1 <-> 27/28), because older Ledger flows stored
    /// bundles under the other form (xmtp-js does the same).
    pub fn open(&self, signature: &WalletSignature) -> Result<PrivateKeyBundleV1, KeystoreError> {
        match self.open_exact(signature) {
            Ok(bundle) => Ok(bundle),
            Err(KeystoreError::WrongKeyOrTampered) => {
                self.open_exact(&signature.with_other_v_form())
            }
            Err(other) => Err(other),
        }
    }

    fn open_exact(&self, signature: &WalletSignature) -> Result<PrivateKeyBundleV1, KeystoreError> {
        let plaintext = self.sealed.open(signature.as_bytes())?;
        Ok(PrivateKeyBundleV1::decode(&plaintext)?)
    }

    /// Encodes as `EncryptedPrivateKeyBundle{v1}`.
    pub fn encode(&self) -> Vec<u8> {
        pb::EncryptedPrivateKeyBundle {
            version: Some(pb::encrypted_private_key_bundle::Version::V1(
                pb::EncryptedPrivateKeyBundleV1 {
                    wallet_pre_key: self.wallet_pre_key.to_vec(),
                    ciphertext: Some(self.sealed.to_proto()),
                },
            )),
        }
        .encode_to_vec()
    }

    /// Decodes `EncryptedPrivateKeyBundle{v1}`, or the bare `EncryptedPrivateKeyBundleV1`
    /// of older clients, and validates every field.
    pub fn decode(bytes: &[u8]) -> Result<Self, KeystoreError> {
        let v1 = match pb::EncryptedPrivateKeyBundle::decode(bytes) {
            Ok(pb::EncryptedPrivateKeyBundle {
                version: Some(pb::encrypted_private_key_bundle::Version::V1(v1)),
            }) => v1,
            _ => pb::EncryptedPrivateKeyBundleV1::decode(bytes)?,
        };
        let wallet_pre_key = v1.wallet_pre_key.as_slice().try_into().map_err(|_| {
            KeystoreError::Malformed(format!(
                "wallet pre-key must be 32 bytes, got {}",
                v1.wallet_pre_key.len()
            ))
        })?;
        let ciphertext = v1
            .ciphertext
            .as_ref()
            .ok_or_else(|| KeystoreError::Malformed("no ciphertext".into()))?;
        Ok(Self {
            wallet_pre_key,
            sealed: SealedBox::from_proto(ciphertext)?,
        })
    }
}
