//! A MessageApi node whose every answer the test decides, served over real gRPC on a
//! loopback port: for the client's behaviour against retrying, scripted or hostile nodes.
//! Subscriptions are not offered (`UNIMPLEMENTED`).

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use tokio::net::TcpListener;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};
use xmtp_ledger::proto::message_api::v1 as api;
use xmtp_ledger::proto::message_api::v1::message_api_server::{MessageApi, MessageApiServer};

/// A scripted answer to one call: the call's metadata and request in, the response or a
/// status out.
pub type Answer<Req, Resp> = dyn Fn(&MetadataMap, Req) -> Result<Resp, Status> + Send + Sync;

/// The node's answers: one function per unary call, given the call's metadata and request.
#[derive(Clone)]
pub struct FakeNode {
    /// `Publish`.
    pub publish: Arc<Answer<api::PublishRequest, api::PublishResponse>>,
    /// `Query`.
    pub query: Arc<Answer<api::QueryRequest, api::QueryResponse>>,
    /// `BatchQuery`.
    pub batch_query: Arc<Answer<api::BatchQueryRequest, api::BatchQueryResponse>>,
}

type Envelopes = Pin<Box<dyn Stream<Item = Result<api::Envelope, Status>> + Send>>;

/// Runs `f` on `request`.
pub fn answer<Req, Resp>(
    f: &Answer<Req, Resp>,
    request: Request<Req>,
) -> Result<Response<Resp>, Status> {
    let metadata = request.metadata().clone();
    f(&metadata, request.into_inner()).map(Response::new)
}

#[tonic::async_trait]
impl MessageApi for FakeNode {
    async fn publish(
        &self,
        request: Request<api::PublishRequest>,
    ) -> Result<Response<api::PublishResponse>, Status> {
        answer(&*self.publish, request)
    }
    type SubscribeStream = Envelopes;
    async fn subscribe(
        &self,
        _: Request<api::SubscribeRequest>,
    ) -> Result<Response<Envelopes>, Status> {
        Err(Status::unimplemented("fake"))
    }
    type Subscribe2Stream = Envelopes;
    async fn subscribe2(
        &self,
        _: Request<tonic::Streaming<api::SubscribeRequest>>,
    ) -> Result<Response<Envelopes>, Status> {
        Err(Status::unimplemented("fake"))
    }
    type SubscribeAllStream = Envelopes;
    async fn subscribe_all(
        &self,
        _: Request<api::SubscribeAllRequest>,
    ) -> Result<Response<Envelopes>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn query(
        &self,
        request: Request<api::QueryRequest>,
    ) -> Result<Response<api::QueryResponse>, Status> {
        answer(&*self.query, request)
    }
    async fn batch_query(
        &self,
        request: Request<api::BatchQueryRequest>,
    ) -> Result<Response<api::BatchQueryResponse>, Status> {
        answer(&*self.batch_query, request)
    }
}

/// Serves `node` (a [`FakeNode`], or any other MessageApi a test writes) on an ephemeral
/// loopback port, on the current tokio runtime; returns its `http://` URL and the
/// serving task.
pub async fn serve<N: MessageApi>(node: N) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let service = MessageApiServer::new(node);
    let task = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming(listener))
            .await;
    });
    (url, task)
}

/// The connections `listener` accepts, without Nagle's delay on the answers: hundreds of
/// small round trips stay fast.
pub fn incoming(
    listener: TcpListener,
) -> impl Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|socket| {
        if let Ok(socket) = &socket {
            let _ = socket.set_nodelay(true);
        }
        socket
    })
}
