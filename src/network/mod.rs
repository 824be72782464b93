//! The MessageApi client: talking to an XMTP v2 node (`xmtp.message_api.v1.MessageApi`
//! over gRPC), plus the CLI's default of a node on this machine.
//!
//! - [`NodeClient`]: publish (with the `authorization: Bearer` token), query with
//!   paging, batch query, subscribe. TLS (rustls, webpki roots) for `https://`;
//!   plaintext `http://` only to loopback unless explicitly allowed. Every unary call
//!   has a deadline and is retried with capped exponential backoff on transient codes.
//! - [`NodeClient::publish_publications`]: the idempotent publish the flows use.
//! - [`open_network`]: `--network local|URL`; for `local`, the node on
//!   [`DEFAULT_LOCAL_NODE`] or else an in-process [`crate::node`] on the default
//!   SQLite file, reached through gRPC on loopback all the same.
//!
//! Wire semantics (what a node does with a query, auth, limits) are documented in
//! [`crate::node`].

mod client;
mod error;
mod local;
mod retry;
mod url;

use std::time::{SystemTime, UNIX_EPOCH};

pub use client::{ClientConfig, NodeClient, Pages, PublishOutcome, Query, QueryPage, Subscription};
pub use error::{NetworkError, code_name};
pub use local::{
    DEFAULT_LOCAL_NODE, NODE_DB_ENV, Network, NetworkTarget, default_node_db_path,
    node_db_path_from, open_local, open_network,
};
pub use retry::{RetryPolicy, is_transient};
pub use url::is_loopback_host;

pub use crate::proto::message_api::v1::{Envelope, IndexCursor, SortDirection};

/// Longest content topic a node accepts (the reference node's `MaxContentTopicNameSize`).
pub const MAX_TOPIC_LEN: usize = 300;
/// Largest envelope message a node accepts: 1 MiB minus the topic and overhead
/// (the reference node's `MaxMessageSize` = 1048576 - 300 - 62).
pub const MAX_MESSAGE_BYTES: usize = 1_048_214;
/// Most envelopes in one `Publish` (our node's limit; the reference node had none).
pub const MAX_ENVELOPES_PER_PUBLISH: usize = 100;
/// Largest page a `Query` may ask for (0 means this many).
pub const MAX_PAGE_SIZE: u32 = 100;
/// Most sub-queries in one `BatchQuery`.
pub const MAX_BATCH_QUERIES: usize = 50;

/// Nanoseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A publish auth token for `identity_key`, dated now.
pub fn auth_token_now(
    identity_key: &crate::identity::PrivateKeyV1,
) -> Result<crate::identity::AuthToken, NetworkError> {
    crate::identity::AuthToken::create(identity_key, now_ns()).map_err(NetworkError::Token)
}
