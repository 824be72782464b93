//! The clients of an XMTP node: its v2 MessageApi (`xmtp.message_api.v1.MessageApi`) and
//! its v3 IdentityApi (`xmtp.identity.api.v1.IdentityApi`), over gRPC. They know nothing of
//! any particular node: which one to use is the caller's choice.
//!
//! - [`Client`]: publish (with the `authorization: Bearer` token), query with
//!   paging, batch query, subscribe. TLS (rustls; the webpki roots, or
//!   those of [`TlsRoots::Pem`]) for `https://`;
//!   plaintext `http://` only to loopback unless explicitly allowed. Every unary call
//!   has a deadline and is retried with capped exponential backoff on transient codes.
//! - [`Client::publish_publications`]: the idempotent publish the flows use.
//! - [`Client::probe`]: does a node answer, and how far is its clock from ours.
//! - [`IdentityClient`] ([`Client::identity`]): inbox ids of addresses, an inbox's whole
//!   log, and a publish of an identity update that is never blindly repeated, on the same
//!   connection, policy, deadlines and retries as [`Client`].
//! - [`BlockingClient`], [`BlockingIdentityClient`]: the same clients for callers that are
//!   not async (the flows, the CLI), on a runtime they own.
//!
//! What a node does with a query, auth and limits is documented with the node itself;
//! the limits both sides share are in [`crate::wire`].

mod blocking;
mod client;
mod error;
mod identity;
mod probe;
mod publish;
mod query;
mod retry;
mod url;

pub use blocking::{BlockingClient, BlockingIdentityClient, BlockingPages, new_runtime};
pub use client::{Client, ClientConfig, Subscription, TlsRoots};
pub use error::{NetworkError, code_name};
pub use identity::{IdentityClient, LoggedUpdate, UpdatePublished};
pub use probe::{ClockOffset, NodeProbe, PROBE_TOPIC, parse_http_date};
pub use publish::PublishOutcome;
pub use query::{Pages, Query, QueryPage};
pub use retry::{RetryPolicy, is_transient};
pub use url::is_loopback_host;
pub(crate) use url::parse_node_url;

pub use crate::proto::message_api::v1::{Envelope, IndexCursor, SortDirection};
// The limits and the clock are shared with the node; re-exported for the client's users.
pub use crate::wire::{
    MAX_BATCH_QUERIES, MAX_CLOCK_SKEW_NS, MAX_ENVELOPES_PER_PUBLISH, MAX_MESSAGE_BYTES,
    MAX_PAGE_SIZE, MAX_TOPIC_LEN, Publication, now_ns,
};

/// A publish auth token for `identity_key`, dated now.
pub fn auth_token_now(
    identity_key: &crate::identity::PrivateKeyV1,
) -> Result<crate::identity::AuthToken, NetworkError> {
    crate::identity::AuthToken::create(identity_key, now_ns()).map_err(NetworkError::Token)
}
