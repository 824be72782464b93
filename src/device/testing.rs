//! Test support: a scripted Ethereum app behind the `mockall` [`MockTransport`], signing with a
//! fixed key, so the layers above the transport can be tested byte for byte.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k256::ecdsa::SigningKey;

use crate::identity::{Address, eip191, signature_from_digest};

use super::eth_app::EthApp;
use super::transport::{ApduAnswer, ApduCommand, MockTransport};

/// How the fake spoils its next signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Tamper {
    #[default]
    None,
    /// Answer with the previous signature.
    Stale,
    /// Flip a bit of r.
    Corrupt,
    /// Sign with another key.
    OtherKey,
}

pub(crate) struct FakeApp {
    key: SigningKey,
    other_key: SigningKey,
    message: Option<(usize, Vec<u8>)>,
    last_signature: Option<Vec<u8>>,
    pub(crate) tamper: Tamper,
    /// Every command, in order.
    pub(crate) log: Vec<ApduCommand>,
    /// The commands sent with a time limit, and the limit.
    pub(crate) bounded: Vec<(ApduCommand, Duration)>,
}

pub(crate) fn key() -> SigningKey {
    SigningKey::from_slice(&[0x11; 32]).unwrap()
}

pub(crate) fn address_of(key: &SigningKey) -> Address {
    Address::from_uncompressed_public_key(key.verifying_key().to_encoded_point(false).as_bytes())
        .unwrap()
}

pub(crate) fn device_address() -> Address {
    address_of(&key())
}

/// `v ‖ r ‖ s` as the device answers a personal_sign of `message` with `key`.
pub(crate) fn device_signature(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    let compact = signature_from_digest(key, &eip191::personal_message_digest(message)).unwrap();
    let mut vrs = vec![27 + compact.recovery()];
    vrs.extend_from_slice(compact.bytes());
    vrs
}

/// The address answer for `key`: `41 ‖ pubkey ‖ 28 ‖ EIP-55 text`.
pub(crate) fn address_answer(key: &SigningKey) -> Vec<u8> {
    let mut data = vec![65];
    data.extend_from_slice(key.verifying_key().to_encoded_point(false).as_bytes());
    data.push(40);
    data.extend_from_slice(&address_of(key).to_checksum().as_bytes()[2..]);
    data
}

impl FakeApp {
    pub(crate) fn new() -> Self {
        Self {
            key: key(),
            other_key: SigningKey::from_slice(&[0x22; 32]).unwrap(),
            message: None,
            last_signature: None,
            tamper: Tamper::None,
            log: Vec::new(),
            bounded: Vec::new(),
        }
    }

    fn answer(&mut self, command: &ApduCommand) -> ApduAnswer {
        self.log.push(command.clone());
        let ok = |data: Vec<u8>| ApduAnswer::new(data, 0x9000);
        let status = |sw: u16| ApduAnswer::new(Vec::new(), sw);
        match (command.cla(), command.ins(), command.p1()) {
            (0xE0, 0x06, _) => ok(vec![0x02, 1, 22, 0]),
            (0xB0, 0x01, _) => {
                let mut data = vec![1, 8];
                data.extend_from_slice(b"Ethereum");
                data.push(6);
                data.extend_from_slice(b"1.22.0");
                data.extend_from_slice(&[1, 0]);
                ok(data)
            }
            (0xE0, 0x02, _) => {
                let mut data = address_answer(&self.key);
                if command.p2() == 1 {
                    data.extend_from_slice(&[0xCC; 32]);
                }
                ok(data)
            }
            (0xE0, 0x08, 0x00) => {
                let data = command.data();
                let Some(&count) = data.first() else {
                    return status(0x6A80);
                };
                let start = 1 + 4 * usize::from(count);
                let Some(len) = data.get(start..start + 4) else {
                    return status(0x6A80);
                };
                let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
                self.message = Some((len, data[start + 4..].to_vec()));
                self.progress()
            }
            (0xE0, 0x08, 0x80) => match self.message.as_mut() {
                Some((_, received)) => {
                    received.extend_from_slice(command.data());
                    self.progress()
                }
                None => status(0x6A80),
            },
            _ => status(0x6D00),
        }
    }

    fn progress(&mut self) -> ApduAnswer {
        let Some((len, received)) = self.message.take() else {
            return ApduAnswer::new(Vec::new(), 0x6A80);
        };
        if received.len() < len {
            self.message = Some((len, received));
            return ApduAnswer::new(Vec::new(), 0x9000);
        }
        if received.len() > len {
            return ApduAnswer::new(Vec::new(), 0x6A80);
        }
        let genuine = device_signature(&self.key, &received);
        let mut answer = match self.tamper {
            Tamper::None | Tamper::Corrupt => genuine.clone(),
            Tamper::Stale => self
                .last_signature
                .clone()
                .unwrap_or_else(|| genuine.clone()),
            Tamper::OtherKey => device_signature(&self.other_key, &received),
        };
        if self.tamper == Tamper::Corrupt {
            answer[10] ^= 0x01;
        }
        self.last_signature = Some(genuine);
        ApduAnswer::new(answer, 0x9000)
    }
}

/// An [`EthApp`] over a mock transport answered by a [`FakeApp`]; the state is shared so a
/// test can inspect the APDUs sent and set tampering. Bounded and unbounded exchanges are
/// answered alike; [`FakeApp::bounded`] records which were bounded.
pub(crate) fn fake_app() -> (EthApp, Arc<Mutex<FakeApp>>) {
    let state = Arc::new(Mutex::new(FakeApp::new()));
    let mut mock = MockTransport::new();
    let shared = Arc::clone(&state);
    mock.expect_exchange()
        .returning(move |command| Ok(shared.lock().unwrap().answer(command)));
    let shared = Arc::clone(&state);
    mock.expect_exchange_within()
        .returning(move |command, limit| {
            let mut app = shared.lock().unwrap();
            app.bounded.push((command.clone(), limit));
            Ok(app.answer(command))
        });
    (EthApp::from_transport(mock), state)
}

/// An [`EthApp`] whose every exchange, bounded or not, answers `data` with status `sw`; more
/// than `times` exchanges fail the test.
pub(crate) fn answering(data: Vec<u8>, sw: u16, times: usize) -> EthApp {
    let count = Arc::new(AtomicUsize::new(0));
    let answer = move || {
        let sent = count.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(sent <= times, "{sent} exchanges, expected at most {times}");
        Ok(ApduAnswer::new(data.clone(), sw))
    };
    let mut mock = MockTransport::new();
    let unbounded = answer.clone();
    mock.expect_exchange().returning(move |_| unbounded());
    mock.expect_exchange_within()
        .returning(move |_, _| answer());
    EthApp::from_transport(mock)
}
