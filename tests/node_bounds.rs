//! Issue 10's bounds, over gRPC and REST alike, against a real node on loopback ports:
//! a batch answer fits the response budget and its cursors still reach every row;
//! subscriber queues are bounded by bytes; sender timestamps stay within a window of the
//! node's clock; a request that does not decode is INVALID_ARGUMENT; and both transports
//! say the same thing about the same bad `Authorization` header.

mod common;

use std::net::SocketAddr;

use prost::bytes::{Buf, BufMut};
use tempfile::TempDir;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

use xmtp_ledger::node::{self, NodeConfig, RunningNode};

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
