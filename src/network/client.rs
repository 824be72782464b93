//! The node link every API client shares (one HTTP/2 channel, TLS and loopback policy,
//! deadlines and retries on every unary call) and the MessageApi client on it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Status};

use super::NetworkError;
use super::retry::{Budget, RetryPolicy, is_transient};
use super::url::parse_node_url;
use crate::identity::AuthToken;
use crate::proto::message_api::v1::{
    Envelope, PublishRequest, SubscribeAllRequest, SubscribeRequest,
    message_api_client::MessageApiClient,
};
use crate::wire::{MAX_ENVELOPES_PER_PUBLISH, MAX_MESSAGE_BYTES, MAX_TOPIC_LEN};

/// How a [`Client`] talks to its node.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Deadline of each unary call attempt (sent as `grpc-timeout` and enforced here),
    /// and of establishing a subscription.
    pub timeout: Duration,
    /// Deadline for opening the TCP (+TLS) connection.
    pub connect_timeout: Duration,
    /// Retries of unary calls on transient failures.
    pub retry: RetryPolicy,
    /// Bound on one operation as a whole: a unary call with all its attempts and the
    /// backoff between them, or connecting with its retries. `None`: only `timeout` per
    /// attempt and the number of attempts bound it.
    pub total_timeout: Option<Duration>,
    /// Allow plaintext `http://` to a non-loopback host (off by default: the auth token
    /// would travel in clear).
    pub allow_insecure_remote: bool,
    /// Largest response message accepted. A page is at most 100 envelopes of at most
    /// ~1 MiB, and our node trims pages to a few MiB; this bounds what a hostile node can
    /// make us allocate.
    pub max_response_bytes: usize,
    /// Which certificate authorities an `https://` node's certificate must chain to.
    pub tls_roots: TlsRoots,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            total_timeout: None,
            allow_insecure_remote: false,
            max_response_bytes: 64 * 1024 * 1024,
            tls_roots: TlsRoots::default(),
        }
    }
}

/// The certificate authorities an `https://` node's certificate must chain to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TlsRoots {
    /// The Mozilla roots compiled into the binary (webpki-roots): what the public XMTP
    /// networks and any node with a publicly issued certificate need.
    #[default]
    Webpki,
    /// Only the certificates in this PEM text, and no public root: a private node with
    /// its own certificate authority, or a test's self-signed certificate.
    Pem(Arc<[u8]>),
}

/// One node: the HTTP/2 channel that every API client of that node shares, and how calls
/// to it behave (deadline per attempt, transient-only retries, the URL errors name).
///
/// The MessageApi [`Client`] and the IdentityApi client are both thin layers over it, so
/// the TLS and loopback policy, deadlines and retries are written once.
#[derive(Clone, Debug)]
pub(super) struct Link {
    pub(super) channel: Channel,
    pub(super) url: Arc<str>,
    pub(super) config: ClientConfig,
}

