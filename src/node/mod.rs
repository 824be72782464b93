//! The node: a tonic server for `xmtp.message_api.v1.MessageApi` backed by one SQLite
//! file ([`store`]), for the network that no longer accepts v2 publishes, and on the same
//! port and file the XMTP v3 `IdentityApi` and key-package half of `MlsApi`
//! ([`inbox_store`]; see the last section).
//!
//! It behaves like the last reference node (xmtp-node-go) that accepted publishes:
//!
//! - **Publish** needs `authorization: Bearer <token>`, verified as the reference did
//!   (identity key signed by the wallet, auth data signed by the identity key, EIP-55
//!   wallet match, at most 1 hour old; plus a bound on future dates). A `contact-…` or
//!   `privatestore-…` topic accepts envelopes only from the wallet it names, spelled
//!   exactly (EIP-55): otherwise `PermissionDenied` "publishing to restricted topic".
//!   Other topics are open. Each `(topic, message)` is stored once (row id
//!   `sha256(topic ‖ message)`); `mE-`/`dmE-` topics are relayed but not stored. The
//!   publish is answered, and its envelopes relayed to subscribers, only after the rows
//!   are committed (`synchronous=FULL`). Concurrent publishes share commits (group
//!   commit): one writer thread takes every publish waiting, writes them in one
//!   transaction with one fsync, then answers each with its own outcome; each publish
//!   stays all or nothing. The writer's queue and each transaction are bounded. WAL
//!   checkpoints run on a thread of their own, not inside a publish's commit.
//! - **Query**: at least one topic; `limit` 0 means 100, above 100 is refused; no
//!   direction means newest first; rows sort by (sender timestamp, digest); start/end
//!   times are inclusive, 0 is unbounded; a full page carries the last row's cursor,
//!   a short page `{limit: 0}` and no cursor. **BatchQuery**: at most 50 queries.
//! - **Subscribe / Subscribe2 / SubscribeAll**: envelopes published after the
//!   subscription started; `SubscribeAll` covers `/xmtp/0/…` topics.
//!
//! Limits (see [`Limits`]) answer with `InvalidArgument` (or `OutOfRange` for a
//! request message larger than `max_request_bytes`, from tonic), never a crash; so does
//! a request that does not decode ("malformed request"), and a publish whose sender
//! timestamp is outside the node's window (1 hour before to 5 minutes after its clock).
//! What a client can make the node hold is bounded too: connections per listener,
//! requests per connection, how long a connection may take to speak, idle or stall
//! ([`ConnectionLimits`]), the bytes kept for subscribers
//! ([`NodeConfig::subscriber_buffer_bytes`]) and the bytes of any answer
//! ([`Limits::max_response_bytes`]).
//!
//! With [`NodeConfig::http_listen`] set, the node also serves the reference node's REST
//! gateway (`POST /message/v1/publish`, `query`, `batch-query`, `subscribe`,
//! `subscribe-all`; protojson bodies, NDJSON streams) on its own listener, for HTTP
//! clients such as `@xmtp/xmtp-js`. It hands every request to the same service object
//! as gRPC, so both see the same rules and the same subscriptions: see [`rest`].
//!
//! **XMTP v3** (gRPC only, the same connection bounds): `PublishIdentityUpdate` replays
//! the inbox's stored log with [`crate::v3::AssociationState`], applies the new update,
//! and stores it (mapping the addresses it adds, unmapping those it revokes) in one
//! transaction committed before the answer; an update that breaks a rule is
//! `InvalidArgument` naming the update and the rule, a log already at
//! [`crate::wire::MAX_INBOX_UPDATES`] is `FailedPrecondition` "inbox log is full".
//! `GetIdentityUpdates`, `GetInboxIds`, `UploadKeyPackage` and `FetchKeyPackages` are
//! bounded by the `MAX_*` limits of [`crate::wire`] and [`Limits::max_v3_response_bytes`];
//! key packages are kept as opaque bytes under the installation key read from them.
//! `VerifySmartContractWalletSignatures` and every other MlsApi method (MLS messaging) are
//! `Unimplemented`.

mod blocking;
mod checkpoint;
mod db_file;
mod fanout;
pub(crate) mod grpc_codec;
pub mod inbox_store;
mod key_package;
mod listener;
mod query;
pub mod rest;
mod service;
pub mod store;
mod token_cache;
mod v3_service;
mod writer;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tonic::transport::Server;

pub use crate::signal::shutdown_signal;
pub use blocking::BlockingNode;
pub use listener::ConnectionLimits;
pub use store::{Store, StoreError};

