//! Private key bundles after pre-key rotations, made by the reference SDK and kept as data in
//! `tests/data/xmtp-js-rotated-bundles.json` (written by `tests/interop/gen-rotated-vectors.mjs`
//! with @xmtp/xmtp-js 13.0.4: `PrivateKeyBundleV1.generate`, then `addPreKey`, which prepends).
//! Each bundle is reproduced byte for byte: decoded and re-encoded, rebuilt from its secrets,
//! and its contact bundles (v1 and v2) rebuilt as the SDK published them; and our
//! `add_pre_key` turns the SDK's 2-key bundle into its 3-key one.

mod common;

use common::cli::ACCOUNT_0;
use common::unhex;
use prost::Message;
use serde::Deserialize;
use xmtp_ledger::identity::{
    ContactBundle, KeySignature, PrivateKeyBundleV1, PrivateKeyV1, WalletSignature,
};

/// The data file (see `gen-rotated-vectors.mjs` for how it is made).
#[derive(Deserialize)]
struct RotatedFile {
    generator: String,
    mnemonic: String,
    hd_path: String,
    address: String,
    bundles: Vec<RotatedBundle>,
}

/// One bundle: the encoded `PrivateKeyBundle{v1}` the SDK stores, its keys, its contacts.
#[derive(Deserialize)]
struct RotatedBundle {
    label: String,
    pre_key_count: usize,
    private_key_bundle: String,
    identity: IdentityKey,
    /// Newest first.
    pre_keys: Vec<PreKey>,
    contact_bundle_v1: String,
    contact_bundle_v2: String,
}

#[derive(Deserialize)]
struct IdentityKey {
    private_key: String,
    timestamp_ms: String,
    public_key_uncompressed: String,
    wallet_signature_rsv: String,
    signed_public_key_v1: String,
}

#[derive(Deserialize)]
struct PreKey {
    private_key: String,
    timestamp_ms: String,
    public_key_uncompressed: String,
    signed_public_key_v1: String,
}

fn rotated() -> RotatedFile {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/xmtp-js-rotated-bundles.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad {}: {e}", path.display()))
}

fn ms(s: &str) -> u64 {
    s.parse().expect("timestamp in vector")
}

/// The bundle rebuilt from its secrets: the identity key with the wallet's signature as the
/// SDK stored it, each pre-key signed by the identity key (RFC 6979: the same bytes).
fn rebuild(b: &RotatedBundle) -> PrivateKeyBundleV1 {
    let mut identity = PrivateKeyV1::from_secret_bytes(
        &unhex(&b.identity.private_key),
        ms(&b.identity.timestamp_ms),
    )
    .expect("identity key");
    let signature =
        WalletSignature::from_hex(&b.identity.wallet_signature_rsv).expect("wallet signature");
    identity.set_signature(KeySignature::Ecdsa(signature.compact().expect("compact")));
    let pre_keys = b
        .pre_keys
        .iter()
        .map(|p| {
            let mut key =
                PrivateKeyV1::from_secret_bytes(&unhex(&p.private_key), ms(&p.timestamp_ms))
                    .expect("pre-key");
            identity.sign_key(&mut key).expect("sign pre-key");
            key
        })
        .collect();
    PrivateKeyBundleV1::new(identity, pre_keys).expect("bundle")
}

#[test]
fn file_is_from_the_reference_sdk_and_holds_rotated_bundles() {
    let file = rotated();
    assert!(
        file.generator.contains("@xmtp/xmtp-js 13.0.4"),
        "{}",
        file.generator
    );
    assert_eq!(
        file.mnemonic,
        "test test test test test test test test test test test junk"
    );
    assert_eq!(file.hd_path, "m/44'/60'/0'/0/0");
    assert_eq!(file.address, ACCOUNT_0);
    let counts: Vec<usize> = file.bundles.iter().map(|b| b.pre_key_count).collect();
    assert_eq!(counts, [2, 3], "bundles with 2 and 3 pre-keys");
    for b in &file.bundles {
        assert_eq!(b.pre_keys.len(), b.pre_key_count, "{}", b.label);
        let times: Vec<u64> = b.pre_keys.iter().map(|p| ms(&p.timestamp_ms)).collect();
        assert!(
            times.windows(2).all(|w| w[0] > w[1]),
            "{}: pre-keys are not newest first: {times:?}",
            b.label
        );
    }
    // The 3-key bundle is the 2-key one after one more addPreKey: same identity key, the
    // older pre-keys kept behind the new one.
    let (two, three) = (&file.bundles[0], &file.bundles[1]);
    assert_eq!(
        two.identity.public_key_uncompressed,
        three.identity.public_key_uncompressed
    );
    let older: Vec<&str> = three.pre_keys[1..]
        .iter()
        .map(|p| p.public_key_uncompressed.as_str())
        .collect();
    let before: Vec<&str> = two
        .pre_keys
        .iter()
        .map(|p| p.public_key_uncompressed.as_str())
        .collect();
    assert_eq!(
        older, before,
        "addPreKey prepends and keeps the older pre-keys"
    );
}

