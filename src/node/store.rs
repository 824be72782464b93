//! The node's storage: one SQLite file in WAL mode. This module holds the envelopes and
//! the file's setup; the XMTP v3 tables (identity updates, the address map, key packages)
//! live in the same file, on the same connection, in [`super::inbox_store`].
//!
//! One row per distinct `(topic, message)`: the key is the topic together with the digest
//! `sha256(topic ‖ message)` (the reference node's cursor digest), so publishing the same
//! bytes on the same topic again is a no-op and the first copy keeps its timestamp. The
//! digest alone would not do: without a separator, topic `a` with message `bc` and topic
//! `ab` with message `c` share it, and one would silently suppress the other (schema 1
//! had that defect; opening such a file migrates it). Rows are read in
//! `(sender_time, digest)` order through the `(topic, sender_time, digest)` index.
//!
//! The file and its `-wal`/`-shm` companions are private to the node's user (0600; SQLite
//! gives the companions the database file's mode), and a symlink in its place is refused.
//!
//! Durability: a publish is answered only after the transaction holding its rows has
//! committed, with `synchronous=FULL`. In WAL mode, `NORMAL` already survives the node
//! process being killed (the WAL is in the OS page cache), but may lose the last
//! commits on power loss or an OS crash; `FULL` syncs the WAL on every commit and
//! survives both, so an acknowledged envelope is never silently lost. The fsync is what
//! a commit costs, so the node shares it between concurrent publishes:
//! [`Store::insert_each`] writes several publish requests in one transaction, each
//! request still all or nothing (the group commit: see the node's `writer` module).
//!
//! Connections: one for writing (publishes and the v3 writes, serialized by a mutex),
//! and a small pool of readers ([`MAX_READERS`]). In WAL mode a reader sees the last
//! commit and neither waits for the writer nor holds it up, so queries do not queue
//! behind a commit's fsync.
//!
//! All methods block; the server calls them from `spawn_blocking`.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use prost::Message;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params, params_from_iter};

use super::db_file::{FileProblem, create_private_dir, prepare_private_file};
use crate::proto::message_api::v1::{Envelope, IndexCursor};
use crate::wire::now_ns;

/// Schema version kept in `PRAGMA user_version`: 3 adds the v3 tables
/// ([`super::inbox_store`]: identity updates, the address map, key packages); 2 keys rows
/// by (topic, digest); 1 keyed them by the digest alone.
const SCHEMA_VERSION: i64 = 3;

/// Page cache of the write connection, in KiB (SQLite's default is 2,000). Every publish
/// descends the envelope table's two indexes; with a million rows their interior pages
/// and each topic's newest leaf no longer fit the default, and every miss is a `pread`
/// inside the commit that the other publishers wait for. Pages are allocated as they
/// are first used, so a small database never holds this much.
const WRITER_CACHE_KIB: i64 = 16 * 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS envelopes (
    topic       TEXT    NOT NULL,
    -- sha256(topic || message): the reference node's cursor digest. Unique only together
    -- with the topic: the concatenation has no separator.
    digest      BLOB    NOT NULL,
    -- The envelope's timestamp_ns (a u64) with its top bit flipped and stored as i64,
    -- so that SQLite's signed order is the u64 order (see `time_key`).
    sender_time INTEGER NOT NULL,
    message     BLOB    NOT NULL,
    -- When this node stored it (ns since the epoch); for operators only.
    received_ns INTEGER NOT NULL,
    UNIQUE (topic, digest)
);
CREATE INDEX IF NOT EXISTS envelopes_by_topic_time ON envelopes (topic, sender_time, digest);
";

