//! The node's XMTP v3 tables, in the same SQLite file (and under the same durability
//! rules) as the envelopes of [`Store`]; their schema is versioned with the rest in
//! [`super::store`]:
//!
//! - `identity_updates`: every accepted identity update, `sequence_id` global and
//!   increasing (`AUTOINCREMENT`: never reused), the node's clock when it was stored, and
//!   the update's protobuf encoding. What is stored is the update as the node decoded and
//!   checked it, re-encoded (fields this schema does not know are dropped, as the reference
//!   node's `proto.Marshal` does): exactly what was verified, and nothing else, is served.
//! - `inbox_addresses`: which inbox each (lowercase) Ethereum address belongs to, kept the
//!   way the reference node keeps its `address_log`: a row per (address, inbox) with the
//!   sequence id that associated it and, once revoked, the one that revoked it. An address
//!   belongs to the inbox that most recently associated it and has not revoked it.
//! - `key_packages`: the newest MLS key package uploaded for each installation key, as
//!   opaque bytes.
//!
//! An append runs in one `IMMEDIATE` transaction: read the inbox's log, refuse it at the
//! cap, let the caller validate the new update against the log, insert, update the
//! address map, commit (durable with `synchronous=FULL`), and only then return, so the
//! caller answers after the update is on disk. `IMMEDIATE` takes the write lock before
//! the log is read, so a second process on the same file cannot append in between.
//! Appends and key-package uploads use the store's one write connection, which the
//! envelopes' group commit also uses (the two take turns, never each other's lock);
//! reads use its read connections.

use prost::Message;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::store::{Store, StoreError};
use crate::proto::identity::associations::IdentityUpdate;
use crate::wire::now_ns;

/// Bytes a stored update adds to a `GetIdentityUpdates` answer beyond its own encoding:
/// the sequence id and timestamp (at most 11 bytes each with their tags), the update's tag
/// and length, and the entry's tag and length.
const UPDATE_OVERHEAD: usize = 40;

/// Bytes an inbox adds to a `GetIdentityUpdates` answer beyond its updates: its id (at
/// most [`crate::wire::MAX_IDENTIFIER_LEN`], checked by the caller) and the framing.
const INBOX_OVERHEAD: usize = 16;

/// One update of an inbox's log, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredUpdate {
    /// Its place in the node's global order.
    pub sequence_id: u64,
    /// The node's clock when it was stored (ns since the epoch).
    pub server_timestamp_ns: u64,
    /// The update.
    pub update: IdentityUpdate,
}

/// What an accepted update changes in the address map: the caller's validation says so
/// (addresses are lowercased before they are stored).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressChanges {
    /// Addresses that now belong to the inbox.
    pub added: Vec<String>,
    /// Addresses that no longer do.
    pub removed: Vec<String>,
}

