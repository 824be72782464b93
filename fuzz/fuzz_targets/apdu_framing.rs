//! Target `apdu_framing`: the bytes a device link delivers, before any meaning is given to them.
//!
//! The whole input is fed to:
//! - `xmtp_ledger::device::ApduAnswer::from_bytes` (the host's answer parser). Invariants: `Ok`
//!   exactly when there are at least 2 bytes; data and status word are the split of the input;
//!   it agrees with the device side's `ledger_app::sw::split_answer`.
//! - `xmtp_ledger::device::tcp::read_reply` (the Speculos socket framing) over the input as a
//!   stream, frame after frame until it fails. Invariants: a frame read consumes exactly
//!   `4 + len + 2` bytes and its answer is those bytes; a declared length above
//!   `MAX_REPLY_DATA` is `TooLong` (refused before allocating); a short stream is an I/O
//!   error, never a panic; it agrees with the software device's `ledger_app::tcp::read_reply`
//!   on every frame both accept the length of.
//! - `ledger_app::apdu::Command::parse` (the device's command parser) against the host's
//!   `ApduCommand`: a parsed command re-serializes through `ApduCommand::new(..).to_bytes()` to
//!   the same bytes (a 4-byte APDU gains `Lc = 0`), and a command the host builds always
//!   parses back on the device.
//! - `xmtp_ledger::device::hid::framing` (the USB HID report framing): the input cut into
//!   64-byte reports is pushed into an `AnswerAssembler` until it fails or completes.
//!   Invariants: a completed answer is exactly as long as the first report declares and is
//!   the reports' payload bytes in order; a command framed by `request_reports` reassembles
//!   (report ids dropped) to the same bytes.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use xmtp_ledger::device::tcp::{MAX_REPLY_DATA, ReplyError, read_reply};
use xmtp_ledger::device::hid::framing::{AnswerAssembler, REPORT_SIZE, request_reports};
use xmtp_ledger::device::{ApduAnswer, ApduCommand};

fuzz_target!(|data: &[u8]| {
    answer(data);
    socket_frames(data);
    command(data);
    hid_reports(data);
});

fn hid_reports(data: &[u8]) {
    let mut assembler = AnswerAssembler::default();
    let mut payload = Vec::new();
    for (i, report) in data.chunks(REPORT_SIZE).enumerate() {
        match assembler.push(report) {
            Ok(Some(answer)) => {
                payload.extend_from_slice(&report[5..]);
                let declared = usize::from(u16::from_be_bytes([payload[0], payload[1]]));
                assert_eq!(answer.len(), declared);
                assert_eq!(answer, payload[2..2 + declared]);
                break;
            }
            Ok(None) => {
                assert!(report.len() >= 5 + usize::from(i == 0) * 2);
                payload.extend_from_slice(&report[5..]);
            }
            Err(_) => break,
        }
    }
    // What the host frames, the same framing reassembles.
    let apdu = &data[..data.len().min(260)];
    let mut assembler = AnswerAssembler::default();
    let mut whole = None;
    for report in request_reports(apdu) {
        assert!(whole.is_none(), "reports after the answer was complete");
        whole = assembler.push(&report[1..]).expect("our own framing");
    }
    assert_eq!(whole.as_deref(), Some(apdu));
}

fn answer(data: &[u8]) {
    let host = ApduAnswer::from_bytes(data);
    let device = ledger_app::sw::split_answer(data);
    match (&host, device) {
        (Ok(answer), Some((body, status))) => {
            assert!(data.len() >= 2);
            assert_eq!(answer.data(), body);
            assert_eq!(answer.data(), &data[..data.len() - 2]);
            assert_eq!(answer.status(), status);
            assert_eq!(
                answer.status(),
                u16::from_be_bytes([data[data.len() - 2], data[data.len() - 1]])
            );
            assert_eq!(answer.is_success(), status == 0x9000);
        }
        (Err(_), None) => assert!(data.len() < 2),
        (host, device) => panic!("host {host:?} and device {device:?} disagree"),
    }
}

fn socket_frames(data: &[u8]) {
    let mut host = Cursor::new(data);
    let mut device = Cursor::new(data);
    loop {
        let start = host.position() as usize;
        let remaining = &data[start..];
        let declared = remaining
            .first_chunk::<4>()
            .map(|h| u32::from_be_bytes(*h) as usize);
        match read_reply(&mut host) {
            Ok(answer) => {
                let len = declared.expect("a frame was read, so it had a header");
                assert!(len <= MAX_REPLY_DATA);
                assert_eq!(host.position() as usize, start + 4 + len + 2);
                assert_eq!(answer.data(), &remaining[4..4 + len]);
                assert_eq!(
                    answer.status(),
                    u16::from_be_bytes([remaining[4 + len], remaining[4 + len + 1]])
                );
                // The software device's reader caps lengths lower; below its cap it must read
                // the same frame.
                if len <= ledger_app::tcp::MAX_REQUEST_LEN as usize {
                    device.set_position(start as u64);
                    let raw = ledger_app::tcp::read_reply(&mut device)
                        .expect("device reader accepts a frame the host reader accepts");
                    assert_eq!(&raw[..len], answer.data());
                    assert_eq!(device.position(), host.position());
                }
            }
            Err(ReplyError::TooLong(len)) => {
                assert_eq!(Some(len), declared);
                assert!(len > MAX_REPLY_DATA);
                return;
            }
            Err(ReplyError::Io(error)) => {
                assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
                // Either no full header, or a body shorter than declared.
                if let Some(len) = declared {
                    assert!(remaining.len() < 4 + len + 2);
                }
                return;
            }
        }
    }
}

fn command(data: &[u8]) {
    if let Some(parsed) = ledger_app::apdu::Command::parse(data) {
        let host = ApduCommand::new(
            parsed.cla,
            parsed.ins,
            parsed.p1,
            parsed.p2,
            parsed.data.to_vec(),
        )
        .expect("Lc is one byte, so the device never parses more than 255 data bytes");
        let bytes = host.to_bytes();
        if data.len() == 4 {
            assert_eq!(&bytes[..4], data);
            assert_eq!(bytes[4], 0);
        } else {
            assert_eq!(bytes, data);
        }
    }
    // Whatever the host builds, the device parses back to the same fields.
    if let Some((header, rest)) = data.split_first_chunk::<4>() {
        let body = &rest[..rest.len().min(255)];
        let host = ApduCommand::new(header[0], header[1], header[2], header[3], body.to_vec())
            .expect("at most 255 data bytes");
        let bytes = host.to_bytes();
        let parsed = ledger_app::apdu::Command::parse(&bytes).expect("device parses host command");
        assert_eq!(
            (parsed.cla, parsed.ins, parsed.p1, parsed.p2, parsed.data),
            (header[0], header[1], header[2], header[3], body)
        );
    }
}
