//! Which node to talk to, and connecting to it: a URL, `local` (a node on this machine), or
//! `production` / `dev`, the public XMTP networks (v3 only since June 2025, see
//! [`PublicNetwork`]).
//!
//! For `local`, a node already listening on [`DEFAULT_LOCAL_NODE`] (e.g. `xmtp-ledger
//! node` in another terminal) is used if it answers as a MessageApi node; otherwise (with
//! the `node` feature) a node is started in this process on the default SQLite file, on
//! an ephemeral loopback port, and is still reached through gRPC, so the code path is
//! the same as for a remote node. This is the one module that names both the client
//! ([`crate::network`]) and the server (`crate::node`).

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "node")]
use tokio::runtime::Runtime;

use crate::network::{
    BlockingClient, Client, ClientConfig, NetworkError, Query, RetryPolicy, new_runtime,
};
#[cfg(feature = "node")]
use crate::node::{self, NodeConfig, NodeError, RunningNode};

/// Where `local` looks for a running node: the reference node's gRPC port on IPv4
/// loopback.
pub const DEFAULT_LOCAL_NODE: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5556));

/// Environment variable overriding the in-process node's SQLite file.
pub const NODE_DB_ENV: &str = "XMTP_LEDGER_NODE_DB";

/// A topic nobody publishes to, queried to check that a listener is a MessageApi node.
const PROBE_TOPIC: &str = "/xmtp/0/xmtp-ledger-probe/proto";

/// How long the probe of the local address may take: loopback answers in
/// microseconds, so anything slow is not a healthy node.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The public XMTP networks, by the names libxmtp gives them.
///
/// Their gRPC endpoints are libxmtp's (`crates/xmtp_configuration/src/common/api.rs`,
/// `GrpcUrlsProduction::NODE` and `GrpcUrlsDev::NODE` for native clients), TLS on port 443.
/// Since June 2025 they serve XMTP v3 only: they refuse every v2 publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PublicNetwork {
    /// The production network: `https://grpc.production.xmtp.network:443`.
    Production,
    /// The development network (test data, wiped from time to time):
    /// `https://grpc.dev.xmtp.network:443`.
    Dev,
}

impl PublicNetwork {
    /// Both networks.
    pub const ALL: [Self; 2] = [Self::Production, Self::Dev];

    /// The name `--network` takes: `production` or `dev`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Dev => "dev",
        }
    }

    /// The gRPC endpoint.
    pub const fn url(self) -> &'static str {
        match self {
            Self::Production => "https://grpc.production.xmtp.network:443",
            Self::Dev => "https://grpc.dev.xmtp.network:443",
        }
    }

    /// The endpoint's host name.
    pub const fn host(self) -> &'static str {
        match self {
            Self::Production => "grpc.production.xmtp.network",
            Self::Dev => "grpc.dev.xmtp.network",
        }
    }
}

impl std::fmt::Display for PublicNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What can go wrong finding and reaching the node.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// Talking to the node failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// Something listens on the local node address but does not speak MessageApi.
    #[error(
        "something listens on {addr} but does not answer as an XMTP MessageApi node ({detail})"
    )]
    NotANode {
        /// The local address probed.
        addr: String,
        /// What the probe got.
        detail: String,
    },
    /// No place for the local node's database could be found.
    #[error(
        "cannot find a data directory for the local node database (no {NODE_DB_ENV}, XDG_DATA_HOME or HOME)"
    )]
    NoDataDir,
    /// A v2 command that publishes was pointed at a public XMTP network, which has refused
    /// every v2 publish since June 2025. Found before anything is asked of the device or
    /// sent to the network.
    #[error(
        "the public XMTP {network} network ({url}) stopped accepting XMTP v2 publishes in June 2025, so this v2 command cannot work there: v2 identities live on a node you run (--network local, or its URL)",
        url = .network.url()
    )]
    V2Retired {
        /// The network named.
        network: PublicNetwork,
    },
    /// The in-process node could not be started.
    #[cfg(feature = "node")]
    #[error("cannot start the local node: {0}")]
    LocalNode(#[source] NodeError),
    /// No node answers on the local address, and this build cannot start one.
    #[cfg(not(feature = "node"))]
    #[error("no node answers on {addr}, and this build has no in-process node (feature `node`)")]
    NoLocalNode {
        /// The local address probed.
        addr: SocketAddr,
    },
}

