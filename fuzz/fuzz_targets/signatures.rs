//! Target `signatures`: signature bytes and text from wallets, devices, files and bundles.
//!
//! The input goes to `xmtp_ledger::identity::WalletSignature::from_bytes`, to `from_hex` (as
//! hex with and without `0x`, and as the raw text if it is UTF-8), and, split as
//! `64 bytes ‖ u32be(recovery)`, to `CompactSignature::new`.
//!
//! Invariants, besides never panicking:
//! - a wallet signature is 65 bytes with v in {0, 1, 27, 28}; its hex forms parse to the same
//!   value; converting its v form twice is the identity; its compact form exists and converts
//!   back (`from_compact`) to a signature with the same compact form;
//! - a compact signature keeps its bytes and a recovery id of 0 or 1, and is low-S;
//! - whenever a public key is recovered from a signature and digest, the signature verifies
//!   under that key and digest, and the personal_sign address is that key's address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xmtp_ledger::identity::eip191::personal_message_digest;
use xmtp_ledger::identity::{Address, CompactSignature, WalletSignature};

const MESSAGE: &[u8] =
    b"XMTP : Create Identity\n0a0b\n\nFor more info: https://xmtp.org/signatures/";

fuzz_target!(|data: &[u8]| {
    wallet(data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(signature) = WalletSignature::from_hex(text)
    {
        wallet(signature.as_bytes());
    }
    if let Some((bytes, rest)) = data.split_first_chunk::<64>() {
        let recovery = rest
            .first_chunk::<4>()
            .map_or(u32::from(rest.first().copied().unwrap_or(0)), |r| {
                u32::from_be_bytes(*r)
            });
        compact(bytes, recovery);
    }
});

fn wallet(data: &[u8]) {
    let parsed = WalletSignature::from_bytes(data);
    let hex = hex::encode(data);
    let from_hex = WalletSignature::from_hex(&hex);
    let from_0x = WalletSignature::from_hex(&format!("0x{hex}"));
    assert_eq!(parsed.as_ref().ok(), from_hex.as_ref().ok());
    assert_eq!(parsed.as_ref().ok(), from_0x.as_ref().ok());
    let Ok(signature) = parsed else {
        return;
    };
    assert_eq!(data.len(), 65);
    assert_eq!(signature.as_bytes()[..], *data);
    assert!(matches!(signature.v(), 0 | 1 | 27 | 28));
    assert_eq!(signature.with_other_v_form().with_other_v_form(), signature);
    let compact_form = signature
        .compact()
        .expect("a parsed signature has a compact form");
    assert_eq!(
        signature
            .with_other_v_form()
            .compact()
            .expect("other v form"),
        compact_form
    );
    let canonical = WalletSignature::from_compact(&compact_form);
    assert!(matches!(canonical.v(), 27 | 28));
    assert_eq!(canonical.compact().expect("canonical"), compact_form);
    let recovered = signature.recover_address(MESSAGE);
    let direct = compact_form.recover_personal_sign_address(MESSAGE);
    assert_eq!(recovered.as_ref().ok(), direct.as_ref().ok());
    if let Ok(address) = recovered {
        signature
            .verify_personal_sign(MESSAGE, &address)
            .expect("verifies against the address it recovers to");
    }
}

fn compact(bytes: &[u8; 64], recovery: u32) {
    let Ok(signature) = CompactSignature::new(bytes, recovery) else {
        return;
    };
    assert_eq!(signature.bytes(), bytes);
    assert!(recovery <= 1);
    assert_eq!(u32::from(signature.recovery()), recovery);
    let digest = personal_message_digest(MESSAGE);
    if let Ok(public_key) = signature.recover_public_key(&digest) {
        signature
            .verify(&digest, &public_key)
            .expect("a signature verifies under the key recovered from it");
        assert_eq!(
            signature.recover_personal_sign_address(MESSAGE).ok(),
            Address::from_uncompressed_public_key(&public_key).ok()
        );
    }
}
