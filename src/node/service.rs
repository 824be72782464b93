//! The `MessageApi` service: validation, auth and topic ownership in front of the
//! store, and live subscriptions fed by a [`Fanout`] bounded in slots and bytes.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;
use tokio::sync::watch;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Request, Response, Status, Streaming};

use super::Limits;
use super::fanout::{Fanout, Receiver, RecvError};
use super::query::{check_topic, plan, response};
use super::store::{Store, StoreError};
use super::token_cache::TokenCache;
use super::writer::{WriteError, Writer};
use crate::identity::auth::{TokenPolicy, VerifiedToken};
use crate::identity::topic::restricted_topic_owner;
use crate::proto::message_api::v1::message_api_server::MessageApi;
use crate::proto::message_api::v1::{
    BatchQueryRequest, BatchQueryResponse, Envelope, PublishRequest, PublishResponse, QueryRequest,
    QueryResponse, SubscribeAllRequest, SubscribeRequest,
};
use crate::wire::now_ns;

/// Envelopes streamed to a subscriber.
pub(crate) type EnvelopeStream =
    Pin<Box<dyn Stream<Item = Result<Envelope, Status>> + Send + 'static>>;

/// Topics of the reference node's ephemeral categories (`mE-`, `dmE-`): relayed to
/// subscribers, never stored.
fn is_ephemeral(topic: &str) -> bool {
    topic.starts_with("/xmtp/0/mE-") || topic.starts_with("/xmtp/0/dmE-")
}

/// Whether a published envelope is stored (the writer's filter): all but ephemeral ones.
pub(super) fn is_stored(envelope: &Envelope) -> bool {
    !is_ephemeral(&envelope.content_topic)
}

/// Longest `authorization` value read (a real token's header is about 400 bytes). Below
/// the 16 KiB of headers an HTTP/2 server accepts by default, so gRPC callers get this
/// refusal rather than a bare HTTP 431.
const MAX_AUTH_HEADER_BYTES: usize = 8 * 1024;

/// What `SubscribeAll` delivers: every XMTP topic.
const ALL_XMTP_PREFIX: &str = "/xmtp/0/";

pub(crate) struct MessageApiService {
    store: Arc<Store>,
    /// The group commit every publish goes through.
    writer: Writer,
    limits: Limits,
    /// Tokens already verified (the policy is the cache's).
    tokens: TokenCache,
    events: Fanout,
    stopping: watch::Receiver<bool>,
}

impl MessageApiService {
    pub(crate) fn new(
        store: Arc<Store>,
        writer: Writer,
        limits: Limits,
        token_policy: TokenPolicy,
        subscriber_buffer: usize,
        subscriber_buffer_bytes: usize,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        Self {
            store,
            writer,
            limits,
            tokens: TokenCache::new(token_policy),
            events: Fanout::new(subscriber_buffer, subscriber_buffer_bytes),
            stopping,
        }
    }

    /// The reference node's rule: publishing needs a valid `authorization: Bearer`
    /// token (wallet-signed identity key, auth data signed by it, EIP-55 wallet match,
    /// fresh).
    ///
    /// The header is read the same way whichever transport carried it, so gRPC and the
    /// REST gateway (which forwards `Authorization` as this metadata) refuse a bad one
    /// with the same message: surrounding spaces and tabs are dropped (HTTP/1.1 parsers
    /// strip them before we see the value, HTTP/2 does not), more than one value is
    /// refused rather than one of them picked, and an over-long value is refused before
    /// it is decoded.
    fn authenticate(&self, metadata: &MetadataMap) -> Result<VerifiedToken, Status> {
        let mut values = metadata.get_all("authorization").iter();
        let value = values.next().ok_or_else(|| {
            Status::unauthenticated("publish requires an auth token: authorization: Bearer <token>")
        })?;
        if values.next().is_some() {
            return Err(Status::unauthenticated(
                "more than one authorization header; send exactly one: authorization: Bearer <token>",
            ));
        }
        let len = value.as_encoded_bytes().len();
        if len > MAX_AUTH_HEADER_BYTES {
            return Err(Status::unauthenticated(format!(
                "authorization header too long: {len} bytes (limit {MAX_AUTH_HEADER_BYTES})"
            )));
        }
        let header = value
            .to_str()
            .map_err(|_| Status::unauthenticated("authorization header is not text"))?;
        self.tokens
            .verify(header.trim_matches([' ', '\t']), now_ns())
            .map_err(|e| Status::unauthenticated(format!("invalid auth token: {e}")))
    }

