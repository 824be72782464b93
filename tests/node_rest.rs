//! The node's REST gateway over real HTTP/1.1 (a raw client, so nothing is hidden):
//! JSON shapes (camelCase, uint64 strings, base64, enum names and numbers), paging,
//! batch, grpc-gateway error bodies and statuses, CORS, body limits, NDJSON streams,
//! one core shared with gRPC (auth, ownership, dedup, subscriptions both ways), hostile
//! input, and `xmtp-ledger node --http-listen`.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use xmtp_ledger::identity::{AuthToken, topic};
use xmtp_ledger::network::{Client, ClientConfig, Envelope, Query, now_ns};
use xmtp_ledger::node::store::envelope_digest;
use xmtp_ledger::node::{self, Limits, NodeConfig, RunningNode};

use common::fixtures::{identity, token};
use common::http::{HttpResponse, IO_TIMEOUT, NdjsonStream, request, request_head, request_raw};

// ---------------------------------------------------------------- harness

struct Harness {
    _dir: TempDir,
    node: RunningNode,
    http: SocketAddr,
}

async fn harness_with(tweak: impl FnOnce(&mut NodeConfig)) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = NodeConfig::new(dir.path().join("node.sqlite3"));
    config.http_listen = Some("127.0.0.1:0".parse().expect("addr"));
    // The tests date envelopes 1, 2, 3… (and u64::MAX) to make order obvious.
    common::node::any_sender_time(&mut config);
    tweak(&mut config);
    let node = node::spawn("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("node starts");
    let http = node.http_addr().expect("REST gateway enabled");
    assert_eq!(node.http_url(), Some(format!("http://{http}")));
    Harness {
        _dir: dir,
        node,
        http,
    }
}

async fn harness() -> Harness {
    harness_with(|_| {}).await
}

impl Harness {
    async fn post(&self, path: &str, body: &str) -> HttpResponse {
        request(self.http, "POST", path, &[], body.as_bytes()).await
    }

    async fn post_json(&self, path: &str, body: &Value) -> HttpResponse {
        self.post(path, &body.to_string()).await
    }

    async fn publish(&self, token: Option<&AuthToken>, envelopes: &[Value]) -> HttpResponse {
        let header = token.map(AuthToken::header_value);
        let headers: Vec<(&str, &str)> = header
            .as_deref()
            .map(|h| vec![("Authorization", h)])
            .unwrap_or_default();
        let body = json!({ "envelopes": envelopes }).to_string();
        request(
            self.http,
            "POST",
            "/message/v1/publish",
            &headers,
            body.as_bytes(),
        )
        .await
    }

    async fn grpc(&self) -> Client {
        Client::connect(&self.node.url(), ClientConfig::default())
            .await
            .expect("gRPC client")
    }
}

