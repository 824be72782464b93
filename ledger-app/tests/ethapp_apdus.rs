//! The official Ethereum app's own answers, replayed: every APDU sequence of
//! `../shared/vectors/ethapp-apdus.json` (app 1.22.0 for Nano S Plus in Speculos 0.27.1, driven
//! over Speculos's raw APDU socket) is sent to the software device over its Speculos-compatible
//! socket, and every answer must be the recorded one, data and status word, byte for byte.
//!
//! One loop over the file: adding a recorded case is adding it to the file. As in the
//! recording, each case starts with `E0 FF 00 00 00` (answered `6D00`), which resets the app's
//! state, and its APDUs go in order over one connection; the person's choice at each review is
//! the case's `user` field, played by an [`ApprovalPolicy`].

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ledger_app::tcp::{TcpServer, read_reply, request_frame};
use ledger_app::{ApprovalPolicy, RunningApp, SoftwareDevice};
use serde::Deserialize;

/// The APDU each recorded case starts with: an unknown instruction, whose error status resets
/// the app context.
const RESET_APDU: [u8; 5] = [0xE0, 0xFF, 0x00, 0x00, 0x00];
/// Its recorded answer.
const RESET_ANSWER: [u8; 2] = [0x6D, 0x00];

#[derive(Deserialize)]
struct Recording {
    source: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    /// Hex APDUs, sent in order on one connection.
    apdus: Vec<String>,
    /// What the person did at every review of the case.
    user: User,
    /// `official[i]` answers `apdus[i]`.
    official: Vec<Answer>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum User {
    Approve,
    Reject,
}

/// A recorded answer: data without the status word, and the status word, both hex; both null
/// when the app sent nothing.
#[derive(Deserialize)]
struct Answer {
    data: Option<String>,
    sw: Option<String>,
}

impl Answer {
    /// The answer as the socket carries it (`data || SW`), or `None` for "no answer".
    fn bytes(&self) -> Option<Vec<u8>> {
        let sw = self.sw.as_deref()?;
        let mut bytes = unhex(self.data.as_deref().unwrap_or(""));
        bytes.extend(unhex(sw));
        Some(bytes)
    }
}

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap_or_else(|e| panic!("bad hex {text:?} in the recording: {e}"))
}

/// `../shared` beside the repository (this crate is one level down), or
/// `$XMTP_LEDGER_SHARED_DIR`.
fn shared_dir() -> PathBuf {
    std::env::var_os("XMTP_LEDGER_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn recording() -> Recording {
    let path = shared_dir().join("vectors/ethapp-apdus.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Shows an answer as `data / SW`, or says there was none.
fn show(answer: Option<&[u8]>) -> String {
    match answer {
        None => "no answer".to_owned(),
        Some(bytes) if bytes.len() < 2 => format!("{} (no status word)", hex::encode(bytes)),
        Some(bytes) => {
            let (data, sw) = bytes.split_at(bytes.len() - 2);
            format!("data {:?} SW {}", hex::encode(data), hex::encode(sw))
        }
    }
}

/// Replays one case on a new connection; returns a line per difference.
fn replay(server: &TcpServer, case: &Case) -> Vec<String> {
    let mut stream = TcpStream::connect(server.local_addr()).expect("connect");
    // A device that waits for a review nobody answers must fail the test, not hang it.
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let mut failures = Vec::new();
    let mut fail = |index: Option<usize>, apdu: &[u8], expected: Option<&[u8]>, got: String| {
        let which = index.map_or("reset APDU".to_owned(), |i| format!("APDU #{i}"));
        failures.push(format!(
            "{}: {which} {}: expected {}, got {got}",
            case.name,
            hex::encode(apdu),
            show(expected)
        ));
    };

    let exchange = |stream: &mut TcpStream, apdu: &[u8]| {
        stream.write_all(&request_frame(apdu))?;
        read_reply(stream)
    };
    match exchange(&mut stream, &RESET_APDU) {
        Ok(answer) if answer == RESET_ANSWER => {}
        Ok(answer) => fail(None, &RESET_APDU, Some(&RESET_ANSWER), show(Some(&answer))),
        Err(e) => fail(None, &RESET_APDU, Some(&RESET_ANSWER), e.to_string()),
    }

    let last = case.apdus.len().saturating_sub(1);
    for (i, (apdu, official)) in case.apdus.iter().zip(&case.official).enumerate() {
        let apdu = unhex(apdu);
        let expected = official.bytes();
        if let Err(e) = stream.write_all(&request_frame(&apdu)) {
            fail(
                Some(i),
                &apdu,
                expected.as_deref(),
                format!("send failed: {e}"),
            );
            break;
        }
        match expected {
            Some(expected) => match read_reply(&mut stream) {
                Ok(answer) if answer == expected => {}
                Ok(answer) => fail(Some(i), &apdu, Some(&expected), show(Some(&answer))),
                Err(e) => {
                    fail(Some(i), &apdu, Some(&expected), format!("no answer ({e})"));
                    break;
                }
            },
            // No answer: the app ignored the frame (an empty APDU: the connection stays open,
            // and the next recorded answer proves nothing came in between) or exited (the
            // device closes the connection, as Speculos ends with the app). After the case's
            // last APDU, closing our side makes the server end the connection, so whatever
            // it sent before is read here deterministically, with no timing involved.
            None if i == last => {
                let _ = stream.shutdown(Shutdown::Write);
                let mut rest = Vec::new();
                match stream.read_to_end(&mut rest) {
                    Ok(_) if rest.is_empty() => {}
                    Ok(_) => fail(
                        Some(i),
                        &apdu,
                        None,
                        format!("{} (frame)", hex::encode(rest)),
                    ),
                    Err(e) => fail(Some(i), &apdu, None, format!("read failed: {e}")),
                }
            }
            None => {}
        }
    }
    failures
}

#[test]
fn every_recorded_case_is_answered_as_the_official_app_answered_it() {
    let recording = recording();
    assert!(
        !recording.cases.is_empty(),
        "{}: no cases",
        recording.source
    );
    let device = Arc::new(SoftwareDevice::with_test_mnemonic());
    let server = TcpServer::spawn_ephemeral(Arc::clone(&device)).expect("server");

    let mut failed_cases = Vec::new();
    let mut failures = Vec::new();
    for case in &recording.cases {
        assert_eq!(
            case.apdus.len(),
            case.official.len(),
            "{}: one recorded answer per APDU",
            case.name
        );
        // After a case where the app exited, open it again, as the recording restarted
        // Speculos with the app.
        if device.running_app() != RunningApp::Ethereum {
            device.set_running_app(RunningApp::Ethereum);
        }
        device.set_approval(match case.user {
            User::Approve => ApprovalPolicy::Approve,
            User::Reject => ApprovalPolicy::Reject,
        });
        let differences = replay(&server, case);
        if !differences.is_empty() {
            failed_cases.push(case.name.as_str());
            failures.extend(differences);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} recorded cases answered differently ({}):\n{}",
        failed_cases.len(),
        recording.cases.len(),
        failed_cases.join(", "),
        failures.join("\n")
    );
}