/// Schema 3's v3 tables, read and written by [`super::inbox_store`]; run on every open
/// (`IF NOT EXISTS`), which is the whole of the schema 2 to 3 migration.
const V3_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS identity_updates (
    sequence_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    -- 64 lowercase hex digits.
    inbox_id        TEXT    NOT NULL,
    server_time_ns  INTEGER NOT NULL,
    -- The IdentityUpdate's protobuf encoding.
    update_bytes    BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS identity_updates_by_inbox ON identity_updates (inbox_id, sequence_id);
CREATE TABLE IF NOT EXISTS inbox_addresses (
    -- Lowercase 0x + 40 hex digits.
    address         TEXT    NOT NULL,
    inbox_id        TEXT    NOT NULL,
    associated_seq  INTEGER NOT NULL,
    -- NULL while the address is a member.
    revoked_seq     INTEGER,
    PRIMARY KEY (address, inbox_id)
);
CREATE TABLE IF NOT EXISTS key_packages (
    installation_key BLOB    PRIMARY KEY,
    key_package      BLOB    NOT NULL,
    updated_ns       INTEGER NOT NULL
);
";

/// Schema 1 to 2: the same rows, keyed by (topic, digest) instead of the digest alone.
/// Runs in one transaction; the index is dropped first because it would otherwise
/// follow the renamed table and keep its name.
const MIGRATE_1_TO_2: &str = "
ALTER TABLE envelopes RENAME TO envelopes_schema1;
DROP INDEX IF EXISTS envelopes_by_topic_time;
";

const COPY_FROM_1: &str = "
INSERT INTO envelopes (topic, digest, sender_time, message, received_ns)
    SELECT topic, digest, sender_time, message, received_ns FROM envelopes_schema1;
DROP TABLE envelopes_schema1;
";

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database directory could not be created.
    #[error("cannot create the directory {path} for the node database: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be opened or set up.
    #[error("cannot open the node database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The file was written by a newer version of this program.
    #[error(
        "the node database {path} has schema version {found}; this program knows up to {SCHEMA_VERSION}"
    )]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
    },
    /// WAL mode could not be enabled (e.g. a network file system without shared memory).
    #[error("the node database {path} cannot use WAL journaling (got {mode:?})")]
    NoWal {
        /// The file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// A statement failed.
    #[error("node database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored envelope has the same topic and digest as a new one but other bytes (a
    /// SHA-256 collision): the new one is not stored, and must not be acknowledged.
    #[error("an envelope on {topic} has the digest of a different stored envelope; not stored")]
    DigestConflict {
        /// The topic.
        topic: String,
    },
    /// A stored identity update does not decode: the file was damaged (the node stores
    /// only updates it decoded).
    #[error("stored identity update {sequence_id} does not decode: {source}")]
    CorruptUpdate {
        /// Its sequence id.
        sequence_id: u64,
        /// Why.
        source: prost::DecodeError,
    },
    /// The database file could not be created or its mode set.
    #[error("cannot prepare the node database file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database path is a symlink or not a regular file.
    #[error("the node database {path} is not a regular file (a symlink or other file is refused)")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A thread panicked while holding the database; its transaction was rolled back,
    /// but we stop using the connection rather than guess.
    #[error("node database connection is unusable after a panic")]
    Poisoned,
}

impl From<FileProblem> for StoreError {
    fn from(problem: FileProblem) -> Self {
        match problem {
            FileProblem::Io { path, source } => Self::File { path, source },
            FileProblem::NotAFile { path } => Self::NotAFile { path },
        }
    }
}

/// A query as the store runs it (already validated by the service).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreQuery {
    /// Topics to match (at least one).
    pub topics: Vec<String>,
    /// Inclusive lower bound on the sender timestamp.
    pub start_ns: Option<u64>,
    /// Inclusive upper bound on the sender timestamp.
    pub end_ns: Option<u64>,
    /// Newest first.
    pub descending: bool,
    /// Only rows strictly after this `(sender_time_ns, digest)` in the query's order.
    pub after: Option<(u64, Vec<u8>)>,
    /// Most rows to return.
    pub limit: u32,
}

/// Rows of one query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredPage {
    /// The envelopes, in the query's order.
    pub envelopes: Vec<Envelope>,
    /// The cursor of the last row.
    pub last: Option<IndexCursor>,
    /// Fewer than `limit` rows were returned because of the byte budget, not because
    /// the rows ran out (possibly none, in a batch whose budget was already spent).
    pub truncated: bool,
    /// What the envelopes count against the byte budget: each one's encoding plus 6
    /// bytes for its field tag and length.
    pub bytes: usize,
}

/// Most read connections open at once. Each holds its own page cache (SQLite's default,
/// 2 MiB at most), so the bound is also one on memory; a query beyond it waits for a
/// reader to be free. The node has few cores, and a query is short.
pub const MAX_READERS: usize = 4;

/// How long a statement waits for a lock another connection holds (another process with
/// an in-process node on the same file, or a checkpoint) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite store. Cheap to share behind an `Arc`: one write connection, serialized,
/// and up to [`MAX_READERS`] read connections.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    readers: Readers,
    path: PathBuf,
}