    /// Limits and topic ownership, checked for every envelope before any is stored, so
    /// a publish is all or nothing.
    fn check_publish(&self, envelopes: &[Envelope], token: &VerifiedToken) -> Result<(), Status> {
        let limits = &self.limits;
        let window = SenderWindow::new(now_ns(), limits);
        if envelopes.len() > limits.max_envelopes_per_publish {
            return Err(Status::invalid_argument(format!(
                "too many envelopes in one publish: {} (limit {})",
                envelopes.len(),
                limits.max_envelopes_per_publish
            )));
        }
        // The token's wallet in EIP-55 spelling (a Keccak hash): only needed, once, if
        // the publish holds a restricted topic, which most publishes do not.
        let mut wallet = None;
        for (i, envelope) in envelopes.iter().enumerate() {
            let topic = &envelope.content_topic;
            if topic.is_empty() {
                return Err(Status::invalid_argument(format!(
                    "envelope {i}: content topic is empty"
                )));
            }
            if topic.len() > limits.max_topic_len {
                return Err(Status::invalid_argument(format!(
                    "envelope {i}: topic length too big: {} bytes (limit {})",
                    topic.len(),
                    limits.max_topic_len
                )));
            }
            if envelope.message.len() > limits.max_message_bytes {
                return Err(Status::invalid_argument(format!(
                    "envelope {i}: message too big: {} bytes (limit {})",
                    envelope.message.len(),
                    limits.max_message_bytes
                )));
            }
            window.check(i, envelope.timestamp_ns)?;
            // Contact and private-store topics name their owner; only that wallet, in
            // exactly that (EIP-55) spelling, may publish there.
            if let Some(owner) = restricted_topic_owner(topic)
                && owner
                    != wallet
                        .get_or_insert_with(|| token.wallet.to_string())
                        .as_str()
            {
                let wallet = &token.wallet;
                return Err(Status::permission_denied(format!(
                    "publishing to restricted topic {topic}: it belongs to {owner}, the auth token is for {wallet}"
                )));
            }
        }
        Ok(())
    }

    /// Runs blocking store work off the async runtime.
    async fn blocking<T, F>(&self, work: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        on_store(&self.store, work)
            .await?
            .map_err(|e| storage_failed(&e))
    }

    fn check_subscription_topics(&self, topics: &[String]) -> Result<(), Status> {
        if topics.len() > self.limits.max_topics_per_subscription {
            return Err(Status::invalid_argument(format!(
                "too many content topics: {} (limit {})",
                topics.len(),
                self.limits.max_topics_per_subscription
            )));
        }
        for (i, topic) in topics.iter().enumerate() {
            check_topic(i, topic, &self.limits)?;
        }
        Ok(())
    }

    /// A subscriber stream. The fan-out receiver is created here, before the handler
    /// returns, so everything published after the client sees the response headers is
    /// delivered.
    fn stream(
        &self,
        filter: Filter,
        updates: Option<Streaming<SubscribeRequest>>,
    ) -> Response<EnvelopeStream> {
        let state = Subscriber {
            events: self.events.subscribe(),
            stopping: self.stopping.clone(),
            filter,
            updates,
            limits: self.limits,
            done: false,
        };
        let stream = futures_util::stream::unfold(state, |mut state| async move {
            let item = state.next_item().await?;
            Some((item, state))
        });
        let mut response = Response::new(Box::pin(stream) as EnvelopeStream);
        // The reference node sends this header at once: some tonic clients wait for
        // headers before returning the stream.
        response
            .metadata_mut()
            .insert("subscribed", MetadataValue::from_static("true"));
        response
    }
}

/// Runs blocking store work off the async runtime (every service of the node does):
/// the work's own result, or `Internal` when the task itself failed.
pub(super) async fn on_store<T, F>(store: &Arc<Store>, work: F) -> Result<T, Status>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> T + Send + 'static,
{
    let store = store.clone();
    tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "storage task failed");
            Status::internal("storage task failed")
        })
}

