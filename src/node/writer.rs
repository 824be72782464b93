//! Group commit: one writer thread stores every pending publish in one transaction.
//!
//! A commit costs an fsync (`synchronous=FULL`, see [`super::store`]), and one commit per
//! publish would cap the node at one publish per fsync however many clients wait.
//! Instead, each publish is queued here ([`Writer::publish`]) and waits for its answer;
//! the writer takes the first queued request and every other one already waiting (up to
//! [`WriterBounds::batch_requests`] requests and [`WriterBounds::batch_bytes`] bytes),
//! stores them all with [`Store::insert_batch`] (one transaction, a savepoint per
//! request, one commit), and only after the commit returns answers each request with its
//! own outcome. Requests queued while the batch's rows are being written join it before
//! the commit, within the same bounds, rather than wait for this commit and then one of
//! their own. While one batch commits, the next one queues, so the more clients publish
//! at once, the more publishes share each fsync; a lone client still gets one commit per
//! publish, and waits for nothing else.
//!
//! Nothing is acknowledged before it is durable: a request's answer is sent after the
//! commit that holds its rows. Each request stays all or nothing: a
//! [`StoreError::DigestConflict`] fails that request alone. Should the batch's
//! transaction fail as a whole (an I/O error, a full disk), each of its requests is
//! stored again in a transaction of its own, so one request's failure is never another's.
//!
//! Bounds: the queue holds at most [`WriterBounds::queue`] requests, and a publisher
//! beyond that waits for room (a publish's bytes are already bounded by the request size
//! limit and the connection limits; the queue adds no unbounded buffer of its own).
//!
//! The writer is a thread of its own rather than a task handing each batch to
//! `spawn_blocking`: it blocks on the queue and on SQLite, and answers straight from the
//! thread, one hop less per publish.
//!
//! Shutdown ([`WriterTask::stop`], after the server has stopped taking calls): the queue
//! is closed, so a publish not yet queued is refused ([`WriteError::Closed`]); every
//! request already queued is committed and answered before the thread ends. None is lost
//! without an answer: if the writer itself fails, its waiters get
//! [`WriteError::Stopped`].

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::store::{Store, StoreError};
use crate::proto::message_api::v1::Envelope;

/// How much the writer queues and writes at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WriterBounds {
    /// Most publish requests waiting for the writer (256); more publishers wait for room.
    pub(crate) queue: usize,
    /// Most requests in one transaction (256).
    pub(crate) batch_requests: usize,
    /// Most bytes of topics and messages in one transaction (8 MiB), unless its first
    /// request alone is larger: bounds the transaction's WAL growth and how long its
    /// commit makes the others wait.
    pub(crate) batch_bytes: usize,
}

impl Default for WriterBounds {
    fn default() -> Self {
        Self {
            queue: 256,
            batch_requests: 256,
            batch_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Why a publish was not stored.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    /// The store refused or failed this request; nothing of it was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The node is shutting down and takes no more publishes; nothing was stored.
    #[error("the node is shutting down; the publish was not stored")]
    Closed,
    /// The writer ended without answering (it failed): the request may or may not have
    /// been stored, and is not acknowledged.
    #[error("the storage writer stopped before answering")]
    Stopped,
}

/// What a publish gets back: its envelopes (moved to the writer and back, not copied)
/// and how many rows were new.
type Outcome = Result<(Vec<Envelope>, usize), StoreError>;

/// What the writer's queue carries.
enum Message {
    Publish(Job),
    /// From [`WriterTask::stop`]: close the queue, commit what it holds, end.
    Stop,
}

/// One queued publish.
struct Job {
    envelopes: Vec<Envelope>,
    /// Topic and message bytes of the envelopes to store.
    bytes: usize,
    reply: oneshot::Sender<Outcome>,
}

/// Which envelopes of a publish are stored (the others are only relayed).
pub(crate) type StoredFilter = fn(&Envelope) -> bool;

/// The publishing side of the group commit; cheap to share.
#[derive(Debug)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Message>,
    stored: StoredFilter,
}

/// The writer thread, for [`WriterTask::stop`].
#[derive(Debug)]
pub(crate) struct WriterTask {
    stop: mpsc::Sender<Message>,
    /// Dropped (`Err` for the waiter) when the thread ends.
    done: oneshot::Receiver<()>,
}

/// Starts the writer thread. Of each publish, only the envelopes `stored` accepts are
/// written.
pub(crate) fn start(
    store: Arc<Store>,
    bounds: WriterBounds,
    stored: StoredFilter,
) -> Result<(Writer, WriterTask), std::io::Error> {
    let (jobs, queue) = mpsc::channel(bounds.queue.max(1));
    let (ended, done) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("xmtp-ledger-writer".into())
        .spawn(move || {
            run(&store, queue, &bounds, stored);
            drop(ended);
        })?;
    let stop = jobs.clone();
    Ok((Writer { jobs, stored }, WriterTask { stop, done }))
}

impl Writer {
    /// Queues `envelopes` (waiting for room if the queue is full) and waits until they
    /// are committed: returns them with how many rows were new, once durable.
    pub(crate) async fn publish(
        &self,
        envelopes: Vec<Envelope>,
    ) -> Result<(Vec<Envelope>, usize), WriteError> {
        let stored = self.stored;
        let bytes = envelopes
            .iter()
            .filter(|e| stored(e))
            .map(|e| e.content_topic.len() + e.message.len())
            .sum();
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Message::Publish(Job {
                envelopes,
                bytes,
                reply,
            }))
            .await
            .map_err(|_| WriteError::Closed)?;
        // If this caller goes away (the client hung up), the writer still commits the
        // request; only its answer is dropped.
        Ok(answer.await.map_err(|_| WriteError::Stopped)??)
    }
}