/// The read connections: opened on demand, kept once opened, at most [`MAX_READERS`].
#[derive(Debug)]
struct Readers {
    slots: Mutex<ReaderSlots>,
    /// Signalled when a connection is handed back.
    returned: Condvar,
}

#[derive(Debug, Default)]
struct ReaderSlots {
    idle: Vec<Connection>,
    /// Connections open, idle or lent out.
    open: usize,
}

/// A read connection lent from the pool; handed back when dropped.
pub(super) struct Reader<'a> {
    conn: Option<Connection>,
    readers: &'a Readers,
}

impl Deref for Reader<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A connection left inside a transaction (it never is: every reader's
        // transaction is dropped, which rolls it back, before the reader) is closed
        // rather than handed to the next query with a stale snapshot.
        let keep = conn.is_autocommit();
        let Ok(mut slots) = self.readers.slots.lock() else {
            return;
        };
        if keep {
            slots.idle.push(conn);
        } else {
            slots.open -= 1;
        }
        drop(slots);
        self.readers.returned.notify_one();
    }
}

/// The reference node's envelope digest: `sha256(topic ‖ message)` (see
/// [`crate::wire::cursor_digest`]).
pub fn envelope_digest(topic: &str, message: &[u8]) -> [u8; 32] {
    crate::wire::cursor_digest(topic, message)
}

/// Maps a u64 timestamp to an i64 with the same order (flip the top bit), so the whole
/// u64 range sorts correctly in SQLite's signed INTEGER.
fn time_key(ns: u64) -> i64 {
    i64::from_be_bytes((ns ^ (1 << 63)).to_be_bytes())
}

fn time_from_key(key: i64) -> u64 {
    u64::from_be_bytes(key.to_be_bytes()) ^ (1 << 63)
}

