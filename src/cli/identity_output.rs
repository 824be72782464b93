//! The `init` / `unlock` result: the JSON contract and its human form; `connect` and
//! `rotate-prekey` add the path they took.

use serde::Serialize;

use super::ui::Ui;
use xmtp_ledger::identity::{Address, PrivateKeyBundleV1, fingerprint, topic};

/// `{"address","hd_path","identity_public_key","identity_fingerprint","pre_key_public_keys":[...],"contact_topic","private_store_topic"}`.
/// Public keys are 65-byte uncompressed, lowercase hex. Never any private material.
#[derive(Debug, Serialize)]
pub struct IdentityOutput {
    pub address: String,
    pub hd_path: String,
    pub identity_public_key: String,
    pub identity_fingerprint: String,
    pub pre_key_public_keys: Vec<String>,
    pub contact_topic: String,
    pub private_store_topic: String,
}

impl IdentityOutput {
    /// The public description of `bundle`, owned by `wallet`.
    pub fn new(wallet: &Address, hd_path: String, bundle: &PrivateKeyBundleV1) -> Self {
        Self {
            address: wallet.to_string(),
            hd_path,
            identity_public_key: hex::encode(bundle.identity_key().public_key().point()),
            identity_fingerprint: fingerprint(bundle.identity_key().public_key().point()),
            pre_key_public_keys: bundle
                .pre_keys()
                .iter()
                .map(|k| hex::encode(k.public_key().point()))
                .collect(),
            contact_topic: topic::contact_topic(wallet),
            private_store_topic: topic::private_store_topic(wallet),
        }
    }

    /// Several lines for a person: the current pre-key, and how many older ones are kept.
    pub fn human(&self, headline: &str) -> String {
        let older = match self.pre_key_public_keys.len() {
            0 | 1 => String::new(),
            n => format!(
                "\n  older pre-keys {} kept, to read messages sealed to them",
                n - 1
            ),
        };
        format!(
            "{headline}\n  address        {}\n  hd path        {}\n  identity key   {}\n  fingerprint    {}\n  pre-key        {}{older}\n  contact topic  {}",
            self.address,
            self.hd_path,
            self.identity_public_key,
            self.identity_fingerprint,
            self.pre_key_public_keys.first().map_or("-", String::as_str),
            self.contact_topic,
        )
    }
}

/// `unlock`'s JSON contract plus `"outcome"`, the path a command took (`connect`:
/// `created`, `retrieved`, `completed`; `rotate-prekey`: `rotated`, `completed`).
#[derive(Debug, Serialize)]
pub struct OutcomeOutput {
    pub outcome: &'static str,
    #[serde(flatten)]
    pub identity: IdentityOutput,
}

impl OutcomeOutput {
    /// Prints the result: JSON, or `headline`, the identity and the outcome for a person.
    pub fn print(&self, ui: &Ui, headline: &str) {
        ui.result(self, || {
            format!(
                "{}\n  outcome        {}",
                self.identity.human(headline),
                self.outcome
            )
        });
    }
}