use crate::identity::TokenPolicy;
use crate::proto::identity::api::v1::identity_api_server::IdentityApiServer;
use crate::proto::message_api::v1::message_api_server::MessageApiServer;
use crate::proto::mls::api::v1::mls_api_server::MlsApiServer;
use crate::wire::{
    MAX_BATCH_QUERIES, MAX_ENVELOPES_PER_PUBLISH, MAX_MESSAGE_BYTES, MAX_PAGE_SIZE, MAX_TOPIC_LEN,
};
use listener::{Admission, ListenerKind, TrackRequestsLayer};
use service::MessageApiService;
use v3_service::{IdentityApiService, MlsApiService};

/// What the node accepts. Each limit, when exceeded, is an `InvalidArgument` naming it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest content topic (300, as the reference node).
    pub max_topic_len: usize,
    /// Largest envelope message (1048214, as the reference node).
    pub max_message_bytes: usize,
    /// Most envelopes in one publish (100; the reference node had no limit).
    pub max_envelopes_per_publish: usize,
    /// Most topics in one query (100).
    pub max_topics_per_query: usize,
    /// Largest page (100, as the reference node).
    pub max_page_size: u32,
    /// Most queries in one batch (50, as the reference node).
    pub max_batch_queries: usize,
    /// Most topics in one subscription (1000: clients subscribe to every conversation).
    pub max_topics_per_subscription: usize,
    /// Largest request message tonic will decode (8 MiB: several max-size envelopes).
    pub max_request_bytes: usize,
    /// Byte budget of one query response, or of a whole batch (4 MiB): a page is cut
    /// short (with a cursor, so clients continue) rather than exceed it. Only the first
    /// row of a query, or of a batch's first query, may exceed it alone; later queries
    /// of a batch may come back empty, with a cursor.
    pub max_response_bytes: usize,
    /// Largest HTTP request body the REST gateway reads (16 MiB: JSON carries bytes as
    /// base64, a third larger). The decoded request must also fit `max_request_bytes`.
    pub max_http_body_bytes: usize,
    /// Byte budget of one v3 answer (`GetIdentityUpdates`, `FetchKeyPackages`; 20 MiB):
    /// a call whose answer would exceed it is refused `ResourceExhausted` (ask for fewer
    /// at a time) rather than cut short, since those answers have no cursor. A whole
    /// inbox log (256 updates of at most 64 KiB) fits alone, and libxmtp reads answers of
    /// up to 25 MiB.
    pub max_v3_response_bytes: usize,
    /// How far before the node's clock an envelope's sender timestamp may be (1 hour,
    /// an auth token's lifetime): older is refused, so nobody back-dates envelopes into
    /// other people's history.
    pub sender_time_past: Duration,
    /// How far after the node's clock it may be (5 minutes,
    /// [`crate::wire::MAX_CLOCK_SKEW_NS`]): later is refused, so nobody pins a topic's
    /// newest envelope in the future.
    pub sender_time_future: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_topic_len: MAX_TOPIC_LEN,
            max_message_bytes: MAX_MESSAGE_BYTES,
            max_envelopes_per_publish: MAX_ENVELOPES_PER_PUBLISH,
            max_topics_per_query: 100,
            max_page_size: MAX_PAGE_SIZE,
            max_batch_queries: MAX_BATCH_QUERIES,
            max_topics_per_subscription: 1000,
            max_request_bytes: 8 * 1024 * 1024,
            max_response_bytes: 4 * 1024 * 1024,
            max_http_body_bytes: 16 * 1024 * 1024,
            max_v3_response_bytes: 20 * 1024 * 1024,
            sender_time_past: Duration::from_secs(60 * 60),
            sender_time_future: Duration::from_nanos(crate::wire::MAX_CLOCK_SKEW_NS),
        }
    }
}

/// How to run a node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The SQLite file (created with its parent directories if missing).
    pub db_path: PathBuf,
    /// Request limits.
    pub limits: Limits,
    /// Connection limits of each listener.
    pub connections: ConnectionLimits,
    /// Auth token freshness rules.
    pub token_policy: TokenPolicy,
    /// Most envelopes kept for subscribers to read (1024); one that falls further
    /// behind gets an `Aborted` error (and can resubscribe) rather than silently missing
    /// envelopes.
    pub subscriber_buffer: usize,
    /// Most bytes of envelopes kept for subscribers to read (64 MiB), whichever of the
    /// two caps is reached first; only the newest envelope may exceed it on its own.
    /// Shared by all subscribers: one that stops reading holds no more than this.
    pub subscriber_buffer_bytes: usize,
    /// After a shutdown request, how long in-flight calls may take before connections
    /// are closed anyway.
    pub shutdown_grace: Duration,
    /// Where to serve the REST gateway (HTTP/1.1, JSON), if anywhere; port 0 for an
    /// ephemeral port. Off by default. The reference node used 5555 (gRPC on 5556).
    pub http_listen: Option<SocketAddr>,
}

