//! The node's listeners under clients that connect and then misbehave: floods of idle or
//! half-open connections, headers dribbled a byte at a time, connections that go quiet,
//! clients that stop reading. Each runs against small limits so the bounds show in
//! seconds; the assertions are about what the node does (closes, serves), not how fast.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};
use xmtp_ledger::network::{Client, Query};
use xmtp_ledger::node::{self, ConnectionLimits, NodeConfig, RunningNode};

use common::http::request;
use common::node::fast_config;

/// The HTTP/2 client preface and an empty SETTINGS frame: a complete gRPC handshake.
const H2_HANDSHAKE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// Long enough for every bound below to act, short enough that a node that never closes
/// a connection fails the test rather than hanging it.
const WAIT: Duration = Duration::from_secs(15);

struct TestNode {
    _dir: tempfile::TempDir,
    node: RunningNode,
}

impl TestNode {
    fn grpc(&self) -> SocketAddr {
        self.node.local_addr()
    }

    fn rest(&self) -> SocketAddr {
        self.node.http_addr().expect("REST listener")
    }
}

async fn spawn(connections: ConnectionLimits) -> TestNode {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = NodeConfig::new(dir.path().join("node.sqlite3"));
    config.connections = connections;
    config.http_listen = Some("127.0.0.1:0".parse().expect("addr"));
    let node = node::spawn("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("node");
    TestNode { _dir: dir, node }
}

fn small_limits() -> ConnectionLimits {
    ConnectionLimits {
        max_connections: 8,
        handshake_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    }
}

/// Defaults, but a gRPC connection with no request open is closed after 1 s.
fn one_second_idle() -> ConnectionLimits {
    ConnectionLimits {
        idle_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    }
}

/// A gRPC client of `node`.
async fn client_of(node: &TestNode) -> Client {
    Client::connect(&node.node.url(), fast_config())
        .await
        .expect("client")
}

/// Reads until the peer closes (EOF or reset); how long that took, or `None` if the
/// connection was still open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let result = timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    result.ok().map(|()| start.elapsed())
}

/// `n` connections to `addr` that send nothing.
async fn open_idle(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        streams.push(TcpStream::connect(addr).await.expect("connect"));
    }
    streams
}

/// One gRPC query on a fresh connection, with short timeouts.
async fn grpc_query(addr: SocketAddr) -> bool {
    let attempt = async {
        let client = Client::connect(&format!("http://{addr}"), fast_config()).await?;
        client.query(&Query::topic("/xmtp/0/m-probe/proto")).await
    };
    matches!(timeout(Duration::from_secs(3), attempt).await, Ok(Ok(_)))
}

/// One REST query on a fresh connection.
async fn rest_query(addr: SocketAddr) -> u16 {
    let body = br#"{"contentTopics":["/xmtp/0/m-probe/proto"]}"#;
    request(addr, "POST", "/message/v1/query", &[], body)
        .await
        .status
}

