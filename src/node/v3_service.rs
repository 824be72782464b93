//! The XMTP v3 services on the node's gRPC port: `IdentityApi` (identity logs, checked by
//! [`crate::v3::AssociationState`] before they are stored) and the key-package half of
//! `MlsApi` (key packages kept as opaque bytes, filed under their installation key).
//!
//! Codes: a request that breaks a limit or a rule is `INVALID_ARGUMENT` naming it (for an
//! identity update, `"update N[, action M]: <rule>"`); a publish to an inbox whose log holds
//! [`MAX_INBOX_UPDATES`] is `FAILED_PRECONDITION` "inbox log is full" (the reference
//! node's words; retrying cannot help, and the state of the inbox, not the request, is
//! what stops it); an answer that would pass [`Limits::max_v3_response_bytes`] is
//! `RESOURCE_EXHAUSTED` (ask for fewer at a time); `VerifySmartContractWalletSignatures`
//! and every MlsApi method but the two key-package ones are `UNIMPLEMENTED`.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;

use prost::Message;
use tonic::{Request, Response, Status};

use super::Limits;
use super::inbox_store::{AddressChanges, InboxStoreError};
use super::key_package::{INSTALLATION_KEY_LEN, installation_key};
use super::service::on_store;
use super::store::Store;
use crate::proto::identity::api::v1::identity_api_server::IdentityApi;
use crate::proto::identity::api::v1::{
    GetIdentityUpdatesRequest, GetIdentityUpdatesResponse, GetInboxIdsRequest, GetInboxIdsResponse,
    PublishIdentityUpdateRequest, PublishIdentityUpdateResponse,
    VerifySmartContractWalletSignaturesRequest, VerifySmartContractWalletSignaturesResponse,
    get_identity_updates_response, get_inbox_ids_response,
};
use crate::proto::identity::associations::{IdentifierKind, IdentityUpdate};
use crate::proto::mls::api::v1::mls_api_server::MlsApi;
use crate::proto::mls::api::v1::{
    FetchKeyPackagesRequest, FetchKeyPackagesResponse, UploadKeyPackageRequest,
    fetch_key_packages_response,
};
use crate::v3::{AssociationState, InboxId, LogError};
use crate::wire::{
    MAX_IDENTIFIER_LEN, MAX_IDENTITY_UPDATE_BYTES, MAX_IDENTITY_UPDATE_REQUESTS,
    MAX_INBOX_ID_REQUESTS, MAX_INBOX_UPDATES, MAX_KEY_PACKAGE_BYTES, MAX_KEY_PACKAGE_FETCH,
};

/// `xmtp.identity.api.v1.IdentityApi` over the node's store.
pub(crate) struct IdentityApiService {
    store: Arc<Store>,
    limits: Limits,
}

impl IdentityApiService {
    pub(crate) fn new(store: Arc<Store>, limits: Limits) -> Self {
        Self { store, limits }
    }
}

/// Why a publish's validation refused it.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    /// The new update breaks a rule.
    #[error("invalid identity update: {0}")]
    Invalid(LogError),
    /// The inbox's stored log no longer replays (the node only stores updates that did):
    /// the node's fault, not the client's.
    #[error("the stored log of this inbox does not verify: {0}")]
    StoredLog(LogError),
}

/// Checks `update` against the inbox's log so far (empty: it must create the inbox) and
/// says which addresses it adds to the inbox and removes from it.
fn validate(log: &[IdentityUpdate], update: &IdentityUpdate) -> Result<AddressChanges, Refusal> {
    let before = if log.is_empty() {
        None
    } else {
        Some(AssociationState::replay(log).map_err(Refusal::StoredLog)?)
    };
    let after = match &before {
        None => AssociationState::create(update),
        Some(state) => state.apply(update),
    }
    .map_err(Refusal::Invalid)?;
    let addresses = |state: Option<&AssociationState>| -> BTreeSet<String> {
        state
            .map(|s| s.addresses().iter().map(|a| a.to_lower_hex()).collect())
            .unwrap_or_default()
    };
    let old = addresses(before.as_ref());
    let new = addresses(Some(&after));
    Ok(AddressChanges {
        added: new.difference(&old).cloned().collect(),
        removed: old.difference(&new).cloned().collect(),
    })
}