/// Which node: `local`, a public network, or a URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Endpoint {
    /// A node on this machine (running, or started in-process).
    #[default]
    Local,
    /// A public XMTP network (`production` or `dev`).
    Public(PublicNetwork),
    /// The node at this URL.
    Url(String),
}

impl FromStr for Endpoint {
    type Err = NetworkError;

    /// `local`, `production`, `dev` (any case), or an `http(s)://` URL (syntax checked
    /// here, policy at connect time).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("local") {
            return Ok(Self::Local);
        }
        if let Some(network) = PublicNetwork::ALL
            .into_iter()
            .find(|n| s.eq_ignore_ascii_case(n.name()))
        {
            return Ok(Self::Public(network));
        }
        crate::network::parse_node_url(s, true)?;
        Ok(Self::Url(s.to_owned()))
    }
}

impl Endpoint {
    /// The URL to connect to, when it is fixed (`None` for `local`, which is found at
    /// connect time).
    pub fn url(&self) -> Option<&str> {
        match self {
            Self::Local => None,
            Self::Public(network) => Some(network.url()),
            Self::Url(url) => Some(url),
        }
    }

    /// The public XMTP network this names: by its name, or by a URL on its host.
    pub fn public_network(&self) -> Option<PublicNetwork> {
        match self {
            Self::Local => None,
            Self::Public(network) => Some(*network),
            Self::Url(url) => {
                let host = crate::network::parse_node_url(url, true).ok()?.host;
                PublicNetwork::ALL
                    .into_iter()
                    .find(|n| host.eq_ignore_ascii_case(n.host()))
            }
        }
    }

    /// Refuses a public XMTP network for a v2 command that publishes
    /// ([`EndpointError::V2Retired`]): they have refused every v2 publish since June 2025.
    /// Reading v2 envelopes is left to the node to answer or refuse.
    pub fn check_v2_publish(&self) -> Result<(), EndpointError> {
        match self.public_network() {
            Some(network) => Err(EndpointError::V2Retired { network }),
            None => Ok(()),
        }
    }
}

/// A connected blocking client, plus the in-process node behind it if one was started.
///
/// Keep it alive as long as the client is used: dropping it asks an in-process node to
/// shut down (acknowledged envelopes are already on disk); [`Connection::shutdown`] also
/// waits for it to finish.
#[derive(Debug)]
pub struct Connection {
    // Dropped first, so an in-process node is asked to stop before the last handle to
    // the runtime it runs on goes away with the client.
    #[cfg(feature = "node")]
    node: Option<RunningNode>,
    client: BlockingClient,
}

impl Connection {
    /// The client.
    pub fn client(&self) -> &BlockingClient {
        &self.client
    }

    /// The in-process node, if this process started one.
    #[cfg(feature = "node")]
    pub fn in_process_node(&self) -> Option<&RunningNode> {
        self.node.as_ref()
    }

    /// The node as a person reaches it again: its URL, or for a node this process
    /// started, `the local node (database PATH)`. An in-process node's port lives only as
    /// long as this process, so it is never given as the node's name.
    pub fn name(&self) -> String {
        #[cfg(feature = "node")]
        if let Some(node) = &self.node {
            return format!("the local node (database {})", node.db_path().display());
        }
        self.client.url().to_owned()
    }

    /// One line for the user: which node is in use.
    pub fn describe(&self) -> String {
        #[cfg(feature = "node")]
        if let Some(node) = &self.node {
            return format!(
                "in-process node on {} (listening on {})",
                node.db_path().display(),
                self.client.url()
            );
        }
        format!("node {}", self.client.url())
    }

