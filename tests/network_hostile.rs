//! The client against a hostile node: whatever a node sends back, a page holds only the
//! topics and time range asked for and no more envelopes than asked, a cursor that does
//! not move on ends the walk, the identity lookup stays correct and bounded, and a
//! far-future timestamp on a topic does not drag the client's own timestamps along.

mod common;

use std::sync::{Arc, Mutex};

use tonic::Status;

use common::fake_node::{self, FakeNode};
use common::fixtures::{identity, token};
use xmtp_ledger::identity::topic;
use xmtp_ledger::network::{
    BlockingClient, Envelope, IndexCursor, MAX_CLOCK_SKEW_NS, NetworkError, Query, now_ns,
};
use xmtp_ledger::proto::message_api::v1 as api;
use xmtp_ledger::session::find_identity;

/// What the hostile node saw: how many queries, and every envelope published to it.
#[derive(Clone, Default)]
struct Seen {
    queries: Arc<Mutex<usize>>,
    published: Arc<Mutex<Vec<Envelope>>>,
}

/// A hostile node on a loopback port (on its own runtime) and a blocking client of it.
/// `answer` answers each query from the request and how many queries came before it.
struct Rig {
    node: Seen,
    client: BlockingClient,
    _server: tokio::runtime::Runtime,
}

fn rig(
    answer: impl Fn(&api::QueryRequest, usize) -> api::QueryResponse + Send + Sync + 'static,
) -> Rig {
    let seen = Seen::default();
    let (queries, published) = (seen.queries.clone(), seen.published.clone());
    let node = FakeNode {
        publish: Arc::new(move |_, request| {
            published.lock().expect("lock").extend(request.envelopes);
            Ok(api::PublishResponse {})
        }),
        query: Arc::new(move |_, request| {
            let n = {
                let mut queries = queries.lock().expect("lock");
                *queries += 1;
                *queries - 1
            };
            Ok(answer(&request, n))
        }),
        batch_query: Arc::new(|_, _| Err(Status::unimplemented("hostile"))),
    };
    let server = tokio::runtime::Runtime::new().expect("runtime");
    let (url, _task) = server.block_on(fake_node::serve(node));
    let client = BlockingClient::connect(&url, common::node::fast_config()).expect("client");
    Rig {
        node: seen,
        client,
        _server: server,
    }
}

fn env(topic: &str, timestamp_ns: u64, message: &[u8]) -> api::Envelope {
    api::Envelope {
        content_topic: topic.into(),
        timestamp_ns,
        message: message.to_vec(),
    }
}

/// A page that claims there is more, with the given cursor.
fn page(envelopes: Vec<api::Envelope>, cursor: Option<IndexCursor>) -> api::QueryResponse {
    api::QueryResponse {
        envelopes,
        paging_info: Some(api::PagingInfo {
            limit: 100,
            cursor: cursor.map(|index| api::Cursor {
                cursor: Some(api::cursor::Cursor::Index(index)),
            }),
            direction: api::SortDirection::Descending as i32,
        }),
    }
}

fn cursor(sender_time_ns: u64) -> IndexCursor {
    IndexCursor {
        digest: vec![0xab; 32],
        sender_time_ns,
    }
}

#[test]
fn a_page_holds_only_what_was_asked_for() {
    let asked = "/xmtp/0/m-asked/proto";
    let rig = rig(move |_, _| {
        let mut envelopes: Vec<_> = (0..150).map(|i| env(asked, 1_000 - i, b"m")).collect();
        envelopes.insert(3, env("/xmtp/0/m-other/proto", 999, b"not asked for"));
        envelopes.insert(7, env(asked, u64::MAX, b"outside the time range"));
        page(envelopes, None)
    });
    let got = rig
        .client
        .query(&Query::topic(asked).limit(5).between(1, 10_000))
        .expect("query");
    assert_eq!(
        got.envelopes.len(),
        5,
        "no more than the page size asked for"
    );
    assert!(got.envelopes.iter().all(|e| e.content_topic == asked));
    assert!(got.envelopes.iter().all(|e| e.timestamp_ns <= 10_000));
    // More rows were sent than kept: the walk goes on after the last one kept.
    let next = got.next.expect("a cursor to the rest");
    assert_eq!(next.sender_time_ns, got.envelopes[4].timestamp_ns);
}

