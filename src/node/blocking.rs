//! [`BlockingNode`]: a node served on a runtime of its own, for callers that are not async.

use std::net::SocketAddr;
use std::path::Path;

use tokio::runtime::Runtime;

use super::{NodeConfig, NodeError, RunningNode, spawn};

/// A node serving on its own multi-threaded runtime until it is shut down or dropped.
#[derive(Debug)]
pub struct BlockingNode {
    // Field order matters: the node is dropped (asked to stop) before its runtime.
    node: RunningNode,
    runtime: Runtime,
}

impl BlockingNode {
    /// Opens the database, binds `listen` (and [`NodeConfig::http_listen`]) and serves.
    pub fn start(listen: SocketAddr, config: NodeConfig) -> Result<Self, NodeError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("xmtp-ledger-node")
            .enable_all()
            .build()
            .map_err(|e| NodeError::Task(format!("cannot start the node's runtime: {e}")))?;
        let node = runtime.block_on(spawn(listen, config))?;
        Ok(Self { node, runtime })
    }

    /// The gRPC address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.node.local_addr()
    }

    /// The REST gateway's address, if enabled.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.node.http_addr()
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        self.node.db_path()
    }

    /// Blocks until SIGINT or SIGTERM (see [`crate::signal::shutdown_signal`]).
    pub fn wait_for_shutdown_signal(&self) {
        self.runtime.block_on(crate::signal::shutdown_signal());
    }

    /// Stops the node gracefully and waits until it has.
    pub fn shutdown(self) -> Result<(), NodeError> {
        let Self { node, runtime } = self;
        runtime.block_on(node.shutdown())
    }
}
