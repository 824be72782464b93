//! Auth tokens already verified, so a client's later publishes skip the signature checks.
//!
//! A client signs one token and sends it with every publish for up to an hour. Verifying
//! it costs two secp256k1 operations (recovering the wallet from the identity key's
//! signature, checking the auth data's signature), several times what storing a small
//! envelope costs once commits are shared; on a node with few cores that, not the disk,
//! would cap concurrent publishers. Both checks depend on the header's bytes alone, so
//! their outcome for the same bytes never changes; only freshness depends on the clock.
//! So the cache keeps, per exact header value (by its SHA-256, so an entry's size does
//! not depend on the header's), what [`verify_header`] proved, and checks
//! freshness again on every use with the same rule; a token that is no longer fresh is
//! dropped and verified in full, which refuses it with the usual error. Only successes
//! are kept: a refused token is checked in full every time, as before.
//!
//! The cache is bounded ([`MAX_TOKENS`] entries of a few hundred bytes): when
//! full, stale entries are dropped, and if none is, everything is (clients then verify
//! once more); a flood of distinct tokens costs what it cost without a cache.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::identity::IdentityError;
use crate::identity::auth::{TokenPolicy, VerifiedToken, check_fresh, verify_header};

/// Most headers remembered.
pub(crate) const MAX_TOKENS: usize = 1024;

/// Verified `authorization` values (see the module documentation).
#[derive(Debug)]
pub(crate) struct TokenCache {
    policy: TokenPolicy,
    verified: Mutex<HashMap<[u8; 32], VerifiedToken>>,
}

impl TokenCache {
    pub(crate) fn new(policy: TokenPolicy) -> Self {
        Self {
            policy,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// What [`verify_header`] returns for `header` at `now_ns` under the cache's policy.
    pub(crate) fn verify(&self, header: &str, now_ns: u64) -> Result<VerifiedToken, IdentityError> {
        let key: [u8; 32] = Sha256::digest(header.as_bytes()).into();
        // A poisoned lock only loses the cache's help: verify in full.
        if let Ok(verified) = self.verified.lock()
            && let Some(token) = verified.get(&key)
            && fresh(token.created_ns, now_ns, self.policy)
        {
            return Ok(token.clone());
        }
        let token = verify_header(header, now_ns, self.policy);
        if let Ok(mut verified) = self.verified.lock() {
            match &token {
                Ok(token) => {
                    if verified.len() >= MAX_TOKENS && !verified.contains_key(&key) {
                        verified.retain(|_, t| fresh(t.created_ns, now_ns, self.policy));
                        if verified.len() >= MAX_TOKENS {
                            verified.clear();
                        }
                    }
                    verified.insert(key, token.clone());
                }
                // No longer fresh (or never valid): nothing to keep.
                Err(_) => {
                    verified.remove(&key);
                }
            }
        }
        token
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.verified.lock().map_or(0, |v| v.len())
    }
}

/// [`verify_header`]'s own freshness rule.
fn fresh(created_ns: u64, now_ns: u64, policy: TokenPolicy) -> bool {
    check_fresh(created_ns, now_ns, policy).is_ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::flow::generate_identity;
    use crate::identity::AuthToken;
    use crate::signer::LocalKeySigner;

    const SECOND: u64 = 1_000_000_000;

    fn token_at(created_ns: u64) -> (String, VerifiedToken) {
        let wallet = LocalKeySigner::from_private_key(&[0x42; 32]).expect("key");
        let identity = generate_identity(&wallet, &mut |_| {}).expect("identity");
        let token = AuthToken::create(identity.bundle.identity_key(), created_ns).expect("token");
        let header = token.header_value();
        let verified = verify_header(&header, created_ns, TokenPolicy::default()).expect("valid");
        (header, verified)
    }

    #[test]
    fn a_cached_token_is_refused_once_stale_exactly_as_verify_header_refuses_it() {
        let policy = TokenPolicy::default();
        let created = 1_700_000_000 * SECOND;
        let (header, verified) = token_at(created);
        let cache = TokenCache::new(policy);
        assert_eq!(cache.verify(&header, created).expect("fresh"), verified);
        assert_eq!(cache.len(), 1);
        let max_age = u64::try_from(policy.max_age.as_nanos()).expect("fits");
        // Still fresh at the very end of its lifetime, from the cache.
        assert_eq!(
            cache.verify(&header, created + max_age).expect("fresh"),
            verified
        );
        // One nanosecond later: the same refusal as a full verification, and forgotten.
        let late = created + max_age + 1;
        let cached = cache.verify(&header, late).expect_err("stale");
        let full = verify_header(&header, late, policy).expect_err("stale");
        assert_eq!(cached.to_string(), full.to_string());
        assert_eq!(cache.len(), 0);
        // Before its creation by more than the allowed skew: refused too.
        let cache = TokenCache::new(policy);
        cache.verify(&header, created).expect("fresh");
        let skew = u64::try_from(policy.max_future_skew.as_nanos()).expect("fits");
        assert!(cache.verify(&header, created - skew - 1).is_err());
    }

    #[test]
    fn refusals_are_not_cached_and_a_bad_header_never_matches_a_good_one() {
        let created = 1_700_000_000 * SECOND;
        let (header, _) = token_at(created);
        let cache = TokenCache::new(TokenPolicy::default());
        cache.verify(&header, created).expect("fresh");
        // The token with one base64 character changed is another key: it is verified
        // in full (the same outcome as without the cache), never served from the good
        // one's entry.
        let mut tampered = header.clone().into_bytes();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        let full = verify_header(&tampered, created, TokenPolicy::default());
        let cached = cache.verify(&tampered, created);
        assert_eq!(
            cached.as_ref().map_err(ToString::to_string),
            full.as_ref().map_err(ToString::to_string)
        );
        assert!(cache.verify("Bearer nonsense", created).is_err());
        assert_eq!(cache.len(), 1 + usize::from(full.is_ok()));
    }

    #[test]
    fn the_cache_stays_bounded() {
        let policy = TokenPolicy {
            max_age: Duration::from_secs(60),
            ..TokenPolicy::default()
        };
        let created = 1_700_000_000 * SECOND;
        let (header, verified) = token_at(created);
        let cache = TokenCache::new(policy);
        // Fill it with other (fake) entries that are stale by the time the real one comes.
        if let Ok(mut map) = cache.verified.lock() {
            for i in 0..MAX_TOKENS {
                let mut old = verified.clone();
                old.created_ns = created - 120 * SECOND;
                map.insert(Sha256::digest(format!("old-{i}")).into(), old);
            }
        }
        cache.verify(&header, created).expect("fresh");
        assert_eq!(cache.len(), 1, "stale entries dropped to make room");
        if let Ok(mut map) = cache.verified.lock() {
            for i in 0..MAX_TOKENS {
                map.insert(
                    Sha256::digest(format!("fresh-{i}")).into(),
                    verified.clone(),
                );
            }
        }
        let (other, _) = token_at(created + 1);
        cache.verify(&other, created + 1).expect("fresh");
        assert!(cache.len() <= MAX_TOKENS, "{}", cache.len());
    }
}
