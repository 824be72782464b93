//! `--network local|URL`: which node the CLI talks to.
//!
//! For `local`, a node already listening on [`DEFAULT_LOCAL_NODE`] (e.g. `xmtp-ledger
//! node` in another terminal) is used if it answers as a MessageApi node; otherwise a
//! node is started in this process on the default SQLite file, on an ephemeral loopback
//! port, and is still reached through gRPC, so the code path is the same as for a
//! remote node.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::{ClientConfig, NetworkError, NodeClient, Query, RetryPolicy};
use crate::node::{self, NodeConfig, RunningNode};

/// Where `--network local` looks for a running node: the reference node's gRPC port on
/// IPv4 loopback.
pub const DEFAULT_LOCAL_NODE: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5556));

/// Environment variable overriding the in-process node's SQLite file.
pub const NODE_DB_ENV: &str = "XMTP_LEDGER_NODE_DB";

/// A topic nobody publishes to, queried to check that a listener is a MessageApi node.
const PROBE_TOPIC: &str = "/xmtp/0/xmtp-ledger-probe/proto";

/// How long the probe of the local address may take: loopback answers in
/// microseconds, so anything slow is not a healthy node.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The `--network` choice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NetworkTarget {
    /// A node on this machine (running, or started in-process).
    #[default]
    Local,
    /// The node at this URL.
    Url(String),
}

impl FromStr for NetworkTarget {
    type Err = NetworkError;

    /// `local`, or an `http(s)://` URL (syntax checked here, policy at connect time).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("local") {
            return Ok(Self::Local);
        }
        super::url::parse_node_url(s, true)?;
        Ok(Self::Url(s.to_owned()))
    }
}

/// A connected client, plus the in-process node behind it if one was started.
///
/// Keep it alive as long as the client is used: dropping it asks an in-process node to
/// shut down (acknowledged envelopes are already on disk); [`Network::shutdown`] also
/// waits for it to finish.
#[derive(Debug)]
pub struct Network {
    client: NodeClient,
    node: Option<RunningNode>,
}

impl Network {
    /// The client.
    pub fn client(&self) -> &NodeClient {
        &self.client
    }

    /// The in-process node, if this process started one.
    pub fn in_process_node(&self) -> Option<&RunningNode> {
        self.node.as_ref()
    }

    /// One line for the user: which node is in use.
    pub fn describe(&self) -> String {
        match &self.node {
            Some(node) => format!(
                "in-process node on {} (listening on {})",
                node.db_path().display(),
                self.client.url()
            ),
            None => format!("node {}", self.client.url()),
        }
    }

    /// Shuts down an in-process node and waits for it.
    pub async fn shutdown(self) -> Result<(), NetworkError> {
        match self.node {
            Some(node) => node.shutdown().await.map_err(NetworkError::LocalNode),
            None => Ok(()),
        }
    }
}

/// Connects as `--network` says: a URL directly; `local` through [`open_local`] on
/// [`DEFAULT_LOCAL_NODE`] and [`default_node_db_path`].
pub async fn open_network(
    target: &NetworkTarget,
    config: ClientConfig,
) -> Result<Network, NetworkError> {
    match target {
        NetworkTarget::Url(url) => Ok(Network {
            client: NodeClient::connect(url, config).await?,
            node: None,
        }),
        NetworkTarget::Local => {
            if let Some(client) = probe_local(DEFAULT_LOCAL_NODE, config).await? {
                return Ok(Network { client, node: None });
            }
            start_in_process(default_node_db_path()?, config).await
        }
    }
}

/// `local` with explicit parts: use the node answering on `probe` if any, else start one
/// in-process on `db_path` (parent directories are created) on an ephemeral loopback
/// port. Fails with [`NetworkError::NotANode`] if something else listens on `probe`.
pub async fn open_local(
    probe: SocketAddr,
    db_path: PathBuf,
    config: ClientConfig,
) -> Result<Network, NetworkError> {
    if let Some(client) = probe_local(probe, config).await? {
        return Ok(Network { client, node: None });
    }
    start_in_process(db_path, config).await
}

