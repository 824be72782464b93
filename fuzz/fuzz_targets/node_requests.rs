//! Target `node_requests`: requests any client can send to our node (`xmtp_ledger::node`), over
//! gRPC and over the REST gateway.
//!
//! The node's service type is private to the crate, so the target does what a client does:
//! once per process it starts a node with `xmtp_ledger::node::spawn` (gRPC and REST on
//! `127.0.0.1:0`) over a SQLite file in a fresh temporary directory (under `$TMPDIR`; removed
//! at exit), connects a generated gRPC client, and makes a wallet identity whose auth token it
//! can present. REST requests go through a minimal HTTP/1.1 client (one connection each).
//!
//! Input: `op ‖ rest`; `rest` is decoded with prost as the request of the operation (inputs that
//! do not decode are skipped: tonic would answer them before our code runs):
//! - 0 `Publish` (`PublishRequest`) with a valid token; `@W` in a topic is replaced by the
//!   token's wallet, so owned `contact-`/`privatestore-` topics are reachable;
//! - 1 `Publish` with a fuzzed header: `rest` is records `u16be(len) ‖ bytes`, the first the
//!   `authorization` value (sent if it is a legal header value), the second the request;
//! - 2 `Query` (`QueryRequest`), 3 `BatchQuery` (`BatchQueryRequest`),
//!   4 `Subscribe` (`SubscribeRequest`; a stream that opens is dropped at once);
//! - 5 REST, raw: `rest` is `endpoint ‖ records`: the endpoint byte picks the path (publish,
//!   query, batch-query, subscribe, subscribe-all, an unknown path), the method (bit 3: GET
//!   instead of POST, bit 4: OPTIONS) and the `Authorization` header (bit 5: a valid token,
//!   else the first record if it is a legal header value); the last record is the body, any
//!   bytes;
//! - 6 REST vs gRPC: `QueryRequest` sent both ways (REST body written here as protojson, in
//!   the form bits of the first byte pick: camelCase or snake_case keys, integers as strings
//!   or numbers, standard or URL-safe base64); 7 the same for `BatchQueryRequest`.
//!
//! Invariants, besides never panicking (a panic on any node thread aborts the process):
//! - the node never answers `Internal` or `Unknown`, and stays reachable;
//! - with a valid token, a publish succeeds exactly when every envelope passes the documented
//!   limits and topic ownership (else `InvalidArgument`/`PermissionDenied`), and a stored
//!   envelope can be queried back;
//! - without a valid token, a publish is `Unauthenticated`;
//! - a query (or batch, or subscription) is refused exactly when it breaks a documented
//!   limit, with `InvalidArgument`; an answer has at most `limit` (0 = 100) envelopes, only of
//!   the topics asked, within the inclusive time bounds, in the asked order; a batch answers
//!   each query;
//! - REST: every answer carries `Access-Control-Allow-Origin: *`, is never a 5xx, and an
//!   error is `{"code","message","details":[]}` whose HTTP status is grpc-gateway's for its
//!   code; a query over REST answers exactly what the same query over gRPC answers (the same
//!   envelopes and paging, or the same code and message).
#![no_main]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fuzz_support::records_u16;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use xmtp_ledger::flow::{SealedIdentity, generate_identity};
use xmtp_ledger::identity::AuthToken;
use xmtp_ledger::identity::topic::restricted_topic_owner;
use xmtp_ledger::network::now_ns;
use xmtp_ledger::node::{self, Limits, NodeConfig, RunningNode};
use xmtp_ledger::proto::message_api::v1::message_api_client::MessageApiClient;
use xmtp_ledger::proto::message_api::v1::{
    BatchQueryRequest, Envelope, PagingInfo, PublishRequest, QueryRequest, QueryResponse,
    SortDirection, SubscribeRequest, cursor,
};
use xmtp_ledger::signer::LocalKeySigner;

struct Harness {
    runtime: tokio::runtime::Runtime,
    _node: RunningNode,
    http: std::net::SocketAddr,
    client: MessageApiClient<Channel>,
    identity: SealedIdentity,
    wallet: String,
}

