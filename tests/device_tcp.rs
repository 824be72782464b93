//! The Ethereum app client against the software device over a real TCP socket (the Speculos
//! APDU protocol on 127.0.0.1), with the public test mnemonic.

use std::sync::Arc;
use std::time::Duration;

use ledger_app::tcp::TcpServer;
use ledger_app::{ApprovalPolicy, DropConnection, RunningApp, SoftwareDevice};
use xmtp_ledger::device::{
    AddressOptions, AppStatus, DerivationPath, DeviceError, DeviceErrorKind, EthApp, LedgerSigner,
    TcpOptions, TcpTransport,
};
use xmtp_ledger::identity::{Address, IdentityError, WalletSignature};
use xmtp_ledger::signer::{SignError, Signer, sign_verified};

/// Observed on the official app 1.22.0 in Speculos (DESIGN.md §4).
const XMTP_TEXT: &str =
    "XMTP : Create Identity\n0a0b\n\nFor more info: https://xmtp.org/signatures/";
const XMTP_SIGNATURE: &str = "5c18e354ed7466546ee23bc6d8d40142079ad930d88e05019c60a0ed200618ac23485508048e94a4399373821e124147447ed304e451669ea2355e373fb33b371c";
const ACCOUNT_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

struct Rig {
    device: Arc<SoftwareDevice>,
    server: TcpServer,
    app: EthApp,
}

impl Rig {
    fn new() -> Self {
        Self::with_options(TcpOptions::default())
    }

    fn with_options(options: TcpOptions) -> Self {
        let device = Arc::new(SoftwareDevice::with_test_mnemonic());
        let server = TcpServer::spawn_ephemeral(Arc::clone(&device)).expect("server");
        let app = EthApp::from_transport(
            TcpTransport::connect_with(server.local_addr(), options).expect("connect"),
        );
        Self {
            device,
            server,
            app,
        }
    }

    /// A second, fresh connection to the same device.
    fn reconnect(&self) -> EthApp {
        EthApp::from_transport(TcpTransport::connect(self.server.local_addr()).expect("connect"))
    }
}

fn account0() -> DerivationPath {
    DerivationPath::ledger_live(0).unwrap()
}

fn address0() -> Address {
    ACCOUNT_0.parse().unwrap()
}

/// The device's own (APDU-free) signature, converted to r ‖ s ‖ v.
fn expected_signature(device: &SoftwareDevice, path: &DerivationPath, message: &[u8]) -> Vec<u8> {
    let path: ledger_app::DerivationPath = path.to_string().parse().unwrap();
    let vrs = device.sign_personal_message(&path, message).unwrap();
    [&vrs[1..], &vrs[..1]].concat()
}

#[test]
fn same_answers_as_the_official_app() {
    let rig = Rig::new();
    let config = rig.app.app_configuration().unwrap();
    assert_eq!(
        (config.flags, config.version.to_string().as_str()),
        (0x02, "1.22.0")
    );
    assert!(!config.blind_signing_enabled());

    let address = rig.app.address(&account0()).unwrap();
    assert_eq!(address.to_string(), ACCOUNT_0);

    let signature = rig
        .app
        .sign_personal_message(&account0(), XMTP_TEXT.as_bytes())
        .unwrap();
    assert_eq!(hex::encode(signature.as_bytes()), XMTP_SIGNATURE);
    assert_eq!(signature.v(), 28);
}