impl Store {
    /// Opens (creating if needed) the database at `path`, creating missing parent
    /// directories (mode 0700 on Unix).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_owned(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        prepare_private_file(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NOFOLLOW
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        // Another process (a second CLI with its own in-process node) may hold the write
        // lock briefly; wait rather than fail.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal {
                path: path.to_owned(),
                mode,
            });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)
            .map_err(open_err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(open_err)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                path: path.to_owned(),
                found: version,
            });
        }
        migrate(&conn, version).map_err(open_err)?;
        Ok(Self {
            conn: Mutex::new(conn),
            readers: Readers {
                slots: Mutex::new(ReaderSlots::default()),
                returned: Condvar::new(),
            },
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The write connection. Writes go through it alone, so SQLite's write lock is never
    /// contended inside this process.
    pub(super) fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// A read connection from the pool, opening one if fewer than [`MAX_READERS`] are
    /// open, otherwise waiting for one to be handed back.
    pub(super) fn reader(&self) -> Result<Reader<'_>, StoreError> {
        let readers = &self.readers;
        let mut slots = readers.slots.lock().map_err(|_| StoreError::Poisoned)?;
        loop {
            if let Some(conn) = slots.idle.pop() {
                return Ok(Reader {
                    conn: Some(conn),
                    readers,
                });
            }
            if slots.open < MAX_READERS {
                slots.open += 1;
                // Opened without the pool's lock: other queries need not wait for it.
                drop(slots);
                let opened = self.open_reader();
                if opened.is_err()
                    && let Ok(mut slots) = readers.slots.lock()
                {
                    slots.open -= 1;
                }
                return opened.map(|conn| Reader {
                    conn: Some(conn),
                    readers,
                });
            }
            slots = readers
                .returned
                .wait(slots)
                .map_err(|_| StoreError::Poisoned)?;
        }
    }

    /// A connection for reading only: a side connection on which `query_only` makes a
    /// write an error.
    fn open_reader(&self) -> Result<Connection, StoreError> {
        let conn = self.open_side_connection()?;
        conn.pragma_update(None, "query_only", true)
            .map_err(|source| self.open_error(source))?;
        Ok(conn)
    }

    /// A connection beside the write connection, to the file [`Store::open`] created and
    /// set up (WAL, schema): for the readers, and for checkpoints (see the node's
    /// `checkpoint` module), which may write the database file but change no rows.
    pub(super) fn open_side_connection(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NOFOLLOW
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| self.open_error(source))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|source| self.open_error(source))?;
        Ok(conn)
    }

    fn open_error(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Open {
            path: self.path.clone(),
            source,
        }
    }

    /// Sets after how many WAL pages a commit on the write connection checkpoints
    /// (SQLite's default is 1000; 0 turns it off, for when another thread checkpoints).
    pub(super) fn set_wal_autocheckpoint(&self, pages: u32) -> Result<(), StoreError> {
        self.conn()?
            .pragma_update(None, "wal_autocheckpoint", pages)?;
        Ok(())
    }

    /// Stores `envelopes` in one transaction, skipping any `(topic, message)` already
    /// stored. Returns how many rows were new. Durable when it returns `Ok`; an envelope
    /// that was skipped is a true duplicate of a stored one (same topic, same bytes), or
    /// the whole transaction fails with [`StoreError::DigestConflict`].
    pub fn insert<'a>(
        &self,
        envelopes: impl IntoIterator<Item = &'a Envelope>,
    ) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let inserted = insert_rows(&tx, envelopes, received_now())?;
        tx.commit()?;
        Ok(inserted)
    }

    /// Stores several publish requests in one transaction, one commit (one fsync) for
    /// all: the group commit. Each request is all or nothing, as if it were stored alone
    /// with [`Store::insert`] in the order given: a request with an envelope in
    /// [`StoreError::DigestConflict`] stores none of its envelopes and gets that error
    /// in its place of the answer, while the others are stored; an envelope equal to one
    /// stored by an earlier request (of this call or before) is a duplicate, skipped.
    ///
    /// The outer error means nothing at all was stored (the transaction could not be
    /// written or committed); the inner results are durable when it returns `Ok`.
    pub fn insert_each<'a, R>(
        &self,
        requests: impl IntoIterator<Item = R>,
    ) -> Result<Vec<Result<usize, StoreError>>, StoreError>
    where
        R: IntoIterator<Item = &'a Envelope>,
    {
        self.insert_batch(|batch| {
            requests
                .into_iter()
                .map(|request| batch.insert(request))
                .collect()
        })
    }

    /// [`Store::insert_each`] for a caller that decides on the requests as it goes:
    /// `fill` stores each with [`Batch::insert`], then the transaction commits (one
    /// fsync). An error from `fill` rolls back everything it stored.
    pub(crate) fn insert_batch<T>(
        &self,
        fill: impl FnOnce(&mut Batch<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        // IMMEDIATE: the write lock is taken (or waited for, under the busy timeout)
        // before anything is written, not upgraded halfway.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut batch = Batch {
            tx,
            received: received_now(),
        };
        let filled = fill(&mut batch)?;
        batch.tx.commit()?;
        Ok(filled)
    }

    /// Runs one query, stopping early (but after at least one row) once the encoded
    /// envelopes would exceed `max_bytes`.
    pub fn query(&self, query: &StoreQuery, max_bytes: usize) -> Result<StoredPage, StoreError> {
        let conn = self.reader()?;
        run_query(&conn, query, max_bytes, true)
    }

    /// Runs several queries under one lock, sharing one byte budget: the whole answer
    /// fits `max_bytes`, except that the first query returns its first row even if that
    /// row alone is larger (so a batch always makes progress). Every later query stops
    /// at the budget, possibly with no rows; a page cut short is marked
    /// [`StoredPage::truncated`] so the caller can hand out a cursor to continue from.
    pub fn query_many(
        &self,
        queries: &[StoreQuery],
        max_bytes: usize,
    ) -> Result<Vec<StoredPage>, StoreError> {
        let mut conn = self.reader()?;
        // One read transaction: every query of the batch sees the same commit.
        let tx = conn.transaction()?;
        let mut budget = max_bytes;
        let mut pages = Vec::with_capacity(queries.len());
        for (i, query) in queries.iter().enumerate() {
            let page = run_query(&tx, query, budget, i == 0)?;
            budget = budget.saturating_sub(page.bytes);
            pages.push(page);
        }
        tx.commit()?;
        Ok(pages)
    }

    /// How many envelopes are stored.
    pub fn count(&self) -> Result<u64, StoreError> {
        let conn = self.reader()?;
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM envelopes", [], |row| row.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// One group-commit transaction being filled (see [`Store::insert_batch`]).
pub(crate) struct Batch<'c> {
    tx: rusqlite::Transaction<'c>,
    received: i64,
}

