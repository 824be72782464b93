//! WAL checkpoints off the commit path.
//!
//! By default SQLite checkpoints from the connection whose commit takes the WAL past
//! 1000 pages: that commit copies the WAL's pages into the database file and syncs it
//! before it returns. For the node that is the writer's commit, so every publish in that
//! batch (and every one queued behind it) waits for it; with many rows each envelope
//! dirties a few index pages of its own, the WAL fills often, and the checkpoints make
//! the publish latency's tail. Instead, while the node runs, the write connection does
//! not checkpoint and a thread of its own runs a `PASSIVE` checkpoint every
//! [`INTERVAL`] on its own connection: it copies what no reader still needs, without
//! taking the write lock, so commits go on meanwhile. The WAL stays about as small as
//! with the default (it grows by what is committed in one interval).

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::store::{Store, StoreError};

/// How often the WAL is checkpointed. A checkpoint of an already checkpointed WAL
/// costs next to nothing.
pub(crate) const INTERVAL: Duration = Duration::from_millis(50);

/// SQLite's default `wal_autocheckpoint`, put back when the checkpointer stops.
const DEFAULT_AUTOCHECKPOINT: u32 = 1000;

/// Why the checkpointer did not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckpointError {
    /// Its connection could not be opened, or the write connection not set up.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The thread could not be started.
    #[error("cannot start the WAL checkpoint thread: {0}")]
    Thread(std::io::Error),
}

/// The checkpoint thread (see the module documentation).
#[derive(Debug)]
pub(crate) struct Checkpointer {
    store: Arc<Store>,
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

/// Turns checkpoints off on the write connection and starts the thread.
pub(crate) fn start(store: Arc<Store>) -> Result<Checkpointer, CheckpointError> {
    let conn = store.open_side_connection()?;
    let (stop, stopping) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("xmtp-ledger-checkpoint".into())
        .spawn(move || {
            loop {
                match stopping.recv_timeout(INTERVAL) {
                    Err(RecvTimeoutError::Timeout) => {}
                    // Asked to stop, or the node that would ask is gone.
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
                let checkpoint = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                    row.get::<_, i64>(0)
                });
                if let Err(e) = checkpoint {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                }
            }
        })
        .map_err(CheckpointError::Thread)?;
    // Only once the thread runs: a node whose checkpointer did not start keeps SQLite's
    // own checkpoints.
    store.set_wal_autocheckpoint(0)?;
    Ok(Checkpointer {
        store,
        stop,
        thread,
    })
}

impl Checkpointer {
    /// Gives checkpoints back to the write connection and ends the thread (blocks until
    /// a checkpoint in progress is done).
    pub(crate) fn stop(self) {
        if let Err(e) = self.store.set_wal_autocheckpoint(DEFAULT_AUTOCHECKPOINT) {
            tracing::warn!(error = %e, "cannot restore WAL autocheckpoint");
        }
        let _ = self.stop.send(());
        if self.thread.join().is_err() {
            tracing::error!("the WAL checkpoint thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::proto::message_api::v1::Envelope;

    fn autocheckpoint(store: &Store) -> i64 {
        store
            .conn()
            .expect("conn")
            .query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))
            .expect("pragma")
    }

    #[test]
    fn the_thread_checkpoints_and_commits_do_not_until_it_stops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.sqlite3");
        let store = Arc::new(Store::open(&path).expect("open"));
        let checkpointer = start(store.clone()).expect("start");
        assert_eq!(autocheckpoint(&store), 0);
        let before = std::fs::metadata(&path).expect("db").len();
        // Rows go to the WAL; only a checkpoint copies them into the database file.
        let batch: Vec<Envelope> = (0..100u32)
            .map(|i| Envelope {
                content_topic: "t".into(),
                timestamp_ns: u64::from(i),
                message: vec![i as u8; 2000],
            })
            .collect();
        store.insert(&batch).expect("insert");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::metadata(&path).expect("db").len() <= before {
            assert!(Instant::now() < deadline, "no checkpoint within 5 s");
            std::thread::sleep(INTERVAL / 2);
        }
        checkpointer.stop();
        assert_eq!(autocheckpoint(&store), i64::from(DEFAULT_AUTOCHECKPOINT));
        assert_eq!(store.count().expect("count"), 100);
    }
}