impl WriterTask {
    /// Refuses further publishes, commits and answers the queued ones, and waits for the
    /// thread to end.
    pub(crate) async fn stop(self) {
        // Behind every publish already queued; if the thread is gone, so is the queue.
        let _ = self.stop.send(Message::Stop).await;
        drop(self.stop);
        // Resolves (with `Err`: nothing is sent) when the thread drops its end.
        let _ = self.done.await;
    }
}

/// The writer thread: batches until [`Message::Stop`] or until every sender is gone,
/// then the queue's rest.
fn run(
    store: &Store,
    mut queue: mpsc::Receiver<Message>,
    bounds: &WriterBounds,
    stored: StoredFilter,
) {
    let mut next = None;
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match queue.blocking_recv() {
                Some(Message::Publish(job)) => job,
                Some(Message::Stop) => {
                    // No new publishes; those already queued are still committed and
                    // answered (the queue yields them, then `None`).
                    queue.close();
                    continue;
                }
                None => return,
            },
        };
        let (batch, left) = take_batch(first, &mut queue, bounds);
        // A batch that already hit its byte bound takes no one else in.
        let join = left.is_none().then_some(&mut queue);
        let late = commit(store, batch, join, bounds, stored);
        next = left.or(late);
    }
}

/// `first` and the requests already queued behind it, within the bounds; a request
/// taken that would exceed the byte bound is handed back for the next batch.
fn take_batch(
    first: Job,
    queue: &mut mpsc::Receiver<Message>,
    bounds: &WriterBounds,
) -> (Vec<Job>, Option<Job>) {
    let mut bytes = first.bytes;
    let mut batch = vec![first];
    let left = gather(&mut batch, &mut bytes, queue, bounds);
    (batch, left)
}

/// Moves the requests queued now into `batch` (of `bytes` so far), within the bounds;
/// one that would exceed the byte bound is handed back for the next batch.
fn gather(
    batch: &mut Vec<Job>,
    bytes: &mut usize,
    queue: &mut mpsc::Receiver<Message>,
    bounds: &WriterBounds,
) -> Option<Job> {
    while batch.len() < bounds.batch_requests {
        let job = match queue.try_recv() {
            Ok(Message::Publish(job)) => job,
            // A stop closes the queue; `run` finds it closed and drains the rest.
            Ok(Message::Stop) => {
                queue.close();
                break;
            }
            Err(_) => break,
        };
        if bytes.saturating_add(job.bytes) > bounds.batch_bytes {
            return Some(job);
        }
        *bytes += job.bytes;
        batch.push(job);
    }
    None
}

