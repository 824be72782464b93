//! `xmtp-ledger rotate-prekey` end to end: the software device over TCP, the node over
//! gRPC, the binary as a person or a script runs it; a run killed between its publishes
//! and run again; and what `verify`, `unlock` and `inspect` say about several pre-keys.

mod common;

use std::process::Stdio;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use common::cli::{ACCOUNT_0, Setup, command};
use common::fake_node;
use xmtp_ledger::flow::SealedIdentity;
use xmtp_ledger::identity::{PrivateKeyV1, topic};
use xmtp_ledger::proto::message_api::v1 as api;
use xmtp_ledger::proto::message_api::v1::message_api_client::MessageApiClient;
use xmtp_ledger::proto::message_api::v1::message_api_server::MessageApi;

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected an array, got {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn rotate_prekey_keeps_the_identity_and_every_older_pre_key() {
    let setup = Setup::new();
    let init = setup.run(&["--json", "init"]);
    init.assert_code(0);
    let identity_key = init.json()["identity_public_key"].clone();
    let first = strings(&init.json()["pre_key_public_keys"]);
    assert_eq!(first.len(), 1);

    let rotate = setup.run(&["--json", "rotate-prekey"]);
    rotate.assert_code(0);
    let json = rotate.json();
    common::cli::assert_outcome_contract(&json);
    assert_eq!(json["outcome"], "rotated");
    assert_eq!(json["address"], ACCOUNT_0);
    assert_eq!(
        json["identity_public_key"], identity_key,
        "same identity key"
    );
    let second = strings(&json["pre_key_public_keys"]);
    assert_eq!(second.len(), 2);
    assert_eq!(second[1], first[0], "the old pre-key is kept, second");
    assert_ne!(second[0], first[0]);
    assert!(
        rotate.stderr.contains("(1 of 2)") && rotate.stderr.contains("(2 of 2)"),
        "two approvals announced: {}",
        rotate.stderr
    );
    assert!(
        !rotate.stderr.contains("Create Identity"),
        "no Create Identity approval: {}",
        rotate.stderr
    );

    // Anyone now sees the new pre-key as current, under the same identity.
    let verify = setup.run(&["--json", "verify", ACCOUNT_0]);
    verify.assert_code(0);
    let report = verify.json();
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["identity_public_key"], identity_key);
    assert_eq!(report["pre_key_public_key"], second[0].as_str());
    let human = setup.run(&["verify", ACCOUNT_0]);
    human.assert_code(0);
    assert!(
        human
            .stdout
            .contains(&format!("pre-key        {}", second[0])),
        "{}",
        human.stdout
    );

    // The wallet's own unlock holds both.
    let unlock = setup.run(&["--json", "unlock"]);
    unlock.assert_code(0);
    assert_eq!(strings(&unlock.json()["pre_key_public_keys"]), second);

    // A second rotation: three, newest first; human output says what is kept.
    let again = setup.run(&["rotate-prekey"]);
    again.assert_code(0);
    assert!(
        again.stdout.contains("XMTP pre-key rotated and published")
            && again.stdout.contains("older pre-keys 2 kept"),
        "{}",
        again.stdout
    );
    let unlock = setup.run(&["--json", "unlock"]);
    unlock.assert_code(0);
    let third = strings(&unlock.json()["pre_key_public_keys"]);
    assert_eq!(third.len(), 3);
    assert_eq!(third[1..], second[..], "every older pre-key kept, in order");

    // The keystore keeps all of them too.
    let keystore = setup.dir.path().join("keys.bin");
    let keystore_arg = keystore.to_str().expect("utf-8 path");
    setup
        .run(&["unlock", "--keystore", keystore_arg])
        .assert_code(0);
    let from_keystore = setup.run(&["--json", "unlock", "--from-file", keystore_arg]);
    from_keystore.assert_code(0);
    assert_eq!(strings(&from_keystore.json()["pre_key_public_keys"]), third);
}

#[test]
fn rotate_prekey_without_an_identity_says_how_to_create_one() {
    let setup = Setup::new();
    let run = setup.run(&["--json", "rotate-prekey"]);
    run.assert_code(4);
    let error = run.json_error();
    assert_eq!(error["code"], "no_identity", "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("xmtp-ledger init")),
        "{error}"
    );
}

/// A MessageApi in front of a real node that forwards everything, except that the
/// first `Publish` of a contact bundle never answers (and reports that it was reached):
/// the run publishing through it is stopped between its private store and its contacts.
struct StallOnContacts {
    node: MessageApiClient<Channel>,
    contact_topic: String,
    reached: Mutex<mpsc::Sender<()>>,
}

fn forwarded<T>(request: Request<T>) -> Request<T> {
    let (metadata, _, message) = request.into_parts();
    let mut forwarded = Request::new(message);
    if let Some(auth) = metadata.get("authorization") {
        forwarded
            .metadata_mut()
            .insert("authorization", auth.clone());
    }
    forwarded
}

type NoStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<api::Envelope, Status>> + Send>>;

