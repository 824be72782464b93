//! Retry policy: capped exponential backoff, on transient gRPC codes only.

use std::time::{Duration, Instant};

use tonic::{Code, Status};

/// How unary calls are retried.
///
/// Only failures that may go away by themselves are retried (see [`is_transient`]); an
/// invalid argument or a refused token will fail the same way every time. Retrying a
/// MessageApi publish is safe: the envelope bytes (and timestamp) are identical on every
/// attempt and the node stores `(topic, message)` once. An IdentityApi publish is not
/// repeated blindly (a node refuses an update it already stored): see
/// [`super::IdentityClient::publish_identity_update`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, including the first (at least 1).
    pub max_attempts: u32,
    /// Sleep before the second attempt.
    pub initial_backoff: Duration,
    /// Upper bound on any one sleep.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 100 ms doubling to at most 2 s: about 1.5 s of waiting in total, like
    /// xmtp-js's 5 attempts, without hammering a node that is starting up.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// A single attempt, no retries.
    pub const fn none() -> Self {
        Self {
            max_attempts: 1,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        }
    }

    /// The sleep after failed attempt number `attempt` (1-based): `initial * 2^(attempt-1)`,
    /// capped at `max_backoff`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// The time one operation (a call with all its attempts and the sleeps between them) may
/// take, when it is bounded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    deadline: Option<Instant>,
}

impl Budget {
    /// Starts now; `None` is unbounded (only the per-attempt deadline and the number of
    /// attempts limit the operation). A bound too large to represent is unbounded.
    pub(crate) fn start(total: Option<Duration>) -> Self {
        Self {
            deadline: total.and_then(|total| Instant::now().checked_add(total)),
        }
    }

    /// The deadline of the next attempt: `per_attempt`, or what is left if that is less
    /// (zero once the budget is spent).
    pub(crate) fn attempt_timeout(&self, per_attempt: Duration) -> Duration {
        match self.deadline {
            Some(deadline) => per_attempt.min(deadline.saturating_duration_since(Instant::now())),
            None => per_attempt,
        }
    }

    /// Whether sleeping `backoff` still leaves time for another attempt.
    pub(crate) fn allows_retry_after(&self, backoff: Duration) -> bool {
        self.deadline
            .is_none_or(|deadline| Instant::now() + backoff < deadline)
    }
}

/// Whether a failed call may succeed if tried again.
///
/// Transient: `Unavailable` (node restarting, connection dropped), `ResourceExhausted`
/// (rate limited), `Aborted`, `DeadlineExceeded`, and any failure of the connection
/// itself (refused, reset, connect timeout), which tonic reports on this side as a status
/// carrying the transport error as its source, under various codes. Never transient:
/// `InvalidArgument`, `Unauthenticated`, `PermissionDenied` and the rest, which describe
/// the request itself.
pub fn is_transient(status: &Status) -> bool {
    // A status the node sent has no source; one with a source was made here from an
    // I/O or HTTP/2 error, i.e. the connection failed rather than the request.
    if std::error::Error::source(status).is_some() {
        return true;
    }
    match status.code() {
        // The public XMTP network answers every v2 publish with Unavailable since it was
        // shut down; waiting will not change that.
        Code::Unavailable => !status.message().contains("no longer available"),
        Code::ResourceExhausted | Code::Aborted | Code::DeadlineExceeded => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
        };
        let sleeps: Vec<u128> = (1..=6).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(sleeps, [100, 200, 400, 800, 1000, 1000]);
        // Huge attempt numbers neither overflow nor exceed the cap.
        assert_eq!(policy.backoff(u32::MAX), Duration::from_millis(1000));
        assert_eq!(RetryPolicy::none().backoff(3), Duration::ZERO);
    }

    #[test]
    fn only_transient_codes_are_retried() {
        for code in [
            Code::Unavailable,
            Code::ResourceExhausted,
            Code::Aborted,
            Code::DeadlineExceeded,
        ] {
            assert!(is_transient(&Status::new(code, "x")), "{code:?}");
        }
        for code in [
            Code::InvalidArgument,
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::Internal,
            Code::OutOfRange,
            Code::Unimplemented,
            Code::Unknown,
        ] {
            assert!(!is_transient(&Status::new(code, "x")), "{code:?}");
        }
        assert!(!is_transient(&Status::unavailable(
            "publishing to XMTP V2 is no longer available. Please upgrade your client to XMTP V3."
        )));
    }
}
