//! protojson for the `xmtp.message_api.v1` messages the gateway reads and writes: JSON to
//! request messages (lenient, as grpc-gateway read it) and response messages to JSON (every
//! field, as grpc-gateway wrote it). The rules are in the [gateway's documentation](super).

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
        Some(v) => {
            u32::try_from(unsigned(v, &path(at, "limit"), u64::from(u32::MAX))?).unwrap_or(u32::MAX)
        }
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
mod tests;
