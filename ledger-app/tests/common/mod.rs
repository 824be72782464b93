//! APDU builders and answer checks shared by the integration tests, written from the protocol
//! description (not from the crate's internals) so that they check the device independently.
#![allow(dead_code)]

use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use ledger_app::DerivationPath;
use sha3::{Digest, Keccak256};

pub const XMTP_TEXT: &str =
    "XMTP : Create Identity\n0a0b\n\nFor more info: https://xmtp.org/signatures/";

pub fn path(text: &str) -> DerivationPath {
    text.parse().expect("test path")
}

/// `CLA INS P1 P2 Lc data` (always with Lc, like ledgerjs).
pub fn apdu(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8]) -> Vec<u8> {
    assert!(data.len() <= 255);
    let mut out = vec![cla, ins, p1, p2, data.len() as u8];
    out.extend_from_slice(data);
    out
}

pub fn app_config() -> Vec<u8> {
    vec![0xE0, 0x06, 0x00, 0x00, 0x00]
}

pub fn get_address(path: &DerivationPath, confirm: bool, chain_code: bool) -> Vec<u8> {
    apdu(
        0xE0,
        0x02,
        u8::from(confirm),
        u8::from(chain_code),
        &path.to_apdu_bytes(),
    )
}

/// The canonical split: `path || u32be(len) || message` cut in `chunk`-byte slices, the first
/// with P1=00 and the rest with P1=80.
pub fn personal_sign_apdus(path: &DerivationPath, message: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    personal_sign_apdus_declaring(path, message.len() as u32, message, chunk)
}

/// Like [`personal_sign_apdus`] but with an arbitrary declared length.
pub fn personal_sign_apdus_declaring(
    path: &DerivationPath,
    declared: u32,
    message: &[u8],
    chunk: usize,
) -> Vec<Vec<u8>> {
    let mut payload = path.to_apdu_bytes();
    payload.extend_from_slice(&declared.to_be_bytes());
    payload.extend_from_slice(message);
    payload
        .chunks(chunk)
        .enumerate()
        .map(|(i, part)| apdu(0xE0, 0x08, if i == 0 { 0x00 } else { 0x80 }, 0x00, part))
        .collect()
}

pub fn sw(answer: &[u8]) -> u16 {
    assert!(
        answer.len() >= 2,
        "answer without status word: {answer:02x?}"
    );
    u16::from_be_bytes([answer[answer.len() - 2], answer[answer.len() - 1]])
}

pub fn data(answer: &[u8]) -> &[u8] {
    &answer[..answer.len() - 2]
}

/// Sends every APDU; asserts that all but the last answer exactly `90 00`; returns the last.
pub fn send_all(device: &ledger_app::SoftwareDevice, apdus: &[Vec<u8>]) -> Vec<u8> {
    let (last, first) = apdus.split_last().expect("at least one APDU");
    for a in first {
        assert_eq!(
            device.exchange(a),
            [0x90, 0x00],
            "intermediate chunk answer"
        );
    }
    device.exchange(last)
}

/// Signs `message` at `path` with 255-byte chunks and returns the 65-byte `v || r || s`.
pub fn sign(device: &ledger_app::SoftwareDevice, path: &DerivationPath, message: &[u8]) -> Vec<u8> {
    let answer = send_all(device, &personal_sign_apdus(path, message, 255));
    assert_eq!(sw(&answer), 0x9000, "signature answer {answer:02x?}");
    assert_eq!(answer.len(), 67);
    data(&answer).to_vec()
}

pub fn eip191_digest(message: &[u8]) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(b"\x19Ethereum Signed Message:\n");
    h.update(message.len().to_string().as_bytes());
    h.update(message);
    h.finalize().into()
}

/// The lower-case hex address a device-order `v || r || s` signature of `message` recovers to.
pub fn recover_address(message: &[u8], vrs: &[u8]) -> Option<String> {
    let v = vrs[0].checked_sub(27)?;
    let signature = Signature::from_slice(&vrs[1..65]).ok()?;
    let key = VerifyingKey::recover_from_prehash(
        &eip191_digest(message),
        &signature,
        RecoveryId::from_byte(v)?,
    )
    .ok()?;
    let point = key.to_encoded_point(false);
    let hash = Keccak256::digest(&point.as_bytes()[1..]);
    Some(format!("0x{}", hex::encode(&hash[12..])))
}

/// `../shared` beside the repository (`shared/` at the workspace's parent), or
/// `$XMTP_LEDGER_SHARED_DIR`, as the root crate's tests find it.
pub fn shared_dir() -> std::path::PathBuf {
    std::env::var_os("XMTP_LEDGER_SHARED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// `shared/vectors/<name>`, parsed.
pub fn read_vectors(name: &str) -> serde_json::Value {
    let path = shared_dir().join("vectors").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
