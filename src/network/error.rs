//! The one error type of the network layer. Every variant that involves a node names
//! it, so a user reading the message knows which node answered and what it said.

use std::time::Duration;

use tonic::Code;

use crate::identity::IdentityError;

/// What went wrong talking to a node (its MessageApi or its IdentityApi).
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The node URL does not parse or is not an `http://`/`https://` origin.
    #[error("invalid node URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Plaintext `http://` to a host that is not loopback: the auth token and every
    /// envelope would cross the network unencrypted, so this needs an explicit opt-in.
    #[error(
        "refusing plaintext http:// to the non-loopback node {url}: the auth token and envelopes would cross the network unencrypted; use https:// (plain http:// is only for a node on this machine)"
    )]
    InsecurePlaintext {
        /// The URL as given.
        url: String,
    },
    /// The TLS configuration for an `https://` node could not be built.
    #[error("cannot set up TLS for node {url}: {detail}")]
    Tls {
        /// The node.
        url: String,
        /// Why.
        detail: String,
    },
    /// No connection could be made (refused, reset, DNS, TLS handshake...).
    #[error("node {url} is unreachable: {detail}{}", attempts_suffix(*.attempts))]
    Unreachable {
        /// The node.
        url: String,
        /// The transport error chain.
        detail: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The node did not answer within the configured deadline.
    #[error("node {url} did not answer the {call} within {timeout:?}{}", attempts_suffix(*.attempts))]
    Timeout {
        /// The node.
        url: String,
        /// Which call (`publish`, `query`, `batch query`, `subscribe`).
        call: &'static str,
        /// The per-call deadline.
        timeout: Duration,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The node answered with a gRPC error status.
    #[error(
        "node {url} refused the {call}: {}: {message}{}",
        code_name(*.code),
        attempts_suffix(*.attempts)
    )]
    Rejected {
        /// The node.
        url: String,
        /// Which call.
        call: &'static str,
        /// The gRPC status code.
        code: Code,
        /// The node's message.
        message: String,
        /// How many attempts were made (more than 1 only for transient codes).
        attempts: u32,
    },
    /// The request breaks a protocol limit; nothing was sent.
    #[error("invalid request, not sent: {reason}")]
    InvalidRequest {
        /// Which limit and by how much.
        reason: String,
    },
    /// The node's answer is not what the protocol allows (e.g. a cursor that does not
    /// advance).
    #[error("node {url} gave an invalid answer to the {call}: {reason}")]
    Protocol {
        /// The node.
        url: String,
        /// Which call.
        call: &'static str,
        /// What is wrong with the answer.
        reason: String,
    },
    /// A query matched more envelopes than the caller's bound.
    #[error(
        "node {url} has more than {limit} envelopes for the query on {topics}; narrow the query"
    )]
    TooManyResults {
        /// The node.
        url: String,
        /// The queried topics, comma separated.
        topics: String,
        /// The caller's bound.
        limit: usize,
    },
    /// The envelope was accepted, but another envelope is still the newest on its
    /// topic (a newer sender timestamp, or an identical older copy the node deduplicated),
    /// so readers taking the newest envelope would not see it.
    #[error(
        "node {url} accepted the envelope on {topic}, but another envelope is still the newest there (clock skew, or an identical older copy)"
    )]
    Superseded {
        /// The node.
        url: String,
        /// The topic.
        topic: String,
    },
    /// A node returned more updates for one inbox than any valid log holds.
    #[error(
        "node {url} returned more than {limit} identity updates for inbox {inbox_id}; no valid inbox log is that long"
    )]
    InboxLogTooLong {
        /// The node.
        url: String,
        /// The inbox asked about.
        inbox_id: String,
        /// The most updates an inbox log may hold.
        limit: usize,
    },
    /// A publish of an identity update failed in a way that leaves open whether the node
    /// stored it, and reading the inbox's log back to tell failed too.
    #[error(
        "node {url} may or may not have stored the identity update for inbox {inbox_id} ({detail}); read the inbox's log before signing another update"
    )]
    Unconfirmed {
        /// The node.
        url: String,
        /// The update's inbox.
        inbox_id: String,
        /// The publish failure and the read-back failure.
        detail: String,
    },
    /// The auth token could not be created.
    #[error("cannot create the publish auth token: {0}")]
    Token(#[source] IdentityError),
    /// The async runtime the blocking client runs on could not be started.
    #[error("cannot start the network runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl NetworkError {
    /// The gRPC status code, when the node answered with one.
    pub fn code(&self) -> Option<Code> {
        match self {
            Self::Rejected { code, .. } => Some(*code),
            Self::Timeout { .. } => Some(Code::DeadlineExceeded),
            Self::Unreachable { .. } => Some(Code::Unavailable),
            _ => None,
        }
    }
}

fn attempts_suffix(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

/// The gRPC code in words, lower case, as used in error messages.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown error",
        Code::InvalidArgument => "invalid argument",
        Code::DeadlineExceeded => "deadline exceeded",
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::PermissionDenied => "permission denied",
        Code::ResourceExhausted => "resource exhausted",
        Code::FailedPrecondition => "failed precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out of range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal error",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_node_and_the_cause() {
        let refused = NetworkError::Rejected {
            url: "http://127.0.0.1:5556".into(),
            call: "publish",
            code: Code::PermissionDenied,
            message: "publishing to restricted topic".into(),
            attempts: 1,
        };
        assert_eq!(
            refused.to_string(),
            "node http://127.0.0.1:5556 refused the publish: permission denied: publishing to restricted topic"
        );
        let unreachable = NetworkError::Unreachable {
            url: "http://127.0.0.1:5556".into(),
            detail: "connection refused".into(),
            attempts: 3,
        };
        assert_eq!(
            unreachable.to_string(),
            "node http://127.0.0.1:5556 is unreachable: connection refused (after 3 attempts)"
        );
        assert_eq!(unreachable.code(), Some(Code::Unavailable));
    }
}
