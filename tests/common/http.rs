//! A raw HTTP/1.1 client over a `TcpStream`, so that nothing is hidden from the test: what
//! it sends is written out by hand, and what comes back is parsed without an HTTP library
//! (chunked bodies and NDJSON streams included).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long any one exchange may take before the test fails.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A whole answer.
#[derive(Debug)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header called `name`, in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; the test fails if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A grpc-gateway error body with this HTTP status and gRPC code; its message.
    pub fn assert_error(&self, http: u16, code: i64) -> String {
        assert_eq!(self.status, http, "{self:?}");
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.header("access-control-allow-origin"), Some("*"));
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["details"], json!([]), "{body}");
        body["message"].as_str().expect("message").to_owned()
    }

    /// A 200 JSON answer with the CORS header; its body.
    pub fn assert_ok(&self) -> Value {
        assert_eq!(
            self.status,
            200,
            "{:?}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.header("access-control-allow-origin"), Some("*"));
        self.json()
    }
}

/// The request line and headers, without the blank line that ends them: the test adds
/// `Content-Length` (or not) itself. Without a `Content-Type`, the one xmtp-js sends.
pub fn request_head(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    let has_type = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    if !has_type {
        // What xmtp-js sends.
        head.push_str("Content-Type: text/plain;charset=UTF-8\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head
}

/// One request on a fresh connection (`Connection: close`), the whole answer.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut head = request_head(addr, method, path, headers);
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    request_raw(addr, &bytes).await
}

/// `bytes` as they are on a fresh connection, and the whole answer until the server closes.
pub async fn request_raw(addr: SocketAddr, bytes: &[u8]) -> HttpResponse {
    tokio::time::timeout(IO_TIMEOUT, async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(bytes).await.expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        parse_response(&raw)
    })
    .await
    .expect("answer in time")
}

/// The status and headers of a response head (without its blank line).
pub fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').expect("header line");
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    (status, headers)
}

/// A whole response, its body de-chunked when it is chunked.
pub fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(raw)));
    let (status, headers) = parse_head(std::str::from_utf8(&raw[..split]).expect("ascii head"));
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// The payload of a complete `Transfer-Encoding: chunked` body.
pub fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size = usize::from_str_radix(
            std::str::from_utf8(&data[..line_end]).expect("hex").trim(),
            16,
        )
        .expect("chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// An open streaming response (subscribe): status and headers, then NDJSON lines.
pub struct NdjsonStream {
    /// The HTTP status.
    pub status: u16,
    headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    buffered: Vec<u8>,
}

impl NdjsonStream {
    /// POSTs `body` to `path` and reads the head, which must come at once.
    pub async fn open(addr: SocketAddr, path: &str, body: &str) -> Self {
        let mut head = request_head(addr, "POST", path, &[]);
        head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(head.as_bytes()).await.expect("send");
        let mut reader = BufReader::new(stream);
        // The head must come at once, before any envelope exists.
        let mut head = String::new();
        tokio::time::timeout(IO_TIMEOUT, async {
            loop {
                let mut line = String::new();
                let n = reader.read_line(&mut line).await.expect("read head");
                assert!(n > 0, "connection closed in the head: {head:?}");
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
        })
        .await
        .expect("response head sent immediately");
        let (status, headers) = parse_head(&head);
        Self {
            status,
            headers,
            reader,
            buffered: Vec::new(),
        }
    }

    /// The first header called `name`, in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The next line (without its `\n`), or `None` at the end of the stream.
    pub async fn next_line(&mut self) -> Option<String> {
        tokio::time::timeout(IO_TIMEOUT, async {
            loop {
                if let Some(end) = self.buffered.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = self.buffered.drain(..=end).collect();
                    return Some(String::from_utf8(line[..end].to_vec()).expect("utf-8 line"));
                }
                let mut size_line = String::new();
                if self
                    .reader
                    .read_line(&mut size_line)
                    .await
                    .expect("chunk size")
                    == 0
                {
                    return None;
                }
                let size = usize::from_str_radix(size_line.trim(), 16).expect("hex chunk size");
                if size == 0 {
                    return None;
                }
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).await.expect("chunk");
                self.buffered.extend_from_slice(&chunk[..size]);
            }
        })
        .await
        .expect("a line or the end within the timeout")
    }

    /// The next line as JSON, or `None` at the end of the stream.
    pub async fn next_json(&mut self) -> Option<Value> {
        let line = self.next_line().await?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}")))
    }

    /// Nothing arrives for `wait`.
    pub async fn assert_quiet(&mut self, wait: Duration) {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(wait, self.reader.read(&mut byte)).await;
        assert!(read.is_err(), "unexpected data on the stream");
    }
}
