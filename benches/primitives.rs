//! Primitive costs under the flows: EIP-191 digest of the two XMTP texts, RFC 6979
//! signing, public-key recovery, and the storage cipher (HKDF-SHA256 + AES-256-GCM) on a
//! real private key bundle.
//!
//! `CARGO_TARGET_DIR=/work/target-bench cargo bench --bench primitives`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use xmtp_ledger::flow::generate_identity;
use xmtp_ledger::identity::{PrivateKeyV1, WalletSignature, eip191};
use xmtp_ledger::keystore::{EncryptedBundle, SealedBox};
use xmtp_ledger::signer::{LocalKeySigner, Signer};

/// Hardhat account #0: `m/44'/60'/0'/0/0` of the public test mnemonic.
const WALLET_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn wallet() -> LocalKeySigner {
    LocalKeySigner::from_private_key(&hex::decode(WALLET_KEY).expect("hex")).expect("wallet key")
}

fn primitives(c: &mut Criterion) {
    let wallet = wallet();
    let identity = generate_identity(&wallet, &mut |_| {}).expect("identity");
    let create_text = identity
        .bundle
        .identity_key()
        .public_key()
        .create_identity_text();
    let enable_text = identity.encrypted_bundle.enable_identity_text();

    let mut group = c.benchmark_group("eip191_digest");
    for (name, text) in [
        ("create_identity", &create_text),
        ("enable_identity", &enable_text),
    ] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| eip191::personal_message_digest(black_box(text.as_bytes())))
        });
    }
    group.finish();

    let digest = eip191::personal_message_digest(enable_text.as_bytes());
    let key = PrivateKeyV1::generate(1_700_000_000_000);
    c.bench_function("rfc6979_sign_digest", |b| {
        b.iter(|| key.sign_digest(black_box(&digest)).expect("sign"))
    });

    let signature = key.sign_digest(&digest).expect("sign");
    c.bench_function("recover_public_key", |b| {
        b.iter(|| {
            signature
                .recover_public_key(black_box(&digest))
                .expect("recover")
        })
    });

    // Whole wallet-signature check as the flows do it: digest + recovery + address.
    let wallet_signature: WalletSignature = wallet.personal_sign(&enable_text).expect("sign");
    let address = wallet.address();
    c.bench_function("verify_personal_sign", |b| {
        b.iter(|| {
            wallet_signature
                .verify_personal_sign(black_box(enable_text.as_bytes()), &address)
                .expect("verify")
        })
    });

    // The storage cipher on the bytes it really encrypts: an encoded PrivateKeyBundle{v1}.
    let plaintext = identity.bundle.encode();
    let secret = *wallet_signature.as_bytes();
    let mut group = c.benchmark_group("bundle_cipher");
    group.throughput(Throughput::Bytes(plaintext.len() as u64));
    group.bench_function("seal", |b| {
        b.iter(|| SealedBox::seal(black_box(&plaintext), &secret).expect("seal"))
    });
    let sealed = SealedBox::seal(&plaintext, &secret).expect("seal");
    group.bench_function("open", |b| {
        b.iter(|| sealed.open(black_box(&secret)).expect("open"))
    });
    // Including the bundle's protobuf encode/decode and key validation.
    let pre_key = identity.encrypted_bundle.wallet_pre_key;
    group.bench_function("seal_bundle", |b| {
        b.iter(|| {
            EncryptedBundle::seal(black_box(&identity.bundle), pre_key, &wallet_signature)
                .expect("seal")
        })
    });
    let encrypted = EncryptedBundle::seal(&identity.bundle, pre_key, &wallet_signature)
        .expect("seal")
        .encode();
    group.bench_function("decode_open_bundle", |b| {
        b.iter(|| {
            EncryptedBundle::decode(black_box(&encrypted))
                .expect("decode")
                .open(&wallet_signature)
                .expect("open")
        })
    });
    group.finish();
}

criterion_group!(benches, primitives);
criterion_main!(benches);