/// The status of a failed storage operation: the node's fault, logged, `Internal`.
pub(super) fn storage_failed(e: &StoreError) -> Status {
    tracing::error!(error = %e, "storage failed");
    Status::internal(format!("storage failed: {e}"))
}

/// The status of a publish the writer did not store.
fn write_failed(e: &WriteError) -> Status {
    match e {
        WriteError::Store(e) => storage_failed(e),
        WriteError::Closed => Status::unavailable(format!("{e}")),
        WriteError::Stopped => {
            tracing::error!(error = %e, "publish not answered by the writer");
            Status::internal(format!(
                "storage failed: {e}; the publish is not acknowledged"
            ))
        }
    }
}

/// The sender timestamps a publish may carry: within [`Limits::sender_time_past`]
/// before and [`Limits::sender_time_future`] after the node's clock, both inclusive.
struct SenderWindow {
    now_ns: u64,
    earliest_ns: u64,
    latest_ns: u64,
    past: std::time::Duration,
    future: std::time::Duration,
}

impl SenderWindow {
    fn new(now_ns: u64, limits: &Limits) -> Self {
        let nanos = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Self {
            now_ns,
            earliest_ns: now_ns.saturating_sub(nanos(limits.sender_time_past)),
            latest_ns: now_ns.saturating_add(nanos(limits.sender_time_future)),
            past: limits.sender_time_past,
            future: limits.sender_time_future,
        }
    }

    fn check(&self, index: usize, timestamp_ns: u64) -> Result<(), Status> {
        if (self.earliest_ns..=self.latest_ns).contains(&timestamp_ns) {
            return Ok(());
        }
        Err(Status::invalid_argument(format!(
            "envelope {index}: sender timestamp {timestamp_ns} ns is outside the window the node accepts: \
             from {:?} before to {:?} after its clock ({} ns)",
            self.past, self.future, self.now_ns
        )))
    }
}

/// Which envelopes a subscriber wants.
enum Filter {
    Topics(HashSet<String>),
    AllXmtp,
}

impl Filter {
    fn matches(&self, topic: &str) -> bool {
        match self {
            Self::Topics(topics) => topics.contains(topic),
            Self::AllXmtp => topic.starts_with(ALL_XMTP_PREFIX),
        }
    }
}

struct Subscriber {
    events: Receiver,
    stopping: watch::Receiver<bool>,
    filter: Filter,
    /// `Subscribe2`'s stream of topic-set replacements.
    updates: Option<Streaming<SubscribeRequest>>,
    limits: Limits,
    done: bool,
}