impl NodeConfig {
    /// Defaults for the database at `db_path`.
    pub fn new(db_path: impl Into<PathBuf>) -> Self {
        Self {
            db_path: db_path.into(),
            limits: Limits::default(),
            connections: ConnectionLimits::default(),
            token_policy: TokenPolicy::default(),
            subscriber_buffer: 1024,
            subscriber_buffer_bytes: 64 * 1024 * 1024,
            shutdown_grace: Duration::from_secs(5),
            http_listen: None,
        }
    }
}

/// Why the node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("node server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    /// The node's task panicked or was cancelled.
    #[error("node task failed: {0}")]
    Task(String),
}

/// Serves gRPC on `listener` (and the REST gateway on [`NodeConfig::http_listen`], if
/// set) until `shutdown` completes, then stops gracefully: streams end, in-flight calls
/// get [`NodeConfig::shutdown_grace`] to finish.
pub async fn serve_with_shutdown(
    listener: TcpListener,
    config: NodeConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), NodeError> {
    let store = open_store(config.db_path.clone()).await?;
    let http = bind_http(config.http_listen).await?;
    run(listener, http, store, config, shutdown).await
}

/// Binds `listen` (and [`NodeConfig::http_listen`]) and serves until SIGINT or SIGTERM
/// (see [`shutdown_signal`]).
pub async fn serve(listen: SocketAddr, config: NodeConfig) -> Result<(), NodeError> {
    let store = open_store(config.db_path.clone()).await?;
    let listener = bind(listen).await?;
    let http = bind_http(config.http_listen).await?;
    tracing::info!(addr = %listener.local_addr().unwrap_or(listen), db = %config.db_path.display(), "node listening");
    run(listener, http, store, config, shutdown_signal()).await
}

/// Opens the database, binds `listen` (port 0 for an ephemeral port) and
/// [`NodeConfig::http_listen`] if set, and serves in a background task. Errors opening
/// or binding are returned here.
pub async fn spawn(listen: SocketAddr, config: NodeConfig) -> Result<RunningNode, NodeError> {
    let store = open_store(config.db_path.clone()).await?;
    let listener = bind(listen).await?;
    let local_addr = local_addr_of(&listener, listen)?;
    let http = bind_http(config.http_listen).await?;
    let http_addr = match (&http, config.http_listen) {
        (Some(listener), Some(requested)) => Some(local_addr_of(listener, requested)?),
        _ => None,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let db_path = config.db_path.clone();
    let task = tokio::spawn(run(listener, http, store, config, async move {
        // A dropped sender (RunningNode dropped) also means stop.
        let _ = stopped.await;
    }));
    Ok(RunningNode {
        local_addr,
        http_addr,
        db_path,
        stop: Some(stop),
        task: Some(task),
    })
}

fn local_addr_of(listener: &TcpListener, requested: SocketAddr) -> Result<SocketAddr, NodeError> {
    listener.local_addr().map_err(|source| NodeError::Bind {
        addr: requested,
        source,
    })
}

/// A node serving in a background task (from [`spawn`]).
///
/// Dropping it asks the node to stop without waiting; [`RunningNode::shutdown`] waits.
#[derive(Debug)]
pub struct RunningNode {
    local_addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    db_path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), NodeError>>>,
}

