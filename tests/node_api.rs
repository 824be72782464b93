//! The node's MessageApi, exercised through the client (and a raw tonic client where
//! the client would refuse to send): publish/query round trips, paging, time bounds,
//! batch queries, subscriptions, auth, topic ownership, limits and malformed input.

mod common;

use std::time::Duration;

use prost::Message;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

use xmtp_ledger::identity::{AuthToken, topic};
use xmtp_ledger::network::{Client, Envelope, NetworkError, Query, now_ns};
use xmtp_ledger::node::store::envelope_digest;
use xmtp_ledger::node::{self, NodeConfig};
use xmtp_ledger::proto::message_api::v1 as api;
use xmtp_ledger::proto::message_api::v1::message_api_client::MessageApiClient;

use common::fixtures::{envelope, identity, messages, token};
use common::node::{Harness, fast_config, harness};

const HOUR_NS: u64 = 3_600_000_000_000;

impl Harness {
    async fn raw(&self) -> MessageApiClient<Channel> {
        MessageApiClient::connect(self.node.url())
            .await
            .expect("raw client")
    }
}

fn rejected_code(err: &NetworkError) -> Option<Code> {
    match err {
        NetworkError::Rejected { code, .. } => Some(*code),
        _ => None,
    }
}

fn with_auth<T>(message: T, header: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(header).expect("ascii header"),
    );
    request
}

#[tokio::test]
async fn publish_then_query_round_trip_newest_first() {
    let h = harness().await;
    let id = identity(0x11);
    let topic = "/xmtp/0/m-roundtrip/proto";
    h.client
        .publish(
            &token(&id),
            vec![
                envelope(topic, 100, b"first"),
                envelope(topic, 300, b"third"),
                envelope(topic, 200, b"second"),
            ],
        )
        .await
        .expect("publish");

    let response = h
        .client
        .query_raw(Query::topic(topic).to_request())
        .await
        .expect("query");
    assert_eq!(
        messages(&response.envelopes),
        [b"third".to_vec(), b"second".to_vec(), b"first".to_vec()]
    );
    assert_eq!(response.envelopes[0].timestamp_ns, 300);
    assert_eq!(response.envelopes[0].content_topic, topic);
    // A short page ends the query: limit 0 and no cursor, direction as applied.
    let paging = response.paging_info.expect("paging info");
    assert_eq!(paging.limit, 0);
    assert!(paging.cursor.is_none());
    assert_eq!(paging.direction, api::SortDirection::Descending as i32);

    let ascending = h
        .client
        .query(&Query::topic(topic).ascending())
        .await
        .expect("query");
    assert_eq!(
        messages(&ascending.envelopes),
        [b"first".to_vec(), b"second".to_vec(), b"third".to_vec()]
    );
    assert_eq!(ascending.next, None);

    // Other topics are not mixed in.
    let other = h
        .client
        .query(&Query::topic("/xmtp/0/m-other/proto"))
        .await
        .expect("query");
    assert!(other.envelopes.is_empty());
}

#[tokio::test]
async fn identical_envelopes_are_stored_once_and_keep_their_first_timestamp() {
    let h = harness().await;
    let id = identity(0x12);
    let topic = "/xmtp/0/m-dedup/proto";
    h.client
        .publish(&token(&id), vec![envelope(topic, 10, b"same")])
        .await
        .expect("publish");
    h.client
        .publish(&token(&id), vec![envelope(topic, 99, b"same")])
        .await
        .expect("publish again");
    let page = h.client.query(&Query::topic(topic)).await.expect("query");
    assert_eq!(page.envelopes, [envelope(topic, 10, b"same")]);
}