/// Retries `probe` until it succeeds; how long that took.
async fn served_within<F, Fut>(within: Duration, mut probe: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < within {
        if probe().await {
            return Some(start.elapsed());
        }
        sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test]
async fn a_half_open_flood_on_grpc_is_shed_and_never_blocks_rest() {
    let node = spawn(small_limits()).await;
    // Far more than the cap, all kept open and silent.
    let mut flood = open_idle(node.grpc(), 40).await;

    // The other listener serves throughout.
    assert_eq!(rest_query(node.rest()).await, 200);

    // The node closes every one of them itself: those over the cap at once, the rest
    // when their handshake time is up.
    for stream in &mut flood {
        assert!(
            closed_within(stream, WAIT).await.is_some(),
            "a silent gRPC connection was never closed"
        );
    }
    // And a fresh client is served again while the attacker still holds its sockets.
    assert!(
        served_within(WAIT, || grpc_query(node.grpc()))
            .await
            .is_some(),
        "a fresh gRPC client was not served after the flood was shed"
    );
    assert_eq!(rest_query(node.rest()).await, 200);
    drop(flood);
}

#[tokio::test]
async fn a_half_open_flood_on_rest_is_shed_and_never_blocks_grpc() {
    let node = spawn(small_limits()).await;
    let mut flood = open_idle(node.rest(), 40).await;

    assert!(
        grpc_query(node.grpc()).await,
        "gRPC not served during the flood"
    );
    for stream in &mut flood {
        assert!(
            closed_within(stream, WAIT).await.is_some(),
            "a silent REST connection was never closed"
        );
    }
    assert!(
        served_within(WAIT, || async { rest_query(node.rest()).await == 200 })
            .await
            .is_some(),
        "a fresh REST client was not served after the flood was shed"
    );
    drop(flood);
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_at_once_and_a_freed_slot_is_reused() {
    let limits = ConnectionLimits {
        max_connections: 4,
        handshake_timeout: Duration::from_secs(30),
        ..ConnectionLimits::default()
    };
    let node = spawn(limits).await;
    for addr in [node.grpc(), node.rest()] {
        let mut held = open_idle(addr, 4).await;
        // Let the node accept them all before the one over the cap.
        sleep(Duration::from_millis(200)).await;
        let mut over = TcpStream::connect(addr).await.expect("connect");
        assert!(
            closed_within(&mut over, WAIT).await.is_some(),
            "{addr}: a connection over the cap was kept"
        );
        // The held ones are still open (their handshake time is 30 s).
        let still_open = closed_within(&mut held[0], Duration::from_millis(300)).await;
        assert_eq!(
            still_open, None,
            "{addr}: a connection within the cap was closed"
        );
        // Free one slot: the next connection is kept.
        held.pop();
        sleep(Duration::from_millis(200)).await;
        let mut next = TcpStream::connect(addr).await.expect("connect");
        assert_eq!(
            closed_within(&mut next, Duration::from_millis(500)).await,
            None,
            "{addr}: a connection within the cap after one closed was refused"
        );
    }
}

#[tokio::test]
async fn a_dribbled_request_header_is_cut_off_on_both_listeners() {
    let node = spawn(small_limits()).await;
    let rest_head = format!(
        "POST /message/v1/query HTTP/1.1\r\nHost: {}\r\nContent-Length: 2\r\n\r\n{{}}",
        node.rest()
    );
    for (addr, bytes) in [
        (node.grpc(), H2_HANDSHAKE.to_vec()),
        (node.rest(), rest_head.into_bytes()),
    ] {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let start = Instant::now();
        // One byte every 300 ms: the handshake would take many seconds, far past the
        // 1 s the node gives.
        let mut cut = false;
        for byte in &bytes {
            if stream.write_all(&[*byte]).await.is_err() {
                cut = true;
                break;
            }
            if closed_within(&mut stream, Duration::from_millis(300))
                .await
                .is_some()
            {
                cut = true;
                break;
            }
            assert!(start.elapsed() < WAIT, "{addr}: never cut off");
        }
        assert!(cut, "{addr}: the dribbled header was read to the end");
    }
}

#[tokio::test]
async fn a_grpc_connection_with_no_request_open_is_closed_when_idle() {
    let node = spawn(one_second_idle()).await;
    let mut stream = TcpStream::connect(node.grpc()).await.expect("connect");
    stream.write_all(H2_HANDSHAKE).await.expect("handshake");
    // The handshake is complete (so the 10 s handshake bound no longer applies); it is
    // the idle bound that closes it.
    let closed = closed_within(&mut stream, WAIT).await;
    assert!(closed.is_some(), "an idle gRPC connection was never closed");
}

#[tokio::test]
async fn a_grpc_subscription_is_not_idle() {
    let node = spawn(one_second_idle()).await;
    let client = client_of(&node).await;
    let mut subscription = client
        .subscribe(["/xmtp/0/m-idle/proto"])
        .await
        .expect("subscribe");
    // Well past the idle bound, the stream is still open: nothing arrives, no error.
    let waited = timeout(Duration::from_secs(3), subscription.next()).await;
    assert!(waited.is_err(), "the subscription ended: {waited:?}");
}

#[tokio::test]
async fn a_rest_client_that_stops_reading_is_dropped() {
    use xmtp_ledger::network::now_ns;
    let limits = ConnectionLimits {
        write_stall_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    };
    let node = spawn(limits).await;
    let topic = "/xmtp/0/m-slow-reader/proto";
    let mut reader = TcpStream::connect(node.rest()).await.expect("connect");
    let body = format!(r#"{{"contentTopics":["{topic}"]}}"#);
    let head = format!(
        "POST /message/v1/subscribe HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n{body}",
        node.rest(),
        body.len()
    );
    reader.write_all(head.as_bytes()).await.expect("subscribe");
    sleep(Duration::from_millis(300)).await;

    // Publish far more than the socket buffers hold, while the subscriber reads nothing.
    let client = client_of(&node).await;
    let token = common::fixtures::token_of(41);
    let message = vec![0x5a; 1_000_000];
    let mut published = 0usize;
    for _ in 0..48 {
        let envelope = common::fixtures::envelope(topic, now_ns(), &message);
        client
            .publish(&token, vec![envelope])
            .await
            .expect("publish");
        published += message.len();
    }
    // Give the stall time to be noticed, then read what the node had sent: the stream
    // must end (the node dropped it) before everything published came through.
    sleep(Duration::from_secs(3)).await;
    let mut received = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let ended = timeout(WAIT, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received += n,
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the node kept a stalled subscriber's stream open"
    );
    assert!(
        received < published,
        "received {received} of {published} bytes"
    );
}

#[tokio::test]
async fn a_client_whose_idle_connection_was_closed_is_served_on_its_next_call() {
    // What the CLI does during a long device approval: connect, query, wait, publish.
    let node = spawn(one_second_idle()).await;
    let client = client_of(&node).await;
    let query = Query::topic("/xmtp/0/m-reconnect/proto");
    client.query(&query).await.expect("first query");
    sleep(Duration::from_secs(3)).await;
    client
        .query(&query)
        .await
        .expect("a query after the node closed the idle connection");
}

#[tokio::test]
async fn a_request_head_over_16_kib_is_refused_by_the_rest_listener() {
    let node = spawn(ConnectionLimits::default()).await;
    let body = br#"{"contentTopics":["/xmtp/0/m-probe/proto"]}"#;
    let pad = "a".repeat(20 * 1024);
    let big = request(
        node.rest(),
        "POST",
        "/message/v1/query",
        &[("X-Pad", &pad)],
        body,
    )
    .await;
    assert_eq!(big.status, 431);
    let small = "a".repeat(8 * 1024);
    let fine = request(
        node.rest(),
        "POST",
        "/message/v1/query",
        &[("X-Pad", &small)],
        body,
    )
    .await;
    assert_eq!(fine.status, 200);
}
