//! Primitive costs under the flows: EIP-191 digest of the two XMTP texts, RFC 6979
//! signing, public-key recovery, and the storage cipher (HKDF-SHA256 + AES-256-GCM) on a
//! real private key bundle; and, in the `curve` group, the two secp256k1 libraries side
//! by side on the same key and digest (k256, and libsecp256k1 through the `secp256k1`
//! crate), the measurement behind recovering and checking with libsecp256k1 while
//! signing with k256.
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

    curve_libraries(c, &digest);

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

/// Recovery, verification and signing by each library directly.
fn curve_libraries(c: &mut Criterion, digest: &[u8; 32]) {
    use k256::ecdsa::signature::hazmat::PrehashVerifier;
    use secp256k1::{Message, PublicKey, SecretKey, ecdsa};

    let k256_key = k256::ecdsa::SigningKey::from_slice(&[0x42; 32]).expect("scalar");
    let (k256_signature, k256_recovery) = k256_key
        .sign_prehash_recoverable(digest)
        .expect("k256 sign");
    let k256_public = *k256_key.verifying_key();

    let secret = SecretKey::from_secret_bytes([0x42; 32]).expect("scalar");
    let message = Message::from_digest(*digest);
    let recoverable = ecdsa::RecoverableSignature::sign_ecdsa_recoverable(message, &secret);
    let (recovery, compact) = recoverable.serialize_compact();
    // Both libraries sign with RFC 6979 and low S: the same bytes.
    assert_eq!(compact[..], k256_signature.to_bytes()[..]);
    assert_eq!(recovery.to_u8(), k256_recovery.to_byte());
    let standard = recoverable.to_standard();
    let public = PublicKey::from_secret_key(&secret);

    let mut group = c.benchmark_group("curve");
    group.bench_function("recover/k256", |b| {
        b.iter(|| {
            k256::ecdsa::VerifyingKey::recover_from_prehash(
                black_box(digest),
                &k256_signature,
                k256_recovery,
            )
            .expect("recover")
        })
    });
    group.bench_function("recover/libsecp256k1", |b| {
        b.iter(|| {
            recoverable
                .recover_ecdsa(black_box(message))
                .expect("recover")
        })
    });
    group.bench_function("verify/k256", |b| {
        b.iter(|| {
            k256_public
                .verify_prehash(black_box(digest), &k256_signature)
                .expect("verify")
        })
    });
    group.bench_function("verify/libsecp256k1", |b| {
        b.iter(|| ecdsa::verify(&standard, black_box(message), &public).expect("verify"))
    });
    group.bench_function("sign/k256", |b| {
        b.iter(|| {
            k256_key
                .sign_prehash_recoverable(black_box(digest))
                .expect("sign")
        })
    });
    group.bench_function("sign/libsecp256k1", |b| {
        b.iter(|| ecdsa::RecoverableSignature::sign_ecdsa_recoverable(black_box(message), &secret))
    });
    group.finish();
}

criterion_group!(benches, primitives);
criterion_main!(benches);