/// 25 envelopes, several sharing a timestamp, read 7 at a time in both directions by
/// following cursors: every envelope exactly once, in (timestamp, digest) order.
#[tokio::test]
async fn paging_with_cursors_in_both_directions() {
    let h = harness().await;
    let id = identity(0x13);
    let topic = "/xmtp/0/m-paging/proto";
    let all: Vec<Envelope> = (0..25u8)
        .map(|i| envelope(topic, 1_000 + u64::from(i / 3), &[i]))
        .collect();
    h.client
        .publish(&token(&id), all.clone())
        .await
        .expect("publish");

    let mut expected = all.clone();
    expected.sort_by_key(|e| (e.timestamp_ns, envelope_digest(topic, &e.message)));

    for ascending in [true, false] {
        let mut query = Query::topic(topic).limit(7);
        if ascending {
            query = query.ascending();
        }
        let mut seen = Vec::new();
        let mut page_sizes = Vec::new();
        for _ in 0..10 {
            let response = h.client.query_raw(query.to_request()).await.expect("query");
            let paging = response.paging_info.clone().expect("paging info");
            page_sizes.push(response.envelopes.len());
            let cursor = paging.cursor.and_then(|c| c.cursor);
            if response.envelopes.len() == 7 {
                // A full page carries the cursor of its last row.
                let last = response.envelopes.last().expect("row");
                let Some(api::cursor::Cursor::Index(index)) = cursor.clone() else {
                    panic!("full page without cursor");
                };
                assert_eq!(index.sender_time_ns, last.timestamp_ns);
                assert_eq!(index.digest, envelope_digest(topic, &last.message).to_vec());
                assert_eq!(paging.limit, 7);
            } else {
                assert!(cursor.is_none());
                assert_eq!(paging.limit, 0);
            }
            seen.extend(response.envelopes);
            match cursor {
                Some(api::cursor::Cursor::Index(index)) => query = query.after(Some(index)),
                None => break,
            }
        }
        assert_eq!(page_sizes, [7, 7, 7, 4], "ascending={ascending}");
        let mut want = expected.clone();
        if !ascending {
            want.reverse();
        }
        assert_eq!(seen, want, "ascending={ascending}");
    }

    // The helper that follows cursors gets the same, and a bound is enforced.
    let everything = h
        .client
        .query_all(Query::topic(topic).limit(4).ascending(), 100)
        .await
        .expect("all");
    assert_eq!(everything, expected);
    let err = h
        .client
        .query_all(Query::topic(topic).limit(4), 10)
        .await
        .expect_err("bound");
    assert!(
        matches!(err, NetworkError::TooManyResults { limit: 10, .. }),
        "{err}"
    );
}

/// When the rows end exactly at a page boundary the last full page still carries a
/// cursor, and the next query comes back empty without one.
#[tokio::test]
async fn paging_ends_cleanly_on_an_exact_multiple() {
    let h = harness().await;
    let id = identity(0x14);
    let topic = "/xmtp/0/m-exact/proto";
    let all: Vec<Envelope> = (0..10u8)
        .map(|i| envelope(topic, 500 + u64::from(i), &[i]))
        .collect();
    h.client.publish(&token(&id), all).await.expect("publish");
    let first = h
        .client
        .query(&Query::topic(topic).limit(5))
        .await
        .expect("page 1");
    let second = h
        .client
        .query(&Query::topic(topic).limit(5).after(first.next.clone()))
        .await
        .expect("page 2");
    assert_eq!(second.envelopes.len(), 5);
    assert_eq!(second.envelopes.last().map(|e| e.timestamp_ns), Some(500));
    let third = h
        .client
        .query(&Query::topic(topic).limit(5).after(second.next.clone()))
        .await
        .expect("page 3");
    assert!(third.envelopes.is_empty());
    assert_eq!(third.next, None);
}

