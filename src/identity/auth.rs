//! The publish auth token: `authorization: Bearer base64(Token)`, where the identity key
//! (signed by the wallet) signs `keccak256(AuthData{wallet_addr, created_ns})`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use prost::Message;
use sha3::{Digest, Keccak256};

use super::{Address, IdentityError, KeySignature, PrivateKeyV1, PublicKeyV1};
use crate::proto::message_api::v1 as api;

/// How long the reference node accepts a token after `created_ns`.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// An encoded auth token, ready for the `authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthToken {
    encoded: Vec<u8>,
}

impl AuthToken {
    /// Builds and signs a token for `identity_key`, whose wallet signature names the wallet.
    pub fn create(identity_key: &PrivateKeyV1, created_ns: u64) -> Result<Self, IdentityError> {
        let wallet = identity_key.public_key().wallet_address()?;
        let auth_data_bytes = api::AuthData {
            wallet_addr: wallet.to_string(),
            created_ns,
        }
        .encode_to_vec();
        let digest: [u8; 32] = Keccak256::digest(&auth_data_bytes).into();
        let signature = identity_key.sign_digest(&digest)?;
        let token = api::Token {
            identity_key: Some(identity_key.public_key().to_proto()),
            auth_data_bytes,
            auth_data_signature: Some(KeySignature::Ecdsa(signature).to_proto()),
        };
        Ok(Self {
            encoded: token.encode_to_vec(),
        })
    }

    /// The encoded `Token` protobuf.
    pub fn as_bytes(&self) -> &[u8] {
        &self.encoded
    }

    /// Standard base64 with padding, as the reference node decodes it.
    pub fn to_base64(&self) -> String {
        BASE64.encode(&self.encoded)
    }

    /// The `authorization` header value: `Bearer <base64>`.
    pub fn header_value(&self) -> String {
        format!("Bearer {}", self.to_base64())
    }
}

/// What a valid token proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The wallet that signed the identity key (EIP-55, equal to `AuthData.wallet_addr`).
    pub wallet: Address,
    /// The identity key that signed the auth data.
    pub identity_key: PublicKeyV1,
    /// `AuthData.created_ns`.
    pub created_ns: u64,
}

/// How strict [`verify_header`] is about time.
#[derive(Clone, Copy, Debug)]
pub struct TokenPolicy {
    /// Oldest accepted token age.
    pub max_age: Duration,
    /// How far in the future `created_ns` may be (clock skew); the reference node had no bound.
    pub max_future_skew: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            max_age: TOKEN_LIFETIME,
            max_future_skew: Duration::from_secs(5 * 60),
        }
    }
}

/// Verifies an `authorization` header value the way the last publishing reference node
/// did: the identity key's wallet signature recovers a wallet, the auth data is signed by
/// the identity key (`ecdsa_compact` over keccak256), `wallet_addr` equals that wallet
/// exactly (EIP-55), and the token is fresh.
pub fn verify_header(
    header: &str,
    now_ns: u64,
    policy: TokenPolicy,
) -> Result<VerifiedToken, IdentityError> {
    let bad = |why: &str| IdentityError::BadToken(why.into());
    let encoded = header
        .strip_prefix("Bearer ")
        .ok_or_else(|| bad("authorization must be `Bearer <token>`"))?;
    let bytes = BASE64
        .decode(encoded.trim())
        .map_err(|_| bad("token is not base64"))?;
    verify_token_bytes(&bytes, now_ns, policy)
}

/// The token freshness rule of `policy`: created at most `max_age` before `now_ns` and
/// at most `max_future_skew` after it. (A verified token cached by the node is held to it
/// again at every use.)
pub(crate) fn check_fresh(
    created_ns: u64,
    now_ns: u64,
    policy: TokenPolicy,
) -> Result<(), IdentityError> {
    let max_age = u64::try_from(policy.max_age.as_nanos()).unwrap_or(u64::MAX);
    let max_skew = u64::try_from(policy.max_future_skew.as_nanos()).unwrap_or(u64::MAX);
    if now_ns.saturating_sub(created_ns) > max_age {
        return Err(IdentityError::TokenExpired);
    }
    if created_ns.saturating_sub(now_ns) > max_skew {
        return Err(IdentityError::TokenFromFuture);
    }
    Ok(())
}

/// Verifies an encoded `Token` (see [`verify_header`]).
pub fn verify_token_bytes(
    bytes: &[u8],
    now_ns: u64,
    policy: TokenPolicy,
) -> Result<VerifiedToken, IdentityError> {
    let bad = |why: &str| IdentityError::BadToken(why.into());
    let token = api::Token::decode(bytes)?;
    let identity_key = token
        .identity_key
        .as_ref()
        .ok_or_else(|| bad("token has no identity key"))?;
    let identity_key = PublicKeyV1::from_proto(identity_key)?;
    let wallet = identity_key.wallet_address()?;

    let signature = token
        .auth_data_signature
        .as_ref()
        .ok_or_else(|| bad("token has no auth data signature"))
        .and_then(KeySignature::from_proto)?;
    let KeySignature::Ecdsa(signature) = signature else {
        return Err(bad("auth data signature must be ecdsa_compact"));
    };
    let digest: [u8; 32] = Keccak256::digest(&token.auth_data_bytes).into();
    signature.verify(&digest, identity_key.point())?;

    let auth_data = api::AuthData::decode(token.auth_data_bytes.as_slice())?;
    if auth_data.wallet_addr != wallet.to_string() {
        return Err(IdentityError::TokenWalletMismatch {
            claimed: auth_data.wallet_addr,
            recovered: wallet,
        });
    }
    check_fresh(auth_data.created_ns, now_ns, policy)?;
    Ok(VerifiedToken {
        wallet,
        identity_key,
        created_ns: auth_data.created_ns,
    })
}
