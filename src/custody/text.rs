//! What a text asks the wallet to sign, by name, and the one text this tool writes for
//! itself: the audit-log seal.

use crate::flow::SignaturePurpose;

/// The first line of a seal text.
pub const SEAL_HEADER: &str = "xmtp-ledger audit log seal";

/// What kind of text a sign request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// One of the XMTP texts, by its first line.
    Purpose(SignaturePurpose),
    /// A seal of this tool's audit log ([`seal_text`]).
    AuditSeal,
    /// Anything else.
    Other,
}

impl TextKind {
    /// The kind of `text`: an XMTP purpose by its exact first line, a seal only in the
    /// exact form [`seal_text`] writes, else [`TextKind::Other`].
    pub fn of(text: &str) -> Self {
        if let Some(purpose) = SignaturePurpose::of_text(text) {
            return Self::Purpose(purpose);
        }
        if parse_seal_text(text).is_some() {
            return Self::AuditSeal;
        }
        Self::Other
    }

    /// The stable name: `create_identity`, `enable_identity`, `authenticate_to_inbox`,
    /// `audit_seal` or `other`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Purpose(purpose) => purpose.name(),
            Self::AuditSeal => "audit_seal",
            Self::Other => "other",
        }
    }

    /// Whether the text itself may be written down. Only texts known to be public are:
    /// a Create Identity text (its signature is published in the contact bundle), an
    /// Authenticate to inbox text (published with the update) and a seal. Never an
    /// Enable Identity text, and never a text this tool does not recognise (it might be
    /// an Enable Identity text spelled another way).
    pub fn is_public(self) -> bool {
        matches!(
            self,
            Self::Purpose(SignaturePurpose::CreateIdentity | SignaturePurpose::AuthenticateToInbox)
                | Self::AuditSeal
        )
    }
}

/// The text signed to seal an audit log whose line `lines` (1-based; 0 for an empty log)
/// hashes to `head`: three lines, no trailing newline, lowercase hex.
pub fn seal_text(head: &[u8; 32], lines: u64) -> String {
    format!("{SEAL_HEADER}\nhead: {}\nlines: {lines}", hex::encode(head))
}

/// The head and line count of a text in exactly [`seal_text`]'s form.
pub fn parse_seal_text(text: &str) -> Option<([u8; 32], u64)> {
    let mut lines = text.split('\n');
    if lines.next()? != SEAL_HEADER {
        return None;
    }
    let head_hex = lines.next()?.strip_prefix("head: ")?;
    let count = lines.next()?.strip_prefix("lines: ")?;
    if lines.next().is_some() {
        return None;
    }
    let head: [u8; 32] = hex::decode(head_hex).ok()?.try_into().ok()?;
    let count: u64 = count.parse().ok()?;
    // Only the canonical spelling (lowercase hex, no leading zeros or sign).
    (seal_text(&head, count) == text).then_some((head, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::eip191;

    #[test]
    fn kinds_by_exact_first_line() {
        let create = eip191::create_identity_text(&[1, 2]);
        let enable = eip191::enable_identity_text(&[7; 32]);
        assert_eq!(TextKind::of(&create).name(), "create_identity");
        assert_eq!(TextKind::of(&enable).name(), "enable_identity");
        assert!(TextKind::of(&create).is_public());
        assert!(!TextKind::of(&enable).is_public());
        // A near miss is not recognised, so it is not written down either.
        let spoofed = enable.replacen('\n', "\r\n", 1);
        assert_eq!(TextKind::of(&spoofed), TextKind::Other);
        assert!(!TextKind::of(&spoofed).is_public());
        let seal = seal_text(&[0xab; 32], 7);
        assert_eq!(TextKind::of(&seal), TextKind::AuditSeal);
        assert_eq!(parse_seal_text(&seal), Some(([0xab; 32], 7)));
        assert_eq!(
            parse_seal_text(&seal.replace("lines: 7", "lines: 07")),
            None
        );
        assert_eq!(parse_seal_text(&seal.to_uppercase()), None);
        assert_eq!(parse_seal_text(&format!("{seal}\n")), None);
    }
}
