//! Helpers shared by the integration tests: loading `../shared/vectors/`, running the CLI
//! ([`cli`]), starting a node ([`node`]), identities, tokens and envelopes ([`fixtures`]), and
//! a raw HTTP/1.1 client ([`http`]).

#![allow(dead_code)]

pub mod cli;
pub mod fake_identity;
pub mod fake_node;
pub mod fixtures;
pub mod http;
pub mod libxmtp_v3;
pub mod node;
pub mod v3;
pub mod wallet;

use std::path::PathBuf;

use serde::Deserialize;

/// `../shared` beside the repository, or `$XMTP_LEDGER_SHARED_DIR`.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("XMTP_LEDGER_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

#[derive(Deserialize)]
pub struct VectorFile {
    pub generator: String,
    pub vectors: Vec<KeyVector>,
}

#[derive(Deserialize)]
pub struct KeyVector {
    pub label: String,
    pub mnemonic: String,
    pub hd_path: String,
    pub address: String,
    pub identity: IdentityVector,
    pub pre_key: PreKeyVector,
    pub private_key_bundle: String,
    pub contact_bundle_v1: String,
    pub contact_bundle_v2: String,
    pub topics: Topics,
    pub storage: Storage,
    pub auth_token: AuthTokenVector,
}

#[derive(Deserialize)]
pub struct IdentityVector {
    pub private_key: String,
    pub timestamp_ms: String,
    pub public_key_uncompressed: String,
    pub bytes_to_sign: String,
    pub sign_request_text: String,
    pub eip191_digest: String,
    pub wallet_signature_rsv: String,
    pub signed_public_key_v1: String,
}

#[derive(Deserialize)]
pub struct PreKeyVector {
    pub private_key: String,
    pub timestamp_ms: String,
    pub bytes_to_sign: String,
    pub signed_public_key_v1: String,
}

#[derive(Deserialize)]
pub struct Topics {
    pub contact: String,
    pub private_store: String,
}

#[derive(Deserialize)]
pub struct Storage {
    pub wallet_pre_key: String,
    pub sign_request_text: String,
    pub wallet_signature_rsv: String,
    pub encrypted_private_key_bundle: String,
    pub encrypted_private_key_bundle_canonical_v: String,
}

#[derive(Deserialize)]
pub struct AuthTokenVector {
    pub bearer: String,
    pub created_ms: String,
}

/// The XMTP v2 key vectors produced by the reference JavaScript SDK.
pub fn key_vectors() -> VectorFile {
    let path = shared_dir().join("vectors/xmtp-v2-keys.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad {}: {e}", path.display()))
}

pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex in vector: {e}"))
}
