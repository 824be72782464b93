//! Key bundles: the private bundle that is encrypted into the private store, and the
//! public contact bundles (v1 and v2) that others look up.

use prost::Message;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::keys::{check_point, zeroize_private_key_proto};
use super::{Address, IdentityError, KeySignature, PrivateKeyV1, PublicKeyV1, eip191};
use crate::proto::message_contents as pb;

/// `PrivateKeyBundleV1`: the identity key and its pre-keys, newest pre-key first.
///
/// This is what xmtp-js encrypts and stores on the network, wrapped as `PrivateKeyBundle{v1}`.
#[derive(Clone, Debug)]
pub struct PrivateKeyBundleV1 {
    identity_key: PrivateKeyV1,
    pre_keys: Vec<PrivateKeyV1>,
}

impl PrivateKeyBundleV1 {
    /// A bundle of an identity key and at least one pre-key (newest first).
    pub fn new(
        identity_key: PrivateKeyV1,
        pre_keys: Vec<PrivateKeyV1>,
    ) -> Result<Self, IdentityError> {
        if pre_keys.is_empty() {
            return Err(IdentityError::Malformed("bundle has no pre-key".into()));
        }
        Ok(Self {
            identity_key,
            pre_keys,
        })
    }

    /// The identity key.
    pub fn identity_key(&self) -> &PrivateKeyV1 {
        &self.identity_key
    }

    /// All pre-keys, newest first.
    pub fn pre_keys(&self) -> &[PrivateKeyV1] {
        &self.pre_keys
    }

    /// The current (newest) pre-key.
    pub fn current_pre_key(&self) -> &PrivateKeyV1 {
        // `new` and `decode` guarantee at least one pre-key.
        &self.pre_keys[0]
    }

    /// Signs `pre_key` with the identity key and makes it the current pre-key, keeping
    /// every older one behind it (xmtp-js's `addPreKey`): messages sealed to an older
    /// pre-key stay readable.
    pub fn add_pre_key(&mut self, mut pre_key: PrivateKeyV1) -> Result<(), IdentityError> {
        self.identity_key.sign_key(&mut pre_key)?;
        self.pre_keys.insert(0, pre_key);
        Ok(())
    }

    /// Whether `point` is the public key of one of the bundle's pre-keys.
    pub fn holds_pre_key(&self, point: &[u8; 65]) -> bool {
        self.pre_keys
            .iter()
            .any(|pre_key| pre_key.public_key().point() == point)
    }

    /// The public bundle published as a contact: identity key and current pre-key.
    pub fn public_bundle(&self) -> PublicKeyBundleV1 {
        PublicKeyBundleV1 {
            identity_key: self.identity_key.public_key().clone(),
            pre_key: self.current_pre_key().public_key().clone(),
        }
    }

