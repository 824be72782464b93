//! Target `keystore`: encrypted private key bundles read from the network's private store.
//!
//! Input: `mode ‖ rest`.
//! - `mode` even: `rest` goes to `xmtp_ledger::keystore::EncryptedBundle::decode`, and a decoded
//!   bundle is opened with a fixed wallet signature (the reference vectors' `pub#0` storage
//!   signature, so the committed seed decrypts and the fuzzer mutates a real bundle).
//!   Invariants: the decoded value re-encodes to bytes that decode to an equal value; its
//!   "Enable Identity" text names its wallet pre-key; opening is a function of the value (the
//!   re-decoded bundle opens to the same result); an opened bundle re-encodes stably.
//! - `mode` odd: `rest` is a *plaintext*, sealed under the fixed signature with a fixed salt and
//!   nonce, encoded, decoded and opened: this drives arbitrary decrypted bytes through
//!   `PrivateKeyBundleV1::decode` behind a valid GCM tag, which mutation alone cannot reach.
//!   Invariants: opening gives exactly what decoding the plaintext gives; opening with another
//!   signature is `WrongKeyOrTampered`, with the other v form (0/1 vs 27/28) it still opens.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use xmtp_ledger::identity::{PrivateKeyBundleV1, WalletSignature};
use xmtp_ledger::keystore::{EncryptedBundle, KeystoreError, SealedBox};

/// `storage.wallet_signature_rsv` of vector `pub#0` in `xmtp-v2-keys.json`.
const SIGNATURE_HEX: &str = "0a003c52bdaee3f3ac838277fb9a6b9d03a31bebe29f27e3fabb3824af6856291e94268a0f29bea94f6e7de4173a0f00b3fde8737fd05a00173ac57df1b9abec1b";
/// `storage.wallet_pre_key` of the same vector.
const WALLET_PRE_KEY_HEX: &str = "757d494b4e3d61997f536807c80cb11d42f0b749f064bb5f653751d265e95ed2";

static SIGNATURE: LazyLock<WalletSignature> =
    LazyLock::new(|| WalletSignature::from_hex(SIGNATURE_HEX).expect("vector signature"));
/// A valid signature that is not [`SIGNATURE`] (from `WalletSignature`'s own test vector).
static OTHER: LazyLock<WalletSignature> = LazyLock::new(|| {
    WalletSignature::from_hex("5c18e354ed7466546ee23bc6d8d40142079ad930d88e05019c60a0ed200618ac23485508048e94a4399373821e124147447ed304e451669ea2355e373fb33b371c").expect("valid")
});

fn encoded(result: &Result<PrivateKeyBundleV1, KeystoreError>) -> Result<Vec<u8>, String> {
    match result {
        Ok(bundle) => Ok(bundle.encode().to_vec()),
        Err(error) => Err(error.to_string()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        decode_and_open(rest);
    } else {
        seal_and_open(rest);
    }
});

fn decode_and_open(data: &[u8]) {
    let Ok(bundle) = EncryptedBundle::decode(data) else {
        return;
    };
    let bytes = bundle.encode();
    let again = EncryptedBundle::decode(&bytes).expect("re-encoded bundle decodes");
    assert_eq!(again, bundle);
    assert!(
        bundle
            .enable_identity_text()
            .contains(&hex::encode(bundle.wallet_pre_key))
    );
    let opened = bundle.open(&SIGNATURE);
    assert_eq!(encoded(&opened), encoded(&again.open(&SIGNATURE)));
    if let Ok(private) = opened {
        let plain = private.encode();
        let reopened = PrivateKeyBundleV1::decode(&plain).expect("opened bundle re-decodes");
        assert_eq!(*reopened.encode(), *plain);
    }
}

fn seal_and_open(plaintext: &[u8]) {
    let mut wallet_pre_key = [0u8; 32];
    hex::decode_to_slice(WALLET_PRE_KEY_HEX, &mut wallet_pre_key).expect("hex");
    let sealed = SealedBox::seal_with(plaintext, SIGNATURE.as_bytes(), [7; 32], [9; 12])
        .expect("sealing cannot fail");
    let bundle = EncryptedBundle {
        wallet_pre_key,
        sealed,
    };
    let decoded = EncryptedBundle::decode(&bundle.encode()).expect("our own encoding decodes");
    assert_eq!(decoded, bundle);
    let opened = decoded.open(&SIGNATURE);
    let direct = PrivateKeyBundleV1::decode(plaintext).map_err(KeystoreError::from);
    assert_eq!(encoded(&opened), encoded(&direct));
    assert_eq!(
        encoded(&decoded.open(&SIGNATURE.with_other_v_form())),
        encoded(&opened)
    );
    assert!(matches!(
        decoded.open(&OTHER),
        Err(KeystoreError::WrongKeyOrTampered)
    ));
}
