//! What the inbox commands print: an inbox's verified state, for people and for `--json`.

use serde::Serialize;

use xmtp_ledger::network::UpdatePublished;
use xmtp_ledger::v3::{
    AssociationState, MAX_INBOX_UPDATES, MAX_INSTALLATIONS_PER_INBOX, MemberId, TextAction,
    format_time,
};

/// An inbox's state, as `inbox status --json` prints it.
#[derive(Serialize)]
pub struct InboxState {
    pub inbox_id: String,
    pub recovery_address: String,
    pub addresses: Vec<String>,
    pub installations: Vec<InstallationOutput>,
    pub updates: usize,
}

/// One installation.
#[derive(Serialize)]
pub struct InstallationOutput {
    pub id: String,
    pub added_by: Option<String>,
    pub added_at_ns: Option<u64>,
}

/// One action of a text, as `{"kind","value"}`.
#[derive(Serialize)]
pub struct ActionOutput {
    pub kind: &'static str,
    pub value: String,
}

impl ActionOutput {
    pub fn new(action: &TextAction) -> Self {
        Self {
            kind: action.kind(),
            value: json_value(action),
        }
    }
}

/// Addresses in EIP-55 like everywhere in the tool's JSON; keys and ids lowercase hex.
fn json_value(action: &TextAction) -> String {
    match action {
        TextAction::CreateInbox { owner } | TextAction::ChangeRecovery(owner) => owner.to_string(),
        TextAction::Add(member) | TextAction::Revoke(member) => member_text(member),
    }
}

/// A member in the tool's output form.
pub fn member_text(member: &MemberId) -> String {
    match member {
        MemberId::Address(address) => address.to_string(),
        other => other.to_string(),
    }
}

impl InboxState {
    pub fn new(state: &AssociationState) -> Self {
        Self {
            inbox_id: state.inbox_id().to_string(),
            recovery_address: member_text(state.recovery()),
            addresses: state.addresses().iter().map(ToString::to_string).collect(),
            installations: state
                .installations()
                .iter()
                .map(|installation| InstallationOutput {
                    id: hex::encode(installation.id),
                    added_by: installation.added_by.as_ref().map(member_text),
                    added_at_ns: installation.added_at_ns,
                })
                .collect(),
            updates: state.updates(),
        }
    }

    /// The state for people, with how close the inbox is to its limits.
    pub fn human(&self) -> String {
        let mut lines = vec![
            format!("inbox {}", self.inbox_id),
            format!("  recovery address  {}", self.recovery_address),
        ];
        for (index, address) in self.addresses.iter().enumerate() {
            let label = if index == 0 { "  addresses" } else { "" };
            lines.push(format!("{label:<19}{address}"));
        }
        lines.push(format!(
            "  installations     {} of the {MAX_INSTALLATIONS_PER_INBOX} libxmtp allows",
            self.installations.len()
        ));
        for installation in &self.installations {
            let when = installation
                .added_at_ns
                .map(|ns| format!(" at {}", format_time(ns / 1_000_000_000)))
                .unwrap_or_default();
            let by = installation.added_by.as_deref().unwrap_or("?");
            lines.push(format!("    {}  added by {by}{when}", installation.id));
        }
        lines.push(format!(
            "  updates           {} of the {MAX_INBOX_UPDATES} a log may hold",
            self.updates
        ));
        lines.join("\n")
    }

    /// Warnings for a person about the inbox's limits, when it comes close to them.
    pub fn limit_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.installations.len() >= MAX_INSTALLATIONS_PER_INBOX {
            warnings.push(format!(
                "{} installations: libxmtp apps refuse to register another until some are \
                 revoked (`xmtp-ledger inbox revoke --all-installations --keep ID`)",
                self.installations.len()
            ));
        } else if self.installations.len() + 2 >= MAX_INSTALLATIONS_PER_INBOX {
            warnings.push(format!(
                "{} installations of {MAX_INSTALLATIONS_PER_INBOX}: revoke the ones no longer in use",
                self.installations.len()
            ));
        }
        if self.updates + 16 >= MAX_INBOX_UPDATES {
            warnings.push(format!(
                "the log holds {} updates of {MAX_INBOX_UPDATES}: when it is full, nothing \
                 more can change this inbox (not even a revocation)",
                self.updates
            ));
        }
        warnings
    }
}

/// The node's acknowledgement in words.
pub fn published_note(published: UpdatePublished) -> &'static str {
    match published {
        UpdatePublished::Accepted => "the node accepted the update",
        UpdatePublished::FoundInLog => {
            "an attempt failed without an answer, and the update was then found in the log"
        }
    }
}