    /// Encodes as `PrivateKeyBundle{v1}`. The output holds private keys and is wiped on drop.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut bundle = pb::PrivateKeyBundleV1 {
            identity_key: Some(self.identity_key.to_proto()),
            pre_keys: self.pre_keys.iter().map(PrivateKeyV1::to_proto).collect(),
        };
        let mut wrapper = pb::PrivateKeyBundle {
            version: Some(pb::private_key_bundle::Version::V1(bundle.clone())),
        };
        let encoded = Zeroizing::new(wrapper.encode_to_vec());
        zeroize_bundle_proto(&mut bundle);
        if let Some(pb::private_key_bundle::Version::V1(inner)) = &mut wrapper.version {
            zeroize_bundle_proto(inner);
        }
        encoded
    }

    /// Decodes `PrivateKeyBundle{v1}`, or a bare `PrivateKeyBundleV1` (the pre-versioning
    /// format xmtp-js still reads). A v2 bundle is refused, as xmtp-js refuses it.
    pub fn decode(bytes: &[u8]) -> Result<Self, IdentityError> {
        let mut bundle = match pb::PrivateKeyBundle::decode(bytes) {
            Ok(pb::PrivateKeyBundle {
                version: Some(pb::private_key_bundle::Version::V1(v1)),
            }) => v1,
            Ok(pb::PrivateKeyBundle {
                version: Some(pb::private_key_bundle::Version::V2(_)),
            }) => return Err(IdentityError::Unsupported("v2 private key bundle".into())),
            _ => pb::PrivateKeyBundleV1::decode(bytes)?,
        };
        let result = Self::from_proto(&bundle);
        zeroize_bundle_proto(&mut bundle);
        result
    }

    fn from_proto(bundle: &pb::PrivateKeyBundleV1) -> Result<Self, IdentityError> {
        let identity = bundle
            .identity_key
            .as_ref()
            .ok_or_else(|| IdentityError::Malformed("bundle has no identity key".into()))?;
        let identity_key = PrivateKeyV1::from_proto(identity)?;
        let pre_keys = bundle
            .pre_keys
            .iter()
            .map(PrivateKeyV1::from_proto)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(identity_key, pre_keys)
    }

    /// Checks the whole bundle: the identity key is signed by a wallet and every pre-key
    /// by the identity key. Returns the wallet address.
    pub fn verify(&self) -> Result<Address, IdentityError> {
        let wallet = self.identity_key.public_key().wallet_address()?;
        self.verify_pre_keys()?;
        Ok(wallet)
    }

    /// Checks that every pre-key is signed by the identity key, leaving the identity
    /// key's wallet signature to the caller (who checked it already, or calls
    /// [`Self::verify`]).
    pub fn verify_pre_keys(&self) -> Result<(), IdentityError> {
        for pre_key in &self.pre_keys {
            pre_key
                .public_key()
                .verify_signed_by(self.identity_key.public_key())?;
        }
        Ok(())
    }
}

fn zeroize_bundle_proto(bundle: &mut pb::PrivateKeyBundleV1) {
    if let Some(key) = &mut bundle.identity_key {
        zeroize_private_key_proto(key);
    }
    for key in &mut bundle.pre_keys {
        zeroize_private_key_proto(key);
    }
}

/// A legacy `PublicKeyBundle`: the identity key (signed by the wallet) and a pre-key
/// (signed by the identity key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyBundleV1 {
    /// The identity key, carrying the wallet's signature.
    pub identity_key: PublicKeyV1,
    /// The current pre-key, carrying the identity key's signature.
    pub pre_key: PublicKeyV1,
}

impl PublicKeyBundleV1 {
    /// The protobuf form.
    pub fn to_proto(&self) -> pb::PublicKeyBundle {
        pb::PublicKeyBundle {
            identity_key: Some(self.identity_key.to_proto()),
            pre_key: Some(self.pre_key.to_proto()),
        }
    }

    fn from_proto(bundle: &pb::PublicKeyBundle) -> Result<Self, IdentityError> {
        let field = |key: &Option<pb::PublicKey>, name: &str| {
            key.as_ref()
                .ok_or_else(|| IdentityError::Malformed(format!("bundle has no {name}")))
                .and_then(PublicKeyV1::from_proto)
        };
        Ok(Self {
            identity_key: field(&bundle.identity_key, "identity key")?,
            pre_key: field(&bundle.pre_key, "pre-key")?,
        })
    }

    /// The v2 form xmtp-js derives from it (`SignedPublicKeyBundle.fromLegacyBundle`):
    /// same bytes and signatures, the wallet signature relabelled `wallet_ecdsa_compact`.
    pub fn to_signed_bundle(&self) -> Result<SignedPublicKeyBundle, IdentityError> {
        let identity_signature = self
            .identity_key
            .signature()
            .ok_or(IdentityError::Unsigned)?;
        let pre_key_signature = self.pre_key.signature().ok_or(IdentityError::Unsigned)?;
        Ok(SignedPublicKeyBundle {
            identity_key: SignedPublicKey::from_legacy(
                &self.identity_key,
                KeySignature::Wallet(*identity_signature.compact()),
            ),
            pre_key: SignedPublicKey::from_legacy(&self.pre_key, *pre_key_signature),
        })
    }