/// Writes `batch` in one transaction, then answers each request. With `join`, the
/// requests queued while the batch was being written join it before the commit (within
/// the bounds): otherwise they would wait for this commit, then for one of their own.
/// Returns a request taken from `join` that did not fit, for the next batch.
fn commit(
    store: &Store,
    mut batch: Vec<Job>,
    mut join: Option<&mut mpsc::Receiver<Message>>,
    bounds: &WriterBounds,
    stored: StoredFilter,
) -> Option<Job> {
    let mut left = None;
    let written = store.insert_batch(|transaction| {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut bytes = batch.iter().map(|job| job.bytes).sum();
        loop {
            for job in &batch[outcomes.len()..] {
                outcomes.push(transaction.insert(job.envelopes.iter().filter(|e| stored(e)))?);
            }
            // Once a request is handed back, none behind it may go first.
            let Some(queue) = join.as_deref_mut().filter(|_| left.is_none()) else {
                break;
            };
            let written = batch.len();
            left = gather(&mut batch, &mut bytes, queue, bounds);
            if batch.len() == written && left.is_none() {
                break;
            }
        }
        Ok(outcomes)
    });
    let outcomes = match written {
        Ok(outcomes) => outcomes,
        Err(e) => write_each(store, &batch, stored, e),
    };
    tracing::trace!(requests = batch.len(), "group commit");
    for (job, outcome) in batch.into_iter().zip(outcomes) {
        // A caller that went away no longer needs its answer.
        let _ = job
            .reply
            .send(outcome.map(|inserted| (job.envelopes, inserted)));
    }
    left
}

