//! The idempotent, resumable publish the flows use: each topic ends with exactly the
//! given publications, in order, however often it is run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::NetworkError;
use super::client::{Client, auth_metadata, check_envelopes};
use crate::identity::AuthToken;
use crate::proto::message_api::v1::{Envelope, PublishRequest};
use crate::wire::{MAX_CLOCK_SKEW_NS, Publication, now_ns};

/// What a publish helper did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishOutcome {
    /// The envelope was sent and is now where it should be on its topic.
    Published,
    /// The topic already ended with these bytes; nothing was sent.
    AlreadyNewest,
}

impl Client {
    /// Publishes `message` on `topic` unless it already is the newest envelope there.
    ///
    /// See [`Client::publish_publications`] for the guarantees.
    pub async fn publish_if_newest_differs(
        &self,
        token: &AuthToken,
        topic: &str,
        message: &[u8],
    ) -> Result<PublishOutcome, NetworkError> {
        let publication = Publication {
            topic: topic.to_owned(),
            message: message.to_vec(),
        };
        let outcomes = self
            .publish_publications(token, std::slice::from_ref(&publication))
            .await?;
        outcomes
            .into_iter()
            .next()
            .ok_or_else(|| self.protocol("publish", "no outcome for the publication"))
    }

    /// Publishes `publications` in order, one `Publish` call each (as xmtp-js does), so
    /// that afterwards each topic ends with exactly its publications in the given order
    /// (e.g. private store; contact v1 then v2, making v2 the newest contact).
    ///
    /// Idempotent from the caller's view: a topic that already ends with these bytes in
    /// this order is left alone (outcome [`PublishOutcome::AlreadyNewest`]), so a re-run
    /// after a partial failure sends only what is missing and duplicates nothing.
    /// Sender timestamps are the current time, raised if needed above the topic's
    /// newest envelope so that a skewed earlier clock cannot hide the new one. After
    /// publishing, each topic is read back; if the publications are not its newest
    /// envelopes (e.g. an identical *older* copy was deduplicated) the result is
    /// [`NetworkError::Superseded`].
    pub async fn publish_publications(
        &self,
        token: &AuthToken,
        publications: &[Publication],
    ) -> Result<Vec<PublishOutcome>, NetworkError> {
        let envelopes_to_check: Vec<Envelope> = publications
            .iter()
            .map(|p| Envelope {
                content_topic: p.topic.clone(),
                timestamp_ns: 0,
                message: p.message.clone(),
            })
            .collect();
        check_envelopes(&envelopes_to_check)?;

        // Each topic's wanted tail, oldest first, in order of first appearance.
        let mut groups: Vec<(&str, Vec<&[u8]>)> = Vec::new();
        for p in publications {
            match groups.iter_mut().find(|(topic, _)| *topic == p.topic) {
                Some((_, messages)) => messages.push(&p.message),
                None => groups.push((&p.topic, vec![&p.message])),
            }
        }

        struct TopicState {
            done: bool,
            floor_ns: u64,
        }
        let mut states: HashMap<&str, TopicState> = HashMap::new();
        for (topic, wanted) in &groups {
            let tail = self.newest_envelopes(topic, wanted.len()).await?;
            states.insert(
                topic,
                TopicState {
                    done: tail_matches(&tail, wanted),
                    // A newest envelope dated far ahead of our clock (a skewed or hostile
                    // sender) does not drag our timestamps along; the read-back below then
                    // reports the topic as superseded instead.
                    floor_ns: tail
                        .first()
                        .map(|e| e.timestamp_ns)
                        .filter(|&ts| ts <= now_ns().saturating_add(MAX_CLOCK_SKEW_NS))
                        .unwrap_or(0),
                },
            );
        }

        let auth = auth_metadata(token)?;
        let mut outcomes = Vec::with_capacity(publications.len());
        for p in publications {
            let Some(state) = states.get_mut(p.topic.as_str()) else {
                return Err(self.protocol("publish", "publication without topic state"));
            };
            if state.done {
                outcomes.push(PublishOutcome::AlreadyNewest);
                continue;
            }
            let timestamp_ns = next_timestamp(state.floor_ns);
            state.floor_ns = timestamp_ns;
            let request = PublishRequest {
                envelopes: vec![Envelope {
                    content_topic: p.topic.clone(),
                    timestamp_ns,
                    message: p.message.clone(),
                }],
            };
            self.unary("publish", request, Some(&auth), |mut api, req| async move {
                api.publish(req).await
            })
            .await?;
            outcomes.push(PublishOutcome::Published);
        }

        for (topic, wanted) in &groups {
            if states.get(topic).is_some_and(|s| s.done) {
                continue;
            }
            let tail = self.newest_envelopes(topic, wanted.len()).await?;
            if !tail_matches(&tail, wanted) {
                return Err(NetworkError::Superseded {
                    url: self.url().to_owned(),
                    topic: (*topic).to_owned(),
                });
            }
        }
        Ok(outcomes)
    }
}

/// Whether `newest_first` (a topic's newest envelopes, newest first) ends the topic with
/// `wanted` (oldest first).
fn tail_matches(newest_first: &[Envelope], wanted: &[&[u8]]) -> bool {
    newest_first.len() == wanted.len()
        && newest_first
            .iter()
            .rev()
            .zip(wanted)
            .all(|(have, want)| have.message.as_slice() == *want)
}

/// A sender timestamp: now, but strictly above `floor_ns` and above every timestamp this
/// process handed out before, so consecutive publishes on one topic keep their order
/// even on a coarse clock.
fn next_timestamp(floor_ns: u64) -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = now_ns();
    let mut chosen = 0;
    // fetch_update only fails when the closure returns None, which it never does.
    let _ = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
        chosen = now
            .max(floor_ns.saturating_add(1))
            .max(last.saturating_add(1));
        Some(chosen)
    });
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::client::tests::env;

    #[test]
    fn tail_matching_wants_exact_order_and_length() {
        let newest_first = [env(b"v2"), env(b"v1")];
        assert!(tail_matches(&newest_first, &[b"v1", b"v2"]));
        assert!(!tail_matches(&newest_first, &[b"v2", b"v1"]));
        assert!(!tail_matches(&newest_first[..1], &[b"v1", b"v2"]));
        assert!(tail_matches(&newest_first[..1], &[b"v2"]));
        assert!(!tail_matches(&[], &[b"v2"]));
    }

    #[test]
    fn timestamps_strictly_increase_and_respect_the_floor() {
        let a = next_timestamp(0);
        let b = next_timestamp(0);
        assert!(b > a);
        let far = now_ns() + 3_600_000_000_000;
        assert_eq!(next_timestamp(far), far + 1);
        assert!(next_timestamp(0) > far + 1);
    }
}
