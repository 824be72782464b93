//! What the person is told while a flow runs: what to check on the Ledger before each
//! approval, the session's decisions, and what was published.

use xmtp_ledger::device::LedgerModel;
use xmtp_ledger::device::review::{MessagePreview, message_preview};
use xmtp_ledger::endpoint::Connection;
use xmtp_ledger::flow::{SignaturePrompt, SignaturePurpose};
use xmtp_ledger::network::PublishOutcome;
use xmtp_ledger::session::{Progress, TopicOutcome};

use super::error::CliError;
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
        // The audit log's run record names it too.
        super::custody::node(&node);
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
                self.ui.publishing();
                let node = self.node.as_deref().unwrap_or(node);
                self.ui.detail(format!("publishing to {node} …"));
            }
            // Events added later are not worth stopping for.
            _ => {}
        }
    }

    /// Announces one signature request: what the device will show, what to compare, and
    /// why it is asked. An approval still pending from the request before is marked given
    /// (the flow only moves on once a signature verified).
    pub fn announce(&mut self, prompt: SignaturePrompt<'_>) {
        self.done();
        let what = match prompt.purpose {
            SignaturePurpose::CreateIdentity => "binds a new XMTP identity key to this account",
            SignaturePurpose::EnableIdentity => {
                "is the key that encrypts this account's stored XMTP keys"
            }
            SignaturePurpose::AuthenticateToInbox => {
                "changes who may use this account's XMTP inbox"
            }
        };
        let total = prompt.total + self.extra;
        let account = self.ui.account();
        let model = self.ui.device_model();
        for line in screen_guide(prompt.step, total, account.as_deref(), model, prompt.text) {
            self.ui.status(line);
        }
        if prompt.purpose == SignaturePurpose::AuthenticateToInbox {
            for line in inbox_actions(prompt.text) {
                self.ui.status(line);
            }
        }
        self.ui.asking(prompt.step, total, prompt.purpose.header());
        self.current = Some(self.ui.device_prompt(format!(
            "Ledger: review '{}' and approve ({} of {total}): it {what}",
            prompt.purpose.header(),
            prompt.step,
        )));
    }

    /// The session is over: clears the spinner, reports what was published (naming the node
    /// as the person reaches it) and shuts down the connection, and with it an in-process
    /// node.
    pub fn finish(
        mut self,
        connection: Connection,
        published: &[TopicOutcome],
    ) -> Result<(), CliError> {
        self.done();
        super::custody::published(&connection.name(), published);
        report_published(self.ui, &connection.name(), published);
        Ok(connection.shutdown()?)
    }

    /// The device has answered the request announced last, and the flow moved on: clears
    /// the spinner and records the approval.
    pub fn done(&mut self) {
        if self.current.take().is_some() {
            self.ui.approved();
        }
    }
}

/// What an inbox update's text asks for, action by action, as its lines read.
fn inbox_actions(text: &str) -> Vec<String> {
    match text.parse::<xmtp_ledger::v3::SignatureText>() {
        Ok(parsed) => std::iter::once(format!(
            "  it asks, for inbox {} at {}:",
            parsed.inbox_id,
            xmtp_ledger::v3::format_time(parsed.time_secs)
        ))
        .chain(
            parsed
                .actions
                .iter()
                .map(|action| format!("    - {} ({})", action.title(), action.value())),
        )
        .collect(),
        // Every text the tool sends was built or parsed by it: unreachable in practice.
        Err(_) => Vec::new(),
    }
}

/// What the Ledger will show for `text` (its `personal_sign` review: "Review message",
/// the message pages as the device's model lays them out, then "Sign message"), and the
/// part to compare: the hex line, by its first and last eight digits.
///
/// The pages are those of a Nano S Plus or Nano X (`model`, from the device's link); with no
/// model (a `tcp://` device does not say it) the same pages, saying they are assumed. A
/// Stax or Flex pages differently, which this tool does not model: the text is shown
/// instead, as that device holds it.
fn screen_guide(
    step: usize,
    total: usize,
    account: Option<&str>,
    model: Option<LedgerModel>,
    text: &str,
) -> Vec<String> {
    let signer = account.map_or(String::new(), |account| format!(" for {account}"));
    let mut lines = Vec::new();
    match message_preview(model, text.as_bytes()) {
        MessagePreview::Pages(pages) => {
            let layout = match model {
                Some(LedgerModel::NanoSPlus) => "Nano S Plus layout".to_owned(),
                Some(model) => format!("{model}: the Nano S Plus layout"),
                None => "Nano S Plus and Nano X layout; a tcp:// device does not say its \
                         model, a Stax or Flex pages differently"
                    .to_owned(),
            };
            lines.push(format!(
                "signature {step} of {total}{signer}: the Ledger shows 'Review message', then {} \
                 ({layout}):",
                if pages.len() == 1 {
                    "1 page".to_owned()
                } else {
                    format!("{} pages", pages.len())
                }
            ));
            lines.extend(
                pages
                    .iter()
                    .map(|page| format!("  {:<14} {}", page.title, page.lines.join(" | "))),
            );
            lines.push("  then 'Sign message'".to_owned());
        }
        MessagePreview::Text(text_lines) => {
            let model = model.map_or_else(String::new, |model| model.to_string());
            lines.push(format!(
                "signature {step} of {total}{signer}: the Ledger ({model}) shows 'Review \
                 message', then the message on pages this tool does not model (it knows the \
                 Nano S Plus and Nano X layout only); the message, line by line:"
            ));
            lines.extend(text_lines.iter().map(|line| format!("  | {line}")));
            // The finish title on a touch screen (`SCREEN_SIZE_WALLET` in app-ethereum 1.22.0
            // `src/nbgl/ui_sign_message.c`).
            lines.push("  then 'Sign message?'".to_owned());
        }
    }
    if let Some(hex) = text
        .lines()
        .find(|line| line.len() >= 16 && line.chars().all(|c| c.is_ascii_hexdigit()))
    {
        lines.push(format!(
            "  compare the hex on its screen: starts {}, ends {} ({} digits)",
            &hex[..8],
            &hex[hex.len() - 8..],
            hex.len()
        ));
    }
    lines
}

/// What a publish did: a count on stderr, each topic with `-v`.
fn report_published(ui: &Ui, node: &str, published: &[TopicOutcome]) {
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
