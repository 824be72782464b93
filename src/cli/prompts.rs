//! Device prompts for the key flows: what to check on the Ledger before approving.

use xmtp_ledger::flow::{SignaturePrompt, SignaturePurpose};

use super::ui::{PromptGuard, Ui};

/// A prompt callback for the flows that keeps the spinner of the current request alive
/// until the next request (or until the caller drops it after the flow).
pub struct FlowPrompts<'a> {
    ui: &'a Ui,
    current: Option<PromptGuard>,
}

impl<'a> FlowPrompts<'a> {
    /// Prompts through `ui`.
    pub fn new(ui: &'a Ui) -> Self {
        Self { ui, current: None }
    }

    /// Announces one signature request.
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
            prompt.total
        )));
    }

    /// Clears the spinner: the device has answered.
    pub fn done(&mut self) {
        self.current = None;
    }
}