async fn start_in_process(db_path: PathBuf, config: ClientConfig) -> Result<Network, NetworkError> {
    let listen = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));
    let node = node::spawn(listen, NodeConfig::new(db_path))
        .await
        .map_err(NetworkError::LocalNode)?;
    tracing::info!(db = %node.db_path().display(), addr = %node.local_addr(), "started in-process node");
    let client = NodeClient::connect(&node.url(), config).await?;
    Ok(Network {
        client,
        node: Some(node),
    })
}

/// `Some(client)` if a MessageApi node answers on `addr`, `None` if nothing listens.
async fn probe_local(
    addr: SocketAddr,
    config: ClientConfig,
) -> Result<Option<NodeClient>, NetworkError> {
    let probe_timeout = config.connect_timeout.min(PROBE_TIMEOUT);
    match tokio::time::timeout(probe_timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_listener_is_there)) => {}
        Ok(Err(e)) => {
            tracing::debug!(%addr, error = %e, "no local node listening");
            return Ok(None);
        }
        Err(_) => {
            tracing::debug!(%addr, "connecting to the local node address timed out");
            return Ok(None);
        }
    }
    let url = format!("http://{addr}");
    let not_a_node = |e: NetworkError| NetworkError::NotANode {
        addr: addr.to_string(),
        detail: e.to_string(),
    };
    let probe_config = ClientConfig {
        retry: RetryPolicy::none(),
        timeout: config.timeout.min(PROBE_TIMEOUT),
        ..config
    };
    let probe = NodeClient::connect(&url, probe_config)
        .await
        .map_err(not_a_node)?;
    probe
        .query(&Query::topic(PROBE_TOPIC).limit(1))
        .await
        .map_err(not_a_node)?;
    NodeClient::connect(&url, config).await.map(Some)
}

/// The in-process node's SQLite file: `$XMTP_LEDGER_NODE_DB`, else
/// `$XDG_DATA_HOME/xmtp-ledger/node.sqlite3`, else `~/.local/share/xmtp-ledger/node.sqlite3`.
pub fn default_node_db_path() -> Result<PathBuf, NetworkError> {
    node_db_path_from(
        std::env::var_os(NODE_DB_ENV),
        std::env::var_os("XDG_DATA_HOME"),
        std::env::var_os("HOME"),
    )
    .ok_or(NetworkError::NoDataDir)
}

/// [`default_node_db_path`] from explicit variable values (empty counts as unset; a
/// relative `XDG_DATA_HOME` is ignored, as the XDG spec says).
pub fn node_db_path_from(
    node_db: Option<OsString>,
    xdg_data_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(path) = set(node_db) {
        return Some(path);
    }
    let data_home = set(xdg_data_home)
        .filter(|p| p.is_absolute())
        .or_else(|| set(home).map(|h| h.join(".local").join("share")))?;
    Some(data_home.join("xmtp-ledger").join("node.sqlite3"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_path_precedence() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            node_db_path_from(os("/tmp/n.db"), os("/xdg"), os("/home/u")),
            Some(PathBuf::from("/tmp/n.db"))
        );
        assert_eq!(
            node_db_path_from(None, os("/xdg"), os("/home/u")),
            Some(PathBuf::from("/xdg/xmtp-ledger/node.sqlite3"))
        );
        assert_eq!(
            node_db_path_from(os(""), os("relative/xdg"), os("/home/u")),
            Some(PathBuf::from(
                "/home/u/.local/share/xmtp-ledger/node.sqlite3"
            ))
        );
        assert_eq!(node_db_path_from(None, None, None), None);
    }

    #[test]
    fn network_target_parsing() {
        assert_eq!(
            "local".parse::<NetworkTarget>().ok(),
            Some(NetworkTarget::Local)
        );
        assert_eq!(
            "LOCAL".parse::<NetworkTarget>().ok(),
            Some(NetworkTarget::Local)
        );
        assert_eq!(
            "https://grpc.dev.xmtp.network:443"
                .parse::<NetworkTarget>()
                .ok(),
            Some(NetworkTarget::Url(
                "https://grpc.dev.xmtp.network:443".into()
            ))
        );
        assert!(
            "grpc.dev.xmtp.network:443"
                .parse::<NetworkTarget>()
                .is_err()
        );
    }
}