impl RunningNode {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://<local_addr>`, the URL a MessageApi client connects to.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The address the REST gateway listens on, if it was enabled.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// `http://<http_addr>`, the REST gateway's base URL (what xmtp-js calls `apiUrl`).
    pub fn http_url(&self) -> Option<String> {
        self.http_addr.map(|addr| format!("http://{addr}"))
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// Stops the node gracefully and waits until it has.
    pub async fn shutdown(mut self) -> Result<(), NodeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(|e| NodeError::Task(e.to_string()))?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn open_store(path: PathBuf) -> Result<Arc<Store>, NodeError> {
    tokio::task::spawn_blocking(move || Store::open(&path))
        .await
        .map_err(|e| NodeError::Task(e.to_string()))?
        .map(Arc::new)
        .map_err(NodeError::Store)
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, NodeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| NodeError::Bind { addr, source })
}

async fn bind_http(addr: Option<SocketAddr>) -> Result<Option<TcpListener>, NodeError> {
    match addr {
        Some(addr) => Ok(Some(bind(addr).await?)),
        None => Ok(None),
    }
}

async fn run(
    listener: TcpListener,
    http: Option<TcpListener>,
    store: Arc<Store>,
    config: NodeConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), NodeError> {
    let (stopping_tx, stopping) = watch::channel(false);
    let (writer, writer_task) = writer::start(
        store.clone(),
        writer::WriterBounds::default(),
        service::is_stored,
    )
    .map_err(|e| NodeError::Task(format!("cannot start the storage writer: {e}")))?;
    let checkpointer = checkpoint::start(store.clone()).map_err(|e| match e {
        checkpoint::CheckpointError::Store(e) => NodeError::Store(e),
        checkpoint::CheckpointError::Thread(e) => NodeError::Task(e.to_string()),
    })?;
    // One service for both front-ends: same rules, same subscribers.
    let service = Arc::new(MessageApiService::new(
        store.clone(),
        writer,
        config.limits,
        config.token_policy,
        config.subscriber_buffer,
        config.subscriber_buffer_bytes,
        stopping.clone(),
    ));
    let connections = config
        .connections
        .fit_to_fd_limit(if http.is_some() { 2 } else { 1 });
    let incoming = futures_util::stream::unfold(
        Admission::new(listener, ListenerKind::Grpc, connections),
        |mut admission| async move {
            let stream = admission.accept().await;
            Some((Ok::<_, std::io::Error>(stream), admission))
        },
    );
    let mut server_stopping = stopping.clone();
    let grpc = Server::builder()
        .timeout(connections.request_timeout)
        .max_concurrent_streams(connections.max_requests_per_connection)
        .http2_max_header_list_size(u32::try_from(listener::MAX_HEADER_BYTES).unwrap_or(u32::MAX))
        .http2_keepalive_interval(Some(connections.keepalive_interval))
        .http2_keepalive_timeout(Some(connections.keepalive_timeout))
        .layer(TrackRequestsLayer)
        .add_service(
            MessageApiServer::from_arc(service.clone())
                .max_decoding_message_size(config.limits.max_request_bytes),
        )
        // XMTP v3 on the same port, store and connection bounds.
        .add_service(
            IdentityApiServer::new(IdentityApiService::new(store.clone(), config.limits))
                .max_decoding_message_size(config.limits.max_request_bytes),
        )
        .add_service(
            MlsApiServer::new(MlsApiService::new(store.clone(), config.limits))
                .max_decoding_message_size(config.limits.max_request_bytes),
        )
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = server_stopping.wait_for(|stop| *stop).await;
        });
    let limits = config.limits;
    let rest = async move {
        match http {
            Some(listener) => {
                let admission = Admission::new(listener, ListenerKind::Rest, connections);
                rest::serve(admission, service, limits, connections, stopping).await;
                Ok(())
            }
            None => Ok(()),
        }
    };
    let serve = async move {
        tokio::try_join!(async { grpc.await.map_err(NodeError::Serve) }, rest).map(|_| ())
    };
    let result = serve_until(serve, shutdown, stopping_tx, config.shutdown_grace).await;
    // The server takes no more calls: commit and answer the publishes still queued.
    writer_task.stop().await;
    if tokio::task::spawn_blocking(move || checkpointer.stop())
        .await
        .is_err()
    {
        tracing::error!("stopping the WAL checkpointer failed");
    }
    result
}

/// Runs `serve` until it ends or `shutdown` completes; then tells the server to stop
/// and gives its calls `grace` to finish.
async fn serve_until(
    serve: impl Future<Output = Result<(), NodeError>>,
    shutdown: impl Future<Output = ()>,
    stopping_tx: watch::Sender<bool>,
    grace: Duration,
) -> Result<(), NodeError> {
    tokio::pin!(serve);
    tokio::select! {
        result = &mut serve => return result,
        () = shutdown => {}
    }
    tracing::info!("node shutting down");
    // Ends subscription streams and tells the server to stop accepting and drain.
    let _ = stopping_tx.send(true);
    match tokio::time::timeout(grace, serve).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                "calls still running after the shutdown grace period; closing connections"
            );
            Ok(())
        }
    }
}
