//! Issue 10's bounds, over gRPC and REST alike, against a real node on loopback ports:
//! a batch answer fits the response budget and its cursors still reach every row;
//! subscriber queues are bounded by bytes; sender timestamps stay within a window of the
//! node's clock; a request that does not decode is INVALID_ARGUMENT; and both transports
//! say the same thing about the same bad `Authorization` header.

mod common;

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use prost::Message;
use prost::bytes::{Buf, BufMut};
use serde_json::{Value, json};
use tempfile::TempDir;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

use xmtp_ledger::identity::AuthToken;
use xmtp_ledger::network::{Client, PublishOutcome, now_ns};
use xmtp_ledger::node::{self, NodeConfig, RunningNode};
use xmtp_ledger::proto::message_api::v1 as api;
use xmtp_ledger::proto::message_api::v1::message_api_client::MessageApiClient;

use common::fixtures::{envelope, identity, token};
use common::http::{request, request_head, request_raw};
use common::node::fast_config;

const HOUR_NS: u64 = 3_600_000_000_000;

// ---------------------------------------------------------------- harness

/// A node with gRPC and the REST gateway on ephemeral loopback ports.
struct Node {
    _dir: TempDir,
    node: RunningNode,
    http: SocketAddr,
}

async fn node_with(tweak: impl FnOnce(&mut NodeConfig)) -> Node {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = NodeConfig::new(dir.path().join("node.sqlite3"));
    config.http_listen = Some("127.0.0.1:0".parse().expect("addr"));
    tweak(&mut config);
    let node = node::spawn("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("node starts");
    let http = node.http_addr().expect("REST gateway enabled");
    Node {
        _dir: dir,
        node,
        http,
    }
}

impl Node {
    async fn channel(&self) -> Channel {
        tonic::transport::Endpoint::from_shared(self.node.url())
            .expect("endpoint")
            .connect()
            .await
            .expect("connect")
    }
}

// ---------------------------------------------------------------- raw gRPC

/// A codec that sends and receives message bytes as they are, so a test can put
/// anything on the wire.
#[derive(Clone, Copy, Debug, Default)]
struct RawBytes;

impl Codec for RawBytes {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawBytes;
    type Decoder = RawBytes;

    fn encoder(&mut self) -> Self::Encoder {
        RawBytes
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawBytes
    }
}

impl Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut bytes = vec![0; buf.remaining()];
        buf.copy_to_slice(&mut bytes);
        Ok(Some(bytes))
    }
}

const METHOD_PREFIX: &str = "/xmtp.message_api.v1.MessageApi/";

/// `bytes` as the request message of the unary `method`; the answer's status.
async fn raw_unary(channel: Channel, method: &str, bytes: Vec<u8>) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = format!("{METHOD_PREFIX}{method}").parse().expect("path");
    match grpc.unary(tonic::Request::new(bytes), path, RawBytes).await {
        Ok(response) => panic!("{method} accepted {:?}", response.into_inner()),
        Err(status) => status,
    }
}

