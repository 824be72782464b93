//! Starting the node in-process for tests.

use std::path::PathBuf;
use std::time::Duration;

use tempfile::TempDir;
use xmtp_ledger::network::{BlockingClient, Client, ClientConfig, RetryPolicy};
use xmtp_ledger::node::{self, BlockingNode, NodeConfig, RunningNode};

/// A node serving gRPC on an ephemeral loopback port, its database at `db`, with the
/// default limits (sender timestamps within an hour before and 5 minutes after now).
pub async fn spawn_loopback(db: impl Into<PathBuf>) -> RunningNode {
    node::spawn("127.0.0.1:0".parse().expect("addr"), NodeConfig::new(db))
        .await
        .expect("node")
}

/// Lets `config`'s node accept any sender timestamp, for tests that date envelopes 1,
/// 2, 3… to make their order obvious. Not the default: a real node refuses them.
pub fn any_sender_time(config: &mut NodeConfig) {
    config.limits.sender_time_past = Duration::MAX;
    config.limits.sender_time_future = Duration::MAX;
}

/// [`spawn_loopback`] with [`any_sender_time`].
pub async fn spawn_loopback_any_time(db: impl Into<PathBuf>) -> RunningNode {
    let mut config = NodeConfig::new(db);
    any_sender_time(&mut config);
    node::spawn("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("node")
}

/// A client that gives up quickly, so a test against a node that misbehaves fails in
/// seconds rather than after the production retry schedule.
pub fn fast_config() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
        },
        ..ClientConfig::default()
    }
}

/// A fresh node on a loopback port and a client of it.
pub struct Harness {
    /// Holds the node's database folder until the test ends.
    pub dir: TempDir,
    /// The node.
    pub node: RunningNode,
    /// A client of the node, with [`fast_config`].
    pub client: Client,
}

/// A node with an empty database in a temporary folder, accepting any sender timestamp
/// ([`any_sender_time`]), and a client of it.
pub async fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = spawn_loopback_any_time(dir.path().join("node.sqlite3")).await;
    let client = Client::connect(&node.url(), fast_config())
        .await
        .expect("client connects");
    Harness { dir, node, client }
}

/// A node on a loopback port and a blocking client of it, for tests of the blocking
/// library surface (the session layer) that run without an async runtime of their own.
pub struct BlockingHarness {
    /// Holds the node's database folder until the test ends.
    pub dir: TempDir,
    /// The node.
    pub node: BlockingNode,
    /// A client of the node, with the default configuration.
    pub client: BlockingClient,
}

impl BlockingHarness {
    /// A node with an empty database in a temporary folder, and a client of it.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = BlockingNode::start(
            "127.0.0.1:0".parse().expect("addr"),
            NodeConfig::new(dir.path().join("node.sqlite3")),
        )
        .expect("node");
        let url = format!("http://{}", node.local_addr());
        let client = BlockingClient::connect(&url, ClientConfig::default()).expect("client");
        Self { dir, node, client }
    }
}