    /// `ContactBundle{v1}` bytes.
    pub fn encode_contact_v1(&self) -> Vec<u8> {
        pb::ContactBundle {
            version: Some(pb::contact_bundle::Version::V1(pb::ContactBundleV1 {
                key_bundle: Some(self.to_proto()),
            })),
        }
        .encode_to_vec()
    }
}

/// A v2 `SignedPublicKey`: the exact signed `key_bytes` (an `UnsignedPublicKey`) and the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPublicKey {
    key_bytes: Vec<u8>,
    created_ns: u64,
    point: [u8; 65],
    signature: KeySignature,
}

impl SignedPublicKey {
    fn from_legacy(key: &PublicKeyV1, signature: KeySignature) -> Self {
        Self {
            key_bytes: key.bytes_to_sign(),
            // A converted legacy key keeps its millisecond value here; readers tell it
            // apart from nanoseconds by the 10^18 threshold.
            created_ns: key.timestamp_ms(),
            point: *key.point(),
            signature,
        }
    }

    /// The signed bytes, verbatim.
    pub fn key_bytes(&self) -> &[u8] {
        &self.key_bytes
    }

    /// `created_ns` as stored (milliseconds for keys converted from the legacy form).
    pub fn created_ns(&self) -> u64 {
        self.created_ns
    }

    /// The 65-byte uncompressed point.
    pub fn point(&self) -> &[u8; 65] {
        &self.point
    }

    /// The signature over `key_bytes`.
    pub fn signature(&self) -> &KeySignature {
        &self.signature
    }

    /// The protobuf form, `key_bytes` verbatim.
    pub fn to_proto(&self) -> pb::SignedPublicKey {
        pb::SignedPublicKey {
            key_bytes: self.key_bytes.clone(),
            signature: Some(self.signature.to_proto()),
        }
    }

    fn from_proto(key: &pb::SignedPublicKey) -> Result<Self, IdentityError> {
        let unsigned = pb::UnsignedPublicKey::decode(key.key_bytes.as_slice())?;
        let point = match &unsigned.union {
            Some(pb::unsigned_public_key::Union::Secp256k1Uncompressed(p)) => {
                check_point(&p.bytes)?
            }
            None => return Err(IdentityError::Malformed("signed key has no point".into())),
        };
        let signature = key
            .signature
            .as_ref()
            .ok_or(IdentityError::Unsigned)
            .and_then(KeySignature::from_proto)?;
        Ok(Self {
            key_bytes: key.key_bytes.clone(),
            created_ns: unsigned.created_ns,
            point,
            signature,
        })
    }

    /// Decodes and validates an encoded `SignedPublicKey`.
    pub fn decode(bytes: &[u8]) -> Result<Self, IdentityError> {
        Self::from_proto(&pb::SignedPublicKey::decode(bytes)?)
    }

    /// Recovers the wallet that signed this key. As in xmtp-js, a v2 identity key must
    /// carry `wallet_ecdsa_compact`; the text is built over `key_bytes` verbatim.
    pub fn wallet_address(&self) -> Result<Address, IdentityError> {
        match self.signature {
            KeySignature::Wallet(signature) => signature.recover_personal_sign_address(
                eip191::create_identity_text(&self.key_bytes).as_bytes(),
            ),
            KeySignature::Ecdsa(_) => Err(IdentityError::NotWalletSigned),
        }
    }

    /// Checks this key's signature by `signer` (SHA-256 of `key_bytes`).
    pub fn verify_signed_by(&self, signer: &[u8; 65]) -> Result<(), IdentityError> {
        let digest: [u8; 32] = Sha256::digest(&self.key_bytes).into();
        self.signature.compact().verify(&digest, signer)
    }
}

/// A v2 `SignedPublicKeyBundle`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPublicKeyBundle {
    /// Signed by the wallet (`wallet_ecdsa_compact`).
    pub identity_key: SignedPublicKey,
    /// Signed by the identity key (`ecdsa_compact`).
    pub pre_key: SignedPublicKey,
}

impl SignedPublicKeyBundle {
    fn to_proto(&self) -> pb::SignedPublicKeyBundle {
        pb::SignedPublicKeyBundle {
            identity_key: Some(self.identity_key.to_proto()),
            pre_key: Some(self.pre_key.to_proto()),
        }
    }