/// Why a v3 store operation did not happen. `E` is the caller's validation error.
#[derive(Debug, thiserror::Error)]
pub enum InboxStoreError<E = std::convert::Infallible> {
    /// The inbox already has the most updates a log may hold (the reference node's words).
    #[error("inbox log is full: it has {updates} updates (limit {limit})")]
    LogFull {
        /// Updates in the log.
        updates: usize,
        /// The cap.
        limit: usize,
    },
    /// The caller's validation refused the update.
    #[error(transparent)]
    Refused(E),
    /// The answer would be larger than the caller's byte budget.
    #[error("the answer would exceed {max_bytes} bytes")]
    TooLarge {
        /// The budget.
        max_bytes: usize,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<E> From<rusqlite::Error> for InboxStoreError<E> {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(StoreError::Sqlite(e))
    }
}

/// A u64 as SQLite's signed INTEGER, saturating (sequence ids and clocks stay far below).
fn to_sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn from_sql(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Decodes a stored update; the node wrote it, so failure means the file was damaged.
fn decode_stored(sequence_id: i64, bytes: &[u8]) -> Result<IdentityUpdate, StoreError> {
    IdentityUpdate::decode(bytes).map_err(|source| StoreError::CorruptUpdate {
        sequence_id: from_sql(sequence_id),
        source,
    })
}

impl Store {
    /// Appends `update` to the log of the inbox it names (`update.inbox_id`, which the
    /// caller has checked), all in one `IMMEDIATE` transaction: refuses it when the log
    /// already holds `max_updates`; calls `validate` with the log so far, oldest first
    /// (empty for a new inbox); stores the update and applies the [`AddressChanges`]
    /// `validate` returned; commits. Returns the update's sequence id, durable when it
    /// returns.
    pub fn append_identity_update<E>(
        &self,
        update: &IdentityUpdate,
        max_updates: usize,
        validate: impl FnOnce(&[IdentityUpdate]) -> Result<AddressChanges, E>,
    ) -> Result<u64, InboxStoreError<E>> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inbox = update.inbox_id.as_str();
        let log = {
            let mut stmt = tx.prepare_cached(
                "SELECT sequence_id, update_bytes FROM identity_updates
                 WHERE inbox_id = ?1 ORDER BY sequence_id LIMIT ?2",
            )?;
            // One row past the cap is enough to know it is reached.
            let mut rows = stmt.query(params![inbox, to_sql(max_updates as u64 + 1)])?;
            let mut log = Vec::new();
            while let Some(row) = rows.next()? {
                let bytes: Vec<u8> = row.get(1)?;
                log.push(decode_stored(row.get(0)?, &bytes)?);
            }
            log
        };
        if log.len() >= max_updates {
            return Err(InboxStoreError::LogFull {
                updates: log.len(),
                limit: max_updates,
            });
        }
        let changes = validate(&log).map_err(InboxStoreError::Refused)?;
        tx.execute(
            "INSERT INTO identity_updates (inbox_id, server_time_ns, update_bytes)
             VALUES (?1, ?2, ?3)",
            params![inbox, to_sql(now_ns()), update.encode_to_vec()],
        )?;
        let sequence_id = tx.last_insert_rowid();
        for address in &changes.added {
            tx.execute(
                "INSERT INTO inbox_addresses (address, inbox_id, associated_seq, revoked_seq)
                 VALUES (?1, ?2, ?3, NULL)
                 ON CONFLICT (address, inbox_id)
                 DO UPDATE SET associated_seq = excluded.associated_seq, revoked_seq = NULL",
                params![address.to_ascii_lowercase(), inbox, sequence_id],
            )?;
        }
        for address in &changes.removed {
            tx.execute(
                "UPDATE inbox_addresses SET revoked_seq = ?3
                 WHERE address = ?1 AND inbox_id = ?2 AND revoked_seq IS NULL",
                params![address.to_ascii_lowercase(), inbox, sequence_id],
            )?;
        }
        tx.commit()?;
        Ok(from_sql(sequence_id))
    }

    /// For each `(inbox_id, after)`, the inbox's updates with a sequence id above `after`,
    /// oldest first, read in one transaction (one consistent view). Refuses with
    /// [`InboxStoreError::TooLarge`] once the answer would exceed `max_bytes`, before
    /// reading the update that would not fit.
    pub fn identity_updates(
        &self,
        requests: &[(String, u64)],
        max_bytes: usize,
    ) -> Result<Vec<Vec<StoredUpdate>>, InboxStoreError> {
        let mut conn = self.reader()?;
        let tx = conn.transaction()?;
        let mut answer = Vec::with_capacity(requests.len());
        let mut bytes = 0usize;
        {
            // The blob is read only once it is known to fit (SQLite reads a column's
            // overflow pages when the column is fetched, not when the row is stepped to).
            let mut stmt = tx.prepare_cached(
                "SELECT sequence_id, server_time_ns, length(update_bytes), update_bytes
                 FROM identity_updates
                 WHERE inbox_id = ?1 AND sequence_id > ?2 ORDER BY sequence_id",
            )?;
            for (inbox, after) in requests {
                bytes = bytes.saturating_add(INBOX_OVERHEAD + inbox.len());
                let mut updates = Vec::new();
                let mut rows = stmt.query(params![inbox, to_sql(*after)])?;
                while let Some(row) = rows.next()? {
                    let sequence_id: i64 = row.get(0)?;
                    let len = usize::try_from(row.get::<_, i64>(2)?).unwrap_or(usize::MAX);
                    bytes = bytes.saturating_add(len.saturating_add(UPDATE_OVERHEAD));
                    if bytes > max_bytes {
                        return Err(InboxStoreError::TooLarge { max_bytes });
                    }
                    let blob: Vec<u8> = row.get(3)?;
                    updates.push(StoredUpdate {
                        sequence_id: from_sql(sequence_id),
                        server_timestamp_ns: from_sql(row.get(1)?),
                        update: decode_stored(sequence_id, &blob)?,
                    });
                }
                answer.push(updates);
            }
        }
        tx.commit()?;
        Ok(answer)
    }

    /// The inbox each address (compared lowercase) belongs to now, if any: the one that
    /// associated it most recently without revoking it.
    pub fn inbox_ids(&self, addresses: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT inbox_id FROM inbox_addresses
             WHERE address = ?1 AND revoked_seq IS NULL
             ORDER BY associated_seq DESC LIMIT 1",
        )?;
        let mut answer = Vec::with_capacity(addresses.len());
        for address in addresses {
            answer.push(
                stmt.query_row(params![address.to_ascii_lowercase()], |row| row.get(0))
                    .optional()?,
            );
        }
        Ok(answer)
    }