/// The status of a failed v3 store operation.
fn store_status(e: InboxStoreError<Refusal>) -> Status {
    match e {
        InboxStoreError::LogFull { .. } => Status::failed_precondition(e.to_string()),
        InboxStoreError::Refused(refusal @ Refusal::Invalid(_)) => {
            Status::invalid_argument(refusal.to_string())
        }
        InboxStoreError::Refused(refusal @ Refusal::StoredLog(_)) => {
            tracing::error!(error = %refusal, "stored identity log does not verify");
            Status::internal(refusal.to_string())
        }
        InboxStoreError::TooLarge { max_bytes } => Status::resource_exhausted(format!(
            "the answer would exceed {max_bytes} bytes; ask for fewer at a time"
        )),
        InboxStoreError::Store(e) => super::service::storage_failed(&e),
    }
}

/// [`store_status`] for the reads, which validate nothing.
fn read_status(e: InboxStoreError) -> Status {
    store_status(match e {
        InboxStoreError::LogFull { updates, limit } => InboxStoreError::LogFull { updates, limit },
        InboxStoreError::TooLarge { max_bytes } => InboxStoreError::TooLarge { max_bytes },
        InboxStoreError::Store(e) => InboxStoreError::Store(e),
        InboxStoreError::Refused(never) => match never {},
    })
}

fn too_many(what: &str, n: usize, limit: usize) -> Status {
    Status::invalid_argument(format!(
        "too many {what} in one request: {n} (limit {limit})"
    ))
}

#[tonic::async_trait]
impl IdentityApi for IdentityApiService {
    async fn publish_identity_update(
        &self,
        request: Request<PublishIdentityUpdateRequest>,
    ) -> Result<Response<PublishIdentityUpdateResponse>, Status> {
        let update = request
            .into_inner()
            .identity_update
            .ok_or_else(|| Status::invalid_argument("identity update is required"))?;
        let size = update.encoded_len();
        if size > MAX_IDENTITY_UPDATE_BYTES {
            return Err(Status::invalid_argument(format!(
                "identity update too big: {size} bytes (limit {MAX_IDENTITY_UPDATE_BYTES})"
            )));
        }
        // The log is looked up by this id: only the exact form the network signs.
        InboxId::from_str(&update.inbox_id)
            .map_err(|e| Status::invalid_argument(format!("identity update: {e}")))?;
        let sequence_id = on_store(&self.store, move |store| {
            store.append_identity_update(&update, MAX_INBOX_UPDATES, |log| validate(log, &update))
        })
        .await?
        .map_err(store_status)?;
        tracing::debug!(sequence_id, "identity update stored");
        Ok(Response::new(PublishIdentityUpdateResponse {}))
    }

