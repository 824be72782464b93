//! `tests/data/v3-identity-updates.json`: the one reader of it for every test that uses it.

/// `tests/data/v3-identity-updates.json`: what libxmtp 1.10 (node-sdk 6.0.0) made and
/// published for a few inboxes, written by `tests/interop/gen-v3-vectors.mjs`.
#[derive(serde::Deserialize)]
pub struct LibxmtpUpdates {
    /// The software wallets that signed (public test mnemonic).
    pub wallets: Vec<LibxmtpWallet>,
    /// The inboxes, each with its log step by step.
    pub inboxes: Vec<LibxmtpInbox>,
}

/// A wallet of the file.
#[derive(serde::Deserialize)]
pub struct LibxmtpWallet {
    pub hd_path: String,
    pub address: String,
}

/// One inbox: its steps and the state libxmtp's `fetchInboxStates` reported at the end.
#[derive(serde::Deserialize)]
pub struct LibxmtpInbox {
    pub label: String,
    pub inbox_id: String,
    pub steps: Vec<LibxmtpStep>,
    pub state: LibxmtpState,
}

/// One SDK call: the texts wallets signed for it and the updates it published (hex).
#[derive(serde::Deserialize)]
pub struct LibxmtpStep {
    pub step: String,
    pub wallet_signatures: Vec<LibxmtpSigned>,
    pub identity_updates: Vec<String>,
}

/// A text a wallet signed, and its signature (hex, 65 bytes).
#[derive(serde::Deserialize)]
pub struct LibxmtpSigned {
    pub address: String,
    pub text: String,
    pub signature: String,
}

/// An inbox's state as libxmtp reported it.
#[derive(serde::Deserialize)]
pub struct LibxmtpState {
    pub inbox_id: String,
    pub recovery_identifier: LibxmtpIdentifier,
    pub identifiers: Vec<LibxmtpIdentifier>,
    pub installation_ids: Vec<String>,
}

/// An identifier in libxmtp's state.
#[derive(serde::Deserialize)]
pub struct LibxmtpIdentifier {
    pub identifier: String,
}

/// Reads `tests/data/v3-identity-updates.json`.
pub fn libxmtp_updates() -> LibxmtpUpdates {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/v3-identity-updates.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("v3-identity-updates.json")
}