#[tokio::test]
async fn time_bounds_are_inclusive_and_zero_means_unbounded() {
    let h = harness().await;
    let id = identity(0x15);
    let topic = "/xmtp/0/m-time/proto";
    let all: Vec<Envelope> = [10u64, 20, 30, 40, 50]
        .iter()
        .map(|t| envelope(topic, *t, &t.to_be_bytes()))
        .collect();
    h.client.publish(&token(&id), all).await.expect("publish");
    let stamps = |page: xmtp_ledger::network::QueryPage| {
        page.envelopes
            .iter()
            .map(|e| e.timestamp_ns)
            .collect::<Vec<_>>()
    };
    let q = |start, end| Query::topic(topic).between(start, end);
    assert_eq!(
        stamps(h.client.query(&q(20, 40)).await.expect("q")),
        [40, 30, 20]
    );
    assert_eq!(
        stamps(h.client.query(&q(0, 20)).await.expect("q")),
        [20, 10]
    );
    assert_eq!(
        stamps(h.client.query(&q(30, 0)).await.expect("q")),
        [50, 40, 30]
    );
    assert_eq!(
        stamps(h.client.query(&q(41, 49)).await.expect("q")),
        Vec::<u64>::new()
    );
    assert_eq!(
        stamps(h.client.query(&q(50, 50).ascending()).await.expect("q")),
        [50]
    );
}

#[tokio::test]
async fn multi_topic_and_batch_queries() {
    let h = harness().await;
    let id = identity(0x16);
    let (a, b, c) = (
        "/xmtp/0/m-a/proto",
        "/xmtp/0/m-b/proto",
        "/xmtp/0/m-c/proto",
    );
    h.client
        .publish(
            &token(&id),
            vec![
                envelope(a, 1, b"a1"),
                envelope(a, 3, b"a3"),
                envelope(b, 2, b"b2"),
                envelope(a, 5, b"a5"),
            ],
        )
        .await
        .expect("publish");

    let both = h.client.query(&Query::topics([a, b])).await.expect("query");
    assert_eq!(
        messages(&both.envelopes),
        [
            b"a5".to_vec(),
            b"a3".to_vec(),
            b"b2".to_vec(),
            b"a1".to_vec()
        ]
    );

    let pages = h
        .client
        .batch_query(&[Query::topic(a).limit(2), Query::topic(b), Query::topic(c)])
        .await
        .expect("batch");
    assert_eq!(pages.len(), 3);
    assert_eq!(
        messages(&pages[0].envelopes),
        [b"a5".to_vec(), b"a3".to_vec()]
    );
    assert!(pages[0].next.is_some(), "a full page has a cursor");
    assert_eq!(messages(&pages[1].envelopes), [b"b2".to_vec()]);
    assert!(pages[1].next.is_none());
    assert!(pages[2].envelopes.is_empty());

    // The node's own limits, bypassing the client's checks.
    let mut raw = h.raw().await;
    let too_many = api::BatchQueryRequest {
        requests: vec![Query::topic(a).to_request(); 51],
    };
    let status = raw.batch_query(too_many).await.expect_err("51 queries");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "cannot exceed 50 requests in single batch"
    );
    let fifty = api::BatchQueryRequest {
        requests: vec![Query::topic(a).to_request(); 50],
    };
    assert_eq!(
        raw.batch_query(fifty)
            .await
            .expect("50 queries")
            .into_inner()
            .responses
            .len(),
        50
    );
    let one_bad = api::BatchQueryRequest {
        requests: vec![
            Query::topic(a).to_request(),
            Query::topic(b).limit(101).to_request(),
        ],
    };
    let status = raw.batch_query(one_bad).await.expect_err("bad sub-query");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("request 1:"),
        "{}",
        status.message()
    );
    // And the client refuses to send an oversized batch at all.
    let err = h
        .client
        .batch_query(&vec![Query::topic(a); 51])
        .await
        .expect_err("client-side");
    assert!(matches!(err, NetworkError::InvalidRequest { .. }), "{err}");
}

