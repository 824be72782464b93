//! The node's XMTP v3 services over gRPC on a loopback port: identity updates published,
//! read back and mapped to addresses; invalid ones refused `INVALID_ARGUMENT` naming the
//! rule; the 256-update cap; durability across a restart; key packages; `UNIMPLEMENTED`
//! for what is not served; the request and answer bounds.

mod common;

use ed25519_dalek::SigningKey;
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;

use xmtp_ledger::node::{self, NodeConfig, RunningNode, Store};
use xmtp_ledger::proto::identity::api::v1 as id_api;
use xmtp_ledger::proto::identity::api::v1::identity_api_client::IdentityApiClient;
use xmtp_ledger::proto::identity::associations as pb;
use xmtp_ledger::proto::mls::api::v1 as mls_api;
use xmtp_ledger::proto::mls::api::v1::mls_api_client::MlsApiClient;
use xmtp_ledger::signer::{LocalKeySigner, Signer};
use xmtp_ledger::v3::InboxId;
use xmtp_ledger::wire::MAX_INBOX_UPDATES;
use xmtp_ledger::wire::now_ns;

use common::v3::{
    Act, By, address_id, create_with_installation, inbox_of, installation, installation_id, update,
    wallet,
};

struct Rig {
    _dir: tempfile::TempDir,
    node: RunningNode,
    identity: IdentityApiClient<Channel>,
    mls: MlsApiClient<Channel>,
}

async fn channel(node: &RunningNode) -> Channel {
    Channel::from_shared(node.url())
        .expect("url")
        .connect()
        .await
        .expect("connect")
}

async fn rig_with(configure: impl FnOnce(&mut NodeConfig)) -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = NodeConfig::new(dir.path().join("node.sqlite3"));
    configure(&mut config);
    let node = node::spawn("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("node");
    let channel = channel(&node).await;
    Rig {
        _dir: dir,
        node,
        identity: IdentityApiClient::new(channel.clone()),
        mls: MlsApiClient::new(channel),
    }
}

async fn rig() -> Rig {
    rig_with(|_| {}).await
}

impl Rig {
    async fn publish(&mut self, update: &pb::IdentityUpdate) -> Result<(), tonic::Status> {
        self.identity
            .publish_identity_update(id_api::PublishIdentityUpdateRequest {
                identity_update: Some(update.clone()),
            })
            .await
            .map(drop)
    }

    async fn updates(
        &mut self,
        asks: &[(&str, u64)],
    ) -> Result<Vec<id_api::get_identity_updates_response::Response>, tonic::Status> {
        let requests = asks
            .iter()
            .map(
                |(inbox, after)| id_api::get_identity_updates_request::Request {
                    inbox_id: inbox.to_string(),
                    sequence_id: *after,
                },
            )
            .collect();
        self.identity
            .get_identity_updates(id_api::GetIdentityUpdatesRequest { requests })
            .await
            .map(|r| r.into_inner().responses)
    }

    async fn inbox_ids(&mut self, identifiers: &[&str]) -> Vec<Option<String>> {
        let requests = identifiers
            .iter()
            .map(|identifier| id_api::get_inbox_ids_request::Request {
                identifier: identifier.to_string(),
                identifier_kind: pb::IdentifierKind::Ethereum as i32,
            })
            .collect();
        let responses = self
            .identity
            .get_inbox_ids(id_api::GetInboxIdsRequest { requests })
            .await
            .expect("get inbox ids")
            .into_inner()
            .responses;
        // Each answer echoes its identifier as asked.
        assert_eq!(
            responses
                .iter()
                .map(|r| r.identifier.as_str())
                .collect::<Vec<_>>(),
            identifiers
        );
        responses.into_iter().map(|r| r.inbox_id).collect()
    }
}

fn lower(w: &LocalKeySigner) -> String {
    w.address().to_lower_hex()
}

fn checksum(w: &LocalKeySigner) -> String {
    w.address().to_checksum()
}

/// Asserts `result` is refused with `code` and a message containing every part.
fn refused<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code, parts: &[&str]) {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), code, "{status:?}");
    for part in parts {
        assert!(status.message().contains(part), "{part:?} in {status:?}");
    }
}