impl Link {
    /// Connects to the node at `url` (`https://HOST[:PORT]`, or `http://` to loopback
    /// unless `config` allows more), retrying like a transient call failure. The channel
    /// re-opens the connection transparently if it drops later.
    pub(super) async fn connect(url: &str, config: ClientConfig) -> Result<Self, NetworkError> {
        let node = parse_node_url(url, config.allow_insecure_remote)?;
        let node_url: Arc<str> = node.display.clone().into();
        let mut endpoint = Endpoint::from(node.uri)
            .connect_timeout(config.connect_timeout)
            .tcp_nodelay(true);
        if node.tls {
            let tls = match &config.tls_roots {
                TlsRoots::Webpki => ClientTlsConfig::new().with_webpki_roots(),
                TlsRoots::Pem(pem) => {
                    ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
                }
            };
            endpoint = endpoint.tls_config(tls).map_err(|e| NetworkError::Tls {
                url: node.display.clone(),
                detail: error_chain(&e),
            })?;
        }
        let attempts = config.retry.max_attempts.max(1);
        let budget = Budget::start(config.total_timeout);
        let mut attempt = 1;
        let channel = loop {
            let connected = match tokio::time::timeout(
                budget.attempt_timeout(config.connect_timeout),
                endpoint.connect(),
            )
            .await
            {
                Ok(connected) => connected.map_err(|e| error_chain(&e)),
                Err(_) => Err("connecting timed out".to_owned()),
            };
            match connected {
                Ok(channel) => break channel,
                Err(detail)
                    if attempt < attempts
                        && budget.allows_retry_after(config.retry.backoff(attempt)) =>
                {
                    tracing::debug!(url = %node_url, attempt, error = %detail, "connect failed, retrying");
                    tokio::time::sleep(config.retry.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(detail) => {
                    return Err(NetworkError::Unreachable {
                        url: node.display,
                        detail,
                        attempts: attempt,
                    });
                }
            }
        };
        Ok(Self {
            channel,
            url: node_url,
            config,
        })
    }

    /// The time budget of one operation, starting now.
    pub(super) fn budget(&self) -> Budget {
        Budget::start(self.config.total_timeout)
    }

    /// One unary call with a deadline per attempt and retries on transient failures,
    /// bounded as a whole by `total_timeout`.
    pub(super) async fn unary<Api, Req, Resp, F, Fut>(
        &self,
        api: &Api,
        call: &'static str,
        message: Req,
        auth: Option<&MetadataValue<Ascii>>,
        send: F,
    ) -> Result<Resp, NetworkError>
    where
        Api: Clone,
        Req: Clone,
        F: Fn(Api, Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
    {
        self.unary_within(&self.budget(), api, call, message, auth, send)
            .await
    }

    /// [`Link::unary`] within a budget the caller started: for an operation made of
    /// several calls (all the pages of a log, a publish and its read-back).
    pub(super) async fn unary_within<Api, Req, Resp, F, Fut>(
        &self,
        budget: &Budget,
        api: &Api,
        call: &'static str,
        message: Req,
        auth: Option<&MetadataValue<Ascii>>,
        send: F,
    ) -> Result<Resp, NetworkError>
    where
        Api: Clone,
        Req: Clone,
        F: Fn(Api, Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
    {
        let mut attempt = 1;
        loop {
            match self.attempt(budget, api, &message, auth, &send).await {
                Ok(response) => return Ok(response),
                Err(status) => {
                    if self
                        .pause_before_retry(call, &status, attempt, budget)
                        .await
                    {
                        attempt += 1;
                        continue;
                    }
                    return Err(self.failure(call, status, attempt));
                }
            }
        }
    }

    /// One attempt of a unary call, with its deadline (the per-attempt timeout, or what
    /// is left of `budget`). A deadline that passes is `DEADLINE_EXCEEDED`.
    pub(super) async fn attempt<Api, Req, Resp, F, Fut>(
        &self,
        budget: &Budget,
        api: &Api,
        message: &Req,
        auth: Option<&MetadataValue<Ascii>>,
        send: &F,
    ) -> Result<Resp, Status>
    where
        Api: Clone,
        Req: Clone,
        F: Fn(Api, Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
    {
        let timeout = budget.attempt_timeout(self.config.timeout);
        if timeout.is_zero() {
            return Err(Status::deadline_exceeded("client deadline"));
        }
        let mut request = Request::new(message.clone());
        request.set_timeout(timeout);
        if let Some(auth) = auth {
            request.metadata_mut().insert("authorization", auth.clone());
        }
        match tokio::time::timeout(timeout, send(api.clone(), request)).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(status),
            Err(_) => Err(Status::deadline_exceeded("client deadline")),
        }
    }

    /// After failed attempt number `attempt`: whether the call is tried again (a transient
    /// failure, attempts left, time left in `budget`), in which case this has slept the
    /// backoff already.
    pub(super) async fn pause_before_retry(
        &self,
        call: &'static str,
        status: &Status,
        attempt: u32,
        budget: &Budget,
    ) -> bool {
        let backoff = self.config.retry.backoff(attempt);
        if attempt < self.config.retry.max_attempts.max(1)
            && is_transient(status)
            && budget.allows_retry_after(backoff)
        {
            tracing::debug!(url = %self.url, call, attempt, code = ?status.code(), message = status.message(), "transient failure, retrying");
            tokio::time::sleep(backoff).await;
            return true;
        }
        false
    }

    /// The error a call that failed for good after `attempts` attempts reports.
    pub(super) fn failure(
        &self,
        call: &'static str,
        status: Status,
        attempts: u32,
    ) -> NetworkError {
        if status.code() == Code::DeadlineExceeded {
            return NetworkError::Timeout {
                url: self.url.to_string(),
                call,
                timeout: self.config.total_timeout.unwrap_or(self.config.timeout),
                attempts,
            };
        }
        status_error(&self.url, call, status, attempts)
    }

    /// The node's answer to `call` breaks the protocol.
    pub(super) fn protocol(&self, call: &'static str, reason: &str) -> NetworkError {
        NetworkError::Protocol {
            url: self.url.to_string(),
            call,
            reason: reason.to_owned(),
        }
    }
}

/// A client of one MessageApi node (`xmtp.message_api.v1.MessageApi` over gRPC).
///
/// Cheap to clone: clones share the connection.
#[derive(Clone, Debug)]
pub struct Client {
    api: MessageApiClient<Channel>,
    pub(super) link: Link,
}

/// An open subscription: envelopes published after it started, until the node or the
/// caller ends it. Reading has no deadline (a subscription waits by nature).
#[derive(Debug)]
pub struct Subscription {
    stream: tonic::Streaming<Envelope>,
    url: Arc<str>,
}

impl Subscription {
    /// The next envelope; `Ok(None)` when the node closed the subscription (e.g. it is
    /// shutting down).
    pub async fn next(&mut self) -> Result<Option<Envelope>, NetworkError> {
        self.stream
            .message()
            .await
            .map_err(|status| status_error(&self.url, "subscription", status, 1))
    }
}

impl Client {
    /// Connects to the node at `url` (`https://HOST[:PORT]`, or `http://` to loopback).
    ///
    /// Connecting is retried like a transient call failure; the connection is re-opened
    /// transparently if it drops later.
    pub async fn connect(url: &str, config: ClientConfig) -> Result<Self, NetworkError> {
        Ok(Self::on(Link::connect(url, config).await?))
    }

    /// The MessageApi client on an open link.
    pub(super) fn on(link: Link) -> Self {
        Self {
            api: MessageApiClient::new(link.channel.clone())
                .max_decoding_message_size(link.config.max_response_bytes),
            link,
        }
    }

    /// The node, as `scheme://host:port`.
    pub fn url(&self) -> &str {
        &self.link.url
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.link.config
    }

    /// Publishes `envelopes` in one `Publish` call, authenticated by `token`.
    ///
    /// Checked against the protocol limits first (nothing is sent if one is broken);
    /// retried on transient failures, which is safe because the node stores each
    /// `(topic, message)` once.
    pub async fn publish(
        &self,
        token: &AuthToken,
        envelopes: Vec<Envelope>,
    ) -> Result<(), NetworkError> {
        check_envelopes(&envelopes)?;
        let auth = auth_metadata(token)?;
        let request = PublishRequest { envelopes };
        self.unary("publish", request, Some(&auth), |mut api, req| async move {
            api.publish(req).await
        })
        .await
        .map(|_| ())
    }

    /// Subscribes to envelopes published on `topics` from now on.
    pub async fn subscribe<T: Into<String>>(
        &self,
        topics: impl IntoIterator<Item = T>,
    ) -> Result<Subscription, NetworkError> {
        let request = SubscribeRequest {
            content_topics: topics.into_iter().map(Into::into).collect(),
        };
        if request.content_topics.is_empty() {
            return Err(invalid("a subscription needs at least one content topic"));
        }
        let mut api = self.api.clone();
        self.open_stream(async move { api.subscribe(Request::new(request)).await })
            .await
    }

    /// Subscribes to every envelope published on `/xmtp/0/…` topics from now on.
    pub async fn subscribe_all(&self) -> Result<Subscription, NetworkError> {
        let mut api = self.api.clone();
        self.open_stream(async move {
            api.subscribe_all(Request::new(SubscribeAllRequest {}))
                .await
        })
        .await
    }

    /// Waits (bounded by the call deadline) for the node to accept a stream. The
    /// request carries no `grpc-timeout`: that would end the subscription itself.
    async fn open_stream(
        &self,
        open: impl Future<Output = Result<tonic::Response<tonic::Streaming<Envelope>>, Status>>,
    ) -> Result<Subscription, NetworkError> {
        let timeout = self.link.config.timeout;
        match tokio::time::timeout(timeout, open).await {
            Ok(Ok(response)) => Ok(Subscription {
                stream: response.into_inner(),
                url: self.link.url.clone(),
            }),
            Ok(Err(status)) => Err(status_error(&self.link.url, "subscribe", status, 1)),
            Err(_) => Err(NetworkError::Timeout {
                url: self.link.url.to_string(),
                call: "subscribe",
                timeout,
                attempts: 1,
            }),
        }
    }

    /// One MessageApi unary call with a deadline per attempt and retries on transient
    /// failures.
    pub(super) async fn unary<Req, Resp, F, Fut>(
        &self,
        call: &'static str,
        message: Req,
        auth: Option<&MetadataValue<Ascii>>,
        send: F,
    ) -> Result<Resp, NetworkError>
    where
        Req: Clone,
        F: Fn(MessageApiClient<Channel>, Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
    {
        self.link.unary(&self.api, call, message, auth, send).await
    }

    pub(super) fn protocol(&self, call: &'static str, reason: &str) -> NetworkError {
        self.link.protocol(call, reason)
    }
}

pub(super) fn invalid(reason: &str) -> NetworkError {
    NetworkError::InvalidRequest {
        reason: reason.to_owned(),
    }
}

/// The protocol limits every node enforces, checked before sending.
pub(super) fn check_envelopes(envelopes: &[Envelope]) -> Result<(), NetworkError> {
    if envelopes.len() > MAX_ENVELOPES_PER_PUBLISH {
        return Err(invalid(&format!(
            "{} envelopes in one publish; the limit is {MAX_ENVELOPES_PER_PUBLISH}",
            envelopes.len()
        )));
    }
    for envelope in envelopes {
        let topic = &envelope.content_topic;
        if topic.is_empty() {
            return Err(invalid("envelope has an empty content topic"));
        }
        if topic.len() > MAX_TOPIC_LEN {
            return Err(invalid(&format!(
                "content topic is {} bytes; the limit is {MAX_TOPIC_LEN}",
                topic.len()
            )));
        }
        if envelope.message.len() > MAX_MESSAGE_BYTES {
            return Err(invalid(&format!(
                "message on {topic} is {} bytes; the limit is {MAX_MESSAGE_BYTES}",
                envelope.message.len()
            )));
        }
    }
    Ok(())
}

pub(super) fn auth_metadata(token: &AuthToken) -> Result<MetadataValue<Ascii>, NetworkError> {
    // Base64 is always valid header text; this only guards against a broken token type.
    MetadataValue::try_from(token.header_value())
        .map_err(|_| invalid("auth token is not valid header text"))
}

/// Maps a failed call's status to the error users see.
pub(super) fn status_error(
    url: &str,
    call: &'static str,
    status: Status,
    attempts: u32,
) -> NetworkError {
    // Statuses made on this side from a connection failure carry the I/O error as
    // source; statuses the node sent never do.
    if let Some(source) = std::error::Error::source(&status) {
        return NetworkError::Unreachable {
            url: url.to_owned(),
            detail: error_chain(source),
            attempts,
        };
    }
    NetworkError::Rejected {
        url: url.to_owned(),
        call,
        code: status.code(),
        message: status.message().to_owned(),
        attempts,
    }
}

/// `err: source: source…`, skipping repeats (tonic wraps errors in layers that often
/// print the same text).
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p == &text) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// An envelope on a test topic, for this module's and the publish algorithm's tests.
    pub(in crate::network) fn env(message: &[u8]) -> Envelope {
        Envelope {
            content_topic: "/xmtp/0/m-x/proto".into(),
            timestamp_ns: 1,
            message: message.to_vec(),
        }
    }

    #[test]
    fn limits_are_checked_before_sending() {
        let mut big = env(b"");
        big.message = vec![0; MAX_MESSAGE_BYTES + 1];
        assert!(matches!(
            check_envelopes(&[big]),
            Err(NetworkError::InvalidRequest { .. })
        ));
        let mut long = env(b"x");
        long.content_topic = "t".repeat(MAX_TOPIC_LEN + 1);
        assert!(check_envelopes(&[long]).is_err());
        let mut empty = env(b"x");
        empty.content_topic.clear();
        assert!(check_envelopes(&[empty]).is_err());
        assert!(check_envelopes(&vec![env(b"x"); MAX_ENVELOPES_PER_PUBLISH + 1]).is_err());
        let mut max = env(b"");
        max.message = vec![0; MAX_MESSAGE_BYTES];
        max.content_topic = "t".repeat(MAX_TOPIC_LEN);
        assert!(check_envelopes(&vec![max; 1]).is_ok());
    }
}