    fn from_proto(bundle: &pb::SignedPublicKeyBundle) -> Result<Self, IdentityError> {
        let field = |key: &Option<pb::SignedPublicKey>, name: &str| {
            key.as_ref()
                .ok_or_else(|| IdentityError::Malformed(format!("bundle has no {name}")))
                .and_then(SignedPublicKey::from_proto)
        };
        Ok(Self {
            identity_key: field(&bundle.identity_key, "identity key")?,
            pre_key: field(&bundle.pre_key, "pre-key")?,
        })
    }

    /// `ContactBundle{v2}` bytes.
    pub fn encode_contact_v2(&self) -> Vec<u8> {
        pb::ContactBundle {
            version: Some(pb::contact_bundle::Version::V2(pb::ContactBundleV2 {
                key_bundle: Some(self.to_proto()),
            })),
        }
        .encode_to_vec()
    }
}

/// What is published on a contact topic: a v1 or v2 public bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactBundle {
    /// `ContactBundle{v1}` (or a bare `PublicKeyBundle`, the pre-versioning format).
    V1(PublicKeyBundleV1),
    /// `ContactBundle{v2}`.
    V2(SignedPublicKeyBundle),
}

/// A contact bundle whose signatures all check out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedContact {
    /// 1 or 2.
    pub version: u8,
    /// The wallet recovered from the identity key's signature.
    pub wallet_address: Address,
    /// The identity key's 65-byte point.
    pub identity_public_key: [u8; 65],
    /// The pre-key's 65-byte point.
    pub pre_key_public_key: [u8; 65],
}

impl ContactBundle {
    /// Decodes as xmtp-js does: `ContactBundle`, else a bare `PublicKeyBundle` as v1.
    pub fn decode(bytes: &[u8]) -> Result<Self, IdentityError> {
        match pb::ContactBundle::decode(bytes) {
            Ok(pb::ContactBundle {
                version: Some(pb::contact_bundle::Version::V1(v1)),
            }) => {
                let bundle = v1
                    .key_bundle
                    .ok_or_else(|| IdentityError::Malformed("contact has no key bundle".into()))?;
                Ok(Self::V1(PublicKeyBundleV1::from_proto(&bundle)?))
            }
            Ok(pb::ContactBundle {
                version: Some(pb::contact_bundle::Version::V2(v2)),
            }) => {
                let bundle = v2
                    .key_bundle
                    .ok_or_else(|| IdentityError::Malformed("contact has no key bundle".into()))?;
                Ok(Self::V2(SignedPublicKeyBundle::from_proto(&bundle)?))
            }
            _ => {
                let bundle = pb::PublicKeyBundle::decode(bytes)?;
                Ok(Self::V1(PublicKeyBundleV1::from_proto(&bundle)?))
            }
        }
    }

    /// The encoded `ContactBundle`.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::V1(bundle) => bundle.encode_contact_v1(),
            Self::V2(bundle) => bundle.encode_contact_v2(),
        }
    }

    /// Recovers the wallet from the identity key and checks the pre-key's signature by
    /// the identity key.
    pub fn verify(&self) -> Result<VerifiedContact, IdentityError> {
        match self {
            Self::V1(bundle) => {
                let wallet_address = bundle.identity_key.wallet_address()?;
                bundle.pre_key.verify_signed_by(&bundle.identity_key)?;
                Ok(VerifiedContact {
                    version: 1,
                    wallet_address,
                    identity_public_key: *bundle.identity_key.point(),
                    pre_key_public_key: *bundle.pre_key.point(),
                })
            }
            Self::V2(bundle) => {
                let wallet_address = bundle.identity_key.wallet_address()?;
                bundle
                    .pre_key
                    .verify_signed_by(bundle.identity_key.point())?;
                Ok(VerifiedContact {
                    version: 2,
                    wallet_address,
                    identity_public_key: *bundle.identity_key.point(),
                    pre_key_public_key: *bundle.pre_key.point(),
                })
            }
        }
    }
}
