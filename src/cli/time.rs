//! Times as the CLI writes them: RFC 3339, UTC, to the second.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// A timestamp in nanoseconds since the Unix epoch (an envelope's sender time).
pub fn ns_rfc3339(ns: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_nanos(ns)).to_string()
}