/// Every `(topic, message)` stored by this process (the database is fresh per process), with
/// the timestamp it was first stored with: a later duplicate is ignored by the node.
static STORED: LazyLock<Mutex<HashMap<TopicAndMessage, u64>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

type TopicAndMessage = (String, Vec<u8>);

/// The node's data directory, removed by [`remove_dir`] when the process exits.
static DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

extern "C" fn remove_dir() {
    if let Some(dir) = DIR.lock().ok().and_then(|mut d| d.take()) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> i32;
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let dir = tempfile::Builder::new()
        .prefix("xmtp-ledger-fuzz-node-")
        .tempdir()
        .expect("temporary directory")
        .keep();
    *DIR.lock().unwrap() = Some(dir.clone());
    // SAFETY: registers a plain function with the C runtime; it only touches a Mutex.
    unsafe { atexit(remove_dir) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (node, client) = runtime.block_on(async {
        let mut config = NodeConfig::new(dir.join("node.sqlite3"));
        config.http_listen = Some("127.0.0.1:0".parse().unwrap());
        config.limits = limits();
        let node = node::spawn("127.0.0.1:0".parse().unwrap(), config)
            .await
            .expect("node starts");
        let client = MessageApiClient::connect(node.url())
            .await
            .expect("client connects");
        (node, client)
    });
    let signer = LocalKeySigner::from_private_key(&[0x11; 32]).expect("wallet key");
    let identity = generate_identity(&signer, &mut |_| {}).expect("identity");
    let wallet = identity.wallet.to_string();
    let http = node.http_addr().expect("REST gateway listening");
    Harness {
        runtime,
        http,
        _node: node,
        client: client
            .max_decoding_message_size(64 * 1024 * 1024)
            .max_encoding_message_size(64 * 1024 * 1024),
        identity,
        wallet,
    }
});

/// The node's limits, except that any sender timestamp is accepted: the fuzzer's
/// timestamps are arbitrary, and the window would refuse nearly all of them before they
/// reach the store (the window itself is tested in tests/node_bounds.rs).
fn limits() -> Limits {
    Limits {
        sender_time_past: std::time::Duration::MAX,
        sender_time_future: std::time::Duration::MAX,
        ..Limits::default()
    }
}

fn assert_sane(status: &tonic::Status) {
    assert!(
        !matches!(
            status.code(),
            Code::Internal | Code::Unknown | Code::Unavailable
        ),
        "node failed: {status:?}"
    );
}