    /// Shuts down an in-process node and waits for it.
    pub fn shutdown(self) -> Result<(), EndpointError> {
        #[cfg(feature = "node")]
        if let Some(node) = self.node {
            return self
                .client
                .block_on(node.shutdown())
                .map_err(EndpointError::LocalNode);
        }
        Ok(())
    }

    fn remote(client: BlockingClient) -> Self {
        Self {
            client,
            #[cfg(feature = "node")]
            node: None,
        }
    }
}

/// Connects to `endpoint`: a URL or a public network directly; `local` through [`connect_local`] on
/// [`DEFAULT_LOCAL_NODE`] and [`default_node_db_path`].
pub fn connect(endpoint: &Endpoint, config: ClientConfig) -> Result<Connection, EndpointError> {
    match endpoint.url() {
        Some(url) => Ok(Connection::remote(BlockingClient::connect(url, config)?)),
        None => local(DEFAULT_LOCAL_NODE, default_node_db_path, config),
    }
}

/// `local` with explicit parts: use the node answering on `probe` if any, else start one
/// in-process on `db_path` (parent directories are created) on an ephemeral loopback
/// port. Fails with [`EndpointError::NotANode`] if something else listens on `probe`.
pub fn connect_local(
    probe: SocketAddr,
    db_path: PathBuf,
    config: ClientConfig,
) -> Result<Connection, EndpointError> {
    local(probe, || Ok(db_path), config)
}

/// The node answering on `probe`, else one started in this process on the database
/// `db_path` names (asked only then: finding a data directory can fail).
fn local(
    probe: SocketAddr,
    db_path: impl FnOnce() -> Result<PathBuf, EndpointError>,
    config: ClientConfig,
) -> Result<Connection, EndpointError> {
    let runtime = Arc::new(new_runtime()?);
    if let Some(client) = runtime.block_on(probe_local(probe, config.clone()))? {
        return Ok(Connection::remote(BlockingClient::from_async(
            runtime, client,
        )));
    }
    #[cfg(feature = "node")]
    {
        start_in_process(runtime, db_path()?, config)
    }
    #[cfg(not(feature = "node"))]
    {
        let _ = db_path;
        Err(EndpointError::NoLocalNode { addr: probe })
    }
}

#[cfg(feature = "node")]
fn start_in_process(
    runtime: Arc<Runtime>,
    db_path: PathBuf,
    config: ClientConfig,
) -> Result<Connection, EndpointError> {
    let listen = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));
    let node = runtime
        .block_on(node::spawn(listen, NodeConfig::new(db_path)))
        .map_err(EndpointError::LocalNode)?;
    tracing::info!(db = %node.db_path().display(), addr = %node.local_addr(), "started in-process node");
    let client = BlockingClient::connect_on(runtime, &node.url(), config)?;
    Ok(Connection {
        client,
        node: Some(node),
    })
}

/// `Some(client)` if a MessageApi node answers on `addr`, `None` if nothing listens.
async fn probe_local(
    addr: SocketAddr,
    config: ClientConfig,
) -> Result<Option<Client>, EndpointError> {
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
    let not_a_node = |e: NetworkError| EndpointError::NotANode {
        addr: addr.to_string(),
        detail: e.to_string(),
    };
    let probe_config = ClientConfig {
        retry: RetryPolicy::none(),
        timeout: config.timeout.min(PROBE_TIMEOUT),
        ..config.clone()
    };
    let probe = Client::connect(&url, probe_config)
        .await
        .map_err(not_a_node)?;
    probe
        .query(&Query::topic(PROBE_TOPIC).limit(1))
        .await
        .map_err(not_a_node)?;
    Ok(Some(Client::connect(&url, config).await?))
}

/// The in-process node's SQLite file: `$XMTP_LEDGER_NODE_DB`, else
/// `$XDG_DATA_HOME/xmtp-ledger/node.sqlite3`, else `~/.local/share/xmtp-ledger/node.sqlite3`.
pub fn default_node_db_path() -> Result<PathBuf, EndpointError> {
    node_db_path_from(
        std::env::var_os(NODE_DB_ENV),
        std::env::var_os("XDG_DATA_HOME"),
        std::env::var_os("HOME"),
    )
    .ok_or(EndpointError::NoDataDir)
}

