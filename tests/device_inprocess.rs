//! The Ethereum app client against the software device called in-process (`--device emulator`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ledger_app::{ApprovalPolicy, DropConnection, RunningApp, SoftwareDevice};
use xmtp_ledger::device::{ApduAnswer, ApduCommand, Transport};
use xmtp_ledger::device::{
    AppStatus, DerivationPath, DeviceError, DeviceErrorKind, EthApp, InProcessTransport,
    LedgerSigner,
};
use xmtp_ledger::signer::{SignError, Signer, sign_verified};

const XMTP_TEXT: &str =
    "XMTP : Create Identity\n0a0b\n\nFor more info: https://xmtp.org/signatures/";
const XMTP_SIGNATURE: &str = "5c18e354ed7466546ee23bc6d8d40142079ad930d88e05019c60a0ed200618ac23485508048e94a4399373821e124147447ed304e451669ea2355e373fb33b371c";
const ACCOUNT_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

fn rig() -> (Arc<SoftwareDevice>, EthApp) {
    let device = Arc::new(SoftwareDevice::with_test_mnemonic());
    let app = EthApp::from_transport(InProcessTransport::new(Arc::clone(&device)));
    (device, app)
}

fn signer(app: &EthApp) -> LedgerSigner {
    LedgerSigner::connect(app.clone(), DerivationPath::ledger_live(0).unwrap()).unwrap()
}

#[test]
fn same_answers_as_the_official_app() {
    let (device, app) = rig();
    let signer = signer(&app);
    assert_eq!(signer.address().to_string(), ACCOUNT_0);
    let signature = signer.personal_sign(XMTP_TEXT).unwrap();
    assert_eq!(hex::encode(signature.as_bytes()), XMTP_SIGNATURE);
    // One address read, one single-APDU signature.
    assert_eq!(device.apdu_count(), 2);
    assert_eq!(
        app.app_configuration().unwrap().version.to_string(),
        "1.22.0"
    );
}

#[test]
fn chunk_counts_are_minimal() {
    let (device, app) = rig();
    let signer = signer(&app);
    for len in [0usize, 230, 231, 485, 486, 4000] {
        device.reset_apdu_log();
        signer.personal_sign(&"z".repeat(len)).unwrap();
        let log = device.apdu_log();
        assert_eq!(log.len(), (25 + len).div_ceil(255), "{len}");
        // Header of each chunk as the app expects: E0 08 00/80 00 Lc.
        for (i, apdu) in log.iter().enumerate() {
            assert_eq!(
                apdu[..4],
                [0xE0, 0x08, if i == 0 { 0x00 } else { 0x80 }, 0x00]
            );
            assert_eq!(usize::from(apdu[4]), apdu.len() - 5);
        }
    }
}

#[test]
fn errors_are_typed() {
    let (device, app) = rig();
    let signer = signer(&app);

    device.set_approval(ApprovalPolicy::Reject);
    assert!(matches!(
        signer.personal_sign("x"),
        Err(DeviceError::Rejected { .. })
    ));
    device.set_approval(ApprovalPolicy::Approve);

    device.set_locked(true);
    assert!(matches!(app.status(), AppStatus::Locked));
    assert_eq!(
        signer.personal_sign("x").unwrap_err().kind(),
        DeviceErrorKind::Locked
    );
    device.set_locked(false);

    device.set_running_app(RunningApp::Dashboard);
    assert_eq!(
        signer.personal_sign("x").unwrap_err().kind(),
        DeviceErrorKind::WrongApp
    );
    device.set_running_app(RunningApp::Ethereum);

    device.set_drop(DropConnection::NextApdu);
    assert!(matches!(
        signer.personal_sign("x"),
        Err(DeviceError::Disconnected { .. })
    ));

    sign_verified(&signer, "x").unwrap();
    device.set_stale_signature(true);
    assert!(matches!(
        sign_verified(&signer, "y"),
        Err(SignError::DoesNotVerify(_))
    ));
    device.set_stale_signature(false);

    device.set_corrupt_signature(true);
    assert!(matches!(
        sign_verified(&signer, "y"),
        Err(SignError::DoesNotVerify(_))
    ));
    device.set_corrupt_signature(false);

    assert_eq!(
        hex::encode(signer.personal_sign(XMTP_TEXT).unwrap().as_bytes()),
        XMTP_SIGNATURE
    );
}

/// Passes exchanges to the device, and right after the second one (our first personal_sign
/// chunk, after the address read) lets another client start its own
/// personal message, as a second program on the same emulator could.
struct Intruded {
    inner: InProcessTransport,
    exchanges: AtomicUsize,
}

impl Transport for Intruded {
    fn exchange(&self, command: &ApduCommand) -> Result<ApduAnswer, DeviceError> {
        let answer = self.inner.exchange(command);
        if self.exchanges.fetch_add(1, Ordering::SeqCst) == 1 {
            // Path m/44'/60'/0'/0/0, declared length 10, 1 byte: a message in progress.
            let mut intruder = vec![0xE0, 0x08, 0x00, 0x00, 26, 5];
            for c in [44 | 0x8000_0000u32, 60 | 0x8000_0000, 0x8000_0000, 0, 0] {
                intruder.extend_from_slice(&c.to_be_bytes());
            }
            intruder.extend_from_slice(&[0, 0, 0, 10, b'!']);
            // The app refuses a new message while ours is in progress, and resets.
            assert_eq!(self.inner.device().exchange(&intruder), [0x69, 0x80]);
        }
        answer
    }
}

#[test]
fn an_interleaved_command_never_yields_a_signature() {
    let (device, _) = rig();
    let app = EthApp::from_transport(Intruded {
        inner: InProcessTransport::new(Arc::clone(&device)),
        exchanges: AtomicUsize::new(0),
    });
    let path = DerivationPath::ledger_live(0).unwrap();
    app.address(&path).unwrap();
    // Three chunks; the intruder strikes after the first, so our second is out of sequence.
    let error = app.sign_personal_message(&path, &[b'q'; 600]).unwrap_err();
    assert!(
        matches!(error, DeviceError::InvalidData { status: 0x6A80 }),
        "{error:?}"
    );
    assert_eq!(error.kind(), DeviceErrorKind::InvalidRequest);
    // The client stopped at the refused chunk: address + 2 chunks + the intruder's one.
    assert_eq!(device.apdu_count(), 4);
    // The app reset after the error: a retry through the client works.
    app.sign_personal_message(&path, &[b'q'; 600]).unwrap();
}