#[tokio::test]
async fn query_limits_and_arguments_are_checked() {
    let h = harness().await;
    let mut raw = h.raw().await;
    let topic = "/xmtp/0/m-limits/proto";

    let status = raw
        .query(Query::topic(topic).limit(101).to_request())
        .await
        .expect_err("101");
    assert_eq!(
        (status.code(), status.message()),
        (Code::InvalidArgument, "cannot exceed 100 rows per query")
    );
    assert!(
        raw.query(Query::topic(topic).limit(100).to_request())
            .await
            .is_ok()
    );

    let status = raw
        .query(api::QueryRequest::default())
        .await
        .expect_err("no topics");
    assert_eq!(
        (status.code(), status.message()),
        (Code::InvalidArgument, "content topics required")
    );

    let many: Vec<String> = (0..101).map(|i| format!("/xmtp/0/m-{i}/proto")).collect();
    let status = raw
        .query(Query::topics(many).to_request())
        .await
        .expect_err("101 topics");
    assert_eq!(status.code(), Code::InvalidArgument);

    let status = raw
        .query(Query::topic("t".repeat(301)).to_request())
        .await
        .expect_err("long topic");
    assert_eq!(status.code(), Code::InvalidArgument);

    let mut bad_direction = Query::topic(topic).to_request();
    if let Some(p) = bad_direction.paging_info.as_mut() {
        p.direction = 9;
    }
    assert_eq!(
        raw.query(bad_direction)
            .await
            .expect_err("direction")
            .code(),
        Code::InvalidArgument
    );

    let short_digest = Query::topic(topic).after(Some(api::IndexCursor {
        digest: vec![1; 5],
        sender_time_ns: 1,
    }));
    assert_eq!(
        raw.query(short_digest.to_request())
            .await
            .expect_err("digest")
            .code(),
        Code::InvalidArgument
    );

    // Errors reach the client's users with the node named.
    let err = h
        .client
        .query(&Query::topic(topic).limit(101))
        .await
        .expect_err("client");
    assert_eq!(rejected_code(&err), Some(Code::InvalidArgument));
    assert!(
        err.to_string().starts_with(&format!(
            "node {} refused the query: invalid argument",
            h.client.url()
        )),
        "{err}"
    );
}

#[tokio::test]
async fn publish_without_valid_auth_is_unauthenticated_and_stores_nothing() {
    let h = harness().await;
    let id = identity(0x17);
    let other = identity(0x18);
    let topic = "/xmtp/0/m-auth/proto";
    let request = || api::PublishRequest {
        envelopes: vec![envelope(topic, 1, b"x")],
    };
    let mut raw = h.raw().await;

    // No token at all.
    let status = raw.publish(request()).await.expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated);

    // Malformed: wrong scheme, not base64, base64 of garbage.
    for header in [
        "Basic abc",
        "Bearer !!!not-base64!!!",
        "Bearer AAAA",
        "Bearer",
    ] {
        let status = raw
            .publish(with_auth(request(), header))
            .await
            .expect_err(header);
        assert_eq!(status.code(), Code::Unauthenticated, "{header}");
    }

    // Auth data signed by another identity key than the one in the token.
    let mut forged = api::Token::decode(token(&id).as_bytes()).expect("decode token");
    let theirs = api::Token::decode(token(&other).as_bytes()).expect("decode token");
    forged.auth_data_signature = theirs.auth_data_signature;
    let header = format!("Bearer {}", base64_standard(&forged.encode_to_vec()));
    let status = raw
        .publish(with_auth(request(), &header))
        .await
        .expect_err("forged");
    assert_eq!(status.code(), Code::Unauthenticated);

    // Expired (older than an hour) and dated in the future, through the client.
    let key = id.bundle.identity_key();
    let expired = AuthToken::create(key, now_ns() - 2 * HOUR_NS).expect("token");
    let err = h
        .client
        .publish(&expired, request().envelopes)
        .await
        .expect_err("expired");
    assert_eq!(rejected_code(&err), Some(Code::Unauthenticated));
    assert!(err.to_string().contains("expired"), "{err}");
    // Not retried: the same token fails the same way.
    assert!(
        matches!(err, NetworkError::Rejected { attempts: 1, .. }),
        "{err:?}"
    );
    let future = AuthToken::create(key, now_ns() + HOUR_NS).expect("token");
    let err = h
        .client
        .publish(&future, request().envelopes)
        .await
        .expect_err("future");
    assert_eq!(rejected_code(&err), Some(Code::Unauthenticated));

    assert!(
        h.client
            .query(&Query::topic(topic))
            .await
            .expect("query")
            .envelopes
            .is_empty()
    );

    // And a good token works.
    h.client
        .publish(&token(&id), request().envelopes)
        .await
        .expect("valid token");
    assert_eq!(
        h.client
            .query(&Query::topic(topic))
            .await
            .expect("query")
            .envelopes
            .len(),
        1
    );
}

