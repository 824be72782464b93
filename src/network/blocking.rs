//! [`BlockingClient`] and [`BlockingIdentityClient`]: the MessageApi and IdentityApi
//! clients for callers that are not async, as the key
//! flows are (they wait on a person at the device). It owns a tokio runtime and runs
//! each call to completion on it, in the manner of mini-redis's `BlockingClient`.
//!
//! The runtime is multi-threaded, so tasks spawned on it (an in-process node, say) keep
//! running while the calling thread is busy elsewhere. Do not call it from inside an
//! async context: blocking there would stall that runtime.

use std::future::Future;
use std::sync::Arc;

use tokio::runtime::Runtime;

use super::{
    Client, ClientConfig, Envelope, IdentityClient, LoggedUpdate, NetworkError, PublishOutcome,
    Query, QueryPage, UpdatePublished,
};
use crate::identity::Address;
use crate::identity::AuthToken;
use crate::proto::identity::associations::IdentityUpdate;
use crate::wire::Publication;

/// Worker threads of the runtime a [`BlockingClient`] builds for itself: one for the
/// client's I/O, one for whatever else runs there (e.g. an in-process node).
const WORKER_THREADS: usize = 2;

/// A [`Client`] whose calls block the calling thread until they finish.
///
/// Cheap to clone: clones share the runtime and the connection.
#[derive(Clone, Debug)]
pub struct BlockingClient {
    runtime: Arc<Runtime>,
    inner: Client,
}

impl BlockingClient {
    /// Connects to the node at `url` on a runtime of its own.
    pub fn connect(url: &str, config: ClientConfig) -> Result<Self, NetworkError> {
        Self::connect_on(Arc::new(new_runtime()?), url, config)
    }

    /// Connects to the node at `url` on `runtime`, which may be shared with other work
    /// (e.g. the node this client talks to).
    pub fn connect_on(
        runtime: Arc<Runtime>,
        url: &str,
        config: ClientConfig,
    ) -> Result<Self, NetworkError> {
        let inner = runtime.block_on(Client::connect(url, config))?;
        Ok(Self { runtime, inner })
    }

    /// Wraps an async client that was connected on `runtime`.
    pub fn from_async(runtime: Arc<Runtime>, inner: Client) -> Self {
        Self { runtime, inner }
    }

    /// The node, as `scheme://host:port`.
    pub fn url(&self) -> &str {
        self.inner.url()
    }

    /// The async client underneath, for the calls this facade does not wrap (batch
    /// queries, subscriptions); run them on [`BlockingClient::runtime`].
    pub fn as_async(&self) -> &Client {
        &self.inner
    }

    /// The runtime the calls run on.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Runs `future` to completion on the client's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// [`Client::publish_publications`]: the idempotent, resumable publish.
    pub fn publish_publications(
        &self,
        token: &AuthToken,
        publications: &[Publication],
    ) -> Result<Vec<PublishOutcome>, NetworkError> {
        self.block_on(self.inner.publish_publications(token, publications))
    }

    /// [`Client::publish`]: one `Publish` call.
    pub fn publish(&self, token: &AuthToken, envelopes: Vec<Envelope>) -> Result<(), NetworkError> {
        self.block_on(self.inner.publish(token, envelopes))
    }

    /// [`Client::query`]: one page.
    pub fn query(&self, query: &Query) -> Result<QueryPage, NetworkError> {
        self.block_on(self.inner.query(query))
    }

    /// [`Client::newest`]: the newest envelope on `topic` with a message.
    pub fn newest(&self, topic: &str) -> Result<Option<Envelope>, NetworkError> {
        self.block_on(self.inner.newest(topic))
    }

    /// [`Client::pages`]: walks `query` page by page, following cursors.
    pub fn pages(&self, query: Query) -> BlockingPages<'_> {
        BlockingPages {
            runtime: &self.runtime,
            inner: self.inner.pages(query),
        }
    }

    /// [`Client::identity`]: the node's IdentityApi, on the same connection and runtime.
    pub fn identity(&self) -> BlockingIdentityClient {
        BlockingIdentityClient {
            runtime: self.runtime.clone(),
            inner: self.inner.identity(),
        }
    }
}

/// An [`IdentityClient`] whose calls block the calling thread until they finish.
///
/// Cheap to clone: clones share the runtime and the connection.
#[derive(Clone, Debug)]
pub struct BlockingIdentityClient {
    runtime: Arc<Runtime>,
    inner: IdentityClient,
}

impl BlockingIdentityClient {
    /// Connects to the node at `url` on a runtime of its own.
    pub fn connect(url: &str, config: ClientConfig) -> Result<Self, NetworkError> {
        let runtime = Arc::new(new_runtime()?);
        let inner = runtime.block_on(IdentityClient::connect(url, config))?;
        Ok(Self { runtime, inner })
    }

    /// The node, as `scheme://host:port`.
    pub fn url(&self) -> &str {
        self.inner.url()
    }

    /// The async client underneath; run it on [`BlockingIdentityClient::runtime`].
    pub fn as_async(&self) -> &IdentityClient {
        &self.inner
    }

    /// The runtime the calls run on.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// [`IdentityClient::get_inbox_ids`]: the inbox of each address, if any.
    pub fn get_inbox_ids(
        &self,
        addresses: &[Address],
    ) -> Result<Vec<(Address, Option<String>)>, NetworkError> {
        self.runtime.block_on(self.inner.get_inbox_ids(addresses))
    }

    /// [`IdentityClient::get_identity_updates`]: an inbox's log after a sequence id.
    pub fn get_identity_updates(
        &self,
        inbox_id: &str,
        after_sequence_id: u64,
    ) -> Result<Vec<LoggedUpdate>, NetworkError> {
        self.runtime
            .block_on(self.inner.get_identity_updates(inbox_id, after_sequence_id))
    }

    /// [`IdentityClient::publish_identity_update`]: publishes one update, never blindly
    /// twice.
    pub fn publish_identity_update(
        &self,
        update: IdentityUpdate,
    ) -> Result<UpdatePublished, NetworkError> {
        self.runtime
            .block_on(self.inner.publish_identity_update(update))
    }
}

/// [`super::Pages`], one blocking call per page.
#[derive(Debug)]
pub struct BlockingPages<'a> {
    runtime: &'a Runtime,
    inner: super::Pages<'a>,
}

impl BlockingPages<'_> {
    /// The next non-empty page, or `None` after the last.
    pub fn next_page(&mut self) -> Result<Option<Vec<Envelope>>, NetworkError> {
        self.runtime.block_on(self.inner.next_page())
    }
}

/// The runtime a [`BlockingClient`] runs on.
pub fn new_runtime() -> Result<Runtime, NetworkError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("xmtp-ledger-net")
        .enable_all()
        .build()
        .map_err(NetworkError::Runtime)
}
