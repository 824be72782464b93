//! An IdentityApi node (XMTP v3) whose every answer the test decides, served over real
//! gRPC on a loopback port, in plaintext or over TLS: for the IdentityApi client's
//! behaviour against paging, hostile and failing nodes. `VerifySmartContractWalletSignatures`
//! is not offered (`UNIMPLEMENTED`).

use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};
use xmtp_ledger::proto::identity::api::v1 as api;
use xmtp_ledger::proto::identity::api::v1::identity_api_server::{IdentityApi, IdentityApiServer};
use xmtp_ledger::proto::message_api::v1::message_api_server::MessageApiServer;

use super::fake_node::{Answer, FakeNode, answer, incoming};

/// The node's answers: one function per call, given the call's metadata and request.
#[derive(Clone)]
pub struct FakeIdentityNode {
    /// `PublishIdentityUpdate`.
    pub publish: Arc<Answer<api::PublishIdentityUpdateRequest, api::PublishIdentityUpdateResponse>>,
    /// `GetIdentityUpdates`.
    pub get_identity_updates:
        Arc<Answer<api::GetIdentityUpdatesRequest, api::GetIdentityUpdatesResponse>>,
    /// `GetInboxIds`.
    pub get_inbox_ids: Arc<Answer<api::GetInboxIdsRequest, api::GetInboxIdsResponse>>,
}

impl Default for FakeIdentityNode {
    /// Every call unimplemented.
    fn default() -> Self {
        Self {
            publish: Arc::new(|_, _| Err(Status::unimplemented("fake"))),
            get_identity_updates: Arc::new(|_, _| Err(Status::unimplemented("fake"))),
            get_inbox_ids: Arc::new(|_, _| Err(Status::unimplemented("fake"))),
        }
    }
}

#[tonic::async_trait]
impl IdentityApi for FakeIdentityNode {
    async fn publish_identity_update(
        &self,
        request: Request<api::PublishIdentityUpdateRequest>,
    ) -> Result<Response<api::PublishIdentityUpdateResponse>, Status> {
        answer(&*self.publish, request)
    }
    async fn get_identity_updates(
        &self,
        request: Request<api::GetIdentityUpdatesRequest>,
    ) -> Result<Response<api::GetIdentityUpdatesResponse>, Status> {
        answer(&*self.get_identity_updates, request)
    }
    async fn get_inbox_ids(
        &self,
        request: Request<api::GetInboxIdsRequest>,
    ) -> Result<Response<api::GetInboxIdsResponse>, Status> {
        answer(&*self.get_inbox_ids, request)
    }
    async fn verify_smart_contract_wallet_signatures(
        &self,
        _: Request<api::VerifySmartContractWalletSignaturesRequest>,
    ) -> Result<Response<api::VerifySmartContractWalletSignaturesResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
}

/// Serves `node` on an ephemeral loopback port, on the current tokio runtime (plaintext,
/// `http://127.0.0.1:PORT`), with `message_api` beside it on the same port if given;
/// returns the URL and the serving task.
pub async fn serve(
    node: FakeIdentityNode,
    message_api: Option<FakeNode>,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = Server::builder()
            .add_service(IdentityApiServer::new(node))
            .add_optional_service(message_api.map(MessageApiServer::new))
            .serve_with_incoming(incoming(listener))
            .await;
    });
    (url, task)
}

/// Serves `node` over TLS with the certificate `cert_pem` and its key `key_pem`, on an
/// ephemeral loopback port; returns `https://localhost:PORT` (the name the certificate
/// must carry) and the serving task.
pub async fn serve_tls(
    node: FakeIdentityNode,
    cert_pem: &str,
    key_pem: &str,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let tls = ServerTlsConfig::new().identity(Identity::from_pem(cert_pem, key_pem));
    let mut builder = Server::builder()
        .tls_config(tls)
        .expect("server TLS config");
    let task = tokio::spawn(async move {
        let _ = builder
            .add_service(IdentityApiServer::new(node))
            .serve_with_incoming(incoming(listener))
            .await;
    });
    (format!("https://localhost:{port}"), task)
}
