//! What the person is told while a flow runs: what to check on the Ledger before each
//! approval, the session's decisions, and what was published.

use xmtp_ledger::flow::{SignaturePrompt, SignaturePurpose};
use xmtp_ledger::network::PublishOutcome;
use xmtp_ledger::session::{Progress, TopicOutcome};

use super::ui::{PromptGuard, Ui};

/// Follows a flow or a session: keeps the spinner of the current device request alive
/// until the next event (or until [`FlowProgress::done`]).
pub struct FlowProgress<'a> {
    ui: &'a Ui,
    current: Option<PromptGuard>,
    extra: usize,
    node: Option<String>,
}

impl<'a> FlowProgress<'a> {
    /// Reports through `ui`.
    pub fn new(ui: &'a Ui) -> Self {
        Self {
            ui,
            current: None,
            extra: 0,
            node: None,
        }
    }

    /// Counts `extra` more requests than the flow announces, when the command asks for
    /// more signatures after the flow (`unlock --keystore`, `connect --keystore`).
    pub fn with_extra(mut self, extra: usize) -> Self {
        self.extra = extra;
        self
    }

    /// Names the node `node` (as [`xmtp_ledger::endpoint::Connection::name`] gives it)
    /// instead of the URL the session connected to, which for an in-process node is a
    /// port that ends with this process.
    pub fn with_node(mut self, node: String) -> Self {
        self.node = Some(node);
        self
    }

    /// One session event.
    pub fn on(&mut self, event: Progress<'_>) {
        match event {
            Progress::Signature(prompt) => self.announce(prompt),
            Progress::Completing => self.ui.status(
                "found an identity whose contact bundles were never published: completing it",
            ),
            Progress::CompletingRotation => self.ui.status(
                "the node's private store already holds a pre-key its contact bundles do not \
                 name yet (an earlier rotation stopped between publishes): publishing them, \
                 no other pre-key is made",
            ),
            Progress::Replacing { wallet, node } => {
                let node = self.node.as_deref().unwrap_or(node);
                self.ui.warn(format!(
                    "--force: replacing the identity of {wallet} on {node}"
                ));
            }
            Progress::Publishing { node } => {
                self.done();
                let node = self.node.as_deref().unwrap_or(node);
                self.ui.detail(format!("publishing to {node} …"));
            }
            // Events added later are not worth stopping for.
            _ => {}
        }
    }

    /// Announces one signature request: what the device will ask, and why.
    pub fn announce(&mut self, prompt: SignaturePrompt<'_>) {
        self.current = None;
        let what = match prompt.purpose {
            SignaturePurpose::CreateIdentity => "binds a new XMTP identity key to this account",
            SignaturePurpose::EnableIdentity => {
                "is the key that encrypts this account's stored XMTP keys"
            }
        };
        self.current = Some(self.ui.device_prompt(format!(
            "Ledger: review '{}' and approve ({} of {}): it {what}",
            prompt.purpose.header(),
            prompt.step,
            prompt.total + self.extra
        )));
    }

    /// Clears the spinner: the device has answered.
    pub fn done(&mut self) {
        self.current = None;
    }
}

/// What a publish did: a count on stderr, each topic with `-v`.
pub fn report_published(ui: &Ui, node: &str, published: &[TopicOutcome]) {
    let sent = published
        .iter()
        .filter(|p| p.outcome == PublishOutcome::Published)
        .count();
    if sent > 0 {
        ui.status(format!("published {sent} envelope(s) to {node}"));
    }
    for publication in published {
        ui.detail(format!(
            "{}: {}",
            publication.topic,
            match publication.outcome {
                PublishOutcome::Published => "published",
                PublishOutcome::AlreadyNewest => "already there",
            }
        ));
    }
}