impl Batch<'_> {
    /// Stores one publish request, all or nothing. The inner result is the request's
    /// own (rows stored, or [`StoreError::DigestConflict`] and nothing stored); the
    /// outer error means the transaction itself failed and must be given up.
    pub(crate) fn insert<'a>(
        &mut self,
        request: impl IntoIterator<Item = &'a Envelope>,
    ) -> Result<Result<usize, StoreError>, StoreError> {
        // A savepoint per request, so a conflict undoes that request's rows alone. Its
        // statements are prepared once per connection (rusqlite's `Savepoint` parses
        // them anew each time, which showed in the writer's profile).
        let tx = &self.tx;
        let savepoint = |sql: &str| tx.prepare_cached(sql)?.execute([]).map(drop);
        savepoint("SAVEPOINT publish")?;
        match insert_rows(tx, request, self.received) {
            Ok(inserted) => {
                savepoint("RELEASE publish")?;
                Ok(Ok(inserted))
            }
            Err(conflict @ StoreError::DigestConflict { .. }) => {
                savepoint("ROLLBACK TO publish")?;
                savepoint("RELEASE publish")?;
                Ok(Err(conflict))
            }
            // Anything else may have ended the transaction itself.
            Err(e) => Err(e),
        }
    }
}

/// The node's clock as a row's `received_ns`.
fn received_now() -> i64 {
    i64::try_from(now_ns()).unwrap_or(i64::MAX)
}

/// Inserts `envelopes` inside the caller's transaction (or savepoint), skipping true
/// duplicates; returns how many rows were new, or [`StoreError::DigestConflict`] at the
/// first envelope whose topic and digest are stored with other bytes (the caller rolls
/// back what this wrote).
fn insert_rows<'a>(
    conn: &Connection,
    envelopes: impl IntoIterator<Item = &'a Envelope>,
    received: i64,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO envelopes (digest, topic, sender_time, message, received_ns)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut stored =
        conn.prepare_cached("SELECT message = ?3 FROM envelopes WHERE topic = ?1 AND digest = ?2")?;
    let mut inserted = 0;
    for envelope in envelopes {
        let digest = envelope_digest(&envelope.content_topic, &envelope.message);
        let new = stmt.execute(params![
            &digest[..],
            envelope.content_topic,
            time_key(envelope.timestamp_ns),
            envelope.message,
            received
        ])?;
        if new == 0 {
            let same: bool = stored.query_row(
                params![envelope.content_topic, &digest[..], envelope.message],
                |row| row.get(0),
            )?;
            if !same {
                return Err(StoreError::DigestConflict {
                    topic: envelope.content_topic.clone(),
                });
            }
        }
        inserted += new;
    }
    Ok(inserted)
}

/// Bytes an envelope adds to a response: its encoding plus field tag and length (at
/// most 6 bytes for a length below 2^35).
fn encoded_size(envelope: &Envelope) -> usize {
    envelope.encoded_len() + 6
}

/// [`encoded_size`] of `head` (an envelope whose message is not read yet) once it
/// carries a message of `message_len` bytes, so a row past the budget is never read
/// into memory.
fn encoded_size_with(head: &Envelope, message_len: usize) -> usize {
    debug_assert!(head.message.is_empty());
    let message = match message_len {
        0 => 0,
        // Field 3's key (one byte), the length varint, the bytes.
        n => 1 + prost::encoding::encoded_len_varint(n as u64) + n,
    };
    encoded_size(head) + message
}

