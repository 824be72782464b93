//! Target `software_device`: hostile hosts driving the software Ledger (`ledger_app`) with any
//! sequence of APDUs, in any device state.
//!
//! Input: `config ‖ apdus`, `apdus` being records `u16be(len) ‖ APDU bytes`, each sent with
//! `ledger_app::SoftwareDevice::exchange_checked` to the device (test mnemonic), whose settings
//! and app context are reset first.
//! `config`: bit 0 locked, bit 1 reviews rejected, bit 2 blind signing on, bit 3 a 2 KiB heap
//! (instead of 16 KiB), bits 4–5 the open app (Ethereum, Ethereum, dashboard, another app).
//!
//! Invariants, besides never panicking:
//! - every answer is delivered (no fault is set) and is `data ‖ SW`, at least 2 bytes, except
//!   for an empty APDU (never answered, as by the official app) and for a complete message at a
//!   path the OS refuses, once approved (the app exits, as the official app does); an error
//!   status word carries no data, except `6A87`, whose data is stale bytes of the app's I/O
//!   buffer starting with the APDU itself (the official app's defect, modelled); a locked
//!   device answers `5515` to everything; bytes that are not an APDU (`Lc` not matching)
//!   answer `6A87`, unless they start with an OS command header (`B0 INS P1 P2`, read before
//!   any length check);
//! - `E0 06` succeeds with exactly `flags 1 22 0`;
//! - a successful `E0 02` answer is accepted by the host's parser (`EthApp::get_address` over
//!   that answer) and names the device's own address for the path sent;
//! - a signature (`v ‖ r ‖ s`, 65 bytes) is only produced for a complete message stream
//!   `path ‖ u32be(len) ‖ message` as sent by the host (tracked here independently), has
//!   v = 27/28 and low S, and recovers over exactly that message to the device's address for
//!   that path.
#![no_main]

use fuzz_support::{FixedAnswer, records_u16};
use std::sync::LazyLock;

use ledger_app::{ApprovalPolicy, NoAnswer, RunningApp, SoftwareDevice};
use libfuzzer_sys::fuzz_target;
use xmtp_ledger::device::{AddressOptions, DerivationPath, EthApp};
use xmtp_ledger::identity::{Address, WalletSignature};

/// One device for the process (deriving its seed takes 2048 PBKDF2 rounds); every input first
/// resets all its settings and its app context, so an input behaves the same whatever ran
/// before it. (Only the remembered last signature survives, which matters only to the
/// stale-signature fault, never set here.)
static DEVICE: LazyLock<SoftwareDevice> = LazyLock::new(SoftwareDevice::with_test_mnemonic);

/// The message stream the host has sent since the last first chunk (`E0 08 00 00`), as far as
/// this target can tell from the commands and the device's answers.
#[derive(Default)]
struct Stream {
    bytes: Option<Vec<u8>>,
}

/// Splits a complete stream into (path, message), or `None` if it is not one. The app keeps
/// the declared length in 16 bits (`uint16_t msg_length`), so 65,536 and more wrap.
fn split_stream(stream: &[u8]) -> Option<(ledger_app::DerivationPath, &[u8])> {
    let (path, rest) = ledger_app::DerivationPath::read_apdu(stream)?;
    let (len, message) = rest.split_first_chunk::<4>()?;
    (usize::from(u32::from_be_bytes(*len) as u16) == message.len()).then_some((path, message))
}