fn base64_standard(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn restricted_topics_accept_only_their_wallet() {
    let h = harness().await;
    let alice = identity(0x19);
    let bob = identity(0x1a);
    let alice_token = token(&alice);

    // Alice may publish her own contact and private store.
    for topic in [
        topic::contact_topic(&alice.wallet),
        topic::private_store_topic(&alice.wallet),
    ] {
        h.client
            .publish(&alice_token, vec![envelope(&topic, 1, b"mine")])
            .await
            .expect("own topic");
    }

    // Not Bob's, and not her own address in another spelling.
    let lowercase = format!(
        "/xmtp/0/contact-{}/proto",
        alice.wallet.to_string().to_lowercase()
    );
    for topic in [
        topic::contact_topic(&bob.wallet),
        topic::private_store_topic(&bob.wallet),
        lowercase,
    ] {
        let err = h
            .client
            .publish(&alice_token, vec![envelope(&topic, 1, b"not mine")])
            .await
            .expect_err(&topic);
        assert_eq!(
            rejected_code(&err),
            Some(Code::PermissionDenied),
            "{topic}: {err}"
        );
        assert!(
            err.to_string()
                .contains("refused the publish: permission denied: publishing to restricted topic"),
            "{err}"
        );
        assert!(
            h.client
                .query(&Query::topic(&topic))
                .await
                .expect("query")
                .envelopes
                .is_empty()
        );
    }

    // A request mixing an allowed and a forbidden envelope stores neither.
    let mine = "/xmtp/0/m-mixed/proto";
    let err = h
        .client
        .publish(
            &alice_token,
            vec![
                envelope(mine, 1, b"ok"),
                envelope(&topic::contact_topic(&bob.wallet), 1, b"no"),
            ],
        )
        .await
        .expect_err("mixed");
    assert_eq!(rejected_code(&err), Some(Code::PermissionDenied));
    assert!(
        h.client
            .query(&Query::topic(mine))
            .await
            .expect("query")
            .envelopes
            .is_empty()
    );
}

#[tokio::test]
async fn publish_limits() {
    let h = harness().await;
    let id = identity(0x1b);
    let header = token(&id).header_value();
    let mut raw = h.raw().await;
    let topic = "/xmtp/0/m-size/proto";

    // The largest envelope the protocol allows goes through and comes back intact.
    let max_topic = format!(
        "/xmtp/0/m-{}/proto",
        "x".repeat(300 - "/xmtp/0/m-/proto".len())
    );
    assert_eq!(max_topic.len(), 300);
    let max_message: Vec<u8> = (0..1_048_214u32).map(|i| (i % 251) as u8).collect();
    raw.publish(with_auth(
        api::PublishRequest {
            envelopes: vec![envelope(&max_topic, 7, &max_message)],
        },
        &header,
    ))
    .await
    .expect("max size");
    let back = h
        .client
        .query(&Query::topic(&max_topic))
        .await
        .expect("query");
    assert_eq!(back.envelopes, [envelope(&max_topic, 7, &max_message)]);

    // One byte more of message or topic is refused by the node...
    let mut too_big = max_message.clone();
    too_big.push(0);
    let status = raw
        .publish(with_auth(
            api::PublishRequest {
                envelopes: vec![envelope(topic, 1, &too_big)],
            },
            &header,
        ))
        .await
        .expect_err("message too big");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("message too big"),
        "{}",
        status.message()
    );
    let long_topic = format!("{max_topic}x");
    let status = raw
        .publish(with_auth(
            api::PublishRequest {
                envelopes: vec![envelope(&long_topic, 1, b"x")],
            },
            &header,
        ))
        .await
        .expect_err("topic too long");
    assert_eq!(status.code(), Code::InvalidArgument);

    // ...and by the client before sending.
    let err = h
        .client
        .publish(&token(&id), vec![envelope(topic, 1, &too_big)])
        .await
        .expect_err("client");
    assert!(matches!(err, NetworkError::InvalidRequest { .. }), "{err}");

    // Envelopes per request.
    let many = vec![envelope(topic, 1, b"x"); 101];
    let status = raw
        .publish(with_auth(api::PublishRequest { envelopes: many }, &header))
        .await
        .expect_err("101 envelopes");
    assert_eq!(status.code(), Code::InvalidArgument);
    let hundred: Vec<Envelope> = (0..100u8).map(|i| envelope(topic, 1, &[i])).collect();
    raw.publish(with_auth(
        api::PublishRequest { envelopes: hundred },
        &header,
    ))
    .await
    .expect("100 envelopes");

    // A request message over the node's decode limit (8 MiB) is refused by tonic.
    let huge: Vec<Envelope> = (0..9u8)
        .map(|i| envelope(topic, 1, &vec![i; 1_000_000]))
        .collect();
    let status = raw
        .publish(with_auth(api::PublishRequest { envelopes: huge }, &header))
        .await
        .expect_err("request too large");
    assert_eq!(status.code(), Code::OutOfRange);

    // Empty topic.
    let status = raw
        .publish(with_auth(
            api::PublishRequest {
                envelopes: vec![envelope("", 1, b"x")],
            },
            &header,
        ))
        .await
        .expect_err("empty topic");
    assert_eq!(status.code(), Code::InvalidArgument);

    // The node still serves after all that.
    assert_eq!(
        h.client
            .query(&Query::topic(topic))
            .await
            .expect("query")
            .envelopes
            .len(),
        100
    );
}