/// Runs `query`, keeping rows while their [`encoded_size`]s fit `max_bytes`; with
/// `oversized_first`, the first row is kept whatever its size (a lone query must make
/// progress). Stops at the first row that does not fit, marking the page truncated.
fn run_query(
    conn: &Connection,
    query: &StoreQuery,
    max_bytes: usize,
    oversized_first: bool,
) -> Result<StoredPage, StoreError> {
    let mut sql = String::from(
        "SELECT topic, sender_time, length(message), message, digest FROM envelopes WHERE topic IN (",
    );
    let mut values: Vec<Value> = Vec::with_capacity(query.topics.len() + 5);
    for (i, topic) in query.topics.iter().enumerate() {
        sql.push_str(if i == 0 { "?" } else { ", ?" });
        values.push(Value::Text(topic.clone()));
    }
    sql.push(')');
    if let Some(start) = query.start_ns {
        sql.push_str(" AND sender_time >= ?");
        values.push(Value::Integer(time_key(start)));
    }
    if let Some(end) = query.end_ns {
        sql.push_str(" AND sender_time <= ?");
        values.push(Value::Integer(time_key(end)));
    }
    if let Some((time, digest)) = &query.after {
        // Keyset paging on the sort key itself, so rows with equal timestamps are
        // neither skipped nor repeated across pages.
        sql.push_str(if query.descending {
            " AND (sender_time, digest) < (?, ?)"
        } else {
            " AND (sender_time, digest) > (?, ?)"
        });
        values.push(Value::Integer(time_key(*time)));
        values.push(Value::Blob(digest.clone()));
    }
    sql.push_str(if query.descending {
        " ORDER BY sender_time DESC, digest DESC LIMIT ?"
    } else {
        " ORDER BY sender_time ASC, digest ASC LIMIT ?"
    });
    values.push(Value::Integer(i64::from(query.limit)));

    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(values.iter()))?;
    let mut page = StoredPage::default();
    let mut last_digest = Vec::new();
    while let Some(row) = rows.next()? {
        let head = Envelope {
            content_topic: row.get(0)?,
            timestamp_ns: time_from_key(row.get(1)?),
            message: Vec::new(),
        };
        let message_len = usize::try_from(row.get::<_, i64>(2)?).unwrap_or(usize::MAX);
        let size = encoded_size_with(&head, message_len);
        let exempt = oversized_first && page.envelopes.is_empty();
        if !exempt && page.bytes.saturating_add(size) > max_bytes {
            page.truncated = true;
            break;
        }
        page.bytes = page.bytes.saturating_add(size);
        last_digest = row.get(4)?;
        page.envelopes.push(Envelope {
            message: row.get(3)?,
            ..head
        });
    }
    page.last = page.envelopes.last().map(|e| IndexCursor {
        digest: last_digest,
        sender_time_ns: e.timestamp_ns,
    });
    Ok(page)
}

/// Brings the database schema from `version` to [`SCHEMA_VERSION`].
fn migrate(conn: &Connection, version: i64) -> Result<(), rusqlite::Error> {
    if version == 1 {
        tracing::info!(
            "migrating the node database from schema 1 to 2 (rows keyed by topic and digest)"
        );
        let batch = format!("BEGIN IMMEDIATE;{MIGRATE_1_TO_2}{SCHEMA}{COPY_FROM_1}COMMIT;");
        if let Err(e) = conn.execute_batch(&batch) {
            let _ = conn.execute_batch("ROLLBACK;");
            return Err(e);
        }
    } else {
        conn.execute_batch(SCHEMA)?;
    }
    // Schema 2 to 3 only adds tables; `IF NOT EXISTS` makes this safe on every open.
    conn.execute_batch(V3_SCHEMA)?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)
}

