//! The REST gateway: the HTTP/JSON face of the same [`MessageApiService`] the gRPC
//! server uses, as the reference node served it through grpc-gateway, so that HTTP
//! clients such as the reference JavaScript SDK (`@xmtp/xmtp-js`) can use this node.
//!
//! Each request is decoded from JSON into the protobuf request type and handed to the
//! gRPC service's own method (with the `Authorization` header as `authorization`
//! metadata), so auth, topic ownership, limits, paging, dedup and subscriptions are the
//! gRPC code path itself; this module only translates.
//!
//! | Path (POST) | gRPC method | Success body |
//! |---|---|---|
//! | `/message/v1/publish` | `Publish` | `{}` |
//! | `/message/v1/query` | `Query` | `{"envelopes":[…],"pagingInfo":{…}}` |
//! | `/message/v1/batch-query` | `BatchQuery` | `{"responses":[…]}` |
//! | `/message/v1/subscribe` | `Subscribe` | NDJSON: `{"result":<Envelope>}` per line |
//! | `/message/v1/subscribe-all` | `SubscribeAll` | NDJSON, as above |
//!
//! JSON follows protojson as grpc-gateway v2 used it:
//!
//! - **Requests**: any `Content-Type` (xmtp-js sends `text/plain;charset=UTF-8`); an
//!   empty body is an empty message; keys in lowerCamelCase or snake_case; `null` means
//!   the default; unknown keys are ignored; uint64 as a decimal string or a JSON
//!   number; bytes as base64, standard or URL-safe, padded or not; the sort direction
//!   as its name (`SORT_DIRECTION_DESCENDING`) or number.
//! - **Responses**: every field, defaults included (grpc-gateway's `EmitUnpopulated`):
//!   uint64 as decimal strings, bytes as standard padded base64, enums by name,
//!   `"cursor": null` when there is none.
//! - **Errors**: `{"code":<gRPC code>,"message":"…","details":[]}` with grpc-gateway's
//!   HTTP status for the code (400 InvalidArgument, 401 Unauthenticated,
//!   403 PermissionDenied, 429 ResourceExhausted, 503 Unavailable, …); malformed JSON is
//!   400 / code 3. Two statuses are HTTP's own: an unknown path is 404 / code 5, another
//!   method than POST is 405 / code 12, and a body larger than
//!   [`Limits::max_http_body_bytes`] (or a decoded request larger than
//!   [`Limits::max_request_bytes`], the gRPC limit) is 413 / code 11 (`OutOfRange`, as
//!   tonic answers over gRPC).
//! - **Streams**: status 200 and headers at once, then one `{"result":<Envelope>}` line
//!   per envelope; an error after the stream started (a subscriber that fell behind) is
//!   a last line `{"error":{"code":…,"message":…,"details":[]}}`. A request rejected
//!   before the stream starts (no topics, too many) gets an ordinary error response.
//! - **CORS** as the reference node: `Access-Control-Allow-Origin: *` on every answer,
//!   and any `OPTIONS` request is a preflight answered with the allowed headers
//!   (`Authorization`, `Content-Type`, `X-Client-Version`, `X-App-Version`, …).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ALLOW, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use futures_util::StreamExt;
use prost::Message;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use super::Limits;
use super::service::{EnvelopeStream, MessageApiService};
use crate::proto::message_api::v1::message_api_server::MessageApi;

/// The gateway's paths.
pub const PUBLISH_PATH: &str = "/message/v1/publish";
/// `Query`.
pub const QUERY_PATH: &str = "/message/v1/query";
/// `BatchQuery`.
pub const BATCH_QUERY_PATH: &str = "/message/v1/batch-query";
/// `Subscribe` (NDJSON stream).
pub const SUBSCRIBE_PATH: &str = "/message/v1/subscribe";
/// `SubscribeAll` (NDJSON stream).
pub const SUBSCRIBE_ALL_PATH: &str = "/message/v1/subscribe-all";