impl Subscriber {
    async fn next_item(&mut self) -> Option<Result<Envelope, Status>> {
        if self.done {
            return None;
        }
        loop {
            tokio::select! {
                // Node shutting down (or gone): end the stream so graceful shutdown
                // does not wait on subscribers forever.
                _ = self.stopping.wait_for(|stop| *stop) => return None,
                update = next_update(&mut self.updates) => match update {
                    Some(Ok(request)) => {
                        if let Err(status) = check_update(&request.content_topics, &self.limits) {
                            self.done = true;
                            return Some(Err(status));
                        }
                        self.filter = Filter::Topics(request.content_topics.into_iter().collect());
                    }
                    // The client's request stream broke: nobody is listening any more.
                    Some(Err(_)) => return None,
                    // Half-close: no more updates, keep delivering on the current set.
                    None => self.updates = None,
                },
                received = self.events.recv() => match received {
                    Ok(envelope) => {
                        if self.filter.matches(&envelope.content_topic) {
                            return Some(Ok(Envelope::clone(&envelope)));
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        // Say so rather than silently skip: the client can resubscribe
                        // and query to catch up.
                        self.done = true;
                        return Some(Err(Status::aborted(format!(
                            "subscriber fell {missed} envelopes behind; subscribe again and query to catch up"
                        ))));
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}

fn check_update(topics: &[String], limits: &Limits) -> Result<(), Status> {
    if topics.len() > limits.max_topics_per_subscription {
        return Err(Status::invalid_argument(format!(
            "too many content topics: {} (limit {})",
            topics.len(),
            limits.max_topics_per_subscription
        )));
    }
    for (i, topic) in topics.iter().enumerate() {
        check_topic(i, topic, limits)?;
    }
    Ok(())
}

async fn next_update(
    updates: &mut Option<Streaming<SubscribeRequest>>,
) -> Option<Result<SubscribeRequest, Status>> {
    match updates {
        Some(stream) => stream.message().await.transpose(),
        None => std::future::pending().await,
    }
}

#[tonic::async_trait]
impl MessageApi for MessageApiService {
    async fn publish(
        &self,
        request: Request<PublishRequest>,
    ) -> Result<Response<PublishResponse>, Status> {
        let token = self.authenticate(request.metadata())?;
        let envelopes = request.into_inner().envelopes;
        self.check_publish(&envelopes, &token)?;
        // The envelopes move to the writer and back, rather than being copied (they may
        // be up to 100 × 1 MiB). A publish of ephemeral envelopes only stores nothing,
        // so it neither waits for the writer nor costs a commit.
        let (envelopes, inserted) = if envelopes.iter().any(is_stored) {
            self.writer
                .publish(envelopes)
                .await
                .map_err(|e| write_failed(&e))?
        } else {
            (envelopes, 0)
        };
        tracing::debug!(wallet = %token.wallet, envelopes = envelopes.len(), inserted, "published");
        // Committed: now tell subscribers.
        self.events.publish(envelopes);
        Ok(Response::new(PublishResponse {}))
    }

    type SubscribeStream = EnvelopeStream;

    async fn subscribe(
        &self,
        request: Request<SubscribeRequest>,
    ) -> Result<Response<EnvelopeStream>, Status> {
        let topics = request.into_inner().content_topics;
        if topics.is_empty() {
            return Err(Status::invalid_argument("content topics required"));
        }
        self.check_subscription_topics(&topics)?;
        Ok(self.stream(Filter::Topics(topics.into_iter().collect()), None))
    }

    type Subscribe2Stream = EnvelopeStream;

    async fn subscribe2(
        &self,
        request: Request<Streaming<SubscribeRequest>>,
    ) -> Result<Response<EnvelopeStream>, Status> {
        // Starts with no topics; each request on the inbound stream replaces the set.
        Ok(self.stream(Filter::Topics(HashSet::new()), Some(request.into_inner())))
    }

    type SubscribeAllStream = EnvelopeStream;

    async fn subscribe_all(
        &self,
        _request: Request<SubscribeAllRequest>,
    ) -> Result<Response<EnvelopeStream>, Status> {
        Ok(self.stream(Filter::AllXmtp, None))
    }

    async fn query(
        &self,
        request: Request<QueryRequest>,
    ) -> Result<Response<QueryResponse>, Status> {
        let plan = plan(request.get_ref(), &self.limits)?;
        let store_query = plan.store.clone();
        let max_bytes = self.limits.max_response_bytes;
        let page = self
            .blocking(move |store| store.query(&store_query, max_bytes))
            .await?;
        Ok(Response::new(response(&plan, page)))
    }

    async fn batch_query(
        &self,
        request: Request<BatchQueryRequest>,
    ) -> Result<Response<BatchQueryResponse>, Status> {
        let requests = request.into_inner().requests;
        if requests.len() > self.limits.max_batch_queries {
            return Err(Status::invalid_argument(format!(
                "cannot exceed {} requests in single batch",
                self.limits.max_batch_queries
            )));
        }
        let plans = requests
            .iter()
            .enumerate()
            .map(|(i, r)| {
                plan(r, &self.limits)
                    .map_err(|s| Status::new(s.code(), format!("request {i}: {}", s.message())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let queries: Vec<_> = plans.iter().map(|p| p.store.clone()).collect();
        let max_bytes = self.limits.max_response_bytes;
        let pages = self
            .blocking(move |store| store.query_many(&queries, max_bytes))
            .await?;
        let responses = plans
            .iter()
            .zip(pages)
            .map(|(plan, page)| response(plan, page))
            .collect();
        Ok(Response::new(BatchQueryResponse { responses }))
    }
}
