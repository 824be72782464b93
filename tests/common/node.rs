//! Starting the node in-process for tests.

use std::path::PathBuf;

use xmtp_ledger::node::{self, NodeConfig, RunningNode};

/// A node serving gRPC on an ephemeral loopback port, its database at `db`.
pub async fn spawn_loopback(db: impl Into<PathBuf>) -> RunningNode {
    node::spawn("127.0.0.1:0".parse().expect("addr"), NodeConfig::new(db))
        .await
        .expect("node")
}
