//! The REST gateway: the HTTP/JSON face of the same `MessageApiService` the gRPC
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

mod codec;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ALLOW, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use prost::Message;
use serde_json::{Value, json};
use tokio::sync::watch;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use super::Limits;
use super::listener::{Admission, ConnectionLimits, MAX_HEADER_BYTES};
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
    /// How long a request body may take to arrive whole.
    body_timeout: Duration,
}

/// Serves the gateway on `admission`'s listener until `stopping` turns true, then
/// stops accepting and waits for open requests (subscription streams end on
/// `stopping` too).
///
/// Each connection is HTTP/1.1 with hyper's header timeout set to
/// [`ConnectionLimits::handshake_timeout`]: the whole request header must arrive within
/// it, for the first request and for each later one on a kept-alive connection, so a
/// connection that says nothing, or dribbles its header, is closed.
pub(crate) async fn serve(
    mut admission: Admission,
    service: Arc<MessageApiService>,
    limits: Limits,
    connections: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) {
    let router = router(service, limits, connections.request_timeout);
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(connections.handshake_timeout)
        // The request head may take at most this (HTTP 431 beyond), as gRPC's header
        // list; bodies stream past it.
        .max_buf_size(MAX_HEADER_BYTES)
        .keep_alive(true);
    loop {
        let stream = tokio::select! {
            stream = admission.accept() => stream,
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        let connection = http.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.clone()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "REST connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
}

fn router(service: Arc<MessageApiService>, limits: Limits, body_timeout: Duration) -> Router {
    Router::new().fallback(handle).with_state(Arc::new(Gateway {
        service,
        limits,
        body_timeout,
    }))
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
        let body = read_body(&parts.headers, body, self.limits.max_http_body_bytes);
        let body = match tokio::time::timeout(self.body_timeout, body).await {
            Ok(Ok(body)) => body,
            Ok(Err((http, status))) => return error_response(http, &status),
            Err(_) => {
                let status = Status::deadline_exceeded(format!(
                    "the request body did not arrive within {} s",
                    self.body_timeout.as_secs()
                ));
                let mut response = error_response(StatusCode::REQUEST_TIMEOUT, &status);
                // The rest of the body may still be on its way: do not read it.
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
                return response;
            }
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
        let message = codec::publish_request(&codec::parse_object(body)?)?;
        self.check_size(&message)?;
        let mut request = tonic::Request::new(message);
        *request.metadata_mut() = auth_metadata(headers);
        self.service.publish(request).await?;
        Ok(json_response(&json!({})))
    }

    async fn query(&self, body: &[u8]) -> Result<Response, Rejection> {
        let message = codec::query_request(&codec::parse_object(body)?, "")?;
        self.check_size(&message)?;
        let response = self.service.query(tonic::Request::new(message)).await?;
        Ok(json_response(&codec::query_response(response.get_ref())))
    }

    async fn batch_query(&self, body: &[u8]) -> Result<Response, Rejection> {
        let message = codec::batch_query_request(&codec::parse_object(body)?)?;
        self.check_size(&message)?;
        let response = self
            .service
            .batch_query(tonic::Request::new(message))
            .await?;
        Ok(json_response(&codec::batch_query_response(
            response.get_ref(),
        )))
    }

    async fn subscribe(&self, body: &[u8]) -> Result<Response, Rejection> {
        let message = codec::subscribe_request(&codec::parse_object(body)?)?;
        self.check_size(&message)?;
        let stream = self.service.subscribe(tonic::Request::new(message)).await?;
        Ok(ndjson_response(stream.into_inner()))
    }

    async fn subscribe_all(&self, body: &[u8]) -> Result<Response, Rejection> {
        let message = codec::subscribe_all_request(&codec::parse_object(body)?)?;
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
            Ok(envelope) => json!({ "result": codec::envelope(&envelope) }).to_string(),
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