/// After the batch's transaction failed with `failure` (nothing of it was stored): each
/// request stored alone, so that whatever failed fails only the request it belongs to.
fn write_each(
    store: &Store,
    batch: &[Job],
    stored: StoredFilter,
    failure: StoreError,
) -> Vec<Result<usize, StoreError>> {
    if batch.len() == 1 {
        return vec![Err(failure)];
    }
    tracing::warn!(error = %failure, requests = batch.len(), "group commit failed; storing each publish alone");
    batch
        .iter()
        .map(|job| store.insert(job.envelopes.iter().filter(|e| stored(e))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(topic: &str, message: &[u8]) -> Envelope {
        Envelope {
            content_topic: topic.into(),
            timestamp_ns: 1,
            message: message.to_vec(),
        }
    }

    fn everything(_: &Envelope) -> bool {
        true
    }

    fn open() -> (tempfile::TempDir, Arc<Store>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("node.sqlite3")).expect("open");
        (dir, Arc::new(store))
    }

    fn first_job(queue: &mut mpsc::Receiver<Message>) -> Job {
        match queue.try_recv() {
            Ok(Message::Publish(job)) => job,
            _ => panic!("a publish first"),
        }
    }

    /// Queues `requests` then a stop, runs the writer on this thread until it ends, and
    /// returns each request's outcome and the queue's sending side.
    fn run_queued(
        store: &Store,
        requests: Vec<Vec<Envelope>>,
        bounds: WriterBounds,
    ) -> (Vec<Result<usize, StoreError>>, mpsc::Sender<Message>) {
        let (jobs, queue) = mpsc::channel(bounds.queue);
        let mut answers = Vec::new();
        for request in requests {
            let (job, answer) = job(request, 2);
            jobs.try_send(Message::Publish(job)).expect("room");
            answers.push(answer);
        }
        jobs.try_send(Message::Stop).expect("room");
        run(store, queue, &bounds, everything);
        let outcomes = answers
            .into_iter()
            .map(|answer| answer.blocking_recv().expect("answered").map(|(_, n)| n))
            .collect();
        (outcomes, jobs)
    }

    fn job(envelopes: Vec<Envelope>, bytes: usize) -> (Job, oneshot::Receiver<Outcome>) {
        let (reply, answer) = oneshot::channel();
        (
            Job {
                envelopes,
                bytes,
                reply,
            },
            answer,
        )
    }

    #[test]
    fn a_batch_stops_at_its_request_and_byte_bounds() {
        let bounds = WriterBounds {
            queue: 16,
            batch_requests: 3,
            batch_bytes: 100,
        };
        let (tx, mut rx) = mpsc::channel(16);
        let mut answers = Vec::new();
        for bytes in [10, 10, 10, 10, 60, 50, 500] {
            let (job, answer) = job(Vec::new(), bytes);
            answers.push(answer);
            tx.try_send(Message::Publish(job)).expect("room");
        }
        let first = first_job(&mut rx);
        let (batch, left) = take_batch(first, &mut rx, &bounds);
        assert_eq!(
            batch.iter().map(|j| j.bytes).collect::<Vec<_>>(),
            [10, 10, 10]
        );
        assert!(left.is_none());
        let first = first_job(&mut rx);
        // 10 + 60 fit; 50 more would make 120: handed back for the next batch.
        let (batch, left) = take_batch(first, &mut rx, &bounds);
        assert_eq!(batch.iter().map(|j| j.bytes).collect::<Vec<_>>(), [10, 60]);
        let left = left.expect("handed back");
        assert_eq!(left.bytes, 50);
        // The next batch starts with it; a request larger than the bound goes alone.
        let (batch, left) = take_batch(left, &mut rx, &bounds);
        assert_eq!(batch.iter().map(|j| j.bytes).collect::<Vec<_>>(), [50]);
        let (batch, left) = take_batch(left.expect("next"), &mut rx, &bounds);
        assert_eq!(batch.iter().map(|j| j.bytes).collect::<Vec<_>>(), [500]);
        assert!(left.is_none());
    }

    #[test]
    fn requests_queued_during_a_write_join_its_commit_within_the_bounds() {
        let (_dir, store) = open();
        let bounds = WriterBounds {
            queue: 16,
            batch_requests: 3,
            batch_bytes: 100,
        };
        let (tx, mut queue) = mpsc::channel(16);
        let mut answers = Vec::new();
        // Queued after the batch was taken; two fit its request bound.
        for i in 0..4u8 {
            let (job, answer) = job(vec![env("t", &[i])], 2);
            tx.try_send(Message::Publish(job)).expect("room");
            answers.push(answer);
        }
        let (first, mut first_answer) = job(vec![env("t", b"first")], 2);
        let left = commit(&store, vec![first], Some(&mut queue), &bounds, everything);
        assert!(left.is_none());
        assert!(matches!(first_answer.try_recv(), Ok(Ok((_, 1)))));
        for answer in &mut answers[..2] {
            assert!(matches!(answer.try_recv(), Ok(Ok((_, 1)))));
        }
        for answer in &mut answers[2..] {
            assert!(answer.try_recv().is_err(), "not part of the batch");
        }
        assert_eq!(store.count().expect("count"), 3);
        // The rest wait, in order, for the next batch.
        assert!(
            matches!(queue.try_recv(), Ok(Message::Publish(job)) if job.envelopes[0].message == [2])
        );

        // A request over the byte bound is handed back, and none behind it joins.
        let (over, _) = job(vec![env("u", b"over")], 99);
        let (behind, mut behind_answer) = job(vec![env("u", b"behind")], 1);
        tx.try_send(Message::Publish(over)).expect("room");
        tx.try_send(Message::Publish(behind)).expect("room");
        let (first, _) = job(vec![env("u", b"first")], 2);
        let left = commit(&store, vec![first], Some(&mut queue), &bounds, everything);
        assert_eq!(left.expect("handed back").bytes, 99);
        assert!(
            behind_answer.try_recv().is_err(),
            "went before the request handed back"
        );
        // Without `join`, nothing joins.
        let (first, _) = job(vec![env("v", b"alone")], 2);
        assert!(commit(&store, vec![first], None, &bounds, everything).is_none());
        assert!(matches!(queue.try_recv(), Ok(Message::Publish(job)) if job.bytes == 1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_publishes_are_all_stored_and_answered() {
        let (_dir, store) = open();
        let (writer, task) =
            start(store.clone(), WriterBounds::default(), everything).expect("start");
        let writer = Arc::new(writer);
        let mut calls = Vec::new();
        for i in 0..64u32 {
            let writer = writer.clone();
            calls.push(tokio::spawn(async move {
                let envelopes = vec![env("t", &i.to_be_bytes()), env("u", &i.to_be_bytes())];
                writer.publish(envelopes).await
            }));
        }
        for (i, call) in calls.into_iter().enumerate() {
            let (envelopes, inserted) = call.await.expect("task").expect("stored");
            assert_eq!(inserted, 2, "call {i}");
            assert_eq!(envelopes[0].message, (i as u32).to_be_bytes());
        }
        assert_eq!(store.count().expect("count"), 128);
        task.stop().await;
    }

    #[tokio::test]
    async fn only_the_filtered_envelopes_are_stored() {
        let (_dir, store) = open();
        let (writer, task) = start(store.clone(), WriterBounds::default(), |e| {
            e.content_topic != "skip"
        })
        .expect("start");
        let (envelopes, inserted) = writer
            .publish(vec![env("skip", b"a"), env("keep", b"b")])
            .await
            .expect("stored");
        assert_eq!((envelopes.len(), inserted), (2, 1));
        assert_eq!(store.count().expect("count"), 1);
        task.stop().await;
    }

    #[test]
    fn queued_publishes_are_committed_at_stop_and_later_ones_refused() {
        let (_dir, store) = open();
        let bounds = WriterBounds {
            queue: 64,
            batch_requests: 2,
            batch_bytes: 1 << 20,
        };
        // Ten publishes queued, then the stop, before the writer runs at all.
        let requests = (0..10u8).map(|i| vec![env("t", &[i])]).collect();
        let (outcomes, jobs) = run_queued(&store, requests, bounds);
        for (i, outcome) in outcomes.iter().enumerate() {
            assert!(matches!(outcome, Ok(1)), "{i}: {outcome:?}");
        }
        assert_eq!(store.count().expect("count"), 10);
        let writer = Writer {
            jobs,
            stored: everything,
        };
        let late = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(writer.publish(vec![env("t", b"late")]));
        assert!(matches!(late, Err(WriteError::Closed)), "{late:?}");
        assert_eq!(store.count().expect("count"), 10);
    }

    #[test]
    fn a_conflicting_request_fails_alone_in_its_batch() {
        let (_dir, store) = open();
        super::super::store::forge_collision(&store, "t", b"x");
        let requests = vec![
            vec![env("t", b"a"), env("t", b"b")],
            // Its first envelope is new, its second conflicts: neither is stored.
            vec![env("t", b"c"), env("t", b"x")],
            // Equal to the first request's: a duplicate, not a conflict.
            vec![env("t", b"a"), env("t", b"d")],
        ];
        let (outcomes, _) = run_queued(&store, requests, WriterBounds::default());
        assert!(matches!(outcomes[0], Ok(2)), "{:?}", outcomes[0]);
        assert!(
            matches!(&outcomes[1], Err(StoreError::DigestConflict { topic }) if topic == "t"),
            "{:?}",
            outcomes[1]
        );
        assert!(matches!(outcomes[2], Ok(1)), "{:?}", outcomes[2]);
        let page = store
            .query(
                &super::super::store::StoreQuery {
                    topics: vec!["t".into()],
                    limit: 10,
                    ..Default::default()
                },
                usize::MAX,
            )
            .expect("query");
        let mut messages: Vec<Vec<u8>> = page.envelopes.into_iter().map(|e| e.message).collect();
        messages.sort();
        assert_eq!(
            messages,
            [vec![0], b"a".to_vec(), b"b".to_vec(), b"d".to_vec()]
        );
    }

    #[test]
    fn when_the_batch_fails_each_request_is_stored_alone() {
        let (_dir, store) = open();
        // A failure that is not a digest conflict, for one topic only.
        store
            .conn()
            .expect("conn")
            .execute_batch(
                "CREATE TRIGGER refuse_boom BEFORE INSERT ON envelopes WHEN NEW.topic = 'boom'
                 BEGIN SELECT RAISE(ABORT, 'boom refused'); END;",
            )
            .expect("trigger");
        let requests = vec![
            vec![env("t", b"a")],
            vec![env("t", b"b"), env("boom", b"c")],
            vec![env("u", b"d")],
        ];
        let (outcomes, _) = run_queued(&store, requests, WriterBounds::default());
        assert!(matches!(outcomes[0], Ok(1)), "{:?}", outcomes[0]);
        assert!(
            matches!(&outcomes[1], Err(StoreError::Sqlite(e)) if e.to_string().contains("boom refused")),
            "{:?}",
            outcomes[1]
        );
        assert!(matches!(outcomes[2], Ok(1)), "{:?}", outcomes[2]);
        // "t"/"b" went with its request's failure.
        assert_eq!(store.count().expect("count"), 2);
    }
}