/// A time inside the range identity updates accept, distinct per `i`.
fn at(i: u64) -> u64 {
    now_ns() - 10_000_000_000 + i * 1000
}

#[tokio::test]
async fn a_create_is_stored_read_back_and_maps_its_address() {
    let mut rig = rig().await;
    let owner = wallet(1);
    let key = installation(1);
    let inbox = inbox_of(&owner, 1);
    let create = create_with_installation(&owner, 1, &key, at(0));
    rig.publish(&create).await.expect("publish");

    let responses = rig.updates(&[(inbox.as_str(), 0)]).await.expect("read");
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].inbox_id, inbox.as_str());
    let log = &responses[0].updates;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].update.as_ref(), Some(&create));
    assert!(log[0].sequence_id > 0);
    assert!(log[0].server_timestamp_ns > 0);
    // Nothing after the last sequence id; an unknown inbox has no updates; upper-case hex
    // names the same inbox and is echoed as asked.
    let upper = inbox.as_str().to_uppercase();
    let other = inbox_of(&owner, 2);
    let responses = rig
        .updates(&[
            (inbox.as_str(), log[0].sequence_id),
            (other.as_str(), 0),
            (&upper, 0),
        ])
        .await
        .expect("read");
    assert!(responses[0].updates.is_empty());
    assert!(responses[1].updates.is_empty());
    assert_eq!(responses[2].inbox_id, upper);
    assert_eq!(responses[2].updates.len(), 1);

    // The address maps, asked in lowercase or EIP-55; another does not.
    let ids = rig
        .inbox_ids(&[&lower(&owner), &checksum(&owner), &lower(&wallet(2))])
        .await;
    assert_eq!(
        ids,
        [Some(inbox.to_string()), Some(inbox.to_string()), None]
    );
}

/// `owner` (a member) adds the address of `friend`, both signing.
fn add_address(
    inbox: &InboxId,
    time_ns: u64,
    owner: &LocalKeySigner,
    friend: &LocalKeySigner,
) -> pb::IdentityUpdate {
    update(
        inbox,
        time_ns,
        vec![Act::Add {
            member: address_id(friend),
            existing: By::Wallet(owner),
            new: By::Wallet(friend),
        }],
    )
}

/// The recovery address `by` (or, to be refused, another) revokes `member`.
fn revoke(
    inbox: &InboxId,
    time_ns: u64,
    member: xmtp_ledger::v3::MemberId,
    by: &LocalKeySigner,
) -> pb::IdentityUpdate {
    update(
        inbox,
        time_ns,
        vec![Act::Revoke {
            member,
            by: By::Wallet(by),
        }],
    )
}

#[tokio::test]
async fn add_and_revoke_move_the_address_map() {
    let mut rig = rig().await;
    let owner = wallet(1);
    let friend = wallet(2);
    let inbox = inbox_of(&owner, 0);
    rig.publish(&create_with_installation(
        &owner,
        0,
        &installation(1),
        at(0),
    ))
    .await
    .expect("create");
    let add = add_address(&inbox, at(1), &owner, &friend);
    rig.publish(&add).await.expect("add");
    assert_eq!(
        rig.inbox_ids(&[&lower(&friend)]).await,
        [Some(inbox.to_string())]
    );
    let revoke = revoke(&inbox, at(2), address_id(&friend), &owner);
    rig.publish(&revoke).await.expect("revoke");
    assert_eq!(
        rig.inbox_ids(&[&lower(&friend), &lower(&owner)]).await,
        [None, Some(inbox.to_string())]
    );
    let log = &rig.updates(&[(inbox.as_str(), 0)]).await.expect("read")[0].updates;
    assert_eq!(log.len(), 3);
    assert!(log.windows(2).all(|w| w[0].sequence_id < w[1].sequence_id));
    assert_eq!(log[2].update.as_ref(), Some(&revoke));
}

