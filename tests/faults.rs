//! Faults: a device that drops the connection or answers with a stale signature in the
//! middle of `init`, a node that died between the two publishes, a node killed under
//! load, and a tampered bundle on the network. In each case: a clear error, nothing
//! half-published, nothing overwritten, and a re-run completes the work.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::cli::{ACCOUNT_0, Service, Setup};
use ledger_app::DropConnection;
use ledger_app::SoftwareDevice;
use ledger_app::tcp::TcpServer;
use xmtp_ledger::device::{
    DerivationPath, DeviceError, DeviceErrorKind, EthApp, LedgerSigner, TcpTransport,
};
use xmtp_ledger::flow::{FlowError, generate_identity};
use xmtp_ledger::identity::{Address, WalletSignature, topic};
use xmtp_ledger::network::{Client, ClientConfig, Query, RetryPolicy, auth_token_now, now_ns};
use xmtp_ledger::proto::message_api::v1::Envelope;
use xmtp_ledger::signer::{LocalKeySigner, Signer};

/// Hardhat account #0 = m/44'/60'/0'/0/0 of the public test mnemonic.
const ACCOUNT_0_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn wallet() -> Address {
    ACCOUNT_0.parse().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Sets a fault on the software device.
type Arm = fn(&SoftwareDevice);

/// A signer over the software device that arms a fault just before its second signature.
struct FaultBeforeSecond {
    signer: LedgerSigner,
    device: Arc<SoftwareDevice>,
    arm: Arm,
    calls: AtomicUsize,
}

impl Signer for FaultBeforeSecond {
    type Error = DeviceError;

    fn address(&self) -> Address {
        self.signer.address()
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, DeviceError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 1 {
            (self.arm)(&self.device);
        }
        self.signer.personal_sign(text)
    }
}

fn signer_over_tcp(server: &TcpServer) -> LedgerSigner {
    let transport = TcpTransport::connect(server.local_addr()).unwrap();
    LedgerSigner::connect(
        EthApp::from_transport(transport),
        DerivationPath::ledger_live(0).unwrap(),
    )
    .unwrap()
}

#[test]
fn device_faults_mid_init_abort_before_anything_is_published() {
    // `None`: the device answered, but with a signature that does not verify, which the
    // flow refuses (through `signer::sign_verified`) before anything is used.
    let arms: [(Arm, Option<DeviceErrorKind>); 3] = [
        (
            |d| d.set_drop(DropConnection::NextSignature),
            Some(DeviceErrorKind::Disconnected),
        ),
        (|d| d.set_stale_signature(true), None),
        (|d| d.set_corrupt_signature(true), None),
    ];
    for (arm, expected) in arms {
        let device = Arc::new(SoftwareDevice::with_test_mnemonic());
        let server = TcpServer::spawn_ephemeral(device.clone()).unwrap();
        let faulty = FaultBeforeSecond {
            signer: signer_over_tcp(&server),
            device: device.clone(),
            arm,
            calls: AtomicUsize::new(0),
        };
        match (generate_identity(&faulty, &mut |_| {}), expected) {
            (Err(FlowError::Signer(e)), Some(kind)) => assert_eq!(e.kind(), kind, "{e}"),
            (Err(FlowError::BadWalletSignature { .. }), None) => {}
            (other, expected) => panic!("expected {expected:?}, got {other:?}"),
        }
        // The CLI publishes only after the flow succeeded; check it end to end too: a
        // fresh connection and a healthy device complete the identity.
        device.clear_faults();
        device.set_stale_signature(false);
        device.set_corrupt_signature(false);
        let identity = generate_identity(&signer_over_tcp(&server), &mut |_| {}).unwrap();
        assert_eq!(identity.wallet, wallet());
    }
}

#[test]
fn a_node_that_died_between_the_publishes_is_completed_by_a_rerun() {
    let setup = Setup::new();
    let rt = runtime();
    // The state a crash between the two publishes leaves: the private store is on the
    // node, the contact bundles are not.
    let local = LocalKeySigner::from_private_key(&hex::decode(ACCOUNT_0_KEY).unwrap()).unwrap();
    let identity = generate_identity(&local, &mut |_| {}).unwrap();
    let client = rt
        .block_on(Client::connect(
            &setup.network_flag(),
            ClientConfig::default(),
        ))
        .unwrap();
    let token = auth_token_now(identity.bundle.identity_key()).unwrap();
    let publications = identity.publications();
    rt.block_on(client.publish_publications(&token, &publications[..1]))
        .unwrap();
    setup.run(&["verify", ACCOUNT_0]).assert_code(4);

    // Re-running init completes that identity (same keys) instead of making a new one.
    let init = setup.run(&["--json", "init"]);
    init.assert_code(0);
    assert!(init.stderr.contains("completing it"), "{}", init.stderr);
    let expected = hex::encode(identity.bundle.identity_key().public_key().point());
    assert_eq!(init.json()["identity_public_key"], expected.as_str());
    let verify = setup.run(&["--json", "verify", ACCOUNT_0]);
    verify.assert_code(0);
    assert_eq!(verify.json()["identity_public_key"], expected.as_str());
    // The private store was not published a second time.
    let stored = rt
        .block_on(client.query_all(Query::topic(topic::private_store_topic(&wallet())), 10))
        .unwrap();
    assert_eq!(stored.len(), 1);
}

#[test]
fn a_tampered_private_store_is_a_clear_error_and_is_not_overwritten() {
    let setup = Setup::new();
    setup.run(&["init"]).assert_code(0);
    let rt = runtime();
    let client = rt
        .block_on(Client::connect(
            &setup.network_flag(),
            ClientConfig::default(),
        ))
        .unwrap();
    let private_topic = topic::private_store_topic(&wallet());
    let original = rt.block_on(client.newest(&private_topic)).unwrap().unwrap();

    // Someone holding a valid token for this wallet (here: the wallet's own identity key,
    // recovered with the device) publishes a copy with one ciphertext bit flipped.
    let unlocked = xmtp_ledger::flow::unlock_identity(
        &LocalKeySigner::from_private_key(&hex::decode(ACCOUNT_0_KEY).unwrap()).unwrap(),
        &original.message,
        &mut |_| {},
    )
    .unwrap();
    let mut tampered = original.message.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    let token = auth_token_now(unlocked.bundle.identity_key()).unwrap();
    rt.block_on(client.publish_if_newest_differs(&token, &private_topic, &tampered))
        .unwrap();

    let unlock = setup.run(&["unlock"]);
    unlock.assert_code(5);
    assert!(
        unlock.stderr.contains("cannot decrypt"),
        "{}",
        unlock.stderr
    );
    assert!(unlock.stdout.is_empty());
    // Nothing was overwritten or added by the failed unlock.
    let after = rt
        .block_on(client.query_all(Query::topic(&private_topic), 10))
        .unwrap();
    assert_eq!(after.len(), 2);
    assert_eq!(after[0].message, tampered);
    // The contacts still name the original identity.
    setup.run(&["verify", ACCOUNT_0]).assert_code(0);
}

#[test]
fn node_killed_under_load_loses_no_acknowledged_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("node.sqlite3");
    let node = Service::node(&db);
    let url = format!("http://{}", node.addr);
    let rt = runtime();
    let local = LocalKeySigner::from_private_key(&hex::decode(ACCOUNT_0_KEY).unwrap()).unwrap();
    let identity = generate_identity(&local, &mut |_| {}).unwrap();
    let token = auth_token_now(identity.bundle.identity_key()).unwrap();
    let config = ClientConfig {
        timeout: Duration::from_secs(2),
        retry: RetryPolicy::none(),
        ..ClientConfig::default()
    };
    let client = rt.block_on(Client::connect(&url, config)).unwrap();
    let topic_name = "/xmtp/0/m-load-test/proto".to_owned();
    let pid = node.pid();

    // Publish as fast as possible from two tasks; kill -9 the node after 200 acks.
    // Dated now (plus a count, to order them): the node refuses sender timestamps more
    // than an hour old.
    let base = now_ns();
    let acked = rt.block_on(async {
        let acks = Arc::new(std::sync::Mutex::new(Vec::<Vec<u8>>::new()));
        let mut tasks = Vec::new();
        for worker in 0..2u8 {
            let (client, token, topic_name, acks) = (
                client.clone(),
                token.clone(),
                topic_name.clone(),
                acks.clone(),
            );
            tasks.push(tokio::spawn(async move {
                for i in 0u32..5_000 {
                    let message = [&[worker][..], &i.to_be_bytes()].concat();
                    let envelope = Envelope {
                        content_topic: topic_name.clone(),
                        timestamp_ns: base + u64::from(i),
                        message: message.clone(),
                    };
                    match client.publish(&token, vec![envelope]).await {
                        Ok(()) => acks.lock().unwrap().push(message),
                        Err(_) => break,
                    }
                }
            }));
        }
        loop {
            if acks.lock().unwrap().len() >= 200 {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        for task in tasks {
            let _ = task.await;
        }
        acks.lock().unwrap().clone()
    });
    node.kill();
    assert!(acked.len() >= 200);

    let restarted = Service::node(&db);
    let client = rt
        .block_on(Client::connect(
            &format!("http://{}", restarted.addr),
            ClientConfig::default(),
        ))
        .unwrap();
    let stored = rt
        .block_on(client.query_all(Query::topic(&topic_name), 20_000))
        .unwrap();
    let stored: std::collections::HashSet<Vec<u8>> =
        stored.into_iter().map(|e| e.message).collect();
    let lost: Vec<_> = acked.iter().filter(|m| !stored.contains(*m)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged envelopes lost",
        lost.len(),
        acked.len()
    );
}