#[test]
fn a_cursor_that_does_not_move_on_ends_the_walk() {
    // Pages alternate between two cursors forever: A, B, A, B, …
    let rig = rig(|request, n| {
        let topic = request.content_topics[0].clone();
        let next = if n % 2 == 0 { cursor(500) } else { cursor(600) };
        page(
            vec![env(&topic, 550, format!("garbage {n}").as_bytes())],
            Some(next),
        )
    });
    let mut pages = rig.client.pages(Query::topic("/xmtp/0/m-loop/proto"));
    pages.next_page().expect("first page").expect("rows");
    let err = pages.next_page().expect_err("went back");
    assert!(matches!(err, NetworkError::Protocol { .. }), "{err:?}");
    assert_eq!(*rig.node.queries.lock().expect("lock"), 2);
}

#[test]
fn the_identity_lookup_stays_correct_and_bounded_against_a_hostile_node() {
    let victim = identity(0x61);
    let stranger = identity(0x62);
    let contact_topic = topic::contact_topic(&victim.wallet);
    let genuine = victim.contact_v2().to_vec();
    let forged_wallet = stranger.contact_v2().to_vec();
    let topic_for_answer = contact_topic.clone();
    // Endless pages, newest first: another wallet's bundle on this topic, envelopes of
    // other topics, garbage, u64::MAX timestamps, and the genuine bundle deep down.
    let rig = rig(move |_, n| {
        let t = u64::MAX - n as u64 * 10;
        let mut envelopes = vec![
            env(&topic_for_answer, t, &forged_wallet),
            env(
                "/xmtp/0/contact-0x0000000000000000000000000000000000000000/proto",
                t - 1,
                &genuine,
            ),
            env(&topic_for_answer, t - 2, b"\\x08\\x01garbage"),
        ];
        if n == 3 {
            envelopes.push(env(&topic_for_answer, t - 3, &genuine));
        }
        page(envelopes, Some(cursor(t - 3)))
    });
    let found = find_identity(&rig.client, &victim.wallet).expect("lookup");
    let (_, verified) = found.contact.expect("the genuine bundle is found");
    assert_eq!(verified.wallet_address, victim.wallet);
    assert_eq!(
        verified.identity_public_key.to_vec(),
        victim.bundle.identity_key().public_key().point().to_vec()
    );

    // A node that never has the genuine bundle: the lookup ends, with nothing found,
    // after a bounded number of envelopes.
    let stranger_bundle = identity(0x63).contact_v2().to_vec();
    let endless_topic = contact_topic.clone();
    let endless = self::rig(move |_, n| {
        let t = 1_000_000_000 - n as u64 * 10;
        let mut envelopes = vec![env(&endless_topic, t, &stranger_bundle)];
        envelopes.extend((1..5).map(|i| env(&endless_topic, t - i, b"junk")));
        page(envelopes, Some(cursor(t - 5)))
    });
    let found = find_identity(&endless.client, &victim.wallet).expect("lookup");
    assert!(found.contact.is_none());
    // 5 envelopes a page, at most MAX_CONTACT_ENVELOPES envelopes in all.
    let queries = *endless.node.queries.lock().expect("lock");
    assert!(
        queries <= xmtp_ledger::session::MAX_CONTACT_ENVELOPES / 5,
        "bounded: {queries} queries"
    );
}

#[test]
fn a_far_future_timestamp_does_not_drag_the_clients_timestamps_along() {
    let id = identity(0x64);
    let topic = topic::contact_topic(&id.wallet);
    let answer_topic = topic.clone();
    let rig = rig(move |_, _| {
        page(
            vec![env(&answer_topic, u64::MAX, b"from the end of time")],
            None,
        )
    });
    let before = now_ns();
    let err = rig
        .client
        .publish_publications(&token(&id), &id.publications()[1..2])
        .expect_err("the far-future envelope stays the newest");
    assert!(matches!(err, NetworkError::Superseded { .. }), "{err:?}");
    let published = rig.node.published.lock().expect("lock").clone();
    assert_eq!(published.len(), 1);
    let ts = published[0].timestamp_ns;
    assert!(
        ts >= before && ts <= now_ns() + MAX_CLOCK_SKEW_NS,
        "dated now, not pinned to u64::MAX: {ts}"
    );
}
