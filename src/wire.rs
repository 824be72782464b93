//! What both ends of the wire agree on: the reference node's size limits (MessageApi, and
//! v3's IdentityApi and key packages), the clock envelopes and tokens are dated with, and
//! the (topic, message) pair a publish carries. The clients and the node both import this
//! module and never each other.

use std::time::{SystemTime, UNIX_EPOCH};

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

/// How far ahead of this machine's clock another clock may plausibly run: a sender
/// timestamp beyond it is not trusted to order our own envelopes after it.
pub const MAX_CLOCK_SKEW_NS: u64 = 5 * 60 * 1_000_000_000;

/// The reference node's envelope digest, which its cursors carry: `sha256(topic ‖ message)`.
/// Not unique across topics (the concatenation has no separator): only (topic, digest) is.
pub fn cursor_digest(topic: &str, message: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(topic.as_bytes());
    hasher.update(message);
    hasher.finalize().into()
}

/// Nanoseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One envelope payload to publish: the content topic and the raw protobuf bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publication {
    /// The content topic.
    pub topic: String,
    /// The raw protobuf bytes.
    pub message: Vec<u8>,
}

// XMTP v3: the IdentityApi and the key-package part of the MlsApi. The reference node's
// limits where it had one (the 256-update log), ours otherwise, each sized to libxmtp's
// use: its calls never come near them.

/// Most updates in one inbox's log: a publish beyond it is refused with "inbox log is
/// full" (the reference node's cap and words).
pub const MAX_INBOX_UPDATES: usize = 256;
/// Largest identity update a node accepts, as its protobuf encoding (64 KiB: a revocation
/// of 250 installations in one update is about 29 KiB; a typical update is under 1 KiB).
pub const MAX_IDENTITY_UPDATE_BYTES: usize = 64 * 1024;
/// Most inboxes in one `GetIdentityUpdates` (libxmtp asks for 50 at a time).
pub const MAX_IDENTITY_UPDATE_REQUESTS: usize = 100;
/// Most identifiers in one `GetInboxIds`.
pub const MAX_INBOX_ID_REQUESTS: usize = 1000;
/// Longest identifier in `GetInboxIds` (an Ethereum address is 42 characters).
pub const MAX_IDENTIFIER_LEN: usize = 256;
/// Largest MLS key package a node accepts (64 KiB; libxmtp's, with its post-quantum
/// extension, are about 2 KiB).
pub const MAX_KEY_PACKAGE_BYTES: usize = 64 * 1024;
/// Most installation keys in one `FetchKeyPackages`: a full group (libxmtp's
/// `MAX_GROUP_SIZE`, 250 inboxes) of inboxes at libxmtp's 10 installations each.
pub const MAX_KEY_PACKAGE_FETCH: usize = 2500;
