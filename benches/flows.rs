//! Host-side cost of the whole flows, per identity, against the software Ledger called
//! in-process (`LedgerSigner` over `InProcessTransport`, every review approved at once):
//!
//! - `init/generate`: what `init` does without a network: read the account's address, two
//!   `personal_sign`s (each verified), key generation, pre-key signature, bundle check,
//!   sealing, contact bundle encoding.
//! - `init/generate_publish_grpc`: the same plus the auth token and the idempotent publish
//!   of the three envelopes through gRPC to a node in this process on `127.0.0.1:0`
//!   (SQLite in a temp dir, `synchronous=FULL`: 3 commits, 7 RPCs per identity).
//! - `unlock`: address read, decode, one `personal_sign` (verified), decrypt, bundle check.
//! - `verify`: decode a published v2 contact bundle, recover the wallet from the identity
//!   key's signature, verify the pre-key's signature (one core).
//! - `generate_local_key`: `init/generate` with an in-memory wallet key
//!   (`LocalKeySigner`) instead of the device: the work `benches/js/sdk-bench.mjs` times
//!   with the reference SDK.
//!
//! The software device's own work (BIP-32 derivation, signing) runs on the same core and is
//! included: a real Ledger does that part itself, slower, but not on the host.
//!
//! `CARGO_TARGET_DIR=/work/target-bench cargo bench --bench flows`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use ledger_app::{ApprovalPolicy, SoftwareDevice};
use xmtp_ledger::device::{DerivationPath, EthApp, InProcessTransport, LedgerSigner};
use xmtp_ledger::flow::{generate_identity, unlock_identity};
use xmtp_ledger::identity::ContactBundle;
use xmtp_ledger::network::{Client, ClientConfig, auth_token_now};
use xmtp_ledger::node::{self, NodeConfig};
use xmtp_ledger::signer::LocalKeySigner;

/// Hardhat account #0: `m/44'/60'/0'/0/0` of the public test mnemonic, i.e. the account
/// the software device signs with below.
const WALLET_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn device_app() -> EthApp {
    let device = Arc::new(SoftwareDevice::with_test_mnemonic());
    device.set_approval(ApprovalPolicy::Approve);
    EthApp::from_transport(InProcessTransport::new(device))
}

/// A signer as a fresh CLI run makes one: the address is read from the device on first use.
fn fresh_signer(app: &EthApp) -> LedgerSigner {
    LedgerSigner::connect(app.clone(), DerivationPath::ledger_live(0).expect("path"))
        .expect("signer")
}

fn init(c: &mut Criterion) {
    let app = device_app();
    let mut group = c.benchmark_group("init");
    group.throughput(Throughput::Elements(1));

    group.bench_function("generate", |b| {
        b.iter(|| generate_identity(&fresh_signer(&app), &mut |_| {}).expect("generate"))
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let node = runtime
        .block_on(node::spawn(
            "127.0.0.1:0".parse().expect("addr"),
            NodeConfig::new(dir.path().join("node.sqlite3")),
        ))
        .expect("node");
    let client = runtime
        .block_on(Client::connect(&node.url(), ClientConfig::default()))
        .expect("client");
    group.bench_function("generate_publish_grpc", |b| {
        b.iter(|| {
            let identity = generate_identity(&fresh_signer(&app), &mut |_| {}).expect("generate");
            let token = auth_token_now(identity.bundle.identity_key()).expect("token");
            runtime
                .block_on(client.publish_publications(&token, &identity.publications()))
                .expect("publish")
        })
    });
    group.finish();
    drop(client);
    runtime.block_on(node.shutdown()).expect("node shutdown");
}

fn unlock(c: &mut Criterion) {
    let app = device_app();
    let identity = generate_identity(&fresh_signer(&app), &mut |_| {}).expect("generate");
    let encrypted = identity.encrypted_bundle.encode();
    let mut group = c.benchmark_group("unlock");
    group.throughput(Throughput::Elements(1));
    group.bench_function("device", |b| {
        b.iter(|| {
            unlock_identity(&fresh_signer(&app), black_box(&encrypted), &mut |_| {})
                .expect("unlock")
        })
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let wallet =
        LocalKeySigner::from_private_key(&hex::decode(WALLET_KEY).expect("hex")).expect("key");
    let identity = generate_identity(&wallet, &mut |_| {}).expect("generate");
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    for (name, bytes) in [
        ("contact_v2", identity.contact_v2()),
        ("contact_v1", identity.contact_v1()),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                ContactBundle::decode(black_box(bytes))
                    .expect("decode")
                    .verify()
                    .expect("verify")
            })
        });
    }
    group.finish();
}

fn generate_local_key(c: &mut Criterion) {
    let wallet =
        LocalKeySigner::from_private_key(&hex::decode(WALLET_KEY).expect("hex")).expect("key");
    let mut group = c.benchmark_group("generate_local_key");
    group.throughput(Throughput::Elements(1));
    group.bench_function("generate_encrypt", |b| {
        b.iter(|| generate_identity(&wallet, &mut |_| {}).expect("generate"))
    });
    group.finish();
}

criterion_group!(benches, init, unlock, verify, generate_local_key);
criterion_main!(benches);
