//! Target `auth_token`: the `authorization` header of a publish, checked by the node.
//!
//! Input: `mode ‖ rest`.
//! - `mode` even: `rest` is a token as received. It goes to
//!   `xmtp_ledger::identity::auth::verify_token_bytes` (as an encoded `Token`), to
//!   `verify_header` as `Bearer <base64(rest)>`, and, if it is UTF-8, to `verify_header` as the
//!   raw header text. The clock is fixed a minute after the reference vectors' token was made,
//!   so the committed seed verifies and mutations explore past every check; the extreme clocks
//!   0 and `u64::MAX` and an unbounded policy are tried too (no overflow).
//! - `mode` odd: `rest` is an `AuthData` as a client would write it, put in a token that is
//!   validly signed by the reference vectors' identity key (whose wallet is the test
//!   mnemonic's `0xf39F…2266`): this reaches the wallet and freshness checks with arbitrary
//!   auth data, which mutating a signed token cannot.
//!
//! Invariants, besides never panicking:
//! - a verified token's wallet is the signer of its identity key's wallet signature, is the
//!   token's claimed `wallet_addr` spelled exactly, and the token is within the policy's age
//!   and future-skew bounds;
//! - the header form and the byte form agree exactly (same value or same error);
//! - a header that verifies starts with `Bearer `;
//! - for signed auth data the outcome is exactly the documented rule: it decodes, names the
//!   wallet in EIP-55, is at most an hour old and at most 5 minutes in the future; otherwise
//!   the matching error (`Decode`, `TokenWalletMismatch`, `TokenExpired`, `TokenFromFuture`).
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use sha3::{Digest, Keccak256};
use xmtp_ledger::identity::IdentityError;
use xmtp_ledger::identity::auth::{TokenPolicy, VerifiedToken, verify_header, verify_token_bytes};
use xmtp_ledger::identity::{PrivateKeyBundleV1, PrivateKeyV1};
use xmtp_ledger::proto::message_api::v1 as api;
use xmtp_ledger::proto::message_contents as pb;

/// `auth_token.created_ms` of vector `pub#0`, in ns, plus one minute.
const NOW_NS: u64 = 1_700_000_000_099 * 1_000_000 + 60_000_000_000;
/// The wallet of vector `pub#0`.
const WALLET: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// `private_key_bundle` of vector `pub#0`.
const PRIVATE_BUNDLE_HEX: &str = "0a88030ac0010880d095ffbc3112220a209a72ef26db5853084a97fd962ee1018c70c4fce82d98a38c598f0568474b21571a92010880d095ffbc3112440a420a406e2454e96385bf42b813767c13c383d0c2f7b7027e2aca09f9f02561132b491f159507c6c256951e4e5023124d0f3dcc92842259acc6120a22716a665681d2cc1a430a41041ab9f034471780dca1124c23d8c2502bba3adfb501272336baf5f845283f825e593c987771b77e688b7c02c9baf6cb7b7b0bae518d02b1f047f7674356b07b1412c2010887d095ffbc3112220a208234a79492dcd125f884826d2369da3f65c40b5c9f1b3bab2f616e3566512f4f1a94010887d095ffbc3112460a440a409e0600bd377432fdd856b6d060fa3d445c657e3881ba8ca0ec5844353561db8a5e2713e67a62a17c3163f6f130e0b3d71dc19dbcbdf0a9e710c855367bdf62f510011a430a4104c2e2bd32d52683cfaff6f7bcd3a18efccec24b0ee10d2e11be53b6a4eca13409f95abc3d2e25f38ee95d8bee3081253823b4363356af2d810e4e216fbc033c93";

static IDENTITY_KEY: LazyLock<PrivateKeyV1> = LazyLock::new(|| {
    let bytes = hex::decode(PRIVATE_BUNDLE_HEX).expect("hex");
    let bundle = PrivateKeyBundleV1::decode(&bytes).expect("vector bundle");
    assert_eq!(bundle.verify().expect("signed").to_string(), WALLET);
    bundle.identity_key().clone()
});

