//! Picking and reaching a node (`xmtp_ledger::endpoint`): `local` uses a node already
//! listening, or starts one in-process that keeps its data across runs, and refuses a
//! listener that is not a node; a URL connects directly. All through the blocking client.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use common::fixtures::{self, token_of};
use xmtp_ledger::endpoint::{self, Endpoint, EndpointError};
use xmtp_ledger::network::{ClientConfig, Envelope, Query, RetryPolicy};
use xmtp_ledger::node::{BlockingNode, NodeConfig};

fn config() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        },
        ..ClientConfig::default()
    }
}

/// A loopback port with nothing listening on it.
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// One envelope, dated when first asked for: a node refuses sender timestamps far from
/// its clock, and the in-process node of `local` has the default window.
fn envelope() -> Envelope {
    static DATED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let timestamp_ns = *DATED.get_or_init(xmtp_ledger::network::now_ns);
    fixtures::envelope("/xmtp/0/m-fake/proto", timestamp_ns, b"hello")
}

fn node_on(db: std::path::PathBuf) -> BlockingNode {
    BlockingNode::start("127.0.0.1:0".parse().expect("addr"), NodeConfig::new(db)).expect("node")
}

#[test]
fn local_starts_an_in_process_node_when_none_listens_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("data/xmtp-ledger/node.sqlite3");
    let probe = closed_port();

    let connection = endpoint::connect_local(probe, db.clone(), config()).expect("local");
    let node = connection.in_process_node().expect("started in-process");
    assert_eq!(node.db_path(), db);
    assert!(node.local_addr().ip().is_loopback());
    assert_ne!(node.local_addr(), probe);
    assert!(connection.describe().contains("in-process node"));
    connection
        .client()
        .publish(&token_of(0x31), vec![envelope()])
        .expect("publish through gRPC");
    connection.shutdown().expect("shutdown");
    assert!(db.exists());

    // Again, from the same file: the envelope is still there.
    let connection = endpoint::connect_local(probe, db.clone(), config()).expect("local again");
    let page = connection
        .client()
        .query(&Query::topic(&envelope().content_topic))
        .expect("query");
    assert_eq!(page.envelopes, [envelope()]);
    connection.shutdown().expect("shutdown");
}

#[test]
fn local_uses_a_node_already_listening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = node_on(dir.path().join("shared.sqlite3"));
    let unused_db = dir.path().join("unused.sqlite3");
    let connection =
        endpoint::connect_local(running.local_addr(), unused_db.clone(), config()).expect("local");
    assert!(connection.in_process_node().is_none());
    assert_eq!(
        connection.client().url(),
        format!("http://{}", running.local_addr())
    );
    connection
        .client()
        .publish(&token_of(0x31), vec![envelope()])
        .expect("publish");
    assert!(!unused_db.exists(), "no second node was started");
    connection.shutdown().expect("nothing to shut down");
    running.shutdown().expect("node shutdown");
}

#[test]
fn local_refuses_a_listener_that_is_not_a_node() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let imposter = std::thread::spawn(move || {
        // Answers the probe's connection and the client's, then stops.
        for mut socket in listener.incoming().take(4).flatten() {
            let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let mut one_try = config();
    one_try.retry = RetryPolicy::none();
    let err =
        endpoint::connect_local(addr, dir.path().join("n.sqlite3"), one_try).expect_err("imposter");
    assert!(matches!(err, EndpointError::NotANode { .. }), "{err:?}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    assert!(
        !dir.path().join("n.sqlite3").exists(),
        "no node was started in its place"
    );
    drop(imposter);
}

#[test]
fn url_connects_directly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = node_on(dir.path().join("n.sqlite3"));
    let url = format!("http://{}", running.local_addr());
    let target: Endpoint = url.parse().expect("target");
    let connection = endpoint::connect(&target, config()).expect("open");
    assert!(connection.in_process_node().is_none());
    assert_eq!(connection.describe(), format!("node {url}"));
    connection
        .client()
        .query(&Query::topic("/xmtp/0/m-x/proto"))
        .expect("query");
    connection.shutdown().expect("nothing to shut down");
    running.shutdown().expect("shutdown");
}
