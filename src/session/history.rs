//! Every identity a wallet ever published, read from its contact topic without the
//! wallet: what an audit asks when someone may have re-keyed an account.

use crate::identity::{Address, topic};
use crate::network::{BlockingClient, NetworkError, Query};
use crate::wire::MAX_PAGE_SIZE;

use super::lookup::{Skipped, contact_of};

/// Most contact envelopes read for one wallet's history; beyond it the history ends
/// with [`Skipped::Truncated`].
pub const MAX_HISTORY_ENVELOPES: usize = 10_000;

/// One identity key a wallet published, as its valid contact bundles show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedIdentity {
    /// The identity key (65-byte uncompressed point).
    pub identity_public_key: [u8; 65],
    /// The pre-keys its bundles carried, newest first, each once.
    pub pre_key_public_keys: Vec<[u8; 65]>,
    /// Sender timestamp of its newest valid contact bundle.
    pub newest_ns: u64,
    /// Sender timestamp of its oldest valid contact bundle.
    pub oldest_ns: u64,
    /// How many valid contact bundles name it (a v1 and a v2 per publish).
    pub bundles: usize,
}

/// A wallet's identities, newest first.
#[derive(Debug, Default)]
pub struct IdentityHistory {
    /// Every identity key with a valid bundle of the wallet, ordered by its newest bundle,
    /// newest first: the first is the one clients use (see [`super::find_identity`]).
    pub identities: Vec<PublishedIdentity>,
    /// Envelopes that were not a valid bundle of the wallet, newest first, and
    /// [`Skipped::Truncated`] if the topic holds more than [`MAX_HISTORY_ENVELOPES`].
    pub skipped: Vec<Skipped>,
}

/// Reads `wallet`'s whole contact topic, newest first, and groups its valid bundles by
/// identity key.
pub fn identity_history(
    client: &BlockingClient,
    wallet: &Address,
) -> Result<IdentityHistory, NetworkError> {
    let mut pages = client.pages(Query::topic(topic::contact_topic(wallet)).limit(MAX_PAGE_SIZE));
    let mut history = IdentityHistory::default();
    let mut seen = 0;
    while let Some(page) = pages.next_page()? {
        for envelope in page {
            if seen == MAX_HISTORY_ENVELOPES {
                history.skipped.push(Skipped::Truncated { seen });
                return Ok(history);
            }
            seen += 1;
            history.add(&envelope.message, envelope.timestamp_ns, wallet);
        }
    }
    Ok(history)
}

impl IdentityHistory {
    /// Files one envelope of the contact topic; envelopes come newest first.
    fn add(&mut self, message: &[u8], timestamp_ns: u64, wallet: &Address) {
        let verified = match contact_of(message, timestamp_ns, wallet) {
            None => return,
            Some(Ok((_, verified))) => verified,
            Some(Err(skip)) => {
                self.skipped.push(skip);
                return;
            }
        };
        let existing = self
            .identities
            .iter_mut()
            .find(|identity| identity.identity_public_key == verified.identity_public_key);
        match existing {
            Some(identity) => {
                identity.newest_ns = identity.newest_ns.max(timestamp_ns);
                identity.oldest_ns = identity.oldest_ns.min(timestamp_ns);
                identity.bundles += 1;
                if !identity
                    .pre_key_public_keys
                    .contains(&verified.pre_key_public_key)
                {
                    identity
                        .pre_key_public_keys
                        .push(verified.pre_key_public_key);
                }
            }
            None => self.identities.push(PublishedIdentity {
                identity_public_key: verified.identity_public_key,
                pre_key_public_keys: vec![verified.pre_key_public_key],
                newest_ns: timestamp_ns,
                oldest_ns: timestamp_ns,
                bundles: 1,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::generate_identity;
    use crate::signer::{LocalKeySigner, Signer};

    fn contact_v2(wallet: &LocalKeySigner) -> (Vec<u8>, [u8; 65]) {
        let identity = generate_identity(wallet, &mut |_| {}).expect("identity");
        let key = *identity.bundle.identity_key().public_key().point();
        (identity.contact_v2().to_vec(), key)
    }

    #[test]
    fn hostile_envelopes_are_skipped_and_identities_grouped_newest_first() {
        let wallet = LocalKeySigner::from_private_key(&[0x11; 32]).expect("key");
        let other = LocalKeySigner::from_private_key(&[0x22; 32]).expect("key");
        let (newer, newer_key) = contact_v2(&wallet);
        let (older, older_key) = contact_v2(&wallet);
        let (foreign, _) = contact_v2(&other);
        // A byte of the identity key's point changed: its wallet signature no longer holds.
        let mut tampered = newer.clone();
        let at = tampered
            .windows(65)
            .position(|w| w == newer_key)
            .expect("the identity key in the bundle")
            + 10;
        tampered[at] ^= 1;

        let mut history = IdentityHistory::default();
        // Newest first, as the node pages them.
        for (message, time) in [
            (&b"\xff\xff garbage"[..], 90),
            (&tampered[..], 80),
            (&foreign[..], 70),
            (&newer[..], 60),
            (&[][..], 55),
            (&older[..], 50),
            (&newer[..], 40),
            (&older[..], 30),
        ] {
            history.add(message, time, &wallet.address());
        }
        let keys: Vec<_> = history
            .identities
            .iter()
            .map(|i| i.identity_public_key)
            .collect();
        assert_eq!(keys, [newer_key, older_key]);
        let newest = &history.identities[0];
        assert_eq!(
            (newest.newest_ns, newest.oldest_ns, newest.bundles),
            (60, 40, 2)
        );
        assert_eq!(history.identities[1].bundles, 2);
        assert!(matches!(
            history.skipped[0],
            Skipped::Undecodable {
                timestamp_ns: 90,
                ..
            }
        ));
        assert!(matches!(
            history.skipped[1],
            Skipped::Invalid {
                timestamp_ns: 80,
                ..
            } | Skipped::Undecodable {
                timestamp_ns: 80,
                ..
            }
        ));
        assert!(matches!(
            history.skipped[2],
            Skipped::OtherWallet { timestamp_ns: 70, wallet } if wallet == other.address()
        ));
        assert_eq!(
            history.skipped.len(),
            3,
            "an empty message is not an envelope to report"
        );
    }
}