#[tokio::test]
async fn updates_that_break_a_rule_are_refused_naming_it_and_not_stored() {
    let mut rig = rig().await;
    let owner = wallet(1);
    let friend = wallet(2);
    let key = installation(1);
    let inbox = inbox_of(&owner, 0);

    // The first update of an inbox must create it.
    let not_create = update(
        &inbox,
        at(0),
        vec![Act::Add {
            member: installation_id(&key),
            existing: By::Wallet(&owner),
            new: By::Installation(&key),
        }],
    );
    refused(
        rig.publish(&not_create).await,
        Code::InvalidArgument,
        &["update 1", "first update must be a CreateInbox"],
    );

    // A signature that does not verify.
    let mut forged = create_with_installation(&owner, 0, &key, at(1));
    if let Some(pb::identity_action::Kind::CreateInbox(create)) = &mut forged.actions[0].kind {
        create.initial_identifier_signature = Some(pb::Signature {
            signature: Some(pb::signature::Signature::Erc191(
                pb::RecoverableEcdsaSignature { bytes: vec![7; 65] },
            )),
        });
    }
    refused(
        rig.publish(&forged).await,
        Code::InvalidArgument,
        &["invalid identity update: update 1"],
    );

    let create = create_with_installation(&owner, 0, &key, at(2));
    rig.publish(&create).await.expect("create");
    let add_friend = add_address(&inbox, at(3), &owner, &friend);
    rig.publish(&add_friend).await.expect("add friend");

    // A member that is not the recovery address may not revoke.
    let by_friend = revoke(&inbox, at(4), installation_id(&key), &friend);
    refused(
        rig.publish(&by_friend).await,
        Code::InvalidArgument,
        &["update 3", "only the recovery address"],
    );

    // Only the two good updates are stored, and the friend is still mapped.
    let log = &rig.updates(&[(inbox.as_str(), 0)]).await.expect("read")[0].updates;
    assert_eq!(log.len(), 2);
    assert_eq!(
        rig.inbox_ids(&[&lower(&friend)]).await,
        [Some(inbox.to_string())]
    );
}

#[tokio::test]
async fn a_replayed_signature_is_named() {
    let mut rig = rig().await;
    let owner = wallet(1);
    let inbox = inbox_of(&owner, 0);
    let key = installation(1);
    rig.publish(&create_with_installation(&owner, 0, &key, at(0)))
        .await
        .expect("create");
    let revoke = revoke(&inbox, at(1), installation_id(&key), &owner);
    rig.publish(&revoke).await.expect("revoke");
    // The same update again: its signature was already used in this inbox.
    refused(
        rig.publish(&revoke).await,
        Code::InvalidArgument,
        &["update 3", "replayed signature"],
    );
    let log = &rig.updates(&[(inbox.as_str(), 0)]).await.expect("read")[0].updates;
    assert_eq!(log.len(), 2);
}

/// `count` valid updates of one inbox: its creation, then installations added one by one.
fn valid_log(owner: &LocalKeySigner, count: usize) -> (InboxId, Vec<pb::IdentityUpdate>) {
    let inbox = inbox_of(owner, 0);
    let mut log = vec![create_with_installation(owner, 0, &installation(0), at(0))];
    for i in 1..count {
        let key = SigningKey::from_bytes(&{
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
            seed[31] = 1;
            seed
        });
        log.push(update(
            &inbox,
            at(i as u64),
            vec![Act::Add {
                member: installation_id(&key),
                existing: By::Wallet(owner),
                new: By::Installation(&key),
            }],
        ));
    }
    (inbox, log)
}