/// Request headers a browser may send (the reference node's preflight list).
const CORS_ALLOWED_HEADERS: &str = "Content-Type,Accept,Authorization,X-Client-Version,X-App-Version,Baggage,DNT,Sec-CH-UA,Sec-CH-UA-Mobile,Sec-CH-UA-Platform,Sentry-Trace,User-Agent";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Publish,
    Query,
    BatchQuery,
    Subscribe,
    SubscribeAll,
}

impl Endpoint {
    fn from_path(path: &str) -> Option<Self> {
        Some(match path {
            PUBLISH_PATH => Self::Publish,
            QUERY_PATH => Self::Query,
            BATCH_QUERY_PATH => Self::BatchQuery,
            SUBSCRIBE_PATH => Self::Subscribe,
            SUBSCRIBE_ALL_PATH => Self::SubscribeAll,
            _ => return None,
        })
    }
}

struct Gateway {
    service: Arc<MessageApiService>,
    limits: Limits,
}

/// Serves the gateway on `listener` until `stopping` turns true, then stops accepting
/// and waits for open requests (subscription streams end on `stopping` too).
pub(crate) async fn serve(
    listener: TcpListener,
    service: Arc<MessageApiService>,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(service, limits))
        .with_graceful_shutdown(async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        })
        .await
}

fn router(service: Arc<MessageApiService>, limits: Limits) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(Arc::new(Gateway { service, limits }))
}

async fn handle(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let mut response = gateway.route(request).await;
    response
        .headers_mut()
        .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

impl Gateway {
    async fn route(&self, request: Request) -> Response {
        if request.method() == Method::OPTIONS {
            return preflight();
        }
        let Some(endpoint) = Endpoint::from_path(request.uri().path()) else {
            return error_response(StatusCode::NOT_FOUND, &Status::not_found("Not Found"));
        };
        if request.method() != Method::POST {
            let mut response = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &Status::unimplemented("Method Not Allowed"),
            );
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST, OPTIONS"));
            return response;
        }
        let (parts, body) = request.into_parts();
        let body = match read_body(&parts.headers, body, self.limits.max_http_body_bytes).await {
            Ok(body) => body,
            Err((http, status)) => return error_response(http, &status),
        };
        let result = match endpoint {
            Endpoint::Publish => self.publish(&parts.headers, &body).await,
            Endpoint::Query => self.query(&body).await,
            Endpoint::BatchQuery => self.batch_query(&body).await,
            Endpoint::Subscribe => self.subscribe(&body).await,
            Endpoint::SubscribeAll => self.subscribe_all(&body).await,
        };
        match result {
            Ok(response) => response,
            Err(Rejection::Oversize(status)) => {
                error_response(StatusCode::PAYLOAD_TOO_LARGE, &status)
            }
            Err(Rejection::Status(status)) => {
                tracing::debug!(?endpoint, code = ?status.code(), message = status.message(), "REST request refused");
                error_response(http_status(status.code()), &status)
            }
        }
    }

    /// The gRPC server's `max_decoding_message_size`, applied to the decoded request.
    fn check_size(&self, message: &impl Message) -> Result<(), Rejection> {
        let len = message.encoded_len();
        if len > self.limits.max_request_bytes {
            return Err(Rejection::Oversize(Status::out_of_range(format!(
                "decoded message length too large: found {len} bytes, the limit is: {} bytes",
                self.limits.max_request_bytes
            ))));
        }
        Ok(())
    }

    async fn publish(&self, headers: &HeaderMap, body: &[u8]) -> Result<Response, Rejection> {
        let message = json::publish_request(&json::parse_object(body)?)?;
        self.check_size(&message)?;
        let mut request = tonic::Request::new(message);
        *request.metadata_mut() = auth_metadata(headers);
        self.service.publish(request).await?;
        Ok(json_response(&json!({})))
    }

    async fn query(&self, body: &[u8]) -> Result<Response, Rejection> {
        let message = json::query_request(&json::parse_object(body)?, "")?;
        self.check_size(&message)?;
        let response = self.service.query(tonic::Request::new(message)).await?;
        Ok(json_response(&json::query_response(response.get_ref())))
    }

    async fn batch_query(&self, body: &[u8]) -> Result<Response, Rejection> {
        let message = json::batch_query_request(&json::parse_object(body)?)?;
        self.check_size(&message)?;
        let response = self
            .service
            .batch_query(tonic::Request::new(message))
            .await?;
        Ok(json_response(&json::batch_query_response(
            response.get_ref(),
        )))
    }

    async fn subscribe(&self, body: &[u8]) -> Result<Response, Rejection> {
        let message = json::subscribe_request(&json::parse_object(body)?)?;
        self.check_size(&message)?;
        let stream = self.service.subscribe(tonic::Request::new(message)).await?;
        Ok(ndjson_response(stream.into_inner()))
    }

    async fn subscribe_all(&self, body: &[u8]) -> Result<Response, Rejection> {
        let message = json::subscribe_all_request(&json::parse_object(body)?)?;
        let stream = self
            .service
            .subscribe_all(tonic::Request::new(message))
            .await?;
        Ok(ndjson_response(stream.into_inner()))
    }
}

