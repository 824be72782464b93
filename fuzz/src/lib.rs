//! Helpers shared by the fuzz targets: splitting an input into records, and a fake device
//! transport that answers with fuzzer bytes.
//!
//! Input formats are plain bytes (no `arbitrary`), so seeds can be written by hand or by
//! `examples/make_seeds.rs`, and a crashing input can be read with a hex dump.

use std::collections::VecDeque;
use std::sync::Mutex;

use xmtp_ledger::device::{ApduAnswer, ApduCommand, DeviceError, Transport};

/// Splits `data` into records, each `u16be(len) ‖ len bytes`. A last record whose length runs
/// past the end is cut short (so every input means something).
pub fn records_u16(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        let rest = &data[2..];
        let take = len.min(rest.len());
        out.push(&rest[..take]);
        data = &rest[take..];
    }
    out
}

/// Encodes records for [`records_u16`] (for seeds).
pub fn encode_records_u16<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        let len = u16::try_from(record.len()).expect("record fits u16");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(record);
    }
    out
}

/// Splits `data` into records, each `u8(len) ‖ len bytes`; a short last record is cut short.
pub fn records_u8(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        let take = usize::from(len).min(rest.len());
        out.push(&rest[..take]);
        data = &rest[take..];
    }
    out
}

/// Encodes records for [`records_u8`] (for seeds).
pub fn encode_records_u8<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        out.push(u8::try_from(record.len()).expect("record fits u8"));
        out.extend_from_slice(record);
    }
    out
}

/// What a [`ScriptedTransport`] did for one exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exchanged {
    /// It answered; the status word it sent.
    Answer(u16),
    /// The scripted bytes were shorter than a status word: a malformed-answer error.
    Malformed,
    /// The script ran out: a disconnected-device error.
    Exhausted,
}

/// A device that answers each command with the next scripted raw answer (`data ‖ SW`, parsed
/// by [`ApduAnswer::from_bytes`], so fewer than 2 bytes is a transport error), and reports
/// `Disconnected` once the script runs out. It records what it answered, so a target can
/// check how the client interpreted each answer.
pub struct ScriptedTransport {
    answers: Mutex<VecDeque<Vec<u8>>>,
    log: Mutex<Vec<Exchanged>>,
}

impl ScriptedTransport {
    /// A transport that will give `answers` in order.
    pub fn new<'a>(answers: impl IntoIterator<Item = &'a [u8]>) -> Self {
        Self {
            answers: Mutex::new(answers.into_iter().map(<[u8]>::to_vec).collect()),
            log: Mutex::new(Vec::new()),
        }
    }

    /// Everything answered so far, oldest first.
    pub fn log(&self) -> Vec<Exchanged> {
        self.log.lock().unwrap().clone()
    }
}

impl Transport for ScriptedTransport {
    fn exchange(&self, _command: &ApduCommand) -> Result<ApduAnswer, DeviceError> {
        let next = self.answers.lock().unwrap().pop_front();
        let (result, record) = match next {
            None => (
                Err(DeviceError::Disconnected {
                    detail: "script exhausted".into(),
                }),
                Exchanged::Exhausted,
            ),
            Some(raw) => match ApduAnswer::from_bytes(&raw) {
                Ok(answer) => {
                    let status = answer.status();
                    (Ok(answer), Exchanged::Answer(status))
                }
                Err(error) => (Err(error), Exchanged::Malformed),
            },
        };
        self.log.lock().unwrap().push(record);
        result
    }
}

/// A transport that answers every command with the same raw bytes.
pub struct FixedAnswer(pub Vec<u8>);

impl Transport for FixedAnswer {
    fn exchange(&self, _command: &ApduCommand) -> Result<ApduAnswer, DeviceError> {
        ApduAnswer::from_bytes(&self.0)
    }
}

/// Messages the `eth_app_answers` target asks the device to sign, chosen by an input byte:
/// empty (one APDU), short, an XMTP-sized text (two APDUs on the default path) and 600 bytes
/// (three APDUs).
pub fn personal_messages() -> [Vec<u8>; 4] {
    [
        Vec::new(),
        b"hi".to_vec(),
        xmtp_ledger::identity::eip191::create_identity_text(&[0x0a; 70]).into_bytes(),
        vec![b'x'; 600],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_cut_short() {
        let encoded = encode_records_u16([&b"ab"[..], &b""[..], &b"xyz"[..]]);
        assert_eq!(records_u16(&encoded), [&b"ab"[..], &b""[..], &b"xyz"[..]]);
        assert_eq!(records_u16(&[0, 5, 1, 2]), [&[1u8, 2][..]]);
        assert_eq!(records_u16(&[7]), Vec::<&[u8]>::new());
        let encoded = encode_records_u8([&b"q"[..], &b"rs"[..]]);
        assert_eq!(records_u8(&encoded), [&b"q"[..], &b"rs"[..]]);
        assert_eq!(records_u8(&[3, 1]), [&[1u8][..]]);
    }
}