/// [`default_node_db_path`] from explicit variable values (empty counts as unset; a
/// relative `XDG_DATA_HOME` is ignored, as the XDG spec says).
pub fn node_db_path_from(
    node_db: Option<OsString>,
    xdg_data_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    if let Some(path) = non_empty(node_db) {
        return Some(path);
    }
    Some(data_dir_from(xdg_data_home, home)?.join("node.sqlite3"))
}

/// This tool's directory under the user's data home: `$XDG_DATA_HOME/xmtp-ledger`, else
/// `~/.local/share/xmtp-ledger`; `None` when neither variable is set.
pub fn default_data_dir() -> Option<PathBuf> {
    data_dir_from(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
}

/// [`default_data_dir`] from explicit variable values (empty counts as unset; a relative
/// `XDG_DATA_HOME` is ignored, as the XDG spec says).
fn data_dir_from(xdg_data_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let data_home = non_empty(xdg_data_home)
        .filter(|p| p.is_absolute())
        .or_else(|| non_empty(home).map(|h| h.join(".local").join("share")))?;
    Some(data_home.join("xmtp-ledger"))
}

/// A variable's value as a path; an empty value counts as unset.
fn non_empty(value: Option<OsString>) -> Option<PathBuf> {
    value.filter(|v| !v.is_empty()).map(PathBuf::from)
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
        assert_eq!("local".parse::<Endpoint>().ok(), Some(Endpoint::Local));
        assert_eq!("LOCAL".parse::<Endpoint>().ok(), Some(Endpoint::Local));
        assert_eq!(
            "https://grpc.dev.xmtp.network:443".parse::<Endpoint>().ok(),
            Some(Endpoint::Url("https://grpc.dev.xmtp.network:443".into()))
        );
        assert!("grpc.dev.xmtp.network:443".parse::<Endpoint>().is_err());
    }

    #[test]
    fn public_network_names_resolve_to_libxmtp_endpoints() {
        // libxmtp node-bindings-1.10.0, crates/xmtp_configuration/src/common/api.rs:
        // GrpcUrlsProduction::NODE and GrpcUrlsDev::NODE (native).
        let production = "production".parse::<Endpoint>().expect("production");
        assert_eq!(production, Endpoint::Public(PublicNetwork::Production));
        assert_eq!(
            production.url(),
            Some("https://grpc.production.xmtp.network:443")
        );
        let dev = "DEV".parse::<Endpoint>().expect("dev");
        assert_eq!(dev.url(), Some("https://grpc.dev.xmtp.network:443"));
        assert_eq!(Endpoint::Local.url(), None);
        for network in PublicNetwork::ALL {
            // TLS, and the host the v2 guard recognises.
            let url = crate::network::parse_node_url(network.url(), false).expect("url");
            assert!(url.tls);
            assert_eq!(url.host, network.host());
            assert_eq!(
                network.name().parse::<Endpoint>().ok(),
                Some(Endpoint::Public(network))
            );
        }
    }

    #[test]
    fn v2_publishes_to_a_public_network_are_refused_by_name_or_url() {
        for target in [
            "production",
            "dev",
            "https://grpc.production.xmtp.network:443",
            "https://GRPC.DEV.XMTP.NETWORK",
        ] {
            let endpoint: Endpoint = target.parse().expect(target);
            let err = endpoint.check_v2_publish().expect_err(target);
            assert!(
                err.to_string()
                    .contains("stopped accepting XMTP v2 publishes in June 2025"),
                "{target}: {err}"
            );
        }
        for target in ["local", "http://127.0.0.1:5556", "https://node.example.org"] {
            let endpoint: Endpoint = target.parse().expect(target);
            assert!(endpoint.check_v2_publish().is_ok(), "{target}");
            assert_eq!(endpoint.public_network(), None, "{target}");
        }
    }
}