    async fn get_identity_updates(
        &self,
        request: Request<GetIdentityUpdatesRequest>,
    ) -> Result<Response<GetIdentityUpdatesResponse>, Status> {
        let requests = request.into_inner().requests;
        if requests.len() > MAX_IDENTITY_UPDATE_REQUESTS {
            return Err(too_many(
                "inboxes",
                requests.len(),
                MAX_IDENTITY_UPDATE_REQUESTS,
            ));
        }
        // Inbox ids are hex: any case names the same inbox (the reference node decodes
        // them); the answer echoes each as it was asked.
        let lookups = requests
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let id = r.inbox_id.to_ascii_lowercase();
                InboxId::from_str(&id)
                    .map(|_| (id, r.sequence_id))
                    .map_err(|e| Status::invalid_argument(format!("request {i}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let max_bytes = self.limits.max_v3_response_bytes;
        let logs = on_store(&self.store, move |store| {
            store.identity_updates(&lookups, max_bytes)
        })
        .await?
        .map_err(read_status)?;
        let responses = requests
            .into_iter()
            .zip(logs)
            .map(|(r, log)| get_identity_updates_response::Response {
                inbox_id: r.inbox_id,
                updates: log
                    .into_iter()
                    .map(|u| get_identity_updates_response::IdentityUpdateLog {
                        sequence_id: u.sequence_id,
                        server_timestamp_ns: u.server_timestamp_ns,
                        update: Some(u.update),
                    })
                    .collect(),
            })
            .collect();
        Ok(Response::new(GetIdentityUpdatesResponse { responses }))
    }

    async fn get_inbox_ids(
        &self,
        request: Request<GetInboxIdsRequest>,
    ) -> Result<Response<GetInboxIdsResponse>, Status> {
        let requests = request.into_inner().requests;
        if requests.len() > MAX_INBOX_ID_REQUESTS {
            return Err(too_many(
                "identifiers",
                requests.len(),
                MAX_INBOX_ID_REQUESTS,
            ));
        }
        if let Some((i, r)) = requests
            .iter()
            .enumerate()
            .find(|(_, r)| r.identifier.len() > MAX_IDENTIFIER_LEN)
        {
            return Err(Status::invalid_argument(format!(
                "request {i}: identifier too long: {} bytes (limit {MAX_IDENTIFIER_LEN})",
                r.identifier.len()
            )));
        }
        // Only Ethereum addresses are mapped (unspecified means Ethereum, as libxmtp
        // reads it); a passkey, or a kind this schema does not know, belongs to no inbox
        // here. Addresses are compared lowercase, the form identity updates carry.
        let is_address = |kind: i32| {
            matches!(
                IdentifierKind::try_from(kind),
                Ok(IdentifierKind::Ethereum | IdentifierKind::Unspecified)
            )
        };
        let addresses: Vec<String> = requests
            .iter()
            .filter(|r| is_address(r.identifier_kind))
            .map(|r| r.identifier.to_ascii_lowercase())
            .collect();
        let mut found = on_store(&self.store, move |store| store.inbox_ids(&addresses))
            .await?
            .map_err(|e| super::service::storage_failed(&e))?
            .into_iter();
        let responses = requests
            .into_iter()
            .map(|r| get_inbox_ids_response::Response {
                inbox_id: if is_address(r.identifier_kind) {
                    found.next().flatten()
                } else {
                    None
                },
                identifier: r.identifier,
                identifier_kind: r.identifier_kind,
            })
            .collect();
        Ok(Response::new(GetInboxIdsResponse { responses }))
    }

    async fn verify_smart_contract_wallet_signatures(
        &self,
        _request: Request<VerifySmartContractWalletSignaturesRequest>,
    ) -> Result<Response<VerifySmartContractWalletSignaturesResponse>, Status> {
        Err(Status::unimplemented(
            "this node does not verify smart-contract wallet (ERC-6492) signatures",
        ))
    }
}

/// The key-package half of `xmtp.mls.api.v1.MlsApi` over the node's store; the service
/// declares no other method, so tonic answers the rest `UNIMPLEMENTED`.
pub(crate) struct MlsApiService {
    store: Arc<Store>,
    limits: Limits,
}

impl MlsApiService {
    pub(crate) fn new(store: Arc<Store>, limits: Limits) -> Self {
        Self { store, limits }
    }
}

#[tonic::async_trait]
impl MlsApi for MlsApiService {
    async fn upload_key_package(
        &self,
        request: Request<UploadKeyPackageRequest>,
    ) -> Result<Response<()>, Status> {
        // `is_inbox_id_credential` says which validation the reference node applied; this
        // node validates neither (the fetching client does), so it is not read.
        let key_package = request
            .into_inner()
            .key_package
            .ok_or_else(|| Status::invalid_argument("key package is required"))?
            .key_package_tls_serialized;
        if key_package.len() > MAX_KEY_PACKAGE_BYTES {
            return Err(Status::invalid_argument(format!(
                "key package too big: {} bytes (limit {MAX_KEY_PACKAGE_BYTES})",
                key_package.len()
            )));
        }
        let key =
            installation_key(&key_package).map_err(|e| Status::invalid_argument(e.to_string()))?;
        on_store(&self.store, move |store| {
            store.put_key_package(&key, &key_package)
        })
        .await?
        .map_err(|e| super::service::storage_failed(&e))?;
        tracing::debug!(installation = %hex::encode(key), "key package stored");
        Ok(Response::new(()))
    }

    async fn fetch_key_packages(
        &self,
        request: Request<FetchKeyPackagesRequest>,
    ) -> Result<Response<FetchKeyPackagesResponse>, Status> {
        let keys = request.into_inner().installation_keys;
        if keys.len() > MAX_KEY_PACKAGE_FETCH {
            return Err(too_many(
                "installation keys",
                keys.len(),
                MAX_KEY_PACKAGE_FETCH,
            ));
        }
        if let Some((i, key)) = keys
            .iter()
            .enumerate()
            .find(|(_, k)| k.len() != INSTALLATION_KEY_LEN)
        {
            return Err(Status::invalid_argument(format!(
                "installation key {i} is {} bytes, not {INSTALLATION_KEY_LEN}",
                key.len()
            )));
        }
        let max_bytes = self.limits.max_v3_response_bytes;
        let found = on_store(&self.store, move |store| {
            store.key_packages(&keys, max_bytes)
        })
        .await?
        .map_err(read_status)?;
        let key_packages = found
            .into_iter()
            .map(|kp| fetch_key_packages_response::KeyPackage {
                key_package_tls_serialized: kp.unwrap_or_default(),
            })
            .collect();
        Ok(Response::new(FetchKeyPackagesResponse { key_packages }))
    }
}
