//! Live envelopes for subscribers: one ring of recently published envelopes that every
//! subscriber reads at its own pace, bounded by a slot count *and* a byte count.
//!
//! A `tokio::sync::broadcast` channel bounds only the slot count: with 1024 slots of
//! 1 MiB envelopes, one subscriber that stops reading pins 1 GiB. Here the oldest
//! entries are evicted as soon as either cap is exceeded, whoever has read them; a
//! subscriber that has not read an evicted entry finds out on its next read
//! ([`RecvError::Lagged`]) and is told to resubscribe and query, rather than silently
//! skipping envelopes.
//!
//! The newest entry is never evicted, so an envelope larger than the byte cap on its own
//! is still delivered to a subscriber that is keeping up (waiting for it); the ring then
//! holds that one envelope and nothing else. The memory held is therefore at most the
//! byte cap plus one envelope (at most [`crate::wire::MAX_MESSAGE_BYTES`] and its topic).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use prost::Message;
use tokio::sync::watch;

use crate::proto::message_api::v1::Envelope;

/// The publishing side; dropping it ends every [`Receiver`] (after what it retains).
#[derive(Debug)]
pub(crate) struct Fanout {
    ring: Arc<Mutex<Ring>>,
    /// Bumped after every publish, to wake receivers.
    published: watch::Sender<()>,
}

#[derive(Debug)]
struct Ring {
    /// `(sequence number, envelope, its size)`, oldest first, consecutive numbers.
    entries: VecDeque<(u64, Arc<Envelope>, usize)>,
    /// The sequence number the next envelope gets.
    next_seq: u64,
    /// Sum of the entries' sizes.
    bytes: usize,
    max_slots: usize,
    max_bytes: usize,
}

impl Ring {
    /// The sequence number of the oldest entry retained (`next_seq` when empty).
    fn oldest_seq(&self) -> u64 {
        self.entries
            .front()
            .map_or(self.next_seq, |(seq, _, _)| *seq)
    }
}

/// Why [`Receiver::recv`] returned no envelope.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecvError {
    /// Entries this receiver had not read were evicted: it missed this many.
    #[error("subscriber fell {0} envelopes behind")]
    Lagged(u64),
    /// The [`Fanout`] is gone and this receiver has read everything retained.
    #[error("no more envelopes: the publisher is gone")]
    Closed,
}

impl Fanout {
    /// A fan-out retaining at most `max_slots` envelopes (at least 1) and, beyond the
    /// newest one, at most `max_bytes` of them (sizes as encoded).
    pub(crate) fn new(max_slots: usize, max_bytes: usize) -> Self {
        let (published, _) = watch::channel(());
        Self {
            ring: Arc::new(Mutex::new(Ring {
                entries: VecDeque::new(),
                next_seq: 0,
                bytes: 0,
                max_slots: max_slots.max(1),
                max_bytes,
            })),
            published,
        }
    }

    /// Appends `envelopes` in order, evicts what no longer fits, and wakes receivers.
    /// With no receiver, nothing is kept: a node nobody subscribes to holds no envelopes.
    pub(crate) fn publish(&self, envelopes: impl IntoIterator<Item = Envelope>) {
        // A receiver registers with `published` before it reads its starting point
        // (see `subscribe`), so one that counts here gets everything after that point.
        if self.published.receiver_count() == 0 {
            // And what the last receiver left behind goes too.
            let mut ring = lock(&self.ring);
            ring.entries.clear();
            ring.bytes = 0;
            return;
        }
        {
            let mut ring = lock(&self.ring);
            for envelope in envelopes {
                let size = envelope.encoded_len();
                let seq = ring.next_seq;
                ring.entries.push_back((seq, Arc::new(envelope), size));
                ring.next_seq += 1;
                ring.bytes = ring.bytes.saturating_add(size);
                while ring.entries.len() > 1
                    && (ring.entries.len() > ring.max_slots || ring.bytes > ring.max_bytes)
                {
                    if let Some((_, _, evicted)) = ring.entries.pop_front() {
                        ring.bytes -= evicted;
                    }
                }
            }
        }
        self.published.send_replace(());
    }

    /// A receiver of everything published from now on.
    pub(crate) fn subscribe(&self) -> Receiver {
        let published = self.published.subscribe();
        let next = lock(&self.ring).next_seq;
        Receiver {
            ring: self.ring.clone(),
            published,
            next,
        }
    }
}

/// One subscriber's position in the [`Fanout`].
#[derive(Debug)]
pub(crate) struct Receiver {
    ring: Arc<Mutex<Ring>>,
    published: watch::Receiver<()>,
    /// The sequence number of the next envelope this receiver reads.
    next: u64,
}

impl Receiver {
    /// The next envelope, waiting for one if need be. Cancel-safe: dropping the future
    /// loses nothing.
    pub(crate) async fn recv(&mut self) -> Result<Arc<Envelope>, RecvError> {
        loop {
            // Marked seen before looking, so a publish after the look wakes us below.
            self.published.borrow_and_update();
            {
                let ring = lock(&self.ring);
                let oldest = ring.oldest_seq();
                if self.next < oldest {
                    return Err(RecvError::Lagged(oldest - self.next));
                }
                if self.next < ring.next_seq {
                    let index = usize::try_from(self.next - oldest).unwrap_or(usize::MAX);
                    if let Some((_, envelope, _)) = ring.entries.get(index) {
                        self.next += 1;
                        return Ok(envelope.clone());
                    }
                }
            }
            if self.published.changed().await.is_err() {
                return Err(RecvError::Closed);
            }
        }
    }
}