fn with_header<T>(message: T, header: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(value) = header.and_then(|h| MetadataValue::try_from(h).ok()) {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fuzz_target!(|data: &[u8]| {
    let Some((&op, rest)) = data.split_first() else {
        return;
    };
    let h = &*HARNESS;
    match op % 8 {
        5 => return rest_raw(h, rest),
        6 | 7 => return rest_differential(h, op, rest),
        _ => {}
    }
    h.runtime.block_on(async {
        match op % 8 {
            0 => {
                let Ok(mut request) = PublishRequest::decode(rest) else {
                    return;
                };
                for envelope in &mut request.envelopes {
                    envelope.content_topic = envelope.content_topic.replace("@W", &h.wallet);
                }
                publish_with_token(h, request).await;
            }
            1 => {
                let records = records_u16(rest);
                let [header, body, ..] = records.as_slice() else {
                    return;
                };
                let Ok(request) = PublishRequest::decode(*body) else {
                    return;
                };
                let header = String::from_utf8_lossy(header);
                let result = h
                    .client
                    .clone()
                    .publish(with_header(request, Some(&header)))
                    .await;
                // Nobody can forge a token for a wallet without its key: only an exact copy of
                // a real token could pass, and the fuzzer has none.
                let status = result.expect_err("publish without a real token");
                assert_sane(&status);
                assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
            }
            2 => {
                let Ok(request) = QueryRequest::decode(rest) else {
                    return;
                };
                let valid = query_is_valid(&request);
                match h.client.clone().query(request.clone()).await {
                    Ok(response) => {
                        assert!(valid, "accepted an invalid query: {request:?}");
                        check_response(&request, &response.into_inner());
                    }
                    Err(status) => {
                        assert_sane(&status);
                        assert!(!valid, "refused a valid query: {status:?}");
                        assert_eq!(status.code(), Code::InvalidArgument);
                    }
                }
            }
            3 => {
                let Ok(request) = BatchQueryRequest::decode(rest) else {
                    return;
                };
                let valid = request.requests.len() <= limits().max_batch_queries
                    && request.requests.iter().all(query_is_valid);
                match h.client.clone().batch_query(request.clone()).await {
                    Ok(response) => {
                        assert!(valid, "accepted an invalid batch");
                        let responses = response.into_inner().responses;
                        assert_eq!(responses.len(), request.requests.len());
                        for (query, response) in request.requests.iter().zip(&responses) {
                            check_response(query, response);
                        }
                    }
                    Err(status) => {
                        assert_sane(&status);
                        assert!(!valid, "refused a valid batch: {status:?}");
                        assert_eq!(status.code(), Code::InvalidArgument);
                    }
                }
            }
            _ => {
                let Ok(request) = SubscribeRequest::decode(rest) else {
                    return;
                };
                let topics = &request.content_topics;
                let valid = !topics.is_empty()
                    && topics.len() <= limits().max_topics_per_subscription
                    && topics.iter().all(|t| topic_is_valid(t));
                match h.client.clone().subscribe(request).await {
                    Ok(stream) => {
                        assert!(valid, "accepted an invalid subscription");
                        drop(stream);
                    }
                    Err(status) => {
                        assert_sane(&status);
                        assert!(!valid, "refused a valid subscription: {status:?}");
                        assert_eq!(status.code(), Code::InvalidArgument);
                    }
                }
            }
        }
    });
});

fn topic_is_valid(topic: &str) -> bool {
    !topic.is_empty() && topic.len() <= limits().max_topic_len
}

fn query_is_valid(request: &QueryRequest) -> bool {
    let limits = limits();
    let paging = request.paging_info.clone().unwrap_or_default();
    let digest_ok = match paging.cursor.and_then(|c| c.cursor) {
        Some(cursor::Cursor::Index(index)) => index.digest.is_empty() || index.digest.len() == 32,
        None => true,
    };
    !request.content_topics.is_empty()
        && request.content_topics.len() <= limits.max_topics_per_query
        && request.content_topics.iter().all(|t| topic_is_valid(t))
        && paging.limit <= limits.max_page_size
        && SortDirection::try_from(paging.direction).is_ok()
        && digest_ok
}

fn check_response(request: &QueryRequest, response: &QueryResponse) {
    let paging = request.paging_info.clone().unwrap_or_default();
    let limit = if paging.limit == 0 {
        limits().max_page_size
    } else {
        paging.limit
    };
    assert!(response.envelopes.len() <= limit as usize);
    let ascending = paging.direction == SortDirection::Ascending as i32;
    for envelope in &response.envelopes {
        assert!(request.content_topics.contains(&envelope.content_topic));
        if request.start_time_ns != 0 {
            assert!(envelope.timestamp_ns >= request.start_time_ns);
        }
        if request.end_time_ns != 0 {
            assert!(envelope.timestamp_ns <= request.end_time_ns);
        }
    }
    for pair in response.envelopes.windows(2) {
        if ascending {
            assert!(pair[0].timestamp_ns <= pair[1].timestamp_ns);
        } else {
            assert!(pair[0].timestamp_ns >= pair[1].timestamp_ns);
        }
    }
    let info: &PagingInfo = response.paging_info.as_ref().expect("paging info");
    if info.cursor.is_some() {
        assert!(!response.envelopes.is_empty());
    }
}

fn is_ephemeral(topic: &str) -> bool {
    topic.starts_with("/xmtp/0/mE-") || topic.starts_with("/xmtp/0/dmE-")
}

async fn publish_with_token(h: &Harness, request: PublishRequest) {
    let limits = limits();
    let valid = request.envelopes.len() <= limits.max_envelopes_per_publish
        && request.envelopes.iter().all(|e| {
            topic_is_valid(&e.content_topic)
                && e.message.len() <= limits.max_message_bytes
                && restricted_topic_owner(&e.content_topic).is_none_or(|o| o == h.wallet)
        });
    let token = AuthToken::create(h.identity.bundle.identity_key(), now_ns()).expect("token");
    let header = token.header_value();
    let result = h
        .client
        .clone()
        .publish(with_header(request.clone(), Some(&header)))
        .await;
    match result {
        Ok(_) => {
            assert!(valid, "accepted an invalid publish");
            let mut first = None;
            {
                let mut stored = STORED.lock().unwrap();
                for envelope in &request.envelopes {
                    if is_ephemeral(&envelope.content_topic) {
                        continue;
                    }
                    let key = (envelope.content_topic.clone(), envelope.message.clone());
                    let timestamp = *stored.entry(key).or_insert(envelope.timestamp_ns);
                    first.get_or_insert(Envelope {
                        timestamp_ns: timestamp,
                        ..envelope.clone()
                    });
                }
            }
            // A timestamp of 0 would mean "unbounded" in the query: skip those.
            if let Some(envelope) = first.filter(|e| e.timestamp_ns != 0) {
                read_back(h, &envelope).await;
            }
        }
        Err(status) => {
            assert_sane(&status);
            assert!(!valid, "refused a valid publish: {status:?}");
            assert!(
                matches!(
                    status.code(),
                    Code::InvalidArgument | Code::PermissionDenied
                ),
                "{status:?}"
            );
        }
    }
}

/// A stored envelope is found by a query for its topic and timestamp (unless that page is
/// full of others with the same topic and timestamp).
async fn read_back(h: &Harness, envelope: &Envelope) {
    let query = QueryRequest {
        content_topics: vec![envelope.content_topic.clone()],
        start_time_ns: envelope.timestamp_ns,
        end_time_ns: envelope.timestamp_ns,
        paging_info: None,
    };
    let response = h
        .client
        .clone()
        .query(query)
        .await
        .expect("query of a published topic")
        .into_inner();
    let found = response
        .envelopes
        .iter()
        .any(|e| e.message == envelope.message);
    let full = response.envelopes.len() as u32 >= limits().max_page_size
        || response
            .paging_info
            .as_ref()
            .is_some_and(|p| p.cursor.is_some());
    assert!(found || full, "published envelope not found");
}

// ----- REST ------------------------------------------------------------------------------

/// An HTTP answer: status, headers (names lower-cased) and the body (de-chunked).
struct HttpAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One request on its own connection (`Connection: close`). For a stream that opened
/// (`200` on a subscribe path) only the head is read.
fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: &[u8],
) -> HttpAnswer {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("REST gateway reachable");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(value) = authorization {
        head.push_str(&format!("Authorization: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let streaming = path.contains("/subscribe");
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        let n = stream.read(&mut buf).expect("REST answer within 20 s");
        assert!(
            n > 0 || raw.windows(4).any(|w| w == b"\r\n\r\n"),
            "REST connection closed without an answer"
        );
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
    };
    let head = std::str::from_utf8(&raw[..head_end]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[head_end + 4..].to_vec();
    if !(streaming && status == 200) {
        stream
            .read_to_end(&mut body)
            .expect("REST answer within 20 s");
    }
    let mut answer = HttpAnswer {
        status,
        headers,
        body,
    };
    if answer.header("transfer-encoding") == Some("chunked") && !(streaming && status == 200) {
        answer.body = dechunk(&answer.body);
    }
    answer
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("hex chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

const REST_PATHS: [&str; 6] = [
    node::rest::PUBLISH_PATH,
    node::rest::QUERY_PATH,
    node::rest::BATCH_QUERY_PATH,
    node::rest::SUBSCRIBE_PATH,
    node::rest::SUBSCRIBE_ALL_PATH,
    "/message/v1/unknown",
];

/// grpc-gateway's HTTP status for a gRPC code (as documented in `node::rest`).
fn http_status_of(code: i64) -> u16 {
    match code {
        0 => 200,
        1 => 499,
        2 | 13 | 15 => 500,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        16 => 401,
        8 => 429,
        12 => 501,
        14 => 503,
        other => panic!("unknown gRPC code {other}"),
    }
}

/// Checks what every gateway answer must be; returns the parsed JSON body, if any.
fn check_http(answer: &HttpAnswer) -> Option<serde_json::Value> {
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("*"),
        "CORS header on every answer"
    );
    assert!(answer.status < 500, "REST answered {}", answer.status);
    if answer.status == 200 {
        return serde_json::from_slice(&answer.body).ok();
    }
    let error: serde_json::Value =
        serde_json::from_slice(&answer.body).expect("an error body is JSON");
    let code = error["code"].as_i64().expect("error has a numeric code");
    assert!(error["message"].is_string(), "{error}");
    assert_eq!(error["details"], serde_json::json!([]));
    // Two statuses are HTTP's own (documented): 405 for another method, 413 for size.
    match answer.status {
        405 => assert_eq!(code, 12),
        413 => assert_eq!(code, 11),
        status => assert_eq!(http_status_of(code), status, "{error}"),
    }
    Some(error)
}

fn rest_raw(h: &Harness, rest: &[u8]) {
    let Some((&endpoint, rest)) = rest.split_first() else {
        return;
    };
    let path = REST_PATHS[usize::from(endpoint & 7) % REST_PATHS.len()];
    let method = if endpoint & 16 != 0 {
        "OPTIONS"
    } else if endpoint & 8 != 0 {
        "GET"
    } else {
        "POST"
    };
    let records = records_u16(rest);
    let token_header;
    let authorization = if endpoint & 32 != 0 {
        let token = AuthToken::create(h.identity.bundle.identity_key(), now_ns()).expect("token");
        token_header = token.header_value();
        Some(token_header.as_str())
    } else {
        records
            .first()
            .filter(|_| records.len() > 1)
            .and_then(|h| std::str::from_utf8(h).ok())
            // A value hyper's request line parser accepts and we can write verbatim.
            .filter(|h| h.bytes().all(|b| b == b'\t' || (0x20..0x7F).contains(&b)))
    };
    let body = records.last().copied().unwrap_or_default();
    let answer = http(h.http, method, path, authorization, body);
    let json = check_http(&answer);
    match (method, answer.status) {
        ("OPTIONS", status) => assert_eq!(status, 200),
        (_, 200) if path == node::rest::QUERY_PATH => {
            check_query_json(&json.expect("query answer is JSON"));
        }
        (_, 200) if path == node::rest::BATCH_QUERY_PATH => {
            let json = json.expect("batch answer is JSON");
            for response in json["responses"].as_array().expect("responses") {
                check_query_json(response);
            }
        }
        (_, 200) if path == node::rest::PUBLISH_PATH => {
            assert_eq!(json, Some(serde_json::json!({})));
            assert!(authorization.is_some(), "published without a token");
        }
        ("GET", status) => assert!(status == 405 || status == 404),
        _ => {}
    }
    if path == "/message/v1/unknown" && method != "OPTIONS" {
        assert_eq!(answer.status, 404);
    }
}

fn check_query_json(json: &serde_json::Value) {
    for envelope in json["envelopes"].as_array().expect("envelopes") {
        assert!(envelope["contentTopic"].is_string());
        envelope["timestampNs"]
            .as_str()
            .expect("u64 as a string")
            .parse::<u64>()
            .expect("decimal");
        STANDARD
            .decode(envelope["message"].as_str().expect("base64 string"))
            .expect("standard base64");
    }
    assert!(json["pagingInfo"].is_object());
}

/// protojson for a `QueryRequest`, in one of the forms the gateway must accept.
fn query_json(request: &QueryRequest, form: u8) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let snake = form & 1 != 0;
    let key = |camel: &'static str, snake_name: &'static str| {
        if snake { snake_name } else { camel }
    };
    let int = |n: u64| {
        if form & 2 != 0 {
            json!(n)
        } else {
            json!(n.to_string())
        }
    };
    let bytes = |b: &[u8]| {
        if form & 4 != 0 {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
        } else {
            STANDARD.encode(b)
        }
    };
    let mut object = Map::new();
    object.insert(
        key("contentTopics", "content_topics").into(),
        json!(request.content_topics),
    );
    object.insert(
        key("startTimeNs", "start_time_ns").into(),
        int(request.start_time_ns),
    );
    object.insert(
        key("endTimeNs", "end_time_ns").into(),
        int(request.end_time_ns),
    );
    if let Some(paging) = &request.paging_info {
        let mut p = Map::new();
        p.insert("limit".into(), json!(paging.limit));
        let direction = SortDirection::try_from(paging.direction)
            .ok()
            .filter(|_| form & 8 != 0)
            .map_or(json!(paging.direction), |d| json!(d.as_str_name()));
        p.insert("direction".into(), direction);
        if let Some(cursor) = &paging.cursor {
            let inner = match &cursor.cursor {
                Some(cursor::Cursor::Index(index)) => json!({
                    "index": {
                        "digest": bytes(&index.digest),
                        key("senderTimeNs", "sender_time_ns"): int(index.sender_time_ns),
                    }
                }),
                None => json!({}),
            };
            p.insert("cursor".into(), inner);
        }
        object.insert(key("pagingInfo", "paging_info").into(), Value::Object(p));
    }
    Value::Object(object)
}

/// The gRPC answer as the gateway should render it.
fn query_response_json(response: &QueryResponse) -> serde_json::Value {
    use serde_json::{Value, json};
    let paging = response.paging_info.as_ref().map_or(Value::Null, |p| {
        json!({
            "limit": p.limit,
            "cursor": p.cursor.as_ref().map_or(Value::Null, |c| match &c.cursor {
                Some(cursor::Cursor::Index(i)) => json!({"index": {
                    "digest": STANDARD.encode(&i.digest),
                    "senderTimeNs": i.sender_time_ns.to_string(),
                }}),
                None => json!({}),
            }),
            "direction": SortDirection::try_from(p.direction)
                .map_or(json!(p.direction), |d| json!(d.as_str_name())),
        })
    });
    json!({
        "envelopes": response.envelopes.iter().map(|e| json!({
            "contentTopic": e.content_topic,
            "timestampNs": e.timestamp_ns.to_string(),
            "message": STANDARD.encode(&e.message),
        })).collect::<Vec<_>>(),
        "pagingInfo": paging,
    })
}

fn rest_differential(h: &Harness, op: u8, rest: &[u8]) {
    let Some((&form, rest)) = rest.split_first() else {
        return;
    };
    let (path, body, grpc) = if op % 8 == 6 {
        let Ok(request) = QueryRequest::decode(rest) else {
            return;
        };
        let body = query_json(&request, form);
        let grpc = h
            .runtime
            .block_on(h.client.clone().query(request))
            .map(|r| query_response_json(r.get_ref()));
        (node::rest::QUERY_PATH, body, grpc)
    } else {
        let Ok(request) = BatchQueryRequest::decode(rest) else {
            return;
        };
        let body = serde_json::json!({
            "requests": request.requests.iter().map(|r| query_json(r, form)).collect::<Vec<_>>(),
        });
        let grpc = h
            .runtime
            .block_on(h.client.clone().batch_query(request))
            .map(|r| {
                serde_json::json!({
                    "responses": r.get_ref().responses.iter().map(query_response_json).collect::<Vec<_>>(),
                })
            });
        (node::rest::BATCH_QUERY_PATH, body, grpc)
    };
    let answer = http(h.http, "POST", path, None, body.to_string().as_bytes());
    let json = check_http(&answer).expect("JSON answer");
    match grpc {
        Ok(expected) => {
            assert_eq!(answer.status, 200, "gRPC accepted, REST refused: {json}");
            assert_eq!(json, expected, "REST and gRPC disagree");
        }
        Err(status) => {
            assert_sane(&status);
            assert_eq!(json["code"].as_i64(), Some(status.code() as i64), "{json}");
            assert_eq!(json["message"].as_str(), Some(status.message()));
        }
    }
}