/// Large rows: a page is cut by the response byte budget but keeps a cursor, so a
/// client following cursors still gets everything.
#[tokio::test]
async fn large_pages_are_split_by_the_byte_budget() {
    let h = harness().await;
    let id = identity(0x1c);
    let topic = "/xmtp/0/m-big/proto";
    for i in 0..6u8 {
        h.client
            .publish(
                &token(&id),
                vec![envelope(topic, u64::from(i) + 1, &vec![i; 1_000_000])],
            )
            .await
            .expect("publish");
    }
    let first = h.client.query(&Query::topic(topic)).await.expect("query");
    assert!(first.envelopes.len() < 6, "4 MiB budget splits 6 MB");
    assert!(first.next.is_some());
    let all = h
        .client
        .query_all(Query::topic(topic), 10)
        .await
        .expect("all");
    let stamps: Vec<u64> = all.iter().map(|e| e.timestamp_ns).collect();
    assert_eq!(stamps, [6, 5, 4, 3, 2, 1]);
}

#[derive(Clone, PartialEq, prost::Message)]
struct WrongWireTypes {
    /// `content_topics` is a string (length-delimited); send a varint.
    #[prost(uint64, tag = "1")]
    content_topics: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct BadUtf8 {
    #[prost(bytes = "vec", tag = "1")]
    content_topics: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct BadPaging {
    #[prost(string, repeated, tag = "1")]
    content_topics: Vec<String>,
    #[prost(bytes = "vec", tag = "4")]
    paging_info: Vec<u8>,
}

async fn raw_unary<M: prost::Message + Send + Sync + 'static>(
    url: &str,
    path: &'static str,
    message: M,
) -> Result<(), tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let codec = tonic_prost::ProstCodec::<M, api::QueryResponse>::default();
    grpc.unary(
        tonic::Request::new(message),
        tonic::codegen::http::uri::PathAndQuery::from_static(path),
        codec,
    )
    .await
    .map(|_| ())
}