/// For tests here and in the writer: a stored row with the digest of `(topic, message)`
/// but other bytes, what a SHA-256 collision would look like.
#[cfg(test)]
pub(super) fn forge_collision(store: &Store, topic: &str, message: &[u8]) {
    store
        .conn()
        .expect("conn")
        .execute(
            "INSERT INTO envelopes (digest, topic, sender_time, message, received_ns)
             VALUES (?1, ?2, 0, x'00', 0)",
            params![&envelope_digest(topic, message)[..], topic],
        )
        .expect("forge");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(topic: &str, ts: u64, message: &[u8]) -> Envelope {
        Envelope {
            content_topic: topic.into(),
            timestamp_ns: ts,
            message: message.to_vec(),
        }
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("sub/dir/node.sqlite3")).expect("open");
        (dir, store)
    }

    #[test]
    fn time_key_preserves_u64_order() {
        let samples = [
            0,
            1,
            1_700_000_000_000_000_000,
            i64::MAX as u64,
            i64::MAX as u64 + 1,
            u64::MAX,
        ];
        for pair in samples.windows(2) {
            assert!(time_key(pair[0]) < time_key(pair[1]), "{pair:?}");
        }
        for s in samples {
            assert_eq!(time_from_key(time_key(s)), s);
        }
    }

    #[test]
    fn digest_is_sha256_of_topic_then_message() {
        // sha256("ab") computed independently.
        assert_eq!(
            hex::encode(envelope_digest("a", b"b")),
            "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603"
        );
    }

    #[test]
    fn duplicates_are_ignored_and_keep_the_first_timestamp() {
        let (_dir, store) = open();
        assert_eq!(
            store
                .insert(&[env("t", 5, b"x"), env("t", 6, b"y")])
                .expect("insert"),
            2
        );
        assert_eq!(store.insert(&[env("t", 9, b"x")]).expect("insert"), 0);
        // Same message on another topic is another row.
        assert_eq!(store.insert(&[env("u", 9, b"x")]).expect("insert"), 1);
        assert_eq!(store.count().expect("count"), 3);
        let page = store
            .query(
                &StoreQuery {
                    topics: vec!["t".into()],
                    descending: true,
                    limit: 10,
                    ..StoreQuery::default()
                },
                usize::MAX,
            )
            .expect("query");
        let got: Vec<(u64, &[u8])> = page
            .envelopes
            .iter()
            .map(|e| (e.timestamp_ns, &e.message[..]))
            .collect();
        assert_eq!(got, [(6, &b"y"[..]), (5, &b"x"[..])]);
    }

    #[test]
    fn equal_timestamps_page_by_digest_without_gaps() {
        let (_dir, store) = open();
        let envelopes: Vec<Envelope> = (0..7u8).map(|i| env("t", 42, &[i])).collect();
        store.insert(&envelopes).expect("insert");
        for descending in [false, true] {
            let mut after = None;
            let mut seen = Vec::new();
            for _ in 0..10 {
                let page = store
                    .query(
                        &StoreQuery {
                            topics: vec!["t".into()],
                            descending,
                            after: after.clone(),
                            limit: 3,
                            ..StoreQuery::default()
                        },
                        usize::MAX,
                    )
                    .expect("query");
                if page.envelopes.is_empty() {
                    break;
                }
                seen.extend(
                    page.envelopes
                        .iter()
                        .map(|e| envelope_digest("t", &e.message)),
                );
                let last = page.last.expect("cursor");
                after = Some((last.sender_time_ns, last.digest));
            }
            let mut expected: Vec<[u8; 32]> = envelopes
                .iter()
                .map(|e| envelope_digest("t", &e.message))
                .collect();
            expected.sort();
            if descending {
                expected.reverse();
            }
            assert_eq!(seen, expected, "descending={descending}");
        }
    }

    #[test]
    fn byte_budget_truncates_but_returns_at_least_one_row() {
        let (_dir, store) = open();
        store
            .insert(&[
                env("t", 1, &[1; 1000]),
                env("t", 2, &[2; 1000]),
                env("t", 3, &[3; 1000]),
            ])
            .expect("insert");
        let query = StoreQuery {
            topics: vec!["t".into()],
            limit: 10,
            ..StoreQuery::default()
        };
        let page = store.query(&query, 2100).expect("query");
        assert_eq!(page.envelopes.len(), 2);
        assert!(page.truncated);
        let page = store.query(&query, 10).expect("query");
        assert_eq!(page.envelopes.len(), 1);
        assert!(page.truncated);
        let page = store.query(&query, usize::MAX).expect("query");
        assert_eq!(page.envelopes.len(), 3);
        assert!(!page.truncated);
    }

    #[test]
    fn size_without_the_message_is_the_size_with_it() {
        for len in [0usize, 1, 127, 128, 16_383, 16_384, 1_048_214] {
            for ts in [0u64, 1, u64::MAX] {
                let e = env("/xmtp/0/m-x/proto", ts, &vec![7; len]);
                let head = env("/xmtp/0/m-x/proto", ts, &[]);
                assert_eq!(
                    encoded_size_with(&head, len),
                    encoded_size(&e),
                    "len {len}, ts {ts}"
                );
            }
        }
    }

    #[test]
    fn a_batch_shares_one_budget_and_only_the_first_query_may_exceed_it() {
        let (_dir, store) = open();
        store
            .insert(&[
                env("a", 1, &[1; 5000]),
                env("a", 2, &[2; 1000]),
                env("b", 1, &[3; 1000]),
                env("b", 2, &[4; 1000]),
                env("c", 1, &[5; 1000]),
            ])
            .expect("insert");
        let q = |topic: &str| StoreQuery {
            topics: vec![topic.into()],
            limit: 10,
            ..StoreQuery::default()
        };
        let rows =
            |pages: &[StoredPage]| pages.iter().map(|p| p.envelopes.len()).collect::<Vec<_>>();
        // Room for two 1000-byte rows: a's two, then nothing for b and c, which are
        // marked cut short (they have rows).
        let pages = store
            .query_many(&[q("b"), q("c"), q("a")], 2100)
            .expect("query");
        assert_eq!(rows(&pages), [2, 0, 0]);
        assert_eq!(
            pages.iter().map(|p| p.truncated).collect::<Vec<_>>(),
            [false, true, true]
        );
        assert!(pages.iter().map(|p| p.bytes).sum::<usize>() <= 2100);
        // The first query's first row may exceed the budget on its own; nothing after.
        let pages = store
            .query_many(&[q("a"), q("b"), q("nothing")], 2100)
            .expect("query");
        assert_eq!(rows(&pages), [1, 0, 0]);
        assert_eq!(pages[0].envelopes[0].timestamp_ns, 1);
        assert_eq!(
            pages.iter().map(|p| p.truncated).collect::<Vec<_>>(),
            [true, true, false]
        );
        assert_eq!(pages[1].last, None);
    }

    #[test]
    fn reopening_keeps_rows_and_rejects_newer_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.sqlite3");
        {
            let store = Store::open(&path).expect("open");
            store.insert(&[env("t", 1, b"x")]).expect("insert");
        }
        let store = Store::open(&path).expect("reopen");
        assert_eq!(store.count().expect("count"), 1);
        drop(store);
        let conn = Connection::open(&path).expect("raw open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("bump");
        drop(conn);
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }

    #[test]
    fn insert_each_fails_a_conflicting_request_alone() {
        let (_dir, store) = open();
        forge_collision(&store, "t", b"x");
        let a = [env("t", 1, b"a"), env("t", 2, b"b")];
        let conflicting = [env("t", 3, b"c"), env("t", 4, b"x")];
        let again = [env("t", 5, b"a"), env("u", 6, b"a")];
        let outcomes = store
            .insert_each([&a[..], &conflicting[..], &again[..]])
            .expect("the batch commits");
        assert!(matches!(outcomes[0], Ok(2)), "{:?}", outcomes[0]);
        assert!(
            matches!(&outcomes[1], Err(StoreError::DigestConflict { topic }) if topic == "t"),
            "{:?}",
            outcomes[1]
        );
        // ("t", "a") was stored by the first request: a duplicate; ("u", "a") is new.
        assert!(matches!(outcomes[2], Ok(1)), "{:?}", outcomes[2]);
        assert_eq!(outcomes.len(), 3);
        // The forged row, a, b and u's a; nothing of the conflicting request.
        assert_eq!(store.count().expect("count"), 4);
        let page = store
            .query(
                &StoreQuery {
                    topics: vec!["t".into()],
                    limit: 10,
                    ..StoreQuery::default()
                },
                usize::MAX,
            )
            .expect("query");
        assert!(page.envelopes.iter().all(|e| e.message != b"c"));
        // The first copy keeps its timestamp.
        assert!(
            page.envelopes
                .iter()
                .any(|e| e.message == b"a" && e.timestamp_ns == 1)
        );
    }

    #[test]
    fn queries_do_not_wait_for_an_open_write_transaction() {
        let (_dir, store) = open();
        store.insert(&[env("t", 1, b"committed")]).expect("insert");
        let store = std::sync::Arc::new(store);
        // The writer is inside a transaction (as during a commit's fsync) ...
        let mut conn = store.conn().expect("conn");
        let tx = conn.transaction().expect("begin");
        insert_rows(&tx, &[env("t", 2, b"pending")], 0).expect("insert");
        // ... and a query on another thread answers meanwhile, with the last commit.
        let (done, answer) = std::sync::mpsc::channel();
        let reader = store.clone();
        std::thread::spawn(move || {
            let query = StoreQuery {
                topics: vec!["t".into()],
                limit: 10,
                ..StoreQuery::default()
            };
            let _ = done.send(reader.query(&query, usize::MAX).map(|p| p.envelopes.len()));
        });
        let rows = answer
            .recv_timeout(Duration::from_secs(10))
            .expect("the query did not wait for the writer")
            .expect("query");
        assert_eq!(rows, 1);
        tx.commit().expect("commit");
        drop(conn);
        assert_eq!(store.count().expect("count"), 2);
    }

    #[test]
    fn readers_are_pooled_and_bounded() {
        let (_dir, store) = open();
        store.insert(&[env("t", 1, b"x")]).expect("insert");
        let held: Vec<Reader<'_>> = (0..MAX_READERS)
            .map(|_| store.reader().expect("reader"))
            .collect();
        // All lent out: the next query waits until one is handed back.
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| store.count());
            std::thread::sleep(Duration::from_millis(50));
            assert!(!waiting.is_finished());
            drop(held);
            assert_eq!(waiting.join().expect("thread").expect("count"), 1);
        });
        let slots = store.readers.slots.lock().expect("slots");
        assert_eq!((slots.open, slots.idle.len()), (MAX_READERS, MAX_READERS));
    }
}
