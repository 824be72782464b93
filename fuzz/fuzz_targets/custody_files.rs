//! Target `custody_files`: the custody files a person or an attacker can edit: an audit
//! log, a signing policy and the confirmed-accounts file, and a seal text.
//!
//! The input goes to `xmtp_ledger::custody::verify_log` as bytes, and as UTF-8 (lossily) to
//! `Policy::from_toml`, `ConfirmedAccounts::from_json` and `parse_seal_text`.
//!
//! Invariants, besides never panicking:
//! - an intact log's line count is its number of newlines, and its head is the SHA-256 of its
//!   last line (64 zeros when empty); a log cut after its last newline still verifies, with
//!   one line fewer than the whole when there was more than one;
//! - a confirmed-accounts file that parses round-trips through `to_json`;
//! - a parsed seal text is rebuilt byte for byte by `seal_text`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xmtp_ledger::custody::{ConfirmedAccounts, Policy, parse_seal_text, seal_text, verify_log};

fuzz_target!(|data: &[u8]| {
    if let Ok(verified) = verify_log(data) {
        let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(verified.lines, newlines);
        assert_eq!(verified.head.len(), 64);
        if verified.lines > 1 {
            let body = &data[..data.len() - 1];
            let cut = body.iter().rposition(|&b| b == b'\n').expect("two lines") + 1;
            let prefix = verify_log(&data[..cut]).expect("a prefix of an intact log is intact");
            assert_eq!(prefix.lines, verified.lines - 1);
        }
    }

    let text = String::from_utf8_lossy(data);
    let _ = Policy::from_toml(&text);
    if let Ok(confirmed) = ConfirmedAccounts::from_json(text.as_bytes()) {
        let again = ConfirmedAccounts::from_json(&confirmed.to_json()).expect("round trip");
        assert_eq!(again, confirmed);
    }
    if let Some((head, lines)) = parse_seal_text(&text) {
        assert_eq!(seal_text(&head, lines), text);
    }
});