#[tokio::test]
async fn malformed_requests_get_grpc_errors_and_the_node_keeps_serving() {
    let h = harness().await;
    let url = h.node.url();
    let query = "/xmtp.message_api.v1.MessageApi/Query";
    let publish = "/xmtp.message_api.v1.MessageApi/Publish";

    // Not decodable: the client's mistake (INVALID_ARGUMENT), not the node's (INTERNAL).
    let status = raw_unary(&url, query, WrongWireTypes { content_topics: 5 })
        .await
        .expect_err("wire type");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let status = raw_unary(
        &url,
        query,
        BadUtf8 {
            content_topics: vec![0xff, 0xfe],
        },
    )
    .await
    .expect_err("utf8");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let bad_paging = BadPaging {
        content_topics: vec!["/xmtp/0/m-x/proto".into()],
        paging_info: vec![0xff, 0xff, 0xff],
    };
    let status = raw_unary(&url, query, bad_paging)
        .await
        .expect_err("paging");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    // A publish whose envelopes field is garbage fails before auth is even looked at.
    let status = raw_unary(
        &url,
        publish,
        BadPaging {
            content_topics: vec![],
            paging_info: vec![1],
        },
    )
    .await
    .map(|_| ())
    .err();
    assert!(status.is_some());
    let status = raw_unary(
        &url,
        "/xmtp.message_api.v1.MessageApi/Nope",
        BadUtf8 {
            content_topics: vec![],
        },
    )
    .await
    .expect_err("unknown method");
    assert_eq!(status.code(), Code::Unimplemented);

    // Still alive and correct.
    let page = h
        .client
        .query(&Query::topic("/xmtp/0/m-x/proto"))
        .await
        .expect("query after garbage");
    assert!(page.envelopes.is_empty());
}

async fn next_within(sub: &mut xmtp_ledger::network::Subscription) -> Option<Envelope> {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("envelope within 5 s")
        .expect("stream ok")
}