/// Why a request was refused.
enum Rejection {
    /// A gRPC status, answered with grpc-gateway's HTTP status for its code.
    Status(Status),
    /// Too large: 413 whatever the code.
    Oversize(Status),
}

impl From<Status> for Rejection {
    fn from(status: Status) -> Self {
        Self::Status(status)
    }
}

/// Only `Authorization` goes on to the service, as `authorization` metadata (the
/// header the reference node's auth interceptor read).
fn auth_metadata(headers: &HeaderMap) -> MetadataMap {
    let mut forwarded = HeaderMap::new();
    for value in headers.get_all(AUTHORIZATION) {
        forwarded.append(AUTHORIZATION, value.clone());
    }
    MetadataMap::from_headers(forwarded)
}

/// Reads the whole body, refusing more than `limit` bytes (by `Content-Length` before
/// reading anything, otherwise as it arrives).
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, (StatusCode, Status)> {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Status::out_of_range(format!("request body larger than {limit} bytes")),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut collected = Vec::with_capacity(
        declared
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
            .min(limit),
    );
    let mut frames = body.into_data_stream();
    while let Some(chunk) = frames.next().await {
        let chunk = chunk.map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                Status::invalid_argument(format!("cannot read the request body: {e}")),
            )
        })?;
        if collected.len() + chunk.len() > limit {
            return Err(too_large());
        }
        collected.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(collected))
}

/// grpc-gateway's `HTTPStatusFromCode`.
pub(crate) fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        // Client Closed Request (nginx), as grpc-gateway.
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn status_json(status: &Status) -> Value {
    json!({
        "code": status.code() as i32,
        "message": status.message(),
        "details": [],
    })
}

fn json_response(value: &Value) -> Response {
    with_json_type(Response::new(Body::from(value.to_string())))
}