#[test]
fn decode_then_encode_is_byte_identical_and_keeps_pre_key_order() {
    let file = rotated();
    for b in &file.bundles {
        let decoded = PrivateKeyBundleV1::decode(&unhex(&b.private_key_bundle))
            .unwrap_or_else(|e| panic!("{}: decode: {e}", b.label));
        assert_eq!(
            hex::encode(decoded.encode().as_slice()),
            b.private_key_bundle,
            "{}: re-encoding differs from the SDK's bytes",
            b.label
        );
        let points: Vec<String> = decoded
            .pre_keys()
            .iter()
            .map(|k| hex::encode(k.public_key().point()))
            .collect();
        let expected: Vec<&str> = b
            .pre_keys
            .iter()
            .map(|p| p.public_key_uncompressed.as_str())
            .collect();
        assert_eq!(points, expected, "{}: pre-keys (newest first)", b.label);
        assert_eq!(
            hex::encode(decoded.current_pre_key().public_key().point()),
            b.pre_keys[0].public_key_uncompressed,
            "{}: the current pre-key is the newest",
            b.label
        );
        for (key, expected) in decoded.pre_keys().iter().zip(&b.pre_keys) {
            assert_eq!(
                key.timestamp_ms(),
                ms(&expected.timestamp_ms),
                "{}",
                b.label
            );
            assert_eq!(
                hex::encode(key.public_key().to_proto().encode_to_vec()),
                expected.signed_public_key_v1,
                "{}: signed pre-key",
                b.label
            );
        }
        assert_eq!(
            hex::encode(decoded.identity_key().public_key().point()),
            b.identity.public_key_uncompressed,
            "{}: identity key",
            b.label
        );
        assert_eq!(
            hex::encode(
                decoded
                    .identity_key()
                    .public_key()
                    .to_proto()
                    .encode_to_vec()
            ),
            b.identity.signed_public_key_v1,
            "{}: signed identity key",
            b.label
        );
        // The wallet signed the identity key, the identity key signed every pre-key.
        assert_eq!(
            decoded
                .verify()
                .unwrap_or_else(|e| panic!("{}: verify: {e}", b.label))
                .to_string(),
            ACCOUNT_0,
            "{}",
            b.label
        );
    }
}

#[test]
fn bundles_rebuilt_from_their_secrets_encode_to_the_sdk_bytes() {
    for b in &rotated().bundles {
        let bundle = rebuild(b);
        assert_eq!(
            hex::encode(bundle.encode().as_slice()),
            b.private_key_bundle,
            "{}",
            b.label
        );
        assert_eq!(bundle.verify().unwrap().to_string(), ACCOUNT_0);
    }
}

#[test]
fn contact_bundles_are_the_ones_the_sdk_published() {
    for b in &rotated().bundles {
        let decoded = PrivateKeyBundleV1::decode(&unhex(&b.private_key_bundle)).unwrap();
        let public = decoded.public_bundle();
        assert_eq!(
            hex::encode(public.encode_contact_v1()),
            b.contact_bundle_v1,
            "{}: contact v1",
            b.label
        );
        assert_eq!(
            hex::encode(public.to_signed_bundle().unwrap().encode_contact_v2()),
            b.contact_bundle_v2,
            "{}: contact v2",
            b.label
        );
        // Both advertise the newest pre-key, and verify to the wallet.
        for (encoded, version) in [(&b.contact_bundle_v1, 1), (&b.contact_bundle_v2, 2)] {
            let verified = ContactBundle::decode(&unhex(encoded))
                .and_then(|c| c.verify())
                .unwrap_or_else(|e| panic!("{}: contact v{version}: {e}", b.label));
            assert_eq!(verified.version, version);
            assert_eq!(verified.wallet_address.to_string(), ACCOUNT_0);
            assert_eq!(
                hex::encode(verified.identity_public_key),
                b.identity.public_key_uncompressed
            );
            assert_eq!(
                hex::encode(verified.pre_key_public_key),
                b.pre_keys[0].public_key_uncompressed,
                "{}: contact v{version} advertises the newest pre-key",
                b.label
            );
        }
    }
}

/// Our `add_pre_key` (what `rotate-prekey` uses) is xmtp-js's `addPreKey`: given the SDK's
/// 2-key bundle and the secret of the pre-key the SDK added next, it makes the SDK's 3-key
/// bundle byte for byte (the identity key's signature is deterministic, RFC 6979).
#[test]
fn add_pre_key_reproduces_the_sdk_rotation() {
    let file = rotated();
    let (two, three) = (&file.bundles[0], &file.bundles[1]);
    let mut bundle = PrivateKeyBundleV1::decode(&unhex(&two.private_key_bundle)).unwrap();
    let added = &three.pre_keys[0];
    let key = PrivateKeyV1::from_secret_bytes(&unhex(&added.private_key), ms(&added.timestamp_ms))
        .expect("pre-key");
    bundle.add_pre_key(key).expect("add pre-key");
    assert_eq!(
        hex::encode(bundle.encode().as_slice()),
        three.private_key_bundle,
        "add_pre_key differs from xmtp-js's addPreKey"
    );
    for p in &two.pre_keys {
        let point: [u8; 65] = unhex(&p.public_key_uncompressed).try_into().unwrap();
        assert!(bundle.holds_pre_key(&point), "an older pre-key was lost");
    }
    assert_eq!(
        hex::encode(bundle.public_bundle().encode_contact_v1()),
        three.contact_bundle_v1
    );
}