#[tokio::test]
async fn the_log_holds_256_updates_then_is_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("node.sqlite3");
    let owner = wallet(1);
    let (inbox, log) = valid_log(&owner, MAX_INBOX_UPDATES + 1);
    // The first 255 straight into the store (each checked once, below, when the node
    // replays them), to spare the test 255 replays.
    {
        let store = Store::open(&db).expect("store");
        for update in &log[..MAX_INBOX_UPDATES - 1] {
            store
                .append_identity_update(update, MAX_INBOX_UPDATES, |_| {
                    Ok::<_, String>(Default::default())
                })
                .expect("prefill");
        }
    }
    let node = node::spawn("127.0.0.1:0".parse().expect("addr"), NodeConfig::new(&db))
        .await
        .expect("node");
    let mut client = IdentityApiClient::connect(node.url())
        .await
        .expect("client");
    let publish = |update: &pb::IdentityUpdate| id_api::PublishIdentityUpdateRequest {
        identity_update: Some(update.clone()),
    };
    client
        .publish_identity_update(publish(&log[MAX_INBOX_UPDATES - 1]))
        .await
        .expect("the 256th is accepted");
    refused(
        client
            .publish_identity_update(publish(&log[MAX_INBOX_UPDATES]))
            .await,
        Code::FailedPrecondition,
        &["inbox log is full", "256"],
    );
    let responses = client
        .get_identity_updates(id_api::GetIdentityUpdatesRequest {
            requests: vec![id_api::get_identity_updates_request::Request {
                inbox_id: inbox.to_string(),
                sequence_id: 0,
            }],
        })
        .await
        .expect("read")
        .into_inner()
        .responses;
    assert_eq!(responses[0].updates.len(), MAX_INBOX_UPDATES);
    node.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn everything_survives_a_restart_on_the_same_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("node.sqlite3");
    let owner = wallet(3);
    let inbox = inbox_of(&owner, 0);
    let key = installation(3);
    let create = create_with_installation(&owner, 0, &key, at(0));
    let kp = key_package(&key.verifying_key().to_bytes(), b"first");
    {
        let node = node::spawn("127.0.0.1:0".parse().expect("addr"), NodeConfig::new(&db))
            .await
            .expect("node");
        let channel = channel(&node).await;
        IdentityApiClient::new(channel.clone())
            .publish_identity_update(id_api::PublishIdentityUpdateRequest {
                identity_update: Some(create.clone()),
            })
            .await
            .expect("publish");
        MlsApiClient::new(channel)
            .upload_key_package(upload(&kp))
            .await
            .expect("upload");
        node.shutdown().await.expect("shutdown");
    }
    let node = node::spawn("127.0.0.1:0".parse().expect("addr"), NodeConfig::new(&db))
        .await
        .expect("node again");
    let channel = channel(&node).await;
    let mut rig = Rig {
        _dir: dir,
        identity: IdentityApiClient::new(channel.clone()),
        mls: MlsApiClient::new(channel),
        node,
    };
    let log = &rig.updates(&[(inbox.as_str(), 0)]).await.expect("read")[0].updates;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].update.as_ref(), Some(&create));
    assert_eq!(
        rig.inbox_ids(&[&lower(&owner)]).await,
        [Some(inbox.to_string())]
    );
    assert_eq!(
        fetch(&mut rig, &[key.verifying_key().to_bytes().to_vec()])
            .await
            .expect("fetch"),
        [kp]
    );
    // And the next update is checked against the log from before the restart.
    refused(
        rig.publish(&create).await,
        Code::InvalidArgument,
        &["update 2"],
    );
    rig.node.shutdown().await.expect("shutdown");
}

/// A TLS-serialized MLS 1.0 key package as far as the node reads it (version, cipher
/// suite, init key, leaf encryption key, leaf signature key), then `rest`.
fn key_package(installation_key: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut kp = vec![0, 1, 0, 1];
    for field in [&[1u8; 32][..], &[2u8; 32][..], installation_key] {
        kp.push(u8::try_from(field.len()).expect("short field"));
        kp.extend_from_slice(field);
    }
    kp.extend_from_slice(rest);
    kp
}

fn upload(kp: &[u8]) -> mls_api::UploadKeyPackageRequest {
    mls_api::UploadKeyPackageRequest {
        key_package: Some(mls_api::KeyPackageUpload {
            key_package_tls_serialized: kp.to_vec(),
        }),
        is_inbox_id_credential: true,
    }
}