fn with_json_type(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error_response(http: StatusCode, status: &Status) -> Response {
    let mut response = json_response(&status_json(status));
    *response.status_mut() = http;
    response
}

fn preflight() -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(CORS_ALLOWED_HEADERS),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

/// `{"result":<Envelope>}\n` per envelope; an error ends the stream with
/// `{"error":<Status>}\n`.
fn ndjson_response(stream: EnvelopeStream) -> Response {
    let lines = stream.scan(false, |ended, item| {
        if *ended {
            return futures_util::future::ready(None);
        }
        let mut line = match item {
            Ok(envelope) => json!({ "result": json::envelope(&envelope) }).to_string(),
            Err(status) => {
                *ended = true;
                json!({ "error": status_json(&status) }).to_string()
            }
        };
        line.push('\n');
        futures_util::future::ready(Some(Ok::<_, std::convert::Infallible>(Bytes::from(line))))
    });
    with_json_type(Response::new(Body::from_stream(lines)))
}

/// protojson for the `xmtp.message_api.v1` messages the gateway reads and writes.
pub(crate) mod json {
    use base64::Engine;
    use base64::alphabet;
    use base64::engine::general_purpose::STANDARD;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use serde_json::{Map, Value, json};
    use tonic::Status;

    use crate::proto::message_api::v1::{
        BatchQueryRequest, BatchQueryResponse, Cursor, Envelope, IndexCursor, PagingInfo,
        PublishRequest, QueryRequest, QueryResponse, SortDirection, SubscribeAllRequest,
        SubscribeRequest, cursor,
    };

    type Object = Map<String, Value>;

    const TOLERANT: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD_ANY: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, TOLERANT);
    const URL_SAFE_ANY: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, TOLERANT);

    fn invalid(message: String) -> Status {
        Status::invalid_argument(message)
    }

    /// The body as a JSON object; an empty body is `{}`.
    pub(crate) fn parse_object(body: &[u8]) -> Result<Object, Status> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Object::new());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => Ok(object),
            Ok(other) => Err(invalid(format!(
                "request body must be a JSON object, got {}",
                kind(&other)
            ))),
            Err(e) => Err(invalid(format!("invalid JSON in request body: {e}"))),
        }
    }

    fn kind(value: &Value) -> &'static str {
        match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    fn path(prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    }

    /// A field by its JSON (lowerCamelCase) or proto (snake_case) name; `null` is absent.
    fn field<'a>(object: &'a Object, camel: &str, snake: &str) -> Option<&'a Value> {
        object
            .get(camel)
            .or_else(|| object.get(snake))
            .filter(|v| !v.is_null())
    }

    fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Object, Status> {
        value
            .as_object()
            .ok_or_else(|| invalid(format!("{at}: expected an object, got {}", kind(value))))
    }

    fn array<'a>(value: &'a Value, at: &str) -> Result<&'a [Value], Status> {
        value
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| invalid(format!("{at}: expected an array, got {}", kind(value))))
    }

    fn string(value: &Value, at: &str) -> Result<String, Status> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("{at}: expected a string, got {}", kind(value))))
    }

    fn strings(value: Option<&Value>, at: &str) -> Result<Vec<String>, Status> {
        let Some(value) = value else {
            return Ok(Vec::new());
        };
        array(value, at)?
            .iter()
            .enumerate()
            .map(|(i, v)| string(v, &format!("{at}[{i}]")))
            .collect()
    }

    /// An unsigned integer: a decimal string or a JSON number without a fraction.
    fn unsigned(value: &Value, at: &str, max: u64) -> Result<u64, Status> {
        let parsed = match value {
            Value::String(s) => s.parse::<u64>().ok(),
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 18_446_744_073_709_551_616.0)
                    // In range and integral: the cast is exact enough (f64 precision).
                    .map(|f| f as u64)
            }),
            _ => None,
        };
        parsed.filter(|n| *n <= max).ok_or_else(|| {
            invalid(format!(
                "{at}: expected an unsigned integer up to {max} (a decimal string or a number), got {}",
                short(value)
            ))
        })
    }

    fn u64_field(object: &Object, camel: &str, snake: &str, at: &str) -> Result<u64, Status> {
        field(object, camel, snake).map_or(Ok(0), |v| unsigned(v, &path(at, camel), u64::MAX))
    }

    fn bytes_field(object: &Object, camel: &str, snake: &str, at: &str) -> Result<Vec<u8>, Status> {
        let Some(value) = field(object, camel, snake) else {
            return Ok(Vec::new());
        };
        let at = path(at, camel);
        let text = value.as_str().ok_or_else(|| {
            invalid(format!(
                "{at}: expected a base64 string, got {}",
                kind(value)
            ))
        })?;
        let engine = if text.contains(['-', '_']) {
            &URL_SAFE_ANY
        } else {
            &STANDARD_ANY
        };
        engine
            .decode(text)
            .map_err(|e| invalid(format!("{at}: invalid base64: {e}")))
    }

    fn short(value: &Value) -> String {
        let mut text = value.to_string();
        if text.len() > 40 {
            let mut end = 40;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
        }
        text
    }

    fn sort_direction(value: &Value, at: &str) -> Result<i32, Status> {
        let parsed = match value {
            Value::String(name) => SortDirection::from_str_name(name).map(|d| d as i32),
            // Numbers pass as they are; the service refuses unknown ones.
            Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
            _ => None,
        };
        parsed.ok_or_else(|| {
            invalid(format!(
                "{at}: invalid value for enum SortDirection: {}",
                short(value)
            ))
        })
    }

    pub(crate) fn envelope_from(value: &Value, at: &str) -> Result<Envelope, Status> {
        let object = object(value, at)?;
        Ok(Envelope {
            content_topic: field(object, "contentTopic", "content_topic")
                .map_or(Ok(String::new()), |v| string(v, &path(at, "contentTopic")))?,
            timestamp_ns: u64_field(object, "timestampNs", "timestamp_ns", at)?,
            message: bytes_field(object, "message", "message", at)?,
        })
    }

    pub(crate) fn publish_request(object: &Object) -> Result<PublishRequest, Status> {
        let envelopes = match field(object, "envelopes", "envelopes") {
            Some(value) => array(value, "envelopes")?
                .iter()
                .enumerate()
                .map(|(i, v)| envelope_from(v, &format!("envelopes[{i}]")))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok(PublishRequest { envelopes })
    }

    fn index_cursor(value: &Value, at: &str) -> Result<IndexCursor, Status> {
        let object = object(value, at)?;
        Ok(IndexCursor {
            digest: bytes_field(object, "digest", "digest", at)?,
            sender_time_ns: u64_field(object, "senderTimeNs", "sender_time_ns", at)?,
        })
    }

    fn paging_info(value: &Value, at: &str) -> Result<PagingInfo, Status> {
        let object = object(value, at)?;
        let limit = match field(object, "limit", "limit") {
            Some(v) => u32::try_from(unsigned(v, &path(at, "limit"), u64::from(u32::MAX))?)
                .unwrap_or(u32::MAX),
            None => 0,
        };
        let cursor = match field(object, "cursor", "cursor") {
            Some(v) => {
                let cursor_at = path(at, "cursor");
                let cursor_object = self::object(v, &cursor_at)?;
                Some(Cursor {
                    cursor: match field(cursor_object, "index", "index") {
                        Some(index) => Some(cursor::Cursor::Index(index_cursor(
                            index,
                            &path(&cursor_at, "index"),
                        )?)),
                        None => None,
                    },
                })
            }
            None => None,
        };
        let direction = match field(object, "direction", "direction") {
            Some(v) => sort_direction(v, &path(at, "direction"))?,
            None => 0,
        };
        Ok(PagingInfo {
            limit,
            cursor,
            direction,
        })
    }

    /// A `QueryRequest` at `at` (empty at the top level).
    pub(crate) fn query_request(object: &Object, at: &str) -> Result<QueryRequest, Status> {
        Ok(QueryRequest {
            content_topics: strings(
                field(object, "contentTopics", "content_topics"),
                &path(at, "contentTopics"),
            )?,
            start_time_ns: u64_field(object, "startTimeNs", "start_time_ns", at)?,
            end_time_ns: u64_field(object, "endTimeNs", "end_time_ns", at)?,
            paging_info: field(object, "pagingInfo", "paging_info")
                .map(|v| paging_info(v, &path(at, "pagingInfo")))
                .transpose()?,
        })
    }

    pub(crate) fn batch_query_request(object: &Object) -> Result<BatchQueryRequest, Status> {
        let requests = match field(object, "requests", "requests") {
            Some(value) => array(value, "requests")?
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let at = format!("requests[{i}]");
                    query_request(self::object(v, &at)?, &at)
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok(BatchQueryRequest { requests })
    }

    pub(crate) fn subscribe_request(object: &Object) -> Result<SubscribeRequest, Status> {
        Ok(SubscribeRequest {
            content_topics: strings(
                field(object, "contentTopics", "content_topics"),
                "contentTopics",
            )?,
        })
    }

    pub(crate) fn subscribe_all_request(_object: &Object) -> Result<SubscribeAllRequest, Status> {
        Ok(SubscribeAllRequest {})
    }

    /// `{"contentTopic","timestampNs":"<u64>","message":"<base64>"}`.
    pub(crate) fn envelope(envelope: &Envelope) -> Value {
        json!({
            "contentTopic": envelope.content_topic,
            "timestampNs": envelope.timestamp_ns.to_string(),
            "message": STANDARD.encode(&envelope.message),
        })
    }

    fn direction_json(direction: i32) -> Value {
        SortDirection::try_from(direction)
            .map_or_else(|_| Value::from(direction), |d| Value::from(d.as_str_name()))
    }

    fn cursor_json(cursor: &Cursor) -> Value {
        match &cursor.cursor {
            Some(cursor::Cursor::Index(index)) => json!({
                "index": {
                    "digest": STANDARD.encode(&index.digest),
                    "senderTimeNs": index.sender_time_ns.to_string(),
                }
            }),
            None => json!({}),
        }
    }

    fn paging_info_json(paging: &PagingInfo) -> Value {
        json!({
            "limit": paging.limit,
            "cursor": paging.cursor.as_ref().map_or(Value::Null, cursor_json),
            "direction": direction_json(paging.direction),
        })
    }

    pub(crate) fn query_response(response: &QueryResponse) -> Value {
        json!({
            "envelopes": response.envelopes.iter().map(envelope).collect::<Vec<_>>(),
            "pagingInfo": response.paging_info.as_ref().map_or(Value::Null, paging_info_json),
        })
    }

    pub(crate) fn batch_query_response(response: &BatchQueryResponse) -> Value {
        json!({
            "responses": response.responses.iter().map(query_response).collect::<Vec<_>>(),
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn obj(text: &str) -> Object {
            parse_object(text.as_bytes()).expect("object")
        }

        #[test]
        fn empty_bodies_are_empty_messages_and_non_objects_are_refused() {
            assert!(parse_object(b"").expect("empty").is_empty());
            assert!(parse_object(b" \n").expect("blank").is_empty());
            for bad in [&b"[]"[..], b"null", b"\"x\"", b"{", b"{\"a\":}", b"\xff"] {
                let err = parse_object(bad).expect_err("refused");
                assert_eq!(err.code(), tonic::Code::InvalidArgument);
            }
        }

        #[test]
        fn u64_strings_and_numbers() {
            let e = envelope_from(
                &json!({"contentTopic": "t", "timestampNs": "18446744073709551615", "message": "AQID"}),
                "e",
            )
            .expect("envelope");
            assert_eq!(e.timestamp_ns, u64::MAX);
            assert_eq!(e.message, [1, 2, 3]);
            let e = envelope_from(&json!({"content_topic": "t", "timestamp_ns": 5}), "e")
                .expect("snake case and a number");
            assert_eq!((e.content_topic.as_str(), e.timestamp_ns), ("t", 5));
            assert!(e.message.is_empty());
            for bad in [
                json!({"timestampNs": "-1"}),
                json!({"timestampNs": "1.5"}),
                json!({"timestampNs": 1.5}),
                json!({"timestampNs": "18446744073709551616"}),
                json!({"timestampNs": true}),
                json!({"contentTopic": 7}),
                json!({"message": 7}),
                json!({"message": "!!"}),
            ] {
                let err = envelope_from(&bad, "envelopes[0]").expect_err("refused");
                assert_eq!(err.code(), tonic::Code::InvalidArgument, "{bad}");
                assert!(
                    err.message().starts_with("envelopes[0]."),
                    "{}",
                    err.message()
                );
            }
        }

        #[test]
        fn base64_in_every_protojson_form() {
            let bytes = [0xfb, 0xff, 0xbf, 0x01];
            for text in ["+/+/AQ==", "+/+/AQ", "-_-_AQ==", "-_-_AQ"] {
                let e = envelope_from(&json!({ "message": text }), "e").expect(text);
                assert_eq!(e.message, bytes, "{text}");
            }
            assert_eq!(
                envelope(&Envelope {
                    content_topic: "t".into(),
                    timestamp_ns: 1,
                    message: bytes.to_vec(),
                })["message"],
                "+/+/AQ=="
            );
        }

        #[test]
        fn directions_by_name_or_number() {
            let q = |d: Value| {
                query_request(
                    &obj(&json!({"pagingInfo": {"direction": d}}).to_string()),
                    "",
                )
            };
            for (input, expected) in [
                (json!("SORT_DIRECTION_ASCENDING"), 1),
                (json!("SORT_DIRECTION_DESCENDING"), 2),
                (json!("SORT_DIRECTION_UNSPECIFIED"), 0),
                (json!(1), 1),
                (json!(9), 9),
            ] {
                let request = q(input.clone()).expect("query");
                assert_eq!(
                    request.paging_info.expect("paging").direction,
                    expected,
                    "{input}"
                );
            }
            for bad in [
                json!("DESCENDING"),
                json!(true),
                json!(1.5),
                json!(4_000_000_000_u64),
            ] {
                assert!(q(bad.clone()).is_err(), "{bad}");
            }
        }

        #[test]
        fn query_request_with_cursor_and_unknown_fields() {
            let request = query_request(
                &obj(r#"{"contentTopics":["a","b"],"startTimeNs":"1","end_time_ns":2,"unknown":{"x":1},
                    "pagingInfo":{"limit":"5","cursor":{"index":{"digest":"AAEC","senderTimeNs":"3"}}}}"#),
                "",
            )
            .expect("query");
            assert_eq!(request.content_topics, ["a", "b"]);
            assert_eq!((request.start_time_ns, request.end_time_ns), (1, 2));
            let paging = request.paging_info.expect("paging");
            assert_eq!(paging.limit, 5);
            assert_eq!(
                paging.cursor.and_then(|c| c.cursor),
                Some(cursor::Cursor::Index(IndexCursor {
                    digest: vec![0, 1, 2],
                    sender_time_ns: 3
                }))
            );
            let nulls = query_request(&obj(r#"{"contentTopics":null,"pagingInfo":null}"#), "")
                .expect("nulls are defaults");
            assert!(nulls.content_topics.is_empty() && nulls.paging_info.is_none());
            let err = query_request(&obj(r#"{"pagingInfo":{"limit":4294967296}}"#), "")
                .expect_err("limit is a uint32");
            assert!(
                err.message().starts_with("pagingInfo.limit"),
                "{}",
                err.message()
            );
            let err = batch_query_request(&obj(r#"{"requests":[{}, {"contentTopics":[1]}]}"#))
                .expect_err("bad topic");
            assert!(
                err.message().starts_with("requests[1].contentTopics[0]"),
                "{}",
                err.message()
            );
        }

        #[test]
        fn responses_emit_every_field() {
            let full = query_response(&QueryResponse {
                envelopes: vec![Envelope {
                    content_topic: "t".into(),
                    timestamp_ns: 1_700_000_000_123_000_000,
                    message: vec![1],
                }],
                paging_info: Some(PagingInfo {
                    limit: 1,
                    cursor: Some(Cursor {
                        cursor: Some(cursor::Cursor::Index(IndexCursor {
                            digest: vec![0xff; 2],
                            sender_time_ns: 7,
                        })),
                    }),
                    direction: 1,
                }),
            });
            assert_eq!(
                full,
                json!({
                    "envelopes": [{"contentTopic": "t", "timestampNs": "1700000000123000000", "message": "AQ=="}],
                    "pagingInfo": {"limit": 1, "cursor": {"index": {"digest": "//8=", "senderTimeNs": "7"}},
                                   "direction": "SORT_DIRECTION_ASCENDING"}
                })
            );
            let end = query_response(&QueryResponse {
                envelopes: vec![],
                paging_info: Some(PagingInfo {
                    limit: 0,
                    cursor: None,
                    direction: 2,
                }),
            });
            assert_eq!(
                end,
                json!({"envelopes": [], "pagingInfo": {"limit": 0, "cursor": null, "direction": "SORT_DIRECTION_DESCENDING"}})
            );
            assert_eq!(
                batch_query_response(&BatchQueryResponse { responses: vec![] }),
                json!({"responses": []})
            );
        }
    }
}