#[tonic::async_trait]
impl MessageApi for StallOnContacts {
    async fn publish(
        &self,
        request: Request<api::PublishRequest>,
    ) -> Result<Response<api::PublishResponse>, Status> {
        let contact = request
            .get_ref()
            .envelopes
            .iter()
            .any(|e| e.content_topic == self.contact_topic);
        if contact {
            let _ = self.reached.lock().expect("lock").send(());
            std::future::pending::<()>().await;
        }
        self.node.clone().publish(forwarded(request)).await
    }
    type SubscribeStream = NoStream;
    async fn subscribe(
        &self,
        _: Request<api::SubscribeRequest>,
    ) -> Result<Response<NoStream>, Status> {
        Err(Status::unimplemented("proxy"))
    }
    type Subscribe2Stream = NoStream;
    async fn subscribe2(
        &self,
        _: Request<tonic::Streaming<api::SubscribeRequest>>,
    ) -> Result<Response<NoStream>, Status> {
        Err(Status::unimplemented("proxy"))
    }
    type SubscribeAllStream = NoStream;
    async fn subscribe_all(
        &self,
        _: Request<api::SubscribeAllRequest>,
    ) -> Result<Response<NoStream>, Status> {
        Err(Status::unimplemented("proxy"))
    }
    async fn query(
        &self,
        request: Request<api::QueryRequest>,
    ) -> Result<Response<api::QueryResponse>, Status> {
        self.node.clone().query(forwarded(request)).await
    }
    async fn batch_query(
        &self,
        request: Request<api::BatchQueryRequest>,
    ) -> Result<Response<api::BatchQueryResponse>, Status> {
        self.node.clone().batch_query(forwarded(request)).await
    }
}

#[test]
fn a_rotation_killed_between_publishes_is_completed_by_running_it_again() {
    let setup = Setup::new();
    setup.run(&["--json", "init"]).assert_code(0);
    let wallet = ACCOUNT_0.parse().expect("address");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (reached_tx, reached) = mpsc::channel();
    let node = runtime
        .block_on(
            Channel::from_shared(setup.network_flag())
                .expect("url")
                .connect(),
        )
        .expect("connect to the node");
    let proxy = StallOnContacts {
        node: MessageApiClient::new(node),
        contact_topic: topic::contact_topic(&wallet),
        reached: Mutex::new(reached_tx),
    };
    let (proxy_url, _task) = runtime.block_on(fake_node::serve(proxy));

    // The first run publishes its private store, then is killed (SIGKILL) while its
    // contacts are on the way.
    let mut run = command()
        .args([
            "--json",
            "--device",
            &setup.device_flag(),
            "--network",
            &proxy_url,
        ])
        .arg("rotate-prekey")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rotate-prekey");
    let got_there = reached.recv_timeout(Duration::from_secs(60));
    run.kill().expect("kill");
    run.wait().expect("wait");
    assert!(
        got_there.is_ok(),
        "the run never reached its contact publish"
    );

    // The node holds the new store; the contacts still name the old pre-key.
    let stale = setup.run(&["--json", "verify", ACCOUNT_0]);
    stale.assert_code(0);
    let old_pre_key = stale.json()["pre_key_public_key"].clone();

    let again = setup.run(&["--json", "rotate-prekey"]);
    again.assert_code(0);
    let json = again.json();
    assert_eq!(json["outcome"], "completed", "{}", again.stderr);
    assert!(
        again.stderr.contains("stopped between publishes"),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("(1 of 2)") && !again.stderr.contains("(2 of 2)"),
        "one approval: {}",
        again.stderr
    );
    let pre_keys = strings(&json["pre_key_public_keys"]);
    assert_eq!(
        pre_keys.len(),
        2,
        "the killed run's pre-key, and the old one"
    );
    assert_eq!(pre_keys[1], old_pre_key.as_str().expect("hex"));

    let verify = setup.run(&["--json", "verify", ACCOUNT_0]);
    verify.assert_code(0);
    assert_eq!(verify.json()["pre_key_public_key"], pre_keys[0].as_str());
    let unlock = setup.run(&["--json", "unlock"]);
    unlock.assert_code(0);
    assert_eq!(strings(&unlock.json()["pre_key_public_keys"]), pre_keys);
}

#[test]
fn inspect_lists_every_pre_key_of_a_private_bundle() {
    let SealedIdentity { mut bundle, .. } = common::fixtures::identity(7);
    let original = hex::encode(bundle.current_pre_key().public_key().point());
    for _ in 0..2 {
        bundle
            .add_pre_key(PrivateKeyV1::generate(1_700_000_000_000))
            .expect("sign");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bundle.bin");
    std::fs::write(&file, &*bundle.encode()).expect("write");
    let file_arg = file.to_str().expect("utf-8 path");

    let run: common::cli::Run = command()
        .args(["--json", "inspect", file_arg])
        .output()
        .expect("inspect")
        .into();
    run.assert_code(0);
    let report = run.json();
    assert_eq!(report["kind"], "private_key_bundle");
    let listed = strings(&report["pre_key_public_keys"]);
    assert_eq!(listed.len(), 3);
    assert_eq!(
        report["pre_key_public_key"],
        listed[0].as_str(),
        "the current one is the first"
    );
    assert_eq!(listed[2], original, "the oldest is last");

    let human: common::cli::Run = command()
        .args(["inspect", file_arg])
        .output()
        .expect("inspect")
        .into();
    human.assert_code(0);
    assert!(
        human.stdout.contains("3 held, newest first")
            && human.stdout.contains(&format!("older #2     {original}")),
        "{}",
        human.stdout
    );
}