fuzz_target!(|data: &[u8]| {
    let Some((&config, rest)) = data.split_first() else {
        return;
    };
    let locked = config & 1 != 0;
    let device = &*DEVICE;
    device.clear_faults();
    device.set_locked(locked);
    device.set_approval(if config & 2 != 0 {
        ApprovalPolicy::Reject
    } else {
        ApprovalPolicy::Approve
    });
    device.set_blind_signing(config & 4 != 0);
    device.set_heap_size(if config & 8 != 0 {
        2 * 1024
    } else {
        ledger_app::heap::DEFAULT_HEAP_SIZE
    });
    // Also resets the app context (any message in progress) before the next APDU.
    device.set_running_app(match (config >> 4) & 3 {
        2 => RunningApp::Dashboard,
        3 => RunningApp::other("Bitcoin", "2.2.3"),
        _ => RunningApp::Ethereum,
    });

    let mut stream = Stream::default();
    for apdu in records_u16(rest) {
        let answer = match device.exchange_checked(apdu) {
            Ok(answer) => answer,
            Err(NoAnswer::EmptyApdu) => {
                assert!(apdu.is_empty(), "a non-empty APDU went unanswered");
                continue;
            }
            Err(NoAnswer::AppExited) => {
                // Only the last chunk of an approved message at a path the OS refuses.
                let command = ledger_app::apdu::Command::parse(apdu).expect("exit on an APDU");
                assert_eq!((command.cla, command.ins, locked), (0xE0, 0x08, false));
                let mut sent = match command.p1 {
                    0x00 => Vec::new(),
                    _ => stream.bytes.take().expect("exit without a message"),
                };
                sent.extend_from_slice(command.data);
                let (path, _) = split_stream(&sent).expect("exit before the message was complete");
                assert!(path.refusal().is_some(), "exit at an allowed path {path}");
                stream.bytes = None;
                continue;
            }
            Err(NoAnswer::Dropped) => panic!("no fault set, yet the answer was dropped"),
        };
        let (body, status) = ledger_app::sw::split_answer(&answer).expect("answer has a SW");
        if status == 0x6A87 {
            let n = body.len().min(apdu.len());
            assert_eq!(
                body[..n],
                apdu[..n],
                "6A87's stale data starts with the APDU"
            );
        } else if status != 0x9000 {
            assert!(body.is_empty(), "error {status:04x} with data");
        }
        if locked {
            assert_eq!(answer, [0x55, 0x15]);
            continue;
        }
        let Some(command) = ledger_app::apdu::Command::parse(apdu) else {
            if !(apdu.len() >= 4 && apdu[0] == 0xB0) {
                assert_eq!(status, 0x6A87);
            }
            continue;
        };
        match (command.cla, command.ins) {
            (0xE0, 0x06) if status == 0x9000 => {
                assert_eq!(body.len(), 4);
                assert_eq!(&body[1..], [1, 22, 0]);
            }
            (0xE0, 0x02) => {
                // The app resets its message context before anything else.
                stream.bytes = None;
                if status == 0x9000 {
                    check_address(device, command.data, command.p2 == 1, body);
                }
            }
            (0xE0, 0x08) => {
                if status != 0x9000 {
                    stream.bytes = None;
                    continue;
                }
                match command.p1 {
                    0x00 => stream.bytes = Some(command.data.to_vec()),
                    0x80 => stream
                        .bytes
                        .as_mut()
                        .expect("a following chunk succeeded with no message started")
                        .extend_from_slice(command.data),
                    other => panic!("P1 {other:#04x} succeeded"),
                }
                if !body.is_empty() {
                    let sent = stream.bytes.take().expect("signature without a message");
                    let (path, message) =
                        split_stream(&sent).expect("signature before the message was complete");
                    check_signature(device, &path, message, body);
                }
            }
            (0xB0, 0xA7) => stream.bytes = None,
            _ if status != 0x9000 => stream.bytes = None,
            _ => {}
        }
    }
});

fn check_address(device: &SoftwareDevice, data: &[u8], chain_code: bool, body: &[u8]) {
    let (path, _) = ledger_app::DerivationPath::read_apdu(data).expect("device parsed a path");
    let expected: Address = device
        .address(&path)
        .expect("derivable")
        .parse()
        .expect("EIP-55");
    let mut raw = body.to_vec();
    raw.extend_from_slice(&[0x90, 0x00]);
    let host_path = DerivationPath::new(path.components().to_vec()).expect("1..=10 components");
    let answer = EthApp::from_transport(FixedAnswer(raw))
        .get_address(
            &host_path,
            AddressOptions {
                confirm: false,
                chain_code,
            },
        )
        .expect("the host accepts the device's address answer");
    assert_eq!(answer.address, expected);
    assert_eq!(answer.chain_code.is_some(), chain_code);
}

fn check_signature(
    device: &SoftwareDevice,
    path: &ledger_app::DerivationPath,
    message: &[u8],
    vrs: &[u8],
) {
    assert_eq!(vrs.len(), 65);
    assert!(vrs[0] == 27 || vrs[0] == 28, "v = {}", vrs[0]);
    let mut rsv = vrs[1..].to_vec();
    rsv.push(vrs[0]);
    let signature = WalletSignature::from_bytes(&rsv).expect("canonical (low-S) signature");
    let expected: Address = device
        .address(path)
        .expect("derivable")
        .parse()
        .expect("EIP-55");
    signature
        .verify_personal_sign(message, &expected)
        .expect("the signature is the device's, over exactly the message sent");
}