fn env_json(topic: &str, timestamp_ns: u64, message: &[u8]) -> Value {
    json!({
        "contentTopic": topic,
        "timestampNs": timestamp_ns.to_string(),
        "message": STANDARD.encode(message),
    })
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn publish_then_query_json_shapes() {
    let h = harness().await;
    let id = identity(0x31);
    let topic = "/xmtp/0/m-rest-shapes/proto";
    // Bytes that differ in standard and URL-safe base64 ("+/+/AQ==").
    let tricky = [0xfb, 0xff, 0xbf, 0x01];
    let response = h
        .publish(
            Some(&token(&id)),
            &[
                env_json(topic, 1_700_000_000_123_000_000, b"first"),
                env_json(topic, u64::MAX, &tricky),
            ],
        )
        .await;
    assert_eq!(response.assert_ok(), json!({}));

    let body = h
        .post_json(
            "/message/v1/query",
            &json!({"contentTopics": [topic], "pagingInfo": {"limit": 1, "direction": "SORT_DIRECTION_DESCENDING"}}),
        )
        .await
        .assert_ok();
    let digest = envelope_digest(topic, &tricky);
    assert_eq!(
        body,
        json!({
            "envelopes": [{"contentTopic": topic, "timestampNs": "18446744073709551615", "message": "+/+/AQ=="}],
            "pagingInfo": {
                "limit": 1,
                "cursor": {"index": {"digest": STANDARD.encode(digest), "senderTimeNs": "18446744073709551615"}},
                "direction": "SORT_DIRECTION_DESCENDING",
            },
        })
    );

    // The cursor goes back as it came; the last page ends with limit 0 and no cursor.
    let next = h
        .post_json(
            "/message/v1/query",
            &json!({"contentTopics": [topic], "pagingInfo": body["pagingInfo"]}),
        )
        .await
        .assert_ok();
    assert_eq!(
        next,
        json!({
            "envelopes": [{"contentTopic": topic, "timestampNs": "1700000000123000000", "message": STANDARD.encode(b"first")}],
            "pagingInfo": {"limit": 1, "cursor": {"index": {"digest": STANDARD.encode(envelope_digest(topic, b"first")), "senderTimeNs": "1700000000123000000"}}, "direction": "SORT_DIRECTION_DESCENDING"},
        })
    );
    let end = h
        .post_json(
            "/message/v1/query",
            &json!({"contentTopics": [topic], "pagingInfo": next["pagingInfo"]}),
        )
        .await
        .assert_ok();
    assert_eq!(
        end,
        json!({"envelopes": [], "pagingInfo": {"limit": 0, "cursor": null, "direction": "SORT_DIRECTION_DESCENDING"}})
    );

    // Direction as a number, snake_case keys, u64 bounds as JSON numbers; no paging
    // info at all means newest first, 100 per page.
    let ascending = h
        .post(
            "/message/v1/query",
            &format!(
                r#"{{"content_topics":["{topic}"],"start_time_ns":1,"end_time_ns":"18446744073709551615","paging_info":{{"direction":1}}}}"#
            ),
        )
        .await
        .assert_ok();
    assert_eq!(
        ascending["pagingInfo"]["direction"],
        "SORT_DIRECTION_ASCENDING"
    );
    let stamps: Vec<&Value> = ascending["envelopes"]
        .as_array()
        .expect("envelopes")
        .iter()
        .map(|e| &e["timestampNs"])
        .collect();
    assert_eq!(
        stamps,
        [
            &json!("1700000000123000000"),
            &json!("18446744073709551615")
        ]
    );
    let default = h
        .post_json("/message/v1/query", &json!({"contentTopics": [topic]}))
        .await
        .assert_ok();
    assert_eq!(
        default["envelopes"][0]["timestampNs"],
        "18446744073709551615"
    );
    assert_eq!(
        default["pagingInfo"]["direction"],
        "SORT_DIRECTION_DESCENDING"
    );
    // Time bounds are inclusive.
    let bounded = h
        .post_json(
            "/message/v1/query",
            &json!({"contentTopics": [topic], "startTimeNs": "1700000000123000000", "endTimeNs": "1700000000123000000"}),
        )
        .await
        .assert_ok();
    assert_eq!(bounded["envelopes"].as_array().expect("envelopes").len(), 1);

    // URL-safe and unpadded base64 are accepted on the way in.
    let response = h
        .post(
            "/message/v1/publish",
            &json!({"envelopes": [{"contentTopic": topic, "timestampNs": 5, "message": "-_-_AQ"}]})
                .to_string(),
        )
        .await;
    // (No token: refused, but only after decoding succeeded.)
    response.assert_error(401, 16);
}

#[tokio::test]
async fn batch_query_has_responses_in_order() {
    let h = harness().await;
    let id = identity(0x32);
    let (a, b) = (
        "/xmtp/0/m-rest-batch-a/proto",
        "/xmtp/0/m-rest-batch-b/proto",
    );
    h.publish(
        Some(&token(&id)),
        &[
            env_json(a, 1, b"a1"),
            env_json(a, 2, b"a2"),
            env_json(b, 3, b"b1"),
        ],
    )
    .await
    .assert_ok();
    let body = h
        .post_json(
            "/message/v1/batch-query",
            &json!({"requests": [
                {"contentTopics": [a], "pagingInfo": {"limit": 5, "direction": "SORT_DIRECTION_DESCENDING"}},
                {"contentTopics": [b]},
                {"contentTopics": ["/xmtp/0/m-rest-batch-none/proto"]},
            ]}),
        )
        .await
        .assert_ok();
    let responses = body["responses"].as_array().expect("responses");
    assert_eq!(responses.len(), 3);
    let messages = |r: &Value| -> Vec<String> {
        r["envelopes"]
            .as_array()
            .expect("envelopes")
            .iter()
            .map(|e| e["message"].as_str().expect("message").to_owned())
            .collect()
    };
    assert_eq!(
        messages(&responses[0]),
        [STANDARD.encode(b"a2"), STANDARD.encode(b"a1")]
    );
    assert_eq!(messages(&responses[1]), [STANDARD.encode(b"b1")]);
    assert_eq!(
        responses[2],
        json!({"envelopes": [], "pagingInfo": {"limit": 0, "cursor": null, "direction": "SORT_DIRECTION_DESCENDING"}})
    );
    // An empty batch still has "responses".
    assert_eq!(
        h.post("/message/v1/batch-query", "{}").await.assert_ok(),
        json!({"responses": []})
    );
    // The shared limits: at most 50 queries, each checked.
    let many: Vec<Value> = (0..51).map(|_| json!({"contentTopics": [a]})).collect();
    let message = h
        .post_json("/message/v1/batch-query", &json!({ "requests": many }))
        .await
        .assert_error(400, 3);
    assert_eq!(message, "cannot exceed 50 requests in single batch");
    let message = h
        .post_json(
            "/message/v1/batch-query",
            &json!({"requests": [{"contentTopics": [a]}, {"contentTopics": []}]}),
        )
        .await
        .assert_error(400, 3);
    assert_eq!(message, "request 1: content topics required");
}

#[tokio::test]
async fn errors_are_grpc_gateway_json_with_matching_statuses() {
    let h = harness().await;
    let alice = identity(0x33);
    let bob = identity(0x34);
    let query = "/message/v1/query";

    // Malformed JSON, wrong types, bad values: 400 / InvalidArgument.
    for (body, expect) in [
        ("{", "invalid JSON"),
        ("[1]", "must be a JSON object"),
        ("\"x\"", "must be a JSON object"),
        (
            r#"{"contentTopics":"t"}"#,
            "contentTopics: expected an array",
        ),
        (
            r#"{"contentTopics":["t"],"startTimeNs":"-1"}"#,
            "startTimeNs",
        ),
        (
            r#"{"contentTopics":["t"],"startTimeNs":"1e3"}"#,
            "startTimeNs",
        ),
        (
            r#"{"contentTopics":["t"],"pagingInfo":{"direction":"DOWN"}}"#,
            "SortDirection",
        ),
        (
            r#"{"contentTopics":["t"],"pagingInfo":{"cursor":{"index":{"digest":"%%%"}}}}"#,
            "base64",
        ),
        (
            r#"{"contentTopics":["t"],"pagingInfo":{"cursor":{"index":{"digest":"AQ=="}}}}"#,
            "cursor digest must be 32 bytes",
        ),
        (r#"{"contentTopics":[]}"#, "content topics required"),
        ("", "content topics required"),
        (
            r#"{"contentTopics":["t"],"pagingInfo":{"limit":101}}"#,
            "cannot exceed 100 rows per query",
        ),
        (
            r#"{"contentTopics":["t"],"pagingInfo":{"direction":7}}"#,
            "unknown sort direction 7",
        ),
    ] {
        let message = h.post(query, body).await.assert_error(400, 3);
        assert!(message.contains(expect), "{body}: {message}");
    }
    let message = h.post(query, "\u{1}\u{ff}").await.assert_error(400, 3);
    assert!(message.contains("invalid JSON"), "{message}");
    let response = request(
        h.http,
        "POST",
        query,
        &[],
        b"{\"contentTopics\":[\"\xff\"]}",
    )
    .await;
    response.assert_error(400, 3);

    // Publish: no token, a bad token → 401 / Unauthenticated.
    let topic = "/xmtp/0/m-rest-errors/proto";
    let message = h
        .publish(None, &[env_json(topic, 1, b"x")])
        .await
        .assert_error(401, 16);
    assert!(message.contains("auth token"), "{message}");
    for header in ["Bearer", "Bearer !!!", "Basic abc", "Bearer AAAA"] {
        let body = json!({"envelopes": [env_json(topic, 1, b"x")]}).to_string();
        let response = request(
            h.http,
            "POST",
            "/message/v1/publish",
            &[("Authorization", header)],
            body.as_bytes(),
        )
        .await;
        response.assert_error(401, 16);
    }
    // Someone else's contact topic → 403 / PermissionDenied.
    let message = h
        .publish(
            Some(&token(&alice)),
            &[env_json(&topic::contact_topic(&bob.wallet), 1, b"not mine")],
        )
        .await
        .assert_error(403, 7);
    assert!(
        message.contains("publishing to restricted topic"),
        "{message}"
    );
    // The service's limits: empty topic, oversize topic → 400.
    h.publish(Some(&token(&alice)), &[env_json("", 1, b"x")])
        .await
        .assert_error(400, 3);
    h.publish(Some(&token(&alice)), &[env_json(&"t".repeat(301), 1, b"x")])
        .await
        .assert_error(400, 3);
    // Nothing of that was stored.
    assert_eq!(
        h.post_json(
            query,
            &json!({"contentTopics": [topic, topic::contact_topic(&bob.wallet)]})
        )
        .await
        .assert_ok()["envelopes"],
        json!([])
    );

    // HTTP-level: unknown path 404 / NotFound, other methods 405 / Unimplemented.
    h.post("/message/v1/nope", "{}").await.assert_error(404, 5);
    h.post("/", "{}").await.assert_error(404, 5);
    for method in ["GET", "PUT", "DELETE"] {
        let response = request(h.http, method, query, &[], b"").await;
        response.assert_error(405, 12);
        assert_eq!(response.header("allow"), Some("POST, OPTIONS"));
    }
    // A query string does not change the route.
    h.post("/message/v1/query?x=1", r#"{"contentTopics":["t"]}"#)
        .await
        .assert_ok();
}

#[tokio::test]
async fn cors_preflight_and_headers() {
    let h = harness().await;
    for path in ["/message/v1/publish", "/message/v1/subscribe", "/anything"] {
        let response = request(
            h.http,
            "OPTIONS",
            path,
            &[
                ("Origin", "https://app.example"),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "authorization,content-type,x-client-version,x-app-version",
                ),
            ],
            b"",
        )
        .await;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.header("access-control-allow-origin"), Some("*"));
        let allowed: Vec<String> = response
            .header("access-control-allow-headers")
            .expect("allowed headers")
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        for needed in [
            "authorization",
            "content-type",
            "x-client-version",
            "x-app-version",
        ] {
            assert!(
                allowed.iter().any(|a| a == needed),
                "{needed} in {allowed:?}"
            );
        }
        assert!(
            response
                .header("access-control-allow-methods")
                .expect("methods")
                .contains("POST")
        );
        assert!(response.body.is_empty());
    }
    // Every answer, success or error, carries Allow-Origin.
    let ok = request(
        h.http,
        "POST",
        "/message/v1/query",
        &[
            ("Origin", "https://app.example"),
            ("Content-Type", "application/json"),
        ],
        br#"{"contentTopics":["t"]}"#,
    )
    .await;
    ok.assert_ok();
    h.post("/message/v1/query", "{").await.assert_error(400, 3);
}

#[tokio::test]
async fn body_limits() {
    let h = harness_with(|config| {
        config.limits = Limits {
            max_http_body_bytes: 4096,
            max_request_bytes: 1024,
            ..Limits::default()
        };
    })
    .await;
    // Over the HTTP body limit, declared up front.
    let big = format!(r#"{{"contentTopics":["t"],"pad":"{}"}}"#, "x".repeat(5000));
    let message = h
        .post("/message/v1/query", &big)
        .await
        .assert_error(413, 11);
    assert!(message.contains("4096"), "{message}");
    // Over it without a Content-Length (chunked upload).
    let mut raw = request_head(h.http, "POST", "/message/v1/query", &[]);
    raw.push_str("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    let mut bytes = raw.into_bytes();
    for _ in 0..3 {
        bytes.extend_from_slice(format!("{:x}\r\n{}\r\n", 2000, "x".repeat(2000)).as_bytes());
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    request_raw(h.http, &bytes).await.assert_error(413, 11);
    // Within the body limit but larger than the gRPC message limit once decoded.
    let message = h
        .post_json(
            "/message/v1/publish",
            &json!({"envelopes": [env_json("/xmtp/0/m-big/proto", 1, &[7; 2000])]}),
        )
        .await
        .assert_error(413, 11);
    assert!(message.contains("1024"), "{message}");
    // A chunked body within the limit is fine.
    let body = br#"{"contentTopics":["t"]}"#;
    let mut raw = request_head(h.http, "POST", "/message/v1/query", &[]);
    raw.push_str("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    let mut bytes = raw.into_bytes();
    bytes.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
    bytes.extend_from_slice(body);
    bytes.extend_from_slice(b"\r\n0\r\n\r\n");
    request_raw(h.http, &bytes).await.assert_ok();
}

#[tokio::test]
async fn one_core_for_grpc_and_rest() {
    let h = harness().await;
    let grpc = h.grpc().await;
    let id = identity(0x35);
    let topic = "/xmtp/0/m-rest-shared/proto";

    // Published over gRPC, read over REST.
    grpc.publish(
        &token(&id),
        vec![Envelope {
            content_topic: topic.into(),
            timestamp_ns: 10,
            message: b"grpc".to_vec(),
        }],
    )
    .await
    .expect("gRPC publish");
    // Published over REST (twice, and once more the gRPC bytes), read over gRPC.
    for _ in 0..2 {
        h.publish(Some(&token(&id)), &[env_json(topic, 20, b"rest")])
            .await
            .assert_ok();
    }
    h.publish(Some(&token(&id)), &[env_json(topic, 30, b"grpc")])
        .await
        .assert_ok();
    let page = grpc.query(&Query::topic(topic)).await.expect("gRPC query");
    // Dedup across front-ends: one row per (topic, message), first timestamp kept.
    let got: Vec<(u64, Vec<u8>)> = page
        .envelopes
        .iter()
        .map(|e| (e.timestamp_ns, e.message.clone()))
        .collect();
    assert_eq!(got, [(20, b"rest".to_vec()), (10, b"grpc".to_vec())]);
    let rest = h
        .post_json("/message/v1/query", &json!({"contentTopics": [topic]}))
        .await
        .assert_ok();
    assert_eq!(rest["envelopes"].as_array().expect("envelopes").len(), 2);

    // The identity's own topics, through REST with its own token (the SDK's path).
    let publications = id.publications();
    let envelopes: Vec<Value> = publications
        .iter()
        .map(|p| env_json(&p.topic, now_ns(), &p.message))
        .collect();
    h.publish(Some(&token(&id)), &envelopes).await.assert_ok();
    let newest = grpc
        .newest(&topic::private_store_topic(&id.wallet))
        .await
        .expect("newest")
        .expect("stored");
    assert_eq!(newest.message, publications[0].message);
}

#[tokio::test]
async fn subscribe_streams_ndjson() {
    let h = harness().await;
    let grpc = h.grpc().await;
    let id = identity(0x36);
    let topic = "/xmtp/0/m-rest-sub/proto";
    let other = "/xmtp/0/m-rest-sub-other/proto";

    let mut sub = NdjsonStream::open(
        h.http,
        "/message/v1/subscribe",
        &json!({"contentTopics": [topic]}).to_string(),
    )
    .await;
    assert_eq!(sub.status, 200);
    assert_eq!(sub.header("content-type"), Some("application/json"));
    assert_eq!(sub.header("access-control-allow-origin"), Some("*"));
    let mut all = NdjsonStream::open(h.http, "/message/v1/subscribe-all", "").await;
    assert_eq!(all.status, 200);
    sub.assert_quiet(Duration::from_millis(100)).await;

    // Over REST.
    h.publish(
        Some(&token(&id)),
        &[
            env_json(other, 1, b"skip"),
            env_json(topic, u64::MAX, &[0xfb, 0xff]),
        ],
    )
    .await
    .assert_ok();
    assert_eq!(
        sub.next_json().await,
        Some(
            json!({"result": {"contentTopic": topic, "timestampNs": "18446744073709551615", "message": "+/8="}})
        )
    );
    // Over gRPC, to the same subscribers; ephemeral topics are relayed too.
    let ephemeral = "/xmtp/0/mE-rest-sub/proto";
    grpc.publish(
        &token(&id),
        vec![
            Envelope {
                content_topic: topic.into(),
                timestamp_ns: 2,
                message: b"via grpc".to_vec(),
            },
            Envelope {
                content_topic: ephemeral.into(),
                timestamp_ns: 3,
                message: b"e".to_vec(),
            },
            Envelope {
                content_topic: "not-xmtp".into(),
                timestamp_ns: 4,
                message: b"n".to_vec(),
            },
        ],
    )
    .await
    .expect("gRPC publish");
    assert_eq!(
        sub.next_json().await.expect("line")["result"]["message"],
        STANDARD.encode(b"via grpc")
    );
    // subscribe-all: every /xmtp/0/ topic, in publish order, nothing else.
    let mut topics = Vec::new();
    for _ in 0..4 {
        let line = all.next_json().await.expect("line");
        topics.push(
            line["result"]["contentTopic"]
                .as_str()
                .expect("topic")
                .to_owned(),
        );
    }
    assert_eq!(topics, [other, topic, topic, ephemeral]);
    all.assert_quiet(Duration::from_millis(100)).await;

    // Refused before the stream starts: an ordinary error response.
    let response = h.post("/message/v1/subscribe", "{}").await;
    assert_eq!(response.assert_error(400, 3), "content topics required");
    let too_many: Vec<String> = (0..1001).map(|i| format!("/xmtp/0/m-{i}/proto")).collect();
    h.post_json(
        "/message/v1/subscribe",
        &json!({ "contentTopics": too_many }),
    )
    .await
    .assert_error(400, 3);

    // Shutdown ends the streams (and the node stops rather than waiting on them).
    tokio::time::timeout(Duration::from_secs(10), h.node.shutdown())
        .await
        .expect("shutdown in time")
        .expect("clean shutdown");
    assert_eq!(sub.next_line().await, None);
    assert_eq!(all.next_line().await, None);
}

#[tokio::test]
async fn a_lagging_rest_subscriber_gets_an_error_line() {
    let h = harness_with(|config| config.subscriber_buffer = 2).await;
    let id = identity(0x37);
    let topic = "/xmtp/0/m-rest-lag/proto";
    let mut sub = NdjsonStream::open(
        h.http,
        "/message/v1/subscribe",
        &json!({"contentTopics": [topic]}).to_string(),
    )
    .await;
    let burst: Vec<Value> = (0..10u8)
        .map(|i| env_json(topic, u64::from(i) + 1, &[i]))
        .collect();
    h.publish(Some(&token(&id)), &burst).await.assert_ok();
    let mut results = 0;
    let last = loop {
        let line = sub.next_json().await.expect("a line before the end");
        if line.get("result").is_some() {
            results += 1;
            continue;
        }
        break line;
    };
    assert!(results < 10);
    assert_eq!(last["error"]["code"], 10, "{last}");
    assert_eq!(last["error"]["details"], json!([]));
    assert!(
        last["error"]["message"]
            .as_str()
            .expect("message")
            .contains("fell"),
        "{last}"
    );
    assert_eq!(
        sub.next_line().await,
        None,
        "the stream ends after the error"
    );
}

#[tokio::test]
async fn hostile_input_never_breaks_the_gateway() {
    let h = harness().await;
    let deep = "[".repeat(100_000);
    let huge_number = format!(
        r#"{{"contentTopics":["t"],"startTimeNs":{}}}"#,
        "9".repeat(5000)
    );
    let bodies: Vec<Vec<u8>> = vec![
        deep.into_bytes(),
        huge_number.into_bytes(),
        b"\xff\xfe\x00\x01".to_vec(),
        br#"{"contentTopics":["t"],"pagingInfo":{"limit":-1}}"#.to_vec(),
        br#"{"contentTopics":["t"],"pagingInfo":{"limit":1.5}}"#.to_vec(),
        br#"{"contentTopics":["t"],"pagingInfo":[]}"#.to_vec(),
        br#"{"contentTopics":["t"],"pagingInfo":{"cursor":{"index":"x"}}}"#.to_vec(),
        br#"{"envelopes":{"0":1}}"#.to_vec(),
        br#"{"envelopes":[null]}"#.to_vec(),
        br#"{"requests":[[]]}"#.to_vec(),
        b"{\"contentTopics\":[\"t\"]} trailing".to_vec(),
    ];
    // Each is refused as a query. Other endpoints ignore the fields they do not have
    // (as protojson does), so they may accept some: any answer is JSON, nothing breaks.
    for path in [
        "/message/v1/query",
        "/message/v1/publish",
        "/message/v1/batch-query",
    ] {
        for body in &bodies {
            let response = request(h.http, "POST", path, &[], body).await;
            let expected: &[u16] = if path == "/message/v1/query" {
                &[400]
            } else {
                &[200, 400, 401]
            };
            assert!(
                expected.contains(&response.status),
                "{path} {:?}: {response:?}",
                String::from_utf8_lossy(&body[..body.len().min(40)])
            );
            response.json();
        }
    }
    for body in [
        &b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["[..],
        b"\xff\xfe",
        br#"{"contentTopics":"t"}"#,
        br#"{"contentTopics":[1]}"#,
        br#"{"contentTopics":[""]}"#,
    ] {
        request(h.http, "POST", "/message/v1/subscribe", &[], body)
            .await
            .assert_error(400, 3);
    }
    // Garbage that is not HTTP at all, and a connection dropped mid-body.
    let _ = tokio::time::timeout(IO_TIMEOUT, async {
        let mut stream = TcpStream::connect(h.http).await.expect("connect");
        stream.write_all(b"\x00\x01garbage\r\n\r\n").await.ok();
        let mut sink = Vec::new();
        stream.read_to_end(&mut sink).await.ok();
    })
    .await;
    {
        let mut stream = TcpStream::connect(h.http).await.expect("connect");
        stream
            .write_all(
                b"POST /message/v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"cont",
            )
            .await
            .expect("send");
    }
    // Still serving, correctly.
    let body = h
        .post_json("/message/v1/query", &json!({"contentTopics": ["t"]}))
        .await
        .assert_ok();
    assert_eq!(body["envelopes"], json!([]));
}

#[tokio::test]
async fn the_gateway_is_off_unless_configured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = common::node::spawn_loopback(dir.path().join("node.sqlite3")).await;
    assert_eq!(node.http_addr(), None);
    assert_eq!(node.http_url(), None);
    node.shutdown().await.expect("shutdown");

    // A taken HTTP address is a bind error from spawn, not a half-started node.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut config = NodeConfig::new(dir.path().join("node.sqlite3"));
    config.http_listen = Some(taken.local_addr().expect("addr"));
    let err = node::spawn("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect_err("address in use");
    assert!(matches!(err, node::NodeError::Bind { .. }), "{err}");
}

/// `xmtp-ledger node --http-listen`: gRPC address on stdout line 1, HTTP on line 2.
#[test]
fn cli_node_prints_both_addresses_and_serves_rest() {
    use std::io::{BufRead, BufReader as StdBufReader, Read};
    use std::process::Stdio;

    let dir = tempfile::tempdir().expect("tempdir");
    for via_env in [false, true] {
        let mut command = common::cli::command();
        command.args(["node", "--listen", "127.0.0.1:0", "--db"]);
        command.arg(dir.path().join("node.sqlite3"));
        if via_env {
            command.env("XMTP_LEDGER_NODE_HTTP_LISTEN", "127.0.0.1:0");
        } else {
            command.args(["--http-listen", "127.0.0.1:0"]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node");
        let mut stdout = StdBufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("line 1");
        let grpc: SocketAddr = line.trim().parse().expect("gRPC address on line 1");
        line.clear();
        stdout.read_line(&mut line).expect("line 2");
        let http: SocketAddr = line.trim().parse().expect("HTTP address on line 2");
        assert_ne!(grpc, http);

        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            request(
                http,
                "POST",
                "/message/v1/query",
                &[],
                br#"{"contentTopics":["t"]}"#,
            )
            .await
            .assert_ok();
            Client::connect(&format!("http://{grpc}"), ClientConfig::default())
                .await
                .expect("gRPC still there")
                .query(&Query::topic("t"))
                .await
                .expect("gRPC query");
        });

        let pid = child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let status = child.wait().expect("wait");
        assert!(status.success(), "{status}");
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).expect("rest of stdout");
        assert_eq!(rest, "", "nothing more on stdout");
    }

    let run = common::cli::command()
        .args(["node", "--listen", "127.0.0.1:0", "--http-listen", "nope"])
        .output()
        .expect("run");
    assert_eq!(run.status.code(), Some(1), "usage error");
    assert!(String::from_utf8_lossy(&run.stderr).contains("--http-listen"));
}