#[tokio::test]
async fn subscribers_get_what_is_published_after_they_subscribe() {
    let h = harness().await;
    let id = identity(0x1d);
    let t = token(&id);
    let (a, b) = ("/xmtp/0/m-sub-a/proto", "/xmtp/0/m-sub-b/proto");
    h.client
        .publish(&t, vec![envelope(a, 1, b"before")])
        .await
        .expect("publish");

    let mut on_a = h.client.subscribe([a]).await.expect("subscribe");
    let mut everything = h.client.subscribe_all().await.expect("subscribe all");

    // Not an XMTP topic: SubscribeAll (which covers /xmtp/0/…) does not get it.
    h.client
        .publish(&t, vec![envelope("plain-topic", 2, b"not xmtp")])
        .await
        .expect("publish");
    h.client
        .publish(&t, vec![envelope(b, 2, b"on b")])
        .await
        .expect("publish");
    h.client
        .publish(
            &t,
            vec![envelope(a, 3, b"after 1"), envelope(a, 4, b"after 2")],
        )
        .await
        .expect("publish");
    // Ephemeral topics are relayed but not stored.
    let ephemeral = "/xmtp/0/mE-sub/proto";
    h.client
        .publish(&t, vec![envelope(ephemeral, 5, b"fleeting")])
        .await
        .expect("publish");

    // Only A's envelopes, only those published after subscribing, in order.
    assert_eq!(
        next_within(&mut on_a).await,
        Some(envelope(a, 3, b"after 1"))
    );
    assert_eq!(
        next_within(&mut on_a).await,
        Some(envelope(a, 4, b"after 2"))
    );
    let mut all = Vec::new();
    for _ in 0..4 {
        all.push(
            next_within(&mut everything)
                .await
                .expect("envelope")
                .message,
        );
    }
    assert_eq!(
        all,
        [
            b"on b".to_vec(),
            b"after 1".to_vec(),
            b"after 2".to_vec(),
            b"fleeting".to_vec()
        ]
    );
    assert!(
        h.client
            .query(&Query::topic(ephemeral))
            .await
            .expect("query")
            .envelopes
            .is_empty()
    );

    // A refused publish reaches nobody.
    let expired =
        AuthToken::create(id.bundle.identity_key(), now_ns() - 2 * HOUR_NS).expect("token");
    h.client
        .publish(&expired, vec![envelope(a, 6, b"refused")])
        .await
        .expect_err("expired");
    h.client
        .publish(&t, vec![envelope(a, 7, b"accepted")])
        .await
        .expect("publish");
    assert_eq!(
        next_within(&mut on_a).await,
        Some(envelope(a, 7, b"accepted"))
    );

    // Subscribing needs topics.
    let err = h
        .client
        .subscribe(Vec::<String>::new())
        .await
        .expect_err("no topics");
    assert!(matches!(err, NetworkError::InvalidRequest { .. }));
    let mut raw = h.raw().await;
    let status = raw
        .subscribe(api::SubscribeRequest::default())
        .await
        .expect_err("no topics");
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn subscribe2_follows_topic_updates() {
    let h = harness().await;
    let id = identity(0x1e);
    let t = token(&id);
    let (a, b) = ("/xmtp/0/m-s2-a/proto", "/xmtp/0/m-s2-b/proto");
    let (updates, inbound) = tokio::sync::mpsc::channel::<api::SubscribeRequest>(4);
    let mut raw = h.raw().await;
    let mut stream = raw
        .subscribe2(tokio_stream::wrappers::ReceiverStream::new(inbound))
        .await
        .expect("subscribe2")
        .into_inner();
    updates
        .send(api::SubscribeRequest {
            content_topics: vec![a.into()],
        })
        .await
        .expect("send update");

    // The update is applied asynchronously: publish until the first one arrives
    // (bounded), then check later ones arrive in order and other topics do not.
    let mut got = None;
    for i in 0..50u64 {
        h.client
            .publish(&t, vec![envelope(a, i + 1, &i.to_be_bytes())])
            .await
            .expect("publish");
        if let Ok(Ok(Some(envelope))) =
            tokio::time::timeout(Duration::from_millis(100), stream.message()).await
        {
            got = Some(envelope);
            break;
        }
    }
    let first = got.expect("subscribe2 delivered within 50 tries");
    assert_eq!(first.content_topic, a);

    updates
        .send(api::SubscribeRequest {
            content_topics: vec![b.into()],
        })
        .await
        .expect("send update");
    let mut switched = false;
    for i in 0..50u64 {
        h.client
            .publish(&t, vec![envelope(b, 1000 + i, &i.to_be_bytes())])
            .await
            .expect("publish");
        match tokio::time::timeout(Duration::from_millis(100), stream.message()).await {
            Ok(Ok(Some(envelope))) if envelope.content_topic == b => {
                switched = true;
                break;
            }
            // Envelopes on `a` published before the switch may still be in flight.
            Ok(Ok(Some(envelope))) => assert_eq!(envelope.content_topic, a),
            _ => {}
        }
    }
    assert!(switched, "subscribe2 switched to the new topic set");
}

/// A subscriber that cannot keep up is told so (and can resubscribe and query) rather
/// than silently missing envelopes.
#[tokio::test]
async fn a_lagging_subscriber_gets_an_error_not_a_gap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = NodeConfig::new(dir.path().join("node.sqlite3"));
    common::node::any_sender_time(&mut config);
    config.subscriber_buffer = 2;
    let node = node::spawn("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("node");
    let client = Client::connect(&node.url(), fast_config())
        .await
        .expect("client");
    let id = identity(0x24);
    let topic = "/xmtp/0/m-lag/proto";
    let mut sub = client.subscribe([topic]).await.expect("subscribe");
    let burst: Vec<Envelope> = (0..10u8)
        .map(|i| envelope(topic, u64::from(i) + 1, &[i]))
        .collect();
    client.publish(&token(&id), burst).await.expect("publish");
    let mut delivered = 0;
    let outcome = loop {
        match tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("answer within 5 s")
        {
            Ok(Some(_)) if delivered < 10 => delivered += 1,
            other => break other,
        }
    };
    let err = outcome.expect_err("lag reported");
    assert_eq!(rejected_code(&err), Some(Code::Aborted), "{err}");
    assert!(delivered < 10);
    // Everything is still stored for the catch-up query.
    assert_eq!(
        client
            .query_all(Query::topic(topic), 100)
            .await
            .expect("query")
            .len(),
        10
    );
}
