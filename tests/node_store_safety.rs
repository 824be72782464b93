//! The node's store cannot be turned against its users: one user's publish never stops
//! another's from being stored (schema 1 keyed rows by `sha256(topic ‖ message)` alone,
//! so topic `a` + message `bc` suppressed topic `ab` + message `c` and the publisher was
//! told OK), old files migrate, and the database files are private and never reached
//! through a planted symlink.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::fixtures::{envelope, identity, token};
use xmtp_ledger::flow::generate_identity;
use xmtp_ledger::identity::topic;
use xmtp_ledger::network::{PublishOutcome, Query};
use xmtp_ledger::node::store::{StoreQuery, envelope_digest};
use xmtp_ledger::node::{Store, StoreError};
use xmtp_ledger::signer::LocalKeySigner;

/// A publication that collides with (`topic`, `message`) under the old key: the same
/// concatenation, cut after the topic's first 8 bytes (`/xmtp/0/`), on an open topic.
fn collision_of(topic: &str, message: &[u8]) -> (String, Vec<u8>) {
    let (head, tail) = topic.split_at(8);
    let mut shifted = tail.as_bytes().to_vec();
    shifted.extend_from_slice(message);
    assert_eq!(
        envelope_digest(head, &shifted),
        envelope_digest(topic, message),
        "the old key could not tell them apart"
    );
    (head.to_owned(), shifted)
}

#[tokio::test]
async fn one_users_publish_never_stops_another_users_identity() {
    let h = common::node::harness().await;
    let victim_wallet = LocalKeySigner::from_private_key(&[0x51; 32]).expect("key");
    let victim = generate_identity(&victim_wallet, &mut |_| {}).expect("victim identity");
    let attacker = identity(0x52);

    // The attacker knows the victim's bytes (contacts are public; prepared files travel)
    // and publishes, on an open topic, envelopes that share their old row key.
    for publication in victim.publications() {
        let (topic, message) = collision_of(&publication.topic, &publication.message);
        h.client
            .publish(&token(&attacker), vec![envelope(&topic, 1, &message)])
            .await
            .expect("the attacker's publish is accepted");
    }

    let outcomes = h
        .client
        .publish_publications(&token(&victim), &victim.publications())
        .await
        .expect("the victim's identity is stored");
    assert_eq!(outcomes, [PublishOutcome::Published; 3]);

    let private = h
        .client
        .newest(&topic::private_store_topic(&victim.wallet))
        .await
        .expect("query")
        .expect("the private store is there");
    assert_eq!(private.message, victim.encrypted_bundle.encode());
    let contacts = h
        .client
        .query_all(Query::topic(topic::contact_topic(&victim.wallet)), 10)
        .await
        .expect("contacts");
    assert_eq!(contacts.len(), 2, "both contact bundles were stored");
    // And the attacker's envelopes are stored too: neither suppressed the other.
    let (open_topic, _) = collision_of(&victim.publications()[0].topic, b"");
    let open = h
        .client
        .query_all(Query::topic(open_topic), 10)
        .await
        .expect("open topic");
    assert_eq!(open.len(), 3);
}

#[test]
fn a_schema_1_file_migrates_with_its_rows_and_then_stores_both_sides_of_a_collision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("node.sqlite3");
    {
        // A file as the previous version wrote it.
        let conn = rusqlite::Connection::open(&path).expect("sqlite");
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE envelopes (
                 digest BLOB NOT NULL UNIQUE, topic TEXT NOT NULL, sender_time INTEGER NOT NULL,
                 message BLOB NOT NULL, received_ns INTEGER NOT NULL);
             CREATE INDEX envelopes_by_topic_time ON envelopes (topic, sender_time, digest);
             PRAGMA user_version = 1;",
        )
        .expect("schema 1");
        conn.execute(
            "INSERT INTO envelopes VALUES (?1, 'a', ?2, x'6263', 0)",
            rusqlite::params![&envelope_digest("a", b"bc")[..], i64::MIN + 5],
        )
        .expect("row");
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let store = Store::open(&path).expect("migrates");
    let query = |topic: &str| StoreQuery {
        topics: vec![topic.into()],
        limit: 10,
        ..StoreQuery::default()
    };
    let page = store.query(&query("a"), 1 << 20).expect("query");
    assert_eq!(
        page.envelopes,
        [envelope("a", 5, b"bc")],
        "the old row survived"
    );
    assert_eq!(
        store.insert([&envelope("ab", 7, b"c")]).expect("insert"),
        1,
        "the colliding envelope is stored, not silently skipped"
    );
    assert_eq!(
        store
            .query(&query("ab"), 1 << 20)
            .expect("query")
            .envelopes
            .len(),
        1
    );
    // A true duplicate is still a no-op.
    assert_eq!(store.insert([&envelope("ab", 9, b"c")]).expect("dup"), 0);
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "a file others could read is tightened");
    drop(store);
    let version: i64 = rusqlite::Connection::open(&path)
        .expect("sqlite")
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("version");
    // Straight to the current schema: 2's keys, then 3's v3 tables.
    assert_eq!(version, 3);
}

#[test]
fn the_database_and_its_wal_and_shm_are_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data").join("node.sqlite3");
    let store = Store::open(&path).expect("open");
    store
        .insert([&envelope("/xmtp/0/m-x/proto", 1, b"hello")])
        .expect("insert");
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        let mode = std::fs::metadata(&file).expect(&file).permissions().mode();
        assert_eq!(mode & 0o077, 0, "{file} has mode {mode:o}");
    }
    let dir_mode = std::fs::metadata(path.parent().expect("parent"))
        .expect("dir")
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o077, 0, "the directory it created is private");
}

#[test]
fn a_symlink_planted_at_the_database_path_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("elsewhere");
    let path = dir.path().join("node.sqlite3");
    std::os::unix::fs::symlink(&target, &path).expect("symlink");
    let error = Store::open(&path).expect_err("symlink");
    assert!(matches!(error, StoreError::NotAFile { .. }), "{error:?}");
    assert!(!target.exists(), "nothing was created through the link");
}
