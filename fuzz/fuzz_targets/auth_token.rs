//! Target `auth_token`: the `authorization` header of a publish, checked by the node.
//!
//! The input goes to `xmtp_ledger::identity::auth::verify_token_bytes` (as an encoded `Token`),
//! to `verify_header` as `Bearer <base64(input)>`, and, if it is UTF-8, to `verify_header` as
//! the raw header text. The clock is fixed a minute after the reference vectors' token was made,
//! so the committed seed verifies and mutations explore past every check; the extreme clocks 0
//! and `u64::MAX` and an unbounded policy are tried too (no overflow).
//!
//! Invariants, besides never panicking:
//! - a verified token's wallet is the signer of its identity key's wallet signature, is the
//!   token's claimed `wallet_addr` spelled exactly, and the token is within the policy's age
//!   and future-skew bounds;
//! - the header form and the byte form agree exactly (same value or same error);
//! - a header that verifies starts with `Bearer `.
#![no_main]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use xmtp_ledger::identity::IdentityError;
use xmtp_ledger::identity::auth::{TokenPolicy, VerifiedToken, verify_header, verify_token_bytes};
use xmtp_ledger::proto::message_api::v1 as api;

/// `auth_token.created_ms` of vector `pub#0`, in ns, plus one minute.
const NOW_NS: u64 = 1_700_000_000_099 * 1_000_000 + 60_000_000_000;

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
});
