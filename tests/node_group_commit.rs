//! Concurrent publishes share commits (the node's group commit): many clients, each on
//! its own connection, publishing at once are all stored and each answered with its
//! own outcome; a publish that cannot be stored fails alone; duplicates across
//! concurrent publishes stay duplicates. (Durability under `kill -9` while many clients
//! publish is in `node_durability`.)

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use xmtp_ledger::network::{Client, Envelope, Query};
use xmtp_ledger::node::Store;
use xmtp_ledger::node::store::envelope_digest;

use common::fixtures::{envelope, token_of};
use common::node::{fast_config, spawn_loopback_any_time};

const CLIENTS: usize = 16;
const PUBLISHES_PER_CLIENT: usize = 25;

fn topic(client: usize) -> String {
    format!("/xmtp/0/m-group-{client:02}/proto")
}

async fn clients(url: &str, n: usize) -> Vec<Client> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(Client::connect(url, fast_config()).await.expect("connect"));
    }
    clients
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishes_from_many_clients_are_all_stored_and_relayed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = spawn_loopback_any_time(dir.path().join("node.sqlite3")).await;
    let clients = clients(&node.url(), CLIENTS).await;
    let mut everything = clients[0]
        .subscribe_all()
        .await
        .expect("subscribe to everything");
    let token = token_of(0x51);

    let mut tasks = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        let client = client.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PUBLISHES_PER_CLIENT {
                // Two envelopes per publish: each publish is stored whole.
                let envelopes = vec![
                    envelope(&topic(c), 1 + i as u64, format!("{c}/{i}/a").as_bytes()),
                    envelope(&topic(c), 1 + i as u64, format!("{c}/{i}/b").as_bytes()),
                ];
                client
                    .publish(&token, envelopes)
                    .await
                    .unwrap_or_else(|e| panic!("client {c} publish {i}: {e}"));
            }
        }));
    }
    for task in tasks {
        task.await.expect("publisher");
    }

    // Every client reads back exactly what it published, in order.
    for (c, client) in clients.iter().enumerate() {
        let stored = client
            .query_all(Query::topic(topic(c)).ascending(), 100)
            .await
            .expect("query");
        let expected: BTreeSet<Vec<u8>> = (0..PUBLISHES_PER_CLIENT)
            .flat_map(|i| ["a", "b"].map(|half| format!("{c}/{i}/{half}").into_bytes()))
            .collect();
        let got: BTreeSet<Vec<u8>> = stored.iter().map(|e| e.message.clone()).collect();
        assert_eq!(stored.len(), 2 * PUBLISHES_PER_CLIENT, "client {c}");
        assert_eq!(got, expected, "client {c}");
        let stamps: Vec<u64> = stored.iter().map(|e| e.timestamp_ns).collect();
        assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "client {c}");
    }
    // And the subscriber saw every envelope once (relayed after its commit).
    let mut relayed = BTreeSet::new();
    while relayed.len() < CLIENTS * PUBLISHES_PER_CLIENT * 2 {
        let next = tokio::time::timeout(Duration::from_secs(10), everything.next())
            .await
            .expect("relayed in time")
            .expect("stream")
            .expect("an envelope");
        assert!(relayed.insert(next.message), "relayed twice");
    }
    drop(clients);
    node.shutdown().await.expect("shutdown");
    let store = Store::open(&dir.path().join("node.sqlite3")).expect("reopen");
    assert_eq!(
        store.count().expect("count"),
        (CLIENTS * PUBLISHES_PER_CLIENT * 2) as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_conflict_fails_only_its_own_publish_among_concurrent_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("node.sqlite3");
    let victim = "/xmtp/0/m-collide/proto";
    // A stored row with the digest of (victim, "x") but other bytes: what a SHA-256
    // collision would look like (no real one is known).
    drop(Store::open(&db).expect("create"));
    rusqlite::Connection::open(&db)
        .expect("sqlite")
        .execute(
            "INSERT INTO envelopes (digest, topic, sender_time, message, received_ns)
             VALUES (?1, ?2, 0, x'00', 0)",
            rusqlite::params![&envelope_digest(victim, b"x")[..], victim],
        )
        .expect("forge");
    let node = spawn_loopback_any_time(&db).await;
    let clients = clients(&node.url(), CLIENTS).await;
    let token = token_of(0x51);

    // Rounds of publishes from every client at once; in each round client 0's publish
    // carries a new envelope and the colliding one.
    for round in 0..5u64 {
        let mut tasks = Vec::new();
        for (c, client) in clients.iter().enumerate() {
            let client = client.clone();
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                let envelopes: Vec<Envelope> = if c == 0 {
                    vec![
                        envelope(victim, 10 + round, format!("new {round}").as_bytes()),
                        envelope(victim, 10 + round, b"x"),
                    ]
                } else {
                    vec![envelope(&topic(c), 1 + round, &[c as u8, round as u8])]
                };
                client.publish(&token, envelopes).await
            }));
        }
        for (c, task) in tasks.into_iter().enumerate() {
            let outcome = task.await.expect("publisher");
            if c == 0 {
                let error = outcome.expect_err("the colliding publish is refused");
                assert!(
                    error
                        .to_string()
                        .contains("digest of a different stored envelope"),
                    "{error}"
                );
            } else {
                outcome.unwrap_or_else(|e| panic!("round {round}, client {c}: {e}"));
            }
        }
    }
    // Nothing of the colliding publishes was stored, all of the others were.
    let stored = clients[0]
        .query_all(Query::topic(victim), 100)
        .await
        .expect("query");
    assert_eq!(stored.len(), 1, "only the forged row: {stored:?}");
    for (c, client) in clients.iter().enumerate().skip(1) {
        let stored = client
            .query_all(Query::topic(topic(c)), 100)
            .await
            .expect("query");
        assert_eq!(stored.len(), 5, "client {c}");
    }
    drop(clients);
    node.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_envelope_from_concurrent_publishes_is_stored_once_and_each_succeeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = spawn_loopback_any_time(dir.path().join("node.sqlite3")).await;
    let clients = clients(&node.url(), 8).await;
    let token = token_of(0x51);
    let shared = "/xmtp/0/m-shared/proto";
    let mut tasks = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        let client = client.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10u64 {
                // The same bytes from every client (a duplicate, not a conflict), and
                // one envelope of this client's own.
                let envelopes = vec![
                    envelope(shared, 100 + i, format!("same {i}").as_bytes()),
                    envelope(shared, 100 + i, format!("own {c} {i}").as_bytes()),
                ];
                client
                    .publish(&token, envelopes)
                    .await
                    .unwrap_or_else(|e| panic!("client {c}: {e}"));
            }
        }));
    }
    for task in tasks {
        task.await.expect("publisher");
    }
    let stored = clients[0]
        .query_all(Query::topic(shared), 100)
        .await
        .expect("query");
    let messages: BTreeSet<Vec<u8>> = stored.iter().map(|e| e.message.clone()).collect();
    assert_eq!(messages.len(), stored.len(), "no row twice");
    assert_eq!(stored.len(), 10 + 8 * 10);
    drop(clients);
    node.shutdown().await.expect("shutdown");
}