async fn fetch(rig: &mut Rig, keys: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, tonic::Status> {
    rig.mls
        .fetch_key_packages(mls_api::FetchKeyPackagesRequest {
            installation_keys: keys.to_vec(),
        })
        .await
        .map(|r| {
            r.into_inner()
                .key_packages
                .into_iter()
                .map(|k| k.key_package_tls_serialized)
                .collect()
        })
}

#[tokio::test]
async fn key_packages_are_filed_under_their_installation_key_newest_first() {
    let mut rig = rig().await;
    let a = [0xaa; 32];
    let b = [0xbb; 32];
    let old = key_package(&a, b"old");
    let new = key_package(&a, b"new");
    rig.mls.upload_key_package(upload(&old)).await.expect("old");
    rig.mls.upload_key_package(upload(&new)).await.expect("new");
    assert_eq!(
        fetch(&mut rig, &[a.to_vec(), b.to_vec(), a.to_vec()])
            .await
            .expect("fetch"),
        [new.clone(), Vec::new(), new]
    );
    assert_eq!(
        fetch(&mut rig, &[]).await.expect("none"),
        Vec::<Vec<u8>>::new()
    );

    // Not a key package the node can file.
    for (bytes, why) in [
        (vec![0, 2, 0, 1], "not MLS 1.0"),
        (vec![0, 1, 0, 1, 0xc0], "invalid length prefix"),
        (key_package(&[1; 33], b""), "not 32"),
        (vec![0, 1], "ends inside its cipher suite"),
    ] {
        refused(
            rig.mls.upload_key_package(upload(&bytes)).await,
            Code::InvalidArgument,
            &[why],
        );
    }
    refused(
        rig.mls
            .upload_key_package(mls_api::UploadKeyPackageRequest::default())
            .await,
        Code::InvalidArgument,
        &["key package is required"],
    );
}

#[tokio::test]
async fn what_is_not_served_is_unimplemented() {
    let mut rig = rig().await;
    refused(
        rig.identity
            .verify_smart_contract_wallet_signatures(
                id_api::VerifySmartContractWalletSignaturesRequest::default(),
            )
            .await,
        Code::Unimplemented,
        &["smart-contract"],
    );
    // MlsApi methods this node does not declare, called by path as libxmtp would.
    let channel = channel(&rig.node).await;
    for method in [
        "QueryGroupMessages",
        "QueryWelcomeMessages",
        "SendGroupMessages",
        "SendWelcomeMessages",
        "SubscribeGroupMessages",
    ] {
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await.expect("ready");
        let path = format!("/xmtp.mls.api.v1.MlsApi/{method}");
        let result = grpc
            .unary::<_, mls_api::FetchKeyPackagesResponse, _>(
                tonic::Request::new(mls_api::FetchKeyPackagesRequest::default()),
                path.parse().expect("path"),
                tonic_prost::ProstCodec::default(),
            )
            .await;
        let status = result.expect_err(method);
        assert_eq!(status.code(), Code::Unimplemented, "{method}: {status:?}");
    }
}

#[tokio::test]
async fn requests_past_the_bounds_are_refused_naming_them() {
    use xmtp_ledger::wire::{
        MAX_IDENTIFIER_LEN, MAX_IDENTITY_UPDATE_BYTES, MAX_IDENTITY_UPDATE_REQUESTS,
        MAX_INBOX_ID_REQUESTS, MAX_KEY_PACKAGE_BYTES, MAX_KEY_PACKAGE_FETCH,
    };
    let mut rig = rig().await;
    let owner = wallet(1);
    let inbox = inbox_of(&owner, 0);

    // Publish: an update is required, bounded, and names a well-formed inbox.
    refused(
        rig.identity
            .publish_identity_update(id_api::PublishIdentityUpdateRequest::default())
            .await,
        Code::InvalidArgument,
        &["identity update is required"],
    );
    let mut big = create_with_installation(&owner, 0, &installation(1), at(0));
    big.actions.push(pb::IdentityAction {
        kind: Some(pb::identity_action::Kind::Revoke(pb::RevokeAssociation {
            member_to_revoke: Some(pb::MemberIdentifier {
                kind: Some(pb::member_identifier::Kind::InstallationPublicKey(vec![
                    0;
                    MAX_IDENTITY_UPDATE_BYTES
                ])),
            }),
            recovery_identifier_signature: None,
        })),
    });
    assert!(big.encoded_len() > MAX_IDENTITY_UPDATE_BYTES);
    refused(
        rig.publish(&big).await,
        Code::InvalidArgument,
        &[
            "identity update too big",
            &MAX_IDENTITY_UPDATE_BYTES.to_string(),
        ],
    );
    let mut bad_inbox = create_with_installation(&owner, 0, &installation(1), at(0));
    bad_inbox.inbox_id = inbox.as_str().to_uppercase();
    refused(
        rig.publish(&bad_inbox).await,
        Code::InvalidArgument,
        &["not an inbox id"],
    );

    // GetIdentityUpdates: at most 100 inboxes, each a well-formed id.
    let many: Vec<(&str, u64)> = vec![(inbox.as_str(), 0); MAX_IDENTITY_UPDATE_REQUESTS + 1];
    refused(
        rig.updates(&many).await,
        Code::InvalidArgument,
        &["too many inboxes", "limit 100"],
    );
    assert_eq!(
        rig.updates(&many[1..]).await.expect("at the limit").len(),
        MAX_IDENTITY_UPDATE_REQUESTS
    );
    refused(
        rig.updates(&[(inbox.as_str(), 0), ("xyz", 0)]).await,
        Code::InvalidArgument,
        &["request 1", "not an inbox id"],
    );

    // GetInboxIds: at most 1000 identifiers of at most 256 bytes.
    let ask = |identifiers: Vec<String>| id_api::GetInboxIdsRequest {
        requests: identifiers
            .into_iter()
            .map(|identifier| id_api::get_inbox_ids_request::Request {
                identifier,
                identifier_kind: pb::IdentifierKind::Ethereum as i32,
            })
            .collect(),
    };
    refused(
        rig.identity
            .get_inbox_ids(ask(vec![lower(&owner); MAX_INBOX_ID_REQUESTS + 1]))
            .await,
        Code::InvalidArgument,
        &["too many identifiers", "limit 1000"],
    );
    refused(
        rig.identity
            .get_inbox_ids(ask(vec![lower(&owner), "x".repeat(MAX_IDENTIFIER_LEN + 1)]))
            .await,
        Code::InvalidArgument,
        &["request 1", "identifier too long"],
    );
    // A passkey is never mapped here.
    let passkey = rig
        .identity
        .get_inbox_ids(id_api::GetInboxIdsRequest {
            requests: vec![id_api::get_inbox_ids_request::Request {
                identifier: lower(&owner),
                identifier_kind: pb::IdentifierKind::Passkey as i32,
            }],
        })
        .await
        .expect("passkey")
        .into_inner()
        .responses;
    assert_eq!(passkey[0].inbox_id, None);
    assert_eq!(
        passkey[0].identifier_kind,
        pb::IdentifierKind::Passkey as i32
    );

    // Key packages: bounded in size, in number, and keys are 32 bytes.
    let huge = key_package(&[5; 32], &vec![0; MAX_KEY_PACKAGE_BYTES]);
    refused(
        rig.mls.upload_key_package(upload(&huge)).await,
        Code::InvalidArgument,
        &["key package too big"],
    );
    refused(
        fetch(&mut rig, &vec![vec![1; 32]; MAX_KEY_PACKAGE_FETCH + 1]).await,
        Code::InvalidArgument,
        &["too many installation keys", "limit 2500"],
    );
    refused(
        fetch(&mut rig, &[vec![1; 32], vec![1; 31]]).await,
        Code::InvalidArgument,
        &["installation key 1 is 31 bytes"],
    );
}

#[tokio::test]
async fn answers_past_the_byte_budget_are_refused_not_cut() {
    let mut rig = rig_with(|config| config.limits.max_v3_response_bytes = 1000).await;
    let owner = wallet(1);
    let inbox = inbox_of(&owner, 0);
    let key = installation(1);
    rig.publish(&create_with_installation(&owner, 0, &key, at(0)))
        .await
        .expect("create");
    // One inbox fits; the same three times does not.
    assert_eq!(
        rig.updates(&[(inbox.as_str(), 0)]).await.expect("fits")[0]
            .updates
            .len(),
        1
    );
    refused(
        rig.updates(&[(inbox.as_str(), 0); 3]).await,
        Code::ResourceExhausted,
        &["1000 bytes"],
    );
    let kp = key_package(&[9; 32], &[0; 300]);
    rig.mls
        .upload_key_package(upload(&kp))
        .await
        .expect("upload");
    assert_eq!(
        fetch(&mut rig, &vec![vec![9; 32]; 2])
            .await
            .expect("fits")
            .len(),
        2
    );
    refused(
        fetch(&mut rig, &vec![vec![9; 32]; 3]).await,
        Code::ResourceExhausted,
        &["1000 bytes"],
    );
}

#[tokio::test]
async fn libxmtps_own_logs_are_accepted_served_back_and_mapped_as_libxmtp_reported() {
    let file = common::libxmtp_v3::libxmtp_updates();
    let mut rig = rig().await;
    for inbox in &file.inboxes {
        let updates: Vec<pb::IdentityUpdate> = inbox
            .steps
            .iter()
            .flat_map(|step| &step.identity_updates)
            .map(|hex_update| {
                pb::IdentityUpdate::decode(&hex::decode(hex_update).expect("hex")[..])
                    .expect("update")
            })
            .collect();
        for (i, update) in updates.iter().enumerate() {
            rig.publish(update)
                .await
                .unwrap_or_else(|e| panic!("{} update {i}: {e:?}", inbox.label));
        }
        let served = &rig
            .updates(&[(inbox.inbox_id.as_str(), 0)])
            .await
            .expect("read")[0]
            .updates;
        assert_eq!(
            served
                .iter()
                .map(|u| u.update.clone().expect("update"))
                .collect::<Vec<_>>(),
            updates,
            "{}",
            inbox.label
        );
    }
    // Every wallet maps to the inbox whose final state lists it as a member, or to none.
    for wallet in &file.wallets {
        let lower = wallet.address.to_ascii_lowercase();
        let expected: Vec<&str> = file
            .inboxes
            .iter()
            .filter(|inbox| {
                inbox
                    .state
                    .identifiers
                    .iter()
                    .any(|i| i.identifier == lower)
            })
            .map(|inbox| inbox.inbox_id.as_str())
            .collect();
        let got = rig.inbox_ids(&[&wallet.address]).await;
        assert_eq!(
            got[0].as_deref(),
            expected.last().copied(),
            "{}",
            wallet.address
        );
    }
}

#[tokio::test]
async fn the_tools_own_identity_client_reads_and_writes_this_node() {
    use xmtp_ledger::network::{IdentityClient, NetworkError, UpdatePublished};
    let rig = rig().await;
    let client = IdentityClient::connect(&rig.node.url(), common::node::fast_config())
        .await
        .expect("client");
    let owner = wallet(4);
    let friend = wallet(5);
    let inbox = inbox_of(&owner, 0);
    let create = create_with_installation(&owner, 0, &installation(4), at(0));
    assert_eq!(
        client
            .publish_identity_update(create.clone())
            .await
            .expect("publish"),
        UpdatePublished::Accepted
    );
    let add = add_address(&inbox, at(1), &owner, &friend);
    client
        .publish_identity_update(add.clone())
        .await
        .expect("add");
    let log = client
        .get_identity_updates(inbox.as_str(), 0)
        .await
        .expect("log");
    assert_eq!(
        log.iter().map(|u| u.update.clone()).collect::<Vec<_>>(),
        [create, add.clone()]
    );
    assert_eq!(
        client
            .get_inbox_ids(&[owner.address(), friend.address(), wallet(6).address()])
            .await
            .expect("ids")
            .into_iter()
            .map(|(_, id)| id)
            .collect::<Vec<_>>(),
        [Some(inbox.to_string()), Some(inbox.to_string()), None]
    );
    // A refusal reaches the client as the node's rejection, rule and all.
    let err = client
        .publish_identity_update(revoke(&inbox, at(2), address_id(&owner), &friend))
        .await
        .expect_err("refused");
    assert!(
        matches!(
            &err,
            NetworkError::Rejected {
                code: Code::InvalidArgument,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("only the recovery address"),
        "{err}"
    );
}
