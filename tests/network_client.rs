//! The client's own behaviour: URL policy, unreachable nodes, deadlines, retries on
//! transient codes only (against a scripted fake node), and metadata on the wire.

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use xmtp_ledger::network::{Client, ClientConfig, Envelope, NetworkError, Query, RetryPolicy};
use xmtp_ledger::proto::message_api::v1 as api;

use common::fake_node::{self, FakeNode};
use common::fixtures::{self, token_of};

fn config(attempts: u32, timeout_ms: u64) -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_millis(timeout_ms),
        connect_timeout: Duration::from_millis(timeout_ms),
        retry: RetryPolicy {
            max_attempts: attempts,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        },
        ..ClientConfig::default()
    }
}

/// A loopback port with nothing listening on it.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

fn envelope() -> Envelope {
    fixtures::envelope("/xmtp/0/m-fake/proto", 1, b"hello")
}

#[tokio::test]
async fn plaintext_to_a_remote_host_is_refused_without_connecting() {
    let started = Instant::now();
    let err = Client::connect("http://192.0.2.10:5556", ClientConfig::default())
        .await
        .expect_err("remote plaintext");
    assert!(
        matches!(err, NetworkError::InsecurePlaintext { .. }),
        "{err}"
    );
    // TEST-NET-1 would hang for the whole connect timeout had we tried.
    assert!(started.elapsed() < Duration::from_secs(1));
    let err = Client::connect("grpc.example.com:443", ClientConfig::default())
        .await
        .expect_err("no scheme");
    assert!(matches!(err, NetworkError::InvalidUrl { .. }), "{err}");
}

#[tokio::test]
async fn an_unreachable_node_is_named_after_bounded_retries() {
    let addr = closed_port().await;
    let err = Client::connect(&format!("http://{addr}"), config(3, 500))
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(err, NetworkError::Unreachable { attempts: 3, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("node http://{addr} is unreachable: ")),
        "{text}"
    );
    assert!(text.to_lowercase().contains("refused"), "{text}");
}

/// A listener that accepts connections and reads nothing: the HTTP/2 exchange never
/// completes, so every attempt runs into its deadline.
async fn silent_node() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (addr, holder)
}

/// Connects to `addr` with `config` and runs one query.
async fn connect_and_query(addr: SocketAddr, config: ClientConfig) -> Result<(), NetworkError> {
    Client::connect(&format!("http://{addr}"), config)
        .await?
        .query(&Query::topic("/xmtp/0/m-x/proto"))
        .await
        .map(drop)
}

#[tokio::test]
async fn a_node_that_never_answers_hits_the_deadline() {
    let (addr, holder) = silent_node().await;
    let started = Instant::now();
    let err = connect_and_query(addr, config(2, 200))
        .await
        .expect_err("silent node");
    // Depending on where the exchange stalls this is the call deadline or the
    // connection timeout; either way both attempts were made.
    assert!(
        matches!(
            err,
            NetworkError::Timeout { attempts: 2, .. }
                | NetworkError::Unreachable { attempts: 2, .. }
        ),
        "{err:?}"
    );
    // Two attempts of 200 ms plus backoff, not the default 10 s.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    holder.abort();
}

#[tokio::test]
async fn the_total_timeout_bounds_a_call_with_all_its_attempts() {
    let (addr, holder) = silent_node().await;
    let bounded = ClientConfig {
        total_timeout: Some(Duration::from_millis(300)),
        ..config(5, 200)
    };
    let started = Instant::now();
    let err = connect_and_query(addr, bounded)
        .await
        .expect_err("silent node");
    assert!(
        matches!(
            err,
            NetworkError::Timeout {
                attempts: 1..=2,
                ..
            } | NetworkError::Unreachable {
                attempts: 1..=2,
                ..
            }
        ),
        "{err:?}"
    );
    // 300 ms for the call however many attempts were allowed (5 × 200 ms plus backoff
    // without the bound).
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(900), "{elapsed:?}");
    holder.abort();
}

/// A scripted node: answers publishes and queries from a queue of outcomes, records
/// the metadata of every call, and answers every batch query one answer short.
#[derive(Clone, Default)]
struct Script {
    outcomes: Arc<Mutex<VecDeque<Result<(), Status>>>>,
    seen: Arc<Mutex<Vec<(String, MetadataMap)>>>,
}

impl Script {
    fn next(&self, call: &str, metadata: &MetadataMap) -> Result<(), Status> {
        self.seen
            .lock()
            .expect("lock")
            .push((call.to_owned(), metadata.clone()));
        self.outcomes
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or(Ok(()))
    }
    fn calls(&self) -> Vec<(String, MetadataMap)> {
        self.seen.lock().expect("lock").clone()
    }
}