/// The ring's invariants hold between statements that could panic (only allocation
/// can), so a poisoned lock is still usable.
fn lock(ring: &Mutex<Ring>) -> MutexGuard<'_, Ring> {
    ring.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Envelope `i`: dated 1000 + i, so that envelopes of one length have one size.
    fn env(i: u8, len: usize) -> Envelope {
        Envelope {
            content_topic: "t".into(),
            timestamp_ns: 1000 + u64::from(i),
            message: vec![i; len],
        }
    }

    async fn next(receiver: &mut Receiver) -> Result<Arc<Envelope>, RecvError> {
        tokio::time::timeout(Duration::from_secs(5), receiver.recv())
            .await
            .expect("an answer within 5 s")
    }

    fn retained(fanout: &Fanout) -> (usize, usize) {
        let ring = lock(&fanout.ring);
        (ring.entries.len(), ring.bytes)
    }

    #[tokio::test]
    async fn delivers_in_order_only_what_was_published_after_subscribing() {
        let fanout = Fanout::new(10, 1 << 20);
        fanout.publish([env(0, 1)]);
        let mut receiver = fanout.subscribe();
        fanout.publish([env(1, 1), env(2, 1)]);
        assert_eq!(next(&mut receiver).await.expect("1").timestamp_ns, 1001);
        assert_eq!(next(&mut receiver).await.expect("2").timestamp_ns, 1002);
        // Waits for the next publish.
        let waiting =
            tokio::spawn(async move { next(&mut receiver).await.map(|e| e.timestamp_ns - 1000) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        fanout.publish([env(3, 1)]);
        assert_eq!(waiting.await.expect("task"), Ok(3));
    }

    #[tokio::test]
    async fn the_slot_cap_evicts_and_a_receiver_behind_it_is_told_how_far() {
        let fanout = Fanout::new(2, 1 << 20);
        let mut receiver = fanout.subscribe();
        fanout.publish((0..5).map(|i| env(i, 1)));
        assert_eq!(retained(&fanout).0, 2);
        assert_eq!(next(&mut receiver).await, Err(RecvError::Lagged(3)));
    }

    #[tokio::test]
    async fn the_byte_cap_evicts_before_the_slot_cap() {
        let size = env(0, 1000).encoded_len();
        let fanout = Fanout::new(1024, 3 * size);
        let mut slow = fanout.subscribe();
        fanout.publish((0..3).map(|i| env(i, 1000)));
        assert_eq!(retained(&fanout), (3, 3 * size));
        let mut fast = fanout.subscribe();
        fanout.publish([env(3, 1000)]);
        assert_eq!(retained(&fanout), (3, 3 * size));
        assert_eq!(next(&mut slow).await, Err(RecvError::Lagged(1)));
        // One that keeps up is unaffected.
        assert_eq!(next(&mut fast).await.expect("3").timestamp_ns, 1003);
    }

    #[tokio::test]
    async fn an_envelope_larger_than_the_byte_cap_reaches_a_receiver_keeping_up() {
        let fanout = Fanout::new(1024, 100);
        let mut receiver = fanout.subscribe();
        fanout.publish([env(0, 10)]);
        assert_eq!(next(&mut receiver).await.expect("small").timestamp_ns, 1000);
        fanout.publish([env(1, 5000)]);
        // Alone in the ring: the byte cap is exceeded by this one envelope only.
        assert_eq!(retained(&fanout).0, 1);
        let big = next(&mut receiver).await.expect("big");
        assert_eq!(big.message.len(), 5000);
        // The next one evicts it.
        fanout.publish([env(2, 10)]);
        assert_eq!(retained(&fanout).0, 1);
        assert_eq!(next(&mut receiver).await.expect("after").timestamp_ns, 1002);
    }

    #[tokio::test]
    async fn nothing_is_kept_without_a_receiver() {
        let fanout = Fanout::new(10, 1 << 20);
        fanout.publish([env(0, 1000)]);
        assert_eq!(retained(&fanout), (0, 0));
        let receiver = fanout.subscribe();
        fanout.publish([env(1, 1000)]);
        assert_eq!(retained(&fanout).0, 1);
        drop(receiver);
        fanout.publish([env(2, 1000)]);
        assert_eq!(retained(&fanout), (0, 0));
        // A receiver subscribed after that sees only what comes after it.
        let mut late = fanout.subscribe();
        fanout.publish([env(3, 1)]);
        assert_eq!(next(&mut late).await.expect("3").timestamp_ns, 1003);
    }

    #[tokio::test]
    async fn dropping_the_fanout_ends_receivers_after_what_is_retained() {
        let fanout = Fanout::new(10, 1 << 20);
        let mut receiver = fanout.subscribe();
        fanout.publish([env(0, 1)]);
        drop(fanout);
        assert_eq!(
            next(&mut receiver).await.expect("retained").timestamp_ns,
            1000
        );
        assert_eq!(next(&mut receiver).await, Err(RecvError::Closed));
    }
}
