//! Target `node_answers`: what a (hostile) node answers to a query, as the client bounds it.
//!
//! Input: `limit ‖ direction ‖ start ‖ end ‖ rest`, where `limit` (1 byte), `direction` (1 byte)
//! and the two time bounds (2 bytes each, scaled) shape an `xmtp_ledger::network::Query` on
//! two fixed topics, and `rest` is decoded as a `QueryResponse` and turned into a page with
//! `QueryPage::from_response`, then bounded with `Query::bound`.
//! Invariants: the bounded page holds at most the asked page size (100 for 0), only the
//! asked topics, only timestamps inside the asked bounds, in the node's order (a sub-sequence
//! of what it sent); it keeps the node's cursor unless it cut envelopes off, in which case the
//! cursor names the last envelope kept; bounding twice changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use xmtp_ledger::network::{MAX_PAGE_SIZE, Query, QueryPage};
use xmtp_ledger::proto::message_api::v1::QueryResponse;
use xmtp_ledger::wire::cursor_digest;

const TOPICS: [&str; 2] = ["/xmtp/0/contact-a/proto", "/xmtp/0/m-b/proto"];

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let (head, rest) = data.split_at(6);
    let Ok(response) = QueryResponse::decode(rest) else {
        return;
    };
    let scaled = |hi: u8, lo: u8| u64::from(u16::from_be_bytes([hi, lo])) << 16;
    let mut query = Query::topics(TOPICS).limit(u32::from(head[0]));
    if head[1] % 2 == 1 {
        query = query.ascending();
    }
    query = query.between(scaled(head[2], head[3]), scaled(head[4], head[5]));

    let sent = QueryPage::from_response(response);
    let bounded = query.bound(sent.clone());

    let limit = match query.limit {
        0 => MAX_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    } as usize;
    assert!(bounded.envelopes.len() <= limit);
    for e in &bounded.envelopes {
        assert!(query.topics.contains(&e.content_topic));
        assert!(query.start_ns == 0 || e.timestamp_ns >= query.start_ns);
        assert!(query.end_ns == 0 || e.timestamp_ns <= query.end_ns);
    }
    // A sub-sequence of what the node sent, in its order.
    let mut from = sent.envelopes.iter();
    for kept in &bounded.envelopes {
        assert!(
            from.any(|e| e == kept),
            "kept an envelope the node did not send, or reordered"
        );
    }
    let kept_all_asked = sent
        .envelopes
        .iter()
        .filter(|e| {
            query.topics.contains(&e.content_topic)
                && (query.start_ns == 0 || e.timestamp_ns >= query.start_ns)
                && (query.end_ns == 0 || e.timestamp_ns <= query.end_ns)
        })
        .count()
        == bounded.envelopes.len();
    if kept_all_asked {
        assert_eq!(
            bounded.next, sent.next,
            "nothing was cut off: the node's cursor stands"
        );
    } else {
        let last = bounded
            .envelopes
            .last()
            .expect("cut off means a full page was kept");
        let next = bounded.next.as_ref().expect("a cursor to the rest");
        assert_eq!(next.sender_time_ns, last.timestamp_ns);
        assert_eq!(
            next.digest,
            cursor_digest(&last.content_topic, &last.message).to_vec()
        );
    }
    assert_eq!(
        query.bound(bounded.clone()),
        bounded,
        "bounding is idempotent"
    );
});