#[test]
fn addresses_for_several_paths() {
    let rig = Rig::new();
    // Hardhat/anvil accounts 1 and 2 of the test mnemonic: m/44'/60'/0'/0/i.
    let known = [
        ("m/44'/60'/0'/0/0", ACCOUNT_0),
        (
            "m/44'/60'/0'/0/1",
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        ),
        (
            "m/44h/60h/0h/0/2",
            "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        ),
    ];
    for (path, address) in known {
        let path: DerivationPath = path.parse().unwrap();
        assert_eq!(
            rig.app.address(&path).unwrap().to_string(),
            address,
            "{path}"
        );
    }
    // Ledger Live and legacy layouts: the device's direct derivation is the reference.
    let mut seen = std::collections::HashSet::new();
    for path in [
        DerivationPath::ledger_live(1).unwrap(),
        DerivationPath::ledger_live(2).unwrap(),
        DerivationPath::legacy(0).unwrap(),
        DerivationPath::legacy(1).unwrap(),
        "m/44'/60'/0'/0/0/1/2/3/4/5".parse().unwrap(),
    ] {
        let answer = rig
            .app
            .get_address(
                &path,
                AddressOptions {
                    confirm: false,
                    chain_code: true,
                },
            )
            .unwrap();
        let reference: ledger_app::DerivationPath = path.to_string().parse().unwrap();
        assert_eq!(
            answer.address.to_string(),
            rig.device.address(&reference).unwrap(),
            "{path}"
        );
        assert_eq!(
            answer.public_key,
            rig.device.public_key(&reference).unwrap()
        );
        assert!(answer.chain_code.is_some());
        assert!(seen.insert(answer.address), "{path} repeats an address");
    }
}

#[test]
fn confirmed_address_shows_on_the_device() {
    let rig = Rig::new();
    let answer = rig
        .app
        .get_address(
            &account0(),
            AddressOptions {
                confirm: true,
                chain_code: false,
            },
        )
        .unwrap();
    assert_eq!(answer.address, address0());
    let screens = rig.device.take_screens();
    assert!(screens.iter().any(|s| s.text == ACCOUNT_0), "{screens:?}");

    rig.device.set_approval(ApprovalPolicy::Reject);
    let error = rig
        .app
        .get_address(
            &account0(),
            AddressOptions {
                confirm: true,
                chain_code: false,
            },
        )
        .unwrap_err();
    assert!(
        matches!(error, DeviceError::Rejected { status: 0x6985 }),
        "{error:?}"
    );
}

/// Signs `message` and checks the bytes, the APDU count and that it recovers.
fn sign_and_count(rig: &Rig, message: &[u8]) -> WalletSignature {
    let before = rig.device.apdu_count();
    let signature = rig
        .app
        .sign_personal_message(&account0(), message)
        .unwrap_or_else(|e| panic!("{} bytes: {e}", message.len()));
    let sent = rig.device.apdu_count() - before;
    // path (21) + length (4) + message, in full 255-byte APDUs.
    assert_eq!(
        sent as usize,
        (25 + message.len()).div_ceil(255),
        "{} bytes",
        message.len()
    );
    assert_eq!(
        signature.as_bytes().to_vec(),
        expected_signature(&rig.device, &account0(), message)
    );
    signature
        .verify_personal_sign(message, &address0())
        .unwrap();
    signature
}

#[test]
fn personal_sign_short_boundary_and_multi_chunk() {
    let rig = Rig::new();
    let text = |n: usize| -> Vec<u8> { (0..n).map(|i| b'a' + (i % 26) as u8).collect() };
    for len in [0, 1, 5, 229, 230, 231, 232, 484, 485, 486, 1000, 2550] {
        sign_and_count(&rig, &text(len));
    }
    // The device reviewed exactly the text that was sent (line breaks shown as spaces).
    rig.device.take_screens();
    sign_and_count(&rig, XMTP_TEXT.as_bytes());
    let screens = rig.device.take_screens();
    assert_eq!(
        ledger_app::screen::reviewed_message(&screens).as_deref(),
        Some(XMTP_TEXT.replace('\n', " ").as_str())
    );
}

#[test]
fn personal_sign_up_to_the_apps_memory_limit() {
    let rig = Rig::new();
    let max_text = rig.device.max_message_len(true);
    assert!(max_text > 1000, "heap model allows {max_text}");
    let text: Vec<u8> = (0..max_text).map(|i| b'A' + (i % 26) as u8).collect();
    sign_and_count(&rig, &text);

    let too_long = [text.as_slice(), b"A"].concat();
    let error = rig
        .app
        .sign_personal_message(&account0(), &too_long)
        .unwrap_err();
    assert!(
        matches!(error, DeviceError::OutOfMemory { status: 0x6A84 }),
        "{error:?}"
    );

    // Binary messages are shown as hex, so their limit is lower.
    let max_binary = rig.device.max_message_len(false);
    assert!(max_binary < max_text);
    let binary: Vec<u8> = (0..max_binary).map(|i| (i % 256) as u8).collect();
    sign_and_count(&rig, &binary);
    let error = rig
        .app
        .sign_personal_message(&account0(), &[binary.as_slice(), &[0xFF]].concat())
        .unwrap_err();
    assert_eq!(error.kind(), DeviceErrorKind::InvalidRequest, "{error:?}");

    // The app resets after an error: the next request works.
    sign_and_count(&rig, b"after the error");
}

#[test]
fn rejection_is_typed_and_the_device_recovers() {
    let rig = Rig::new();
    rig.device.set_approval(ApprovalPolicy::Reject);
    let signer = LedgerSigner::connect(rig.app.clone(), account0()).unwrap();
    let error = signer.personal_sign(XMTP_TEXT).unwrap_err();
    assert!(
        matches!(error, DeviceError::Rejected { status: 0x6985 }),
        "{error:?}"
    );
    assert_eq!(error.kind(), DeviceErrorKind::Rejected);

    rig.device.set_approval(ApprovalPolicy::Approve);
    let signature = signer.personal_sign(XMTP_TEXT).unwrap();
    assert_eq!(hex::encode(signature.as_bytes()), XMTP_SIGNATURE);
}

#[test]
fn approval_policy_sees_the_message_before_signing() {
    let rig = Rig::new();
    rig.device.set_approval(ApprovalPolicy::ask(|screens| {
        ledger_app::screen::reviewed_message(screens).as_deref() == Some("only this")
    }));
    rig.app
        .sign_personal_message(&account0(), b"only this")
        .unwrap();
    let error = rig
        .app
        .sign_personal_message(&account0(), b"something else")
        .unwrap_err();
    assert!(matches!(error, DeviceError::Rejected { .. }));
}

#[test]
fn locked_device() {
    let rig = Rig::new();
    rig.device.set_locked(true);
    let error = rig.app.app_configuration().unwrap_err();
    assert!(
        matches!(error, DeviceError::Locked { status: 0x5515 }),
        "{error:?}"
    );
    assert!(error.to_string().contains("unlock"));
    assert!(matches!(
        rig.app.address(&account0()),
        Err(DeviceError::Locked { .. })
    ));
    assert!(matches!(
        rig.app.sign_personal_message(&account0(), b"x"),
        Err(DeviceError::Locked { .. })
    ));
    assert!(matches!(rig.app.status(), AppStatus::Locked));
    let error = LedgerSigner::connect(rig.app.clone(), account0()).unwrap_err();
    assert_eq!(error.kind(), DeviceErrorKind::Locked);

    rig.device.set_locked(false);
    assert!(matches!(rig.app.status(), AppStatus::Ethereum(_)));
    assert_eq!(rig.app.address(&account0()).unwrap(), address0());
}

#[test]
fn dashboard_and_other_app() {
    let rig = Rig::new();
    rig.device.set_running_app(RunningApp::Dashboard);
    let error = rig.app.address(&account0()).unwrap_err();
    assert_eq!(error.kind(), DeviceErrorKind::WrongApp, "{error:?}");
    assert!(error.to_string().contains("open the Ethereum app"));
    assert!(matches!(rig.app.status(), AppStatus::Dashboard { .. }));
    let error = rig.app.ensure_ethereum_app().unwrap_err();
    assert!(error.to_string().contains("dashboard"), "{error}");

    rig.device
        .set_running_app(RunningApp::other("Bitcoin", "2.2.3"));
    let error = rig.app.app_configuration().unwrap_err();
    assert!(
        matches!(error, DeviceError::WrongApp { status: 0x6E00, .. }),
        "{error:?}"
    );
    assert!(matches!(
        rig.app.status(),
        AppStatus::OtherApp { name, version } if name == "Bitcoin" && version == "2.2.3"
    ));
    let error = rig.app.ensure_ethereum_app().unwrap_err();
    assert!(
        matches!(&error, DeviceError::WrongApp { open_app: Some(name), .. } if name == "Bitcoin")
    );

    rig.device.set_running_app(RunningApp::Ethereum);
    assert_eq!(
        rig.app.ensure_ethereum_app().unwrap().version.to_string(),
        "1.22.0"
    );
}

#[test]
fn path_outside_the_ethereum_tree_is_refused_by_the_device() {
    let rig = Rig::new();
    let bitcoin: DerivationPath = "m/44'/0'/0'/0/0".parse().unwrap();
    assert!(!bitcoin.is_ethereum());
    let error = rig.app.address(&bitcoin).unwrap_err();
    assert!(
        matches!(error, DeviceError::PathRefused { status: 0x6A15 }),
        "{error:?}"
    );
    assert_eq!(error.kind(), DeviceErrorKind::InvalidRequest);
    let unhardened: DerivationPath = "m/12381/3600/0/0".parse().unwrap();
    let error = rig.app.address(&unhardened).unwrap_err();
    assert!(
        matches!(error, DeviceError::PathRefused { status: 0x6A12 }),
        "{error:?}"
    );
    // A signer reads the address first, so it never gets as far as a message the app would
    // review and then exit on without answering.
    let error = LedgerSigner::connect(rig.app.clone(), bitcoin.clone()).unwrap_err();
    assert!(
        matches!(error, DeviceError::PathRefused { .. }),
        "{error:?}"
    );
    assert_eq!(rig.device.apdu_count(), 3);
    // Asked directly, the app reviews, the person approves, and the app exits: the connection
    // is closed and the device shows its dashboard.
    let error = rig
        .app
        .sign_personal_message(&bitcoin, b"hello")
        .unwrap_err();
    assert!(
        matches!(error, DeviceError::Disconnected { .. }),
        "{error:?}"
    );
    assert_eq!(rig.device.running_app(), RunningApp::Dashboard);
}

#[test]
fn dropped_connection_is_typed_and_the_link_is_not_reused() {
    let rig = Rig::new();
    rig.device.set_drop(DropConnection::NextApdu);
    let error = rig.app.app_configuration().unwrap_err();
    assert!(
        matches!(error, DeviceError::Disconnected { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), DeviceErrorKind::Disconnected);
    // The old connection is never reused, even though the device is fine again.
    assert!(matches!(
        rig.app.app_configuration(),
        Err(DeviceError::Disconnected { .. })
    ));
    assert_eq!(rig.reconnect().address(&account0()).unwrap(), address0());
}

#[test]
fn connection_dropped_instead_of_a_signature() {
    let rig = Rig::new();
    rig.device.set_drop(DropConnection::NextSignature);
    let before = rig.device.apdu_count();
    let error = rig
        .app
        .sign_personal_message(&account0(), &[b'm'; 600])
        .unwrap_err();
    assert!(
        matches!(error, DeviceError::Disconnected { .. }),
        "{error:?}"
    );
    // All three chunks went out; the answer to the last never came.
    assert_eq!(rig.device.apdu_count() - before, 3);
}

#[test]
fn stale_signature_is_detected() {
    let rig = Rig::new();
    let signer = LedgerSigner::connect(rig.app.clone(), account0()).unwrap();
    sign_verified(&signer, "first message").unwrap();
    rig.device.set_stale_signature(true);
    let error = sign_verified(&signer, XMTP_TEXT).unwrap_err();
    assert!(
        matches!(
            &error,
            SignError::DoesNotVerify(IdentityError::WrongSigner { expected, .. })
                if *expected == address0()
        ),
        "{error:?}"
    );
    rig.device.set_stale_signature(false);
    assert_eq!(
        hex::encode(sign_verified(&signer, XMTP_TEXT).unwrap().as_bytes()),
        XMTP_SIGNATURE
    );
}

#[test]
fn corrupted_signature_is_detected() {
    let rig = Rig::new();
    rig.device.set_corrupt_signature(true);
    let signer = LedgerSigner::connect(rig.app.clone(), account0()).unwrap();
    for message in [XMTP_TEXT.to_owned(), "x".repeat(700)] {
        let error = sign_verified(&signer, &message).unwrap_err();
        assert!(matches!(error, SignError::DoesNotVerify(_)), "{error:?}");
    }
}

/// A signer that believes it is `address` but signs on `path`, whatever account that is.
struct Mistaken {
    app: EthApp,
    path: DerivationPath,
    address: Address,
}

impl Signer for Mistaken {
    type Error = DeviceError;

    fn address(&self) -> Address {
        self.address
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, DeviceError> {
        self.app.sign_personal_message(&self.path, text.as_bytes())
    }
}

#[test]
fn signature_from_another_account_is_detected() {
    let rig = Rig::new();
    // The signer believes it is account 1 but signs on account 0's path.
    let account1: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        .parse()
        .unwrap();
    let signer = Mistaken {
        app: rig.app.clone(),
        path: account0(),
        address: account1,
    };
    let error = sign_verified(&signer, XMTP_TEXT).unwrap_err();
    assert!(
        matches!(
            error,
            SignError::DoesNotVerify(IdentityError::WrongSigner { expected, recovered })
                if expected == account1 && recovered == address0()
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains(ACCOUNT_0), "{error}");
}

#[test]
fn slow_device_times_out_and_the_late_reply_is_not_read_as_the_next_answer() {
    let rig = Rig::with_options(TcpOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Some(Duration::from_millis(150)),
    });
    rig.device.set_delay(Some(Duration::from_millis(600)));
    let error = rig.app.address(&account0()).unwrap_err();
    assert!(matches!(error, DeviceError::Timeout { .. }), "{error:?}");
    assert_eq!(error.kind(), DeviceErrorKind::Timeout);
    rig.device.set_delay(None);
    std::thread::sleep(Duration::from_millis(700));
    // The address reply is now waiting in the socket; it must not answer the next command.
    assert!(matches!(
        rig.app.app_configuration(),
        Err(DeviceError::Disconnected { .. })
    ));
}

#[test]
fn concurrent_users_of_one_client_do_not_interleave_chunks() {
    let rig = Rig::new();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let app = rig.app.clone();
            std::thread::spawn(move || {
                for i in 0..5 {
                    let message = format!("thread {t} message {i} ").repeat(40);
                    app.sign_personal_message(&account0(), message.as_bytes())
                        .unwrap_or_else(|e| panic!("thread {t} #{i}: {e}"));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn nothing_listening_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = TcpTransport::connect(address).unwrap_err();
    assert!(
        matches!(error, DeviceError::Unreachable { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), DeviceErrorKind::NotFound);
}

#[test]
fn key_generation_and_retrieval_flows_through_the_device() {
    let rig = Rig::new();
    let signer = LedgerSigner::connect(rig.app.clone(), account0()).unwrap();
    let mut prompts = Vec::new();
    let identity =
        xmtp_ledger::flow::generate_identity(&signer, &mut |p| prompts.push(p.text.to_owned()))
            .unwrap();
    assert_eq!(identity.wallet, address0());
    assert_eq!(prompts.len(), 2);
    let unlocked = xmtp_ledger::flow::unlock_identity(
        &signer,
        &identity.encrypted_bundle.encode(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(unlocked.wallet, address0());
    assert_eq!(
        unlocked.bundle.public_bundle(),
        identity.bundle.public_bundle()
    );
}
