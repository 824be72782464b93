//! Checking one signature of an identity update over the update's text, and who made it.
//!
//! The kinds and their checks are libxmtp's (`crates/xmtp_id/src/associations/
//! verified_signature.rs`, `signature.rs`, `serialization.rs`):
//! - `erc_191`: an EIP-191 personal_sign, 65 bytes `r || s || v`; the signer is the
//!   address recovered from the text. v may be 0/1 or 27/28; a high-S signature is
//!   refused (libxmtp normalises S without flipping v, so it recovers another address).
//! - `installation_key`: Ed25519ph (SHA-512 prehash, RFC 8032) with the context
//!   `IDENTITY UPDATE SIGNATURE`; the signer is the 32-byte key carried beside it.
//! - `delegated_erc_191`: a v2 identity key (a `SignedPublicKey` its wallet signed with
//!   "XMTP : Create Identity") personal_signs the text; the signer is that wallet, and
//!   the signature remembered against replay is the wallet's, so the key serves once.

use ed25519_dalek::{Sha512, Signature as Ed25519Signature, VerifyingKey};
use prost::Message;
use sha2::Digest;

use crate::identity::{KeySignature, SignedPublicKey, WalletSignature};
use crate::proto::identity::associations as pb;

use super::{MemberId, Rule};

/// The context string installation keys sign with (libxmtp `crates/xmtp_id/src/constants.rs`).
pub const INSTALLATION_KEY_CONTEXT: &[u8] = b"IDENTITY UPDATE SIGNATURE";

/// How a signature was made, as far as the rules care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignatureKind {
    /// A wallet's personal_sign.
    Erc191,
    /// An installation key.
    InstallationKey,
    /// A v2 identity key signing for its wallet.
    LegacyDelegated,
}

impl SignatureKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Erc191 => "erc_191",
            Self::InstallationKey => "installation_key",
            Self::LegacyDelegated => "delegated_erc_191",
        }
    }
}

/// What identifies a signature against replay: 64 signature bytes (see
/// [`VerifiedSignature::replay_key`]). Fixed-size, so the set of them an inbox state keeps
/// is cloned without an allocation per signature.
pub(crate) type ReplayKey = [u8; 64];

/// A signature that checked out: who made it, how, and the bytes that identify it
/// against replay.
#[derive(Clone, Debug)]
pub(crate) struct VerifiedSignature {
    pub(crate) signer: MemberId,
    pub(crate) kind: SignatureKind,
    /// For ECDSA kinds the 64 bytes `r || s` (so that changing the v form does not make
    /// a replayed signature new: stricter than libxmtp, which keeps v); for Ed25519 the
    /// 64 signature bytes.
    pub(crate) replay_key: ReplayKey,
}

/// `r || s` of a 65-byte `r || s || v` signature.
fn r_and_s(signature: &[u8; 65]) -> ReplayKey {
    let [r_and_s @ .., _v] = *signature;
    r_and_s
}

/// Checks `signature` over `text`; `role` names it in errors ("initial identifier").
pub(crate) fn verify(
    signature: Option<&pb::Signature>,
    text: &str,
    role: &'static str,
) -> Result<VerifiedSignature, Rule> {
    use pb::signature::Signature as Kind;
    let bad = |reason: String| Rule::BadSignature { role, reason };
    match signature.and_then(|s| s.signature.as_ref()) {
        None => Err(Rule::Missing(role)),
        Some(Kind::Erc191(ecdsa)) => {
            let signature =
                WalletSignature::from_bytes(&ecdsa.bytes).map_err(|e| bad(e.to_string()))?;
            let signer = signature
                .recover_address(text.as_bytes())
                .map_err(|e| bad(e.to_string()))?;
            Ok(VerifiedSignature {
                signer: MemberId::Address(signer),
                kind: SignatureKind::Erc191,
                replay_key: r_and_s(signature.as_bytes()),
            })
        }
        Some(Kind::InstallationKey(ed25519)) => {
            let key: [u8; 32] = ed25519
                .public_key
                .as_slice()
                .try_into()
                .map_err(|_| Rule::InstallationKeyLength(ed25519.public_key.len()))?;
            let bytes: [u8; 64] = ed25519.bytes.as_slice().try_into().map_err(|_| {
                bad(format!(
                    "an Ed25519 signature is 64 bytes, not {}",
                    ed25519.bytes.len()
                ))
            })?;
            let verifying_key = VerifyingKey::from_bytes(&key)
                .map_err(|_| bad("not an Ed25519 public key".into()))?;
            let mut prehashed = Sha512::new();
            prehashed.update(text.as_bytes());
            verifying_key
                .verify_prehashed_strict(
                    prehashed,
                    Some(INSTALLATION_KEY_CONTEXT),
                    &Ed25519Signature::from_bytes(&bytes),
                )
                .map_err(|_| bad("the Ed25519ph signature does not verify over the text".into()))?;
            Ok(VerifiedSignature {
                signer: MemberId::Installation(key),
                kind: SignatureKind::InstallationKey,
                replay_key: bytes,
            })
        }
        Some(Kind::DelegatedErc191(delegated)) => {
            let by_key = delegated
                .signature
                .as_ref()
                .ok_or(Rule::Missing("legacy key's signature"))?;
            let by_key =
                WalletSignature::from_bytes(&by_key.bytes).map_err(|e| bad(e.to_string()))?;
            let key_address = by_key
                .recover_address(text.as_bytes())
                .map_err(|e| bad(e.to_string()))?;
            let legacy = delegated
                .delegated_key
                .as_ref()
                .ok_or(Rule::Missing("legacy key"))?;
            let legacy = SignedPublicKey::decode(&legacy.encode_to_vec())
                .map_err(|e| bad(format!("legacy key: {e}")))?;
            let own_address =
                crate::identity::Address::from_uncompressed_public_key(legacy.point())
                    .map_err(|e| bad(format!("legacy key: {e}")))?;
            if own_address != key_address {
                return Err(bad(format!(
                    "made by {}, not by the legacy key it carries ({})",
                    key_address.to_lower_hex(),
                    own_address.to_lower_hex()
                )));
            }
            let wallet = legacy
                .wallet_address()
                .map_err(|e| bad(format!("legacy key's wallet signature: {e}")))?;
            let KeySignature::Wallet(wallet_signature) = legacy.signature() else {
                return Err(bad("the legacy key is not signed by a wallet".into()));
            };
            Ok(VerifiedSignature {
                signer: MemberId::Address(wallet),
                kind: SignatureKind::LegacyDelegated,
                replay_key: *wallet_signature.bytes(),
            })
        }
        Some(Kind::Erc6492(_)) => Err(Rule::Unsupported(
            "a smart-contract wallet signature (ERC-6492)",
        )),
        Some(Kind::Passkey(_)) => Err(Rule::Unsupported("a passkey signature")),
    }
}