async fn fake_node(
    script: Vec<Result<(), Status>>,
) -> (Script, String, tokio::task::JoinHandle<()>) {
    let fake = Script::default();
    fake.outcomes.lock().expect("lock").extend(script);
    let (publish, query, batch) = (fake.clone(), fake.clone(), fake.clone());
    let (url, task) = fake_node::serve(FakeNode {
        publish: Arc::new(move |metadata, _| {
            publish.next("publish", metadata)?;
            Ok(api::PublishResponse {})
        }),
        query: Arc::new(move |metadata, _| {
            query.next("query", metadata)?;
            Ok(api::QueryResponse::default())
        }),
        batch_query: Arc::new(move |metadata, _| {
            batch.next("batch query", metadata)?;
            // Deliberately one answer short, whatever was asked.
            Ok(api::BatchQueryResponse { responses: vec![] })
        }),
    })
    .await;
    (fake, url, task)
}

#[tokio::test]
async fn transient_failures_are_retried_and_the_token_and_deadline_are_sent() {
    let (fake, url, task) = fake_node(vec![
        Err(Status::unavailable("restarting")),
        Err(Status::resource_exhausted("slow down")),
    ])
    .await;
    let client = Client::connect(&url, config(5, 2_000))
        .await
        .expect("connect");
    let t = token_of(0x31);
    client
        .publish(&t, vec![envelope()])
        .await
        .expect("third attempt succeeds");
    let calls = fake.calls();
    assert_eq!(calls.len(), 3);
    for (call, metadata) in &calls {
        assert_eq!(call, "publish");
        let auth = metadata.get("authorization").and_then(|v| v.to_str().ok());
        assert_eq!(auth, Some(t.header_value().as_str()));
        assert!(
            metadata.get("grpc-timeout").is_some(),
            "every call carries a deadline"
        );
    }
    // Queries carry a deadline but never the token.
    client
        .query(&Query::topic("/xmtp/0/m-x/proto"))
        .await
        .expect("query");
    let (call, metadata) = fake.calls().pop().expect("query call");
    assert_eq!(call, "query");
    assert!(metadata.get("authorization").is_none());
    assert!(metadata.get("grpc-timeout").is_some());
    task.abort();
}

#[tokio::test]
async fn permanent_failures_are_not_retried() {
    for status in [
        Status::invalid_argument("bad"),
        Status::unauthenticated("who are you"),
        Status::permission_denied("publishing to restricted topic"),
        Status::unavailable(
            "publishing to XMTP V2 is no longer available. Please upgrade your client to XMTP V3.",
        ),
    ] {
        let code = status.code();
        let (fake, url, task) = fake_node(vec![Err(status)]).await;
        let client = Client::connect(&url, config(5, 2_000))
            .await
            .expect("connect");
        let err = client
            .publish(&token_of(0x31), vec![envelope()])
            .await
            .expect_err("permanent");
        assert!(
            matches!(err, NetworkError::Rejected { code: c, attempts: 1, .. } if c == code),
            "{err:?}"
        );
        assert_eq!(fake.calls().len(), 1, "{code:?} was retried");
        task.abort();
    }
}

#[tokio::test]
async fn retries_stop_at_the_attempt_limit() {
    let (fake, url, task) = fake_node(vec![Err(Status::unavailable("down")); 10]).await;
    let client = Client::connect(&url, config(3, 2_000))
        .await
        .expect("connect");
    let err = client
        .publish(&token_of(0x31), vec![envelope()])
        .await
        .expect_err("always down");
    assert!(
        matches!(
            err,
            NetworkError::Rejected {
                code: Code::Unavailable,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().ends_with("(after 3 attempts)"), "{err}");
    assert_eq!(fake.calls().len(), 3);
    task.abort();
}

#[tokio::test]
async fn a_batch_answer_of_the_wrong_length_is_a_protocol_error() {
    let (_fake, url, task) = fake_node(vec![]).await;
    let client = Client::connect(&url, config(1, 2_000))
        .await
        .expect("connect");
    let err = client
        .batch_query(&[Query::topic("/xmtp/0/m-x/proto")])
        .await
        .expect_err("short answer");
    assert!(matches!(err, NetworkError::Protocol { .. }), "{err}");
    task.abort();
}

/// `https://` goes through rustls: against a plaintext node the handshake fails and is
/// reported as the node being unreachable (and the TLS setup itself does not panic).
#[tokio::test]
async fn https_uses_tls_and_fails_cleanly_against_a_plaintext_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = common::node::spawn_loopback(dir.path().join("n.sqlite3")).await;
    let url = format!("https://{}", running.local_addr());
    let err = Client::connect(&url, config(1, 2_000))
        .await
        .expect_err("no TLS on the other side");
    assert!(matches!(err, NetworkError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("node {url} is unreachable")),
        "{err}"
    );
    running.shutdown().await.expect("shutdown");
}