fn check(
    bytes: &[u8],
    result: &Result<VerifiedToken, IdentityError>,
    now: u64,
    policy: TokenPolicy,
) {
    let Ok(token) = result else {
        return;
    };
    assert_eq!(
        token
            .identity_key
            .wallet_address()
            .expect("verified, so signed"),
        token.wallet
    );
    let decoded = api::Token::decode(bytes).expect("verified, so it decodes");
    let auth = api::AuthData::decode(decoded.auth_data_bytes.as_slice()).expect("decodes");
    assert_eq!(auth.wallet_addr, token.wallet.to_string());
    assert_eq!(auth.created_ns, token.created_ns);
    let max_age = u64::try_from(policy.max_age.as_nanos()).unwrap_or(u64::MAX);
    let skew = u64::try_from(policy.max_future_skew.as_nanos()).unwrap_or(u64::MAX);
    assert!(now.saturating_sub(token.created_ns) <= max_age);
    assert!(token.created_ns.saturating_sub(now) <= skew);
}

fn same(a: &Result<VerifiedToken, IdentityError>, b: &Result<VerifiedToken, IdentityError>) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("{a:?} vs {b:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        received(rest);
    } else {
        signed(rest);
    }
});

fn received(data: &[u8]) {
    let policy = TokenPolicy::default();
    let from_bytes = verify_token_bytes(data, NOW_NS, policy);
    check(data, &from_bytes, NOW_NS, policy);
    let header = format!("Bearer {}", STANDARD.encode(data));
    same(&from_bytes, &verify_header(&header, NOW_NS, policy));

    let unbounded = TokenPolicy {
        max_age: Duration::MAX,
        max_future_skew: Duration::MAX,
    };
    for now in [0, u64::MAX] {
        for policy in [policy, unbounded] {
            let result = verify_token_bytes(data, now, policy);
            check(data, &result, now, policy);
        }
    }

    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(token) = verify_header(text, NOW_NS, policy)
    {
        assert!(text.starts_with("Bearer "));
        assert!(token.created_ns.abs_diff(NOW_NS) <= 3_600_000_000_000);
    }
}

fn signed(auth_data_bytes: &[u8]) {
    let key = &*IDENTITY_KEY;
    let digest: [u8; 32] = Keccak256::digest(auth_data_bytes).into();
    let signature = key.sign_digest(&digest).expect("signs");
    let token = api::Token {
        identity_key: Some(key.public_key().to_proto()),
        auth_data_bytes: auth_data_bytes.to_vec(),
        auth_data_signature: Some(pb::Signature {
            union: Some(pb::signature::Union::EcdsaCompact(
                pb::signature::EcdsaCompact {
                    bytes: signature.bytes().to_vec(),
                    recovery: u32::from(signature.recovery()),
                },
            )),
        }),
    }
    .encode_to_vec();
    let policy = TokenPolicy::default();
    let result = verify_token_bytes(&token, NOW_NS, policy);
    check(&token, &result, NOW_NS, policy);
    let header = format!("Bearer {}", STANDARD.encode(&token));
    same(&result, &verify_header(&header, NOW_NS, policy));

    let hour = 3_600_000_000_000u64;
    let five_minutes = 300_000_000_000u64;
    match api::AuthData::decode(auth_data_bytes) {
        Err(_) => assert!(
            matches!(result, Err(IdentityError::Decode(_))),
            "{result:?}"
        ),
        Ok(auth) if auth.wallet_addr != WALLET => assert!(
            matches!(&result, Err(IdentityError::TokenWalletMismatch { claimed, .. }) if *claimed == auth.wallet_addr),
            "{result:?}"
        ),
        Ok(auth) if NOW_NS.saturating_sub(auth.created_ns) > hour => {
            assert!(
                matches!(result, Err(IdentityError::TokenExpired)),
                "{result:?}"
            );
        }
        Ok(auth) if auth.created_ns.saturating_sub(NOW_NS) > five_minutes => {
            assert!(
                matches!(result, Err(IdentityError::TokenFromFuture)),
                "{result:?}"
            );
        }
        Ok(auth) => {
            let token = result.expect("well-formed, fresh, own wallet");
            assert_eq!(token.wallet.to_string(), WALLET);
            assert_eq!(token.created_ns, auth.created_ns);
        }
    }
}