    /// Keeps `key_package` as the installation's newest, replacing any older one; durable
    /// when it returns.
    pub fn put_key_package(
        &self,
        installation_key: &[u8],
        key_package: &[u8],
    ) -> Result<(), StoreError> {
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO key_packages (installation_key, key_package, updated_ns)
             VALUES (?1, ?2, ?3)
             ON CONFLICT (installation_key)
             DO UPDATE SET key_package = excluded.key_package, updated_ns = excluded.updated_ns",
            params![installation_key, key_package, to_sql(now_ns())],
        )?;
        Ok(())
    }

    /// The newest key package of each installation key, in order (`None` for one with
    /// none). Refuses with [`InboxStoreError::TooLarge`] once the key packages would exceed
    /// `max_bytes`, before reading the one that would not fit.
    pub fn key_packages(
        &self,
        installation_keys: &[Vec<u8>],
        max_bytes: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, InboxStoreError> {
        let mut conn = self.reader()?;
        let tx = conn.transaction()?;
        let mut answer = Vec::with_capacity(installation_keys.len());
        {
            let mut stmt = tx.prepare_cached(
                "SELECT length(key_package), key_package FROM key_packages
                 WHERE installation_key = ?1",
            )?;
            let mut bytes = 0usize;
            for key in installation_keys {
                let mut rows = stmt.query(params![key])?;
                let Some(row) = rows.next()? else {
                    answer.push(None);
                    continue;
                };
                // The package, its tag and length, the entry's tag and length.
                let len = usize::try_from(row.get::<_, i64>(0)?).unwrap_or(usize::MAX);
                bytes = bytes.saturating_add(len.saturating_add(12));
                if bytes > max_bytes {
                    return Err(InboxStoreError::TooLarge { max_bytes });
                }
                answer.push(Some(row.get(1)?));
            }
        }
        tx.commit()?;
        Ok(answer)
    }

    /// How many identity updates are stored, all inboxes together.
    pub fn identity_update_count(&self) -> Result<u64, StoreError> {
        let conn = self.reader()?;
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM identity_updates", [], |row| {
            row.get(0)
        })?;
        Ok(from_sql(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("node.sqlite3")).expect("open");
        (dir, store)
    }

    fn update(inbox: &str, ts: u64) -> IdentityUpdate {
        IdentityUpdate {
            actions: Vec::new(),
            client_timestamp_ns: ts,
            inbox_id: inbox.into(),
        }
    }

    fn changes(added: &[&str], removed: &[&str]) -> AddressChanges {
        AddressChanges {
            added: added.iter().map(|a| a.to_string()).collect(),
            removed: removed.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn append(
        store: &Store,
        u: &IdentityUpdate,
        c: AddressChanges,
    ) -> Result<u64, InboxStoreError<String>> {
        store.append_identity_update(u, 256, |_| Ok::<_, String>(c))
    }

    #[test]
    fn appends_are_read_back_per_inbox_after_a_sequence_id() {
        let (_dir, store) = open();
        let s1 = append(&store, &update("a", 1), changes(&[], &[])).expect("a1");
        let s2 = append(&store, &update("b", 2), changes(&[], &[])).expect("b1");
        let s3 = append(&store, &update("a", 3), changes(&[], &[])).expect("a2");
        assert!(s1 < s2 && s2 < s3, "{s1} {s2} {s3}");
        let got = store
            .identity_updates(
                &[("a".into(), 0), ("b".into(), s2), ("a".into(), s1)],
                usize::MAX,
            )
            .expect("read");
        let stamps: Vec<Vec<u64>> = got
            .iter()
            .map(|log| log.iter().map(|u| u.update.client_timestamp_ns).collect())
            .collect();
        assert_eq!(stamps, [vec![1, 3], vec![], vec![3]]);
        assert_eq!(got[0][1].sequence_id, s3);
        assert!(got[0][0].server_timestamp_ns > 0);
    }

    #[test]
    fn the_validator_sees_the_log_and_a_refusal_stores_nothing() {
        let (_dir, store) = open();
        append(&store, &update("a", 1), changes(&[], &[])).expect("a1");
        let err = store
            .append_identity_update(&update("a", 2), 256, |log| {
                assert_eq!(log, [update("a", 1)]);
                Err("no".to_string())
            })
            .expect_err("refused");
        assert!(
            matches!(err, InboxStoreError::Refused(ref why) if why == "no"),
            "{err}"
        );
        assert_eq!(store.identity_update_count().expect("count"), 1);
    }

    #[test]
    fn the_log_is_full_at_the_cap() {
        let (_dir, store) = open();
        for i in 0..3 {
            store
                .append_identity_update(&update("a", i), 3, |_| {
                    Ok::<_, String>(AddressChanges::default())
                })
                .expect("append");
        }
        let err = store
            .append_identity_update(&update("a", 9), 3, |_| -> Result<_, String> {
                panic!("not validated past the cap")
            })
            .expect_err("full");
        assert_eq!(
            err.to_string(),
            "inbox log is full: it has 3 updates (limit 3)"
        );
    }

    #[test]
    fn addresses_map_to_the_latest_inbox_that_holds_them() {
        let (_dir, store) = open();
        let x = "0xAbC0000000000000000000000000000000000001";
        let y = "0xabc0000000000000000000000000000000000002";
        append(&store, &update("a", 1), changes(&[x], &[])).expect("a");
        append(&store, &update("b", 1), changes(&[y], &[])).expect("b");
        let ids = |store: &Store| {
            store
                .inbox_ids(&[
                    x.to_uppercase().replace("0X", "0x"),
                    y.into(),
                    "0xnone".into(),
                ])
                .expect("ids")
        };
        assert_eq!(ids(&store), [Some("a".into()), Some("b".into()), None]);
        // y joins a too: the newest association wins.
        append(&store, &update("a", 2), changes(&[y], &[])).expect("a2");
        assert_eq!(ids(&store)[1].as_deref(), Some("a"));
        // Revoked from a: it falls back to b, where it still is.
        append(&store, &update("a", 3), changes(&[], &[y])).expect("a3");
        assert_eq!(ids(&store)[1].as_deref(), Some("b"));
        append(&store, &update("b", 2), changes(&[], &[y])).expect("b2");
        assert_eq!(ids(&store)[1], None);
        // Added again later: mapped again.
        append(&store, &update("b", 3), changes(&[y], &[])).expect("b3");
        assert_eq!(ids(&store)[1].as_deref(), Some("b"));
    }

    #[test]
    fn answers_over_the_byte_budget_are_refused() {
        let (_dir, store) = open();
        let mut big = update("a", 1);
        big.inbox_id = "a".repeat(1000);
        let inbox = big.inbox_id.clone();
        append(&store, &big, changes(&[], &[])).expect("append");
        let needed = INBOX_OVERHEAD + inbox.len() + big.encoded_len() + UPDATE_OVERHEAD;
        assert_eq!(
            store
                .identity_updates(&[(inbox.clone(), 0)], needed)
                .expect("fits")
                .len(),
            1
        );
        assert!(matches!(
            store.identity_updates(&[(inbox, 0)], needed - 1),
            Err(InboxStoreError::TooLarge { .. })
        ));

        store.put_key_package(&[1; 32], &[7; 100]).expect("put");
        let keys = [vec![1; 32], vec![2; 32], vec![1; 32]];
        assert_eq!(
            store.key_packages(&keys, 224).expect("fits"),
            [Some(vec![7; 100]), None, Some(vec![7; 100])]
        );
        assert!(matches!(
            store.key_packages(&keys, 223),
            Err(InboxStoreError::TooLarge { .. })
        ));
    }

    #[test]
    fn the_newest_key_package_wins() {
        let (_dir, store) = open();
        store.put_key_package(&[1; 32], b"old").expect("put");
        store.put_key_package(&[1; 32], b"new").expect("put");
        assert_eq!(
            store.key_packages(&[vec![1; 32]], usize::MAX).expect("get"),
            [Some(b"new".to_vec())]
        );
    }

    #[test]
    fn a_schema_2_file_gains_the_v3_tables_and_keeps_its_envelopes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.sqlite3");
        {
            let store = Store::open(&path).expect("open");
            store
                .insert(&[crate::proto::message_api::v1::Envelope {
                    content_topic: "t".into(),
                    timestamp_ns: 1,
                    message: b"x".to_vec(),
                }])
                .expect("insert");
        }
        // Make it the file a schema 2 node left: no v3 tables, user_version 2.
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.execute_batch(
            "DROP TABLE identity_updates; DROP TABLE inbox_addresses; DROP TABLE key_packages;
             PRAGMA user_version = 2;",
        )
        .expect("downgrade");
        drop(conn);
        let store = Store::open(&path).expect("reopen migrates");
        assert_eq!(store.count().expect("count"), 1);
        append(&store, &update("a", 1), changes(&[], &[])).expect("v3 tables exist");
        drop(store);
        let conn = rusqlite::Connection::open(&path).expect("raw");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, 3);
    }
}