/// `bytes` as the request message of the server-streaming `method`; the status the
/// call or its stream ends with.
async fn raw_streaming(channel: Channel, method: &str, bytes: Vec<u8>) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = format!("{METHOD_PREFIX}{method}").parse().expect("path");
    let call = grpc.server_streaming(tonic::Request::new(bytes), path, RawBytes);
    match tokio::time::timeout(common::http::IO_TIMEOUT, call)
        .await
        .expect("answer in time")
    {
        Err(status) => status,
        Ok(response) => {
            let mut stream = response.into_inner();
            match tokio::time::timeout(common::http::IO_TIMEOUT, stream.message())
                .await
                .expect("stream ends in time")
            {
                Err(status) => status,
                Ok(other) => panic!("{method} accepted garbage: {other:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------- malformed protobuf

/// Bytes that are not a protobuf message of any type: a truncated varint, a field of
/// wire type 7 (there is none), a length running past the end, a string field holding
/// invalid UTF-8.
fn garbage() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("truncated varint", vec![0xff, 0xff, 0xff]),
        ("wire type 7", vec![0x0f, 0x00]),
        ("length past the end", vec![0x0a, 0x7f, 0x01]),
        ("invalid UTF-8 topic", vec![0x0a, 0x02, 0xff, 0xfe]),
    ]
}

/// A request the node cannot decode is the client's mistake: INVALID_ARGUMENT with a
/// "malformed request" message, on every method (tonic's stock codec said INTERNAL).
#[tokio::test]
async fn a_request_that_does_not_decode_is_invalid_argument() {
    let n = node_with(|_| {}).await;
    for (what, bytes) in garbage() {
        for method in ["Publish", "Query", "BatchQuery"] {
            let status = raw_unary(n.channel().await, method, bytes.clone()).await;
            assert_eq!(
                status.code(),
                Code::InvalidArgument,
                "{method}, {what}: {status:?}"
            );
            assert!(
                status.message().starts_with("malformed request: "),
                "{method}, {what}: {status:?}"
            );
        }
        let status = raw_streaming(n.channel().await, "Subscribe", bytes.clone()).await;
        assert_eq!(status.code(), Code::InvalidArgument, "Subscribe, {what}");
    }
    // The node keeps serving: an empty message is a valid (if refused) query.
    let status = raw_unary(n.channel().await, "Query", Vec::new()).await;
    assert_eq!(
        (status.code(), status.message()),
        (Code::InvalidArgument, "content topics required")
    );
}

// ---------------------------------------------------------------- bad bearer headers

/// A publish of one fresh envelope over gRPC with these `authorization` values (in
/// order; none for a missing header); the refusal's code and message, or `(0,
/// "accepted")`.
async fn grpc_publish_refusal(n: &Node, headers: &[Vec<u8>]) -> (i64, String) {
    let mut client = MessageApiClient::new(n.channel().await);
    let mut request = tonic::Request::new(api::PublishRequest {
        envelopes: vec![envelope(AUTH_TOPIC, now_ns(), b"x")],
    });
    for value in headers {
        let value = MetadataValue::try_from(value.as_slice()).expect("header bytes");
        request.metadata_mut().append("authorization", value);
    }
    match client.publish(request).await {
        Ok(_) => (0, "accepted".to_owned()),
        Err(status) => (status.code() as i64, status.message().to_owned()),
    }
}

/// The same publish over REST, with these `Authorization` header lines written as they
/// are; the refusal's code and message from the grpc-gateway error body, or `(0,
/// "accepted")`.
async fn rest_publish_refusal(n: &Node, headers: &[Vec<u8>]) -> (i64, String) {
    let body = json!({"envelopes": [{
        "contentTopic": AUTH_TOPIC,
        "timestampNs": now_ns().to_string(),
        "message": "eA==",
    }]})
    .to_string();
    let mut raw = request_head(n.http, "POST", "/message/v1/publish", &[]).into_bytes();
    for value in headers {
        raw.extend_from_slice(b"Authorization: ");
        raw.extend_from_slice(value);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let response = request_raw(n.http, &raw).await;
    if response.status == 200 {
        return (0, "accepted".to_owned());
    }
    let json = response.json();
    (
        json["code"].as_i64().expect("code"),
        json["message"].as_str().expect("message").to_owned(),
    )
}

const AUTH_TOPIC: &str = "/xmtp/0/m-bounds-auth/proto";

/// Every bad `Authorization` header is refused with the same code and message over
/// gRPC and over REST, and nothing is stored.
#[tokio::test]
async fn bad_bearer_headers_get_the_same_answer_on_both_transports() {
    let n = node_with(|_| {}).await;
    let id = identity(0x51);
    let good = token(&id).header_value();
    let bare = good.strip_prefix("Bearer ").expect("bearer").to_owned();
    let expired = AuthToken::create(id.bundle.identity_key(), now_ns() - 2 * HOUR_NS)
        .expect("token")
        .header_value();
    let b = |s: &str| s.as_bytes().to_vec();
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("missing", vec![]),
        ("empty", vec![b("")]),
        ("Bearer alone", vec![b("Bearer")]),
        ("Bearer and a space", vec![b("Bearer ")]),
        ("lowercase bearer", vec![b(&format!("bearer {bare}"))]),
        ("another scheme", vec![b("Basic abc")]),
        ("spaces around garbage", vec![b(" Bearer AAAA ")]),
        ("two headers, good first", vec![b(&good), b("Bearer AAAA")]),
        ("two headers, bad first", vec![b("Bearer AAAA"), b(&good)]),
        ("obs-text", vec![b"Bearer \xff\xfeAAAA".to_vec()]),
        ("not base64", vec![b("Bearer !!!not-base64!!!")]),
        ("base64 of garbage", vec![b("Bearer AAAA")]),
        ("expired", vec![b(&expired)]),
        ("huge", vec![b(&format!("Bearer {}", "A".repeat(12_000)))]),
    ];
    let mut differences = Vec::new();
    let mut answers = Vec::new();
    for (what, headers) in &cases {
        let grpc = grpc_publish_refusal(&n, headers).await;
        let rest = rest_publish_refusal(&n, headers).await;
        if grpc != rest {
            differences.push(format!("{what}: gRPC {grpc:?}, REST {rest:?}"));
        } else if grpc.0 == 0 {
            differences.push(format!("{what}: accepted"));
        }
        answers.push((*what, grpc));
    }
    assert!(differences.is_empty(), "{differences:#?}");
    // The messages say what is wrong.
    let message = |what: &str| &answers.iter().find(|(w, _)| *w == what).expect("case").1.1;
    assert!(message("two headers, good first").contains("more than one authorization header"));
    assert!(message("huge").contains("authorization header too long"));
    assert!(message("Bearer and a space").contains("must be `Bearer <token>`"));
    // Nothing of it was stored, and a good header still works on both.
    let query = api::QueryRequest {
        content_topics: vec![AUTH_TOPIC.into()],
        ..Default::default()
    };
    let mut client = MessageApiClient::new(n.channel().await);
    let stored = client
        .query(query.clone())
        .await
        .expect("query")
        .into_inner();
    assert!(stored.envelopes.is_empty(), "{stored:?}");
    assert_eq!(grpc_publish_refusal(&n, &[b(&good)]).await.0, 0);
    assert_eq!(rest_publish_refusal(&n, &[b(&good)]).await.0, 0);
    // Spaces around a good header are not part of it, on either transport.
    assert_eq!(
        grpc_publish_refusal(&n, &[b(&format!(" {good}\t"))])
            .await
            .0,
        0
    );
    assert_eq!(
        rest_publish_refusal(&n, &[b(&format!(" {good}\t"))])
            .await
            .0,
        0
    );
}

// ---------------------------------------------------------------- batch response budget

/// The two front-ends of one node.
#[derive(Clone, Copy, Debug)]
enum Transport {
    Grpc,
    Rest,
}

/// One sub-query's answer: its envelopes and the cursor to continue from, if any.
type SubPage = (Vec<api::Envelope>, Option<api::IndexCursor>);

impl Node {
    /// A `BatchQuery` of one newest-first query per `(topic, cursor)`.
    async fn batch(
        &self,
        transport: Transport,
        queries: &[(String, Option<api::IndexCursor>)],
    ) -> Vec<SubPage> {
        match transport {
            Transport::Grpc => {
                let requests = queries
                    .iter()
                    .map(|(topic, cursor)| api::QueryRequest {
                        content_topics: vec![topic.clone()],
                        paging_info: Some(api::PagingInfo {
                            limit: 0,
                            cursor: cursor.clone().map(|index| api::Cursor {
                                cursor: Some(api::cursor::Cursor::Index(index)),
                            }),
                            direction: api::SortDirection::Descending as i32,
                        }),
                        ..Default::default()
                    })
                    .collect();
                let mut client = MessageApiClient::new(self.channel().await)
                    .max_decoding_message_size(64 * 1024 * 1024);
                let answer = client
                    .batch_query(api::BatchQueryRequest { requests })
                    .await
                    .expect("batch query")
                    .into_inner();
                answer
                    .responses
                    .into_iter()
                    .map(|r| {
                        let cursor = r
                            .paging_info
                            .and_then(|p| p.cursor)
                            .and_then(|c| c.cursor)
                            .map(|api::cursor::Cursor::Index(index)| index);
                        (r.envelopes, cursor)
                    })
                    .collect()
            }
            Transport::Rest => {
                let requests: Vec<Value> = queries
                    .iter()
                    .map(|(topic, cursor)| {
                        let cursor = cursor.as_ref().map_or(Value::Null, |index| {
                            json!({"index": {
                                "digest": STANDARD.encode(&index.digest),
                                "senderTimeNs": index.sender_time_ns.to_string(),
                            }})
                        });
                        json!({"contentTopics": [topic], "pagingInfo": {"cursor": cursor}})
                    })
                    .collect();
                let body = json!({ "requests": requests }).to_string();
                let answer = request(
                    self.http,
                    "POST",
                    "/message/v1/batch-query",
                    &[],
                    body.as_bytes(),
                )
                .await
                .assert_ok();
                let text = |v: &Value| v.as_str().expect("string").to_owned();
                let bytes = |v: &Value| STANDARD.decode(text(v)).expect("base64");
                let number = |v: &Value| text(v).parse::<u64>().expect("u64 string");
                answer["responses"]
                    .as_array()
                    .expect("responses")
                    .iter()
                    .map(|r| {
                        let envelopes = r["envelopes"]
                            .as_array()
                            .expect("envelopes")
                            .iter()
                            .map(|e| api::Envelope {
                                content_topic: text(&e["contentTopic"]),
                                timestamp_ns: number(&e["timestampNs"]),
                                message: bytes(&e["message"]),
                            })
                            .collect();
                        let index = &r["pagingInfo"]["cursor"]["index"];
                        let cursor = (!index.is_null()).then(|| api::IndexCursor {
                            digest: bytes(&index["digest"]),
                            sender_time_ns: number(&index["senderTimeNs"]),
                        });
                        (envelopes, cursor)
                    })
                    .collect()
            }
        }
    }
}

/// With a 10 000-byte response budget, a batch over four topics of 2 000-byte rows
/// (one topic led by a 15 000-byte row) answers within the budget, except for that one
/// oversized row when its query comes first, and walking every sub-query's cursors
/// returns each row exactly once, over gRPC and REST.
#[tokio::test]
async fn a_batch_answer_fits_the_response_budget_and_its_cursors_reach_every_row() {
    const BUDGET: usize = 10_000;
    let n = node_with(|config| config.limits.max_response_bytes = BUDGET).await;
    let id = identity(0x52);
    let topics: Vec<String> = (0..4)
        .map(|t| format!("/xmtp/0/m-bounds-batch-{t}/proto"))
        .collect();
    let base = now_ns();
    let mut expected: Vec<Vec<api::Envelope>> = Vec::new();
    for (t, topic) in topics.iter().enumerate() {
        let mut rows: Vec<api::Envelope> = (0..6u8)
            .map(|i| {
                // Topic 0's newest row alone is larger than the budget.
                let len = if t == 0 && i == 5 { 15_000 } else { 2_000 };
                envelope(topic, base + u64::from(i), &vec![i ^ (t as u8 * 16); len])
            })
            .collect();
        let mut client = MessageApiClient::new(n.channel().await);
        let mut publish = tonic::Request::new(api::PublishRequest {
            envelopes: rows.clone(),
        });
        publish.metadata_mut().insert(
            "authorization",
            MetadataValue::try_from(token(&id).header_value()).expect("header"),
        );
        client.publish(publish).await.expect("publish");
        rows.reverse(); // newest first, as the queries ask
        expected.push(rows);
    }

    for transport in [Transport::Grpc, Transport::Rest] {
        // Two orders: the oversized row's query first (it may exceed the budget alone),
        // and last (then it has to wait its turn).
        for order in [[0usize, 1, 2, 3], [1, 2, 3, 0]] {
            let mut cursors: Vec<Option<Option<api::IndexCursor>>> = vec![Some(None); 4];
            let mut seen: Vec<Vec<api::Envelope>> = vec![Vec::new(); 4];
            let mut rounds = 0;
            loop {
                let pending: Vec<usize> = order
                    .iter()
                    .copied()
                    .filter(|&q| cursors[q].is_some())
                    .collect();
                if pending.is_empty() {
                    break;
                }
                rounds += 1;
                assert!(
                    rounds <= 40,
                    "{transport:?} {order:?}: the walk does not end"
                );
                let queries: Vec<(String, Option<api::IndexCursor>)> = pending
                    .iter()
                    .map(|&q| (topics[q].clone(), cursors[q].clone().expect("pending")))
                    .collect();
                let answer = n.batch(transport, &queries).await;
                assert_eq!(answer.len(), pending.len());
                let sizes: Vec<Vec<usize>> = answer
                    .iter()
                    .map(|(envelopes, _)| envelopes.iter().map(|e| e.encoded_len()).collect())
                    .collect();
                let total: usize = sizes.iter().flatten().sum();
                let first_row = sizes[0].first().copied().unwrap_or(0);
                assert!(
                    total <= BUDGET || total == first_row,
                    "{transport:?} {order:?} round {rounds}: {total} bytes in {sizes:?}"
                );
                // Progress: the first pending query always gets a row.
                assert!(!sizes[0].is_empty(), "{transport:?} {order:?}: no progress");
                for (&q, (envelopes, cursor)) in pending.iter().zip(answer) {
                    seen[q].extend(envelopes);
                    cursors[q] = cursor.map(Some);
                }
            }
            assert_eq!(seen, expected, "{transport:?} {order:?}");
        }
    }
}

// ---------------------------------------------------------------- sender timestamps

const MINUTE_NS: u64 = 60_000_000_000;

/// A publish over gRPC with a fresh token of `id`.
async fn grpc_publish(
    n: &Node,
    id: &xmtp_ledger::flow::SealedIdentity,
    envelopes: Vec<api::Envelope>,
) -> Result<(), tonic::Status> {
    let mut client = MessageApiClient::new(n.channel().await);
    let mut request = tonic::Request::new(api::PublishRequest { envelopes });
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(token(id).header_value()).expect("header"),
    );
    client.publish(request).await.map(|_| ())
}

/// The same publish over REST.
async fn rest_publish(
    n: &Node,
    id: &xmtp_ledger::flow::SealedIdentity,
    envelopes: &[api::Envelope],
) -> common::http::HttpResponse {
    let envelopes: Vec<Value> = envelopes
        .iter()
        .map(|e| {
            json!({
                "contentTopic": e.content_topic,
                "timestampNs": e.timestamp_ns.to_string(),
                "message": STANDARD.encode(&e.message),
            })
        })
        .collect();
    let header = token(id).header_value();
    let body = json!({ "envelopes": envelopes }).to_string();
    request(
        n.http,
        "POST",
        "/message/v1/publish",
        &[("Authorization", &header)],
        body.as_bytes(),
    )
    .await
}

/// A message up to the node's clock reading, which differs between two calls.
fn without_clock(message: &str) -> &str {
    message.split(" its clock (").next().unwrap_or(message)
}

/// A publish whose envelope is dated more than an hour before or 5 minutes after the
/// node's clock is refused as a whole, naming the envelope and the window, with the same
/// code and message over gRPC and REST; within the window it is accepted.
#[tokio::test]
async fn sender_timestamps_outside_the_window_are_refused_on_both_transports() {
    let n = node_with(|_| {}).await;
    let id = identity(0x53);
    let topic = "/xmtp/0/m-bounds-window/proto";
    let now = now_ns();
    for (what, timestamp_ns) in [
        ("61 minutes old", now - HOUR_NS - MINUTE_NS),
        ("6 minutes ahead", now + 6 * MINUTE_NS),
        ("dated 1", 1),
        ("dated 0", 0),
        ("dated u64::MAX", u64::MAX),
    ] {
        // A good envelope first: nothing of the publish is stored.
        let envelopes = vec![
            envelope(topic, now, b"good"),
            envelope(topic, timestamp_ns, what.as_bytes()),
        ];
        let status = grpc_publish(&n, &id, envelopes.clone())
            .await
            .expect_err(what);
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        let message = status.message();
        assert!(
            message.starts_with(&format!("envelope 1: sender timestamp {timestamp_ns} ns ")),
            "{what}: {message}"
        );
        assert!(
            message.contains("from 3600s before to 300s after its clock"),
            "{what}: {message}"
        );
        let rest = rest_publish(&n, &id, &envelopes).await.assert_error(400, 3);
        assert_eq!(without_clock(&rest), without_clock(message), "{what}");
    }
    let mut client = MessageApiClient::new(n.channel().await);
    let query = api::QueryRequest {
        content_topics: vec![topic.into()],
        ..Default::default()
    };
    let stored = client
        .query(query.clone())
        .await
        .expect("query")
        .into_inner();
    assert!(stored.envelopes.is_empty(), "{:?}", stored.envelopes);

    // Inside the window, on both transports.
    let now = now_ns();
    grpc_publish(&n, &id, vec![envelope(topic, now - 59 * MINUTE_NS, b"old")])
        .await
        .expect("59 minutes old");
    rest_publish(&n, &id, &[envelope(topic, now + 4 * MINUTE_NS, b"ahead")])
        .await
        .assert_ok();
    let stored = client.query(query).await.expect("query").into_inner();
    assert_eq!(stored.envelopes.len(), 2);
}

/// The client dates an envelope after the newest on its topic when that one is at most 5
/// minutes ahead: the result still fits a node with the default window.
#[tokio::test]
async fn the_clients_own_dating_fits_the_default_window() {
    let n = node_with(|_| {}).await;
    let id = identity(0x54);
    let topic = "/xmtp/0/m-bounds-dating/proto";
    let client = Client::connect(&n.node.url(), fast_config())
        .await
        .expect("client");
    let ahead = now_ns() + 5 * MINUTE_NS - 1_000_000_000;
    client
        .publish(&token(&id), vec![envelope(topic, ahead, b"ahead")])
        .await
        .expect("seed");
    let outcome = client
        .publish_if_newest_differs(&token(&id), topic, b"current")
        .await
        .expect("the client's publish is accepted");
    assert_eq!(outcome, PublishOutcome::Published);
    let newest = client.newest(topic).await.expect("newest").expect("some");
    assert_eq!(newest.message, b"current");
    assert!(newest.timestamp_ns > ahead);
}

// ---------------------------------------------------------------- subscriber bytes

/// A subscriber that reads nothing while twelve 1 MB envelopes are published, then
/// reads everything: what it got before the end, and how the stream ended.
async fn lagging_subscriber(tweak: impl FnOnce(&mut NodeConfig)) -> (usize, tonic::Status) {
    let n = node_with(tweak).await;
    let id = identity(0x55);
    let topic = "/xmtp/0/m-bounds-lag/proto";
    let mut client = MessageApiClient::new(n.channel().await);
    let mut stream = client
        .subscribe(api::SubscribeRequest {
            content_topics: vec![topic.into()],
        })
        .await
        .expect("subscribe")
        .into_inner();
    for i in 0..12u8 {
        grpc_publish(
            &n,
            &id,
            vec![envelope(topic, now_ns(), &vec![i; 1_000_000])],
        )
        .await
        .expect("publish");
    }
    let mut delivered = 0;
    loop {
        let next = tokio::time::timeout(common::http::IO_TIMEOUT, stream.message())
            .await
            .expect("an answer in time");
        match next {
            Ok(Some(_)) => delivered += 1,
            Ok(None) => panic!("the stream ended without an error after {delivered}"),
            Err(status) => return (delivered, status),
        }
        if delivered == 12 {
            return (delivered, tonic::Status::ok("all delivered"));
        }
    }
}

/// The subscriber queue is bounded by bytes: with 1024 slots but 3 MiB, a subscriber
/// that does not read while 12 MB are published is cut off with `Aborted` (and told to
/// resubscribe and query); with the default 64 MiB the same subscriber gets everything.
#[tokio::test]
async fn a_subscriber_that_does_not_read_is_cut_off_by_bytes_not_slots() {
    let (delivered, status) = lagging_subscriber(|config| {
        config.subscriber_buffer = 1024;
        config.subscriber_buffer_bytes = 3 * 1024 * 1024;
    })
    .await;
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert!(
        status
            .message()
            .contains("envelopes behind; subscribe again and query to catch up"),
        "{status:?}"
    );
    assert!(delivered < 12, "{delivered}");

    let (delivered, status) = lagging_subscriber(|_| {}).await;
    assert_eq!((delivered, status.code()), (12, Code::Ok), "{status:?}");
}
