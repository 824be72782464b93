//! The "XMTP : Authenticate to inbox" text: what a wallet personal_signs and an
//! installation key signs for one identity update. Built byte for byte as libxmtp builds
//! it (`crates/xmtp_id/src/associations/unsigned_actions.rs`), and parsed strictly, so
//! that a text handed to the Ledger by an app can be shown action by action and nothing
//! else is ever signed as one.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, UNIX_EPOCH};

use crate::identity::Address;

use super::member::parse_lower_address;
use super::{InboxId, MemberId};

/// The first line.
pub const HEADER: &str = "XMTP : Authenticate to inbox";
/// The last line (no newline follows it).
pub const FOOTER: &str = "For more info: https://xmtp.org/signatures";
/// The longest text parsed. A libxmtp text is about 150 bytes plus about 100 per action;
/// the Ethereum app signs messages shorter than 65,536 bytes.
pub const MAX_TEXT_BYTES: usize = 65_535;

/// One action as its two lines of the text show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextAction {
    /// `- Create inbox` / `(Owner: 0x…)`.
    CreateInbox {
        /// The address creating the inbox (its first member and recovery address).
        owner: Address,
    },
    /// `- Grant messaging access to app`, `- Link address to inbox`, `- Link passkey to inbox`.
    Add(MemberId),
    /// `- Revoke messaging access from app`, `- Unlink address from inbox`,
    /// `- Unlink passkey from inbox`.
    Revoke(MemberId),
    /// `- Change inbox recovery address` / `(Address: 0x…)`.
    ChangeRecovery(Address),
}

impl TextAction {
    /// A stable name for machines (`--json`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CreateInbox { .. } => "create_inbox",
            Self::Add(MemberId::Address(_)) => "add_address",
            Self::Add(MemberId::Installation(_)) => "add_installation",
            Self::Add(MemberId::Passkey(_)) => "add_passkey",
            Self::Revoke(MemberId::Address(_)) => "revoke_address",
            Self::Revoke(MemberId::Installation(_)) => "revoke_installation",
            Self::Revoke(MemberId::Passkey(_)) => "revoke_passkey",
            Self::ChangeRecovery(_) => "change_recovery_address",
        }
    }

    /// The value in the second line: a lowercase address or lowercase hex.
    pub fn value(&self) -> String {
        match self {
            Self::CreateInbox { owner } | Self::ChangeRecovery(owner) => owner.to_lower_hex(),
            Self::Add(member) | Self::Revoke(member) => member.to_string(),
        }
    }

    /// The first line, without its `- `.
    pub fn title(&self) -> &'static str {
        match self {
            Self::CreateInbox { .. } => "Create inbox",
            Self::Add(MemberId::Installation(_)) => "Grant messaging access to app",
            Self::Add(MemberId::Address(_)) => "Link address to inbox",
            Self::Add(MemberId::Passkey(_)) => "Link passkey to inbox",
            Self::Revoke(MemberId::Installation(_)) => "Revoke messaging access from app",
            Self::Revoke(MemberId::Address(_)) => "Unlink address from inbox",
            Self::Revoke(MemberId::Passkey(_)) => "Unlink passkey from inbox",
            Self::ChangeRecovery(_) => "Change inbox recovery address",
        }
    }

    /// The label of the second line. Change-recovery says `Address` whatever the kind,
    /// as libxmtp does.
    fn label(&self) -> &'static str {
        match self {
            Self::CreateInbox { .. } => "Owner",
            Self::ChangeRecovery(_) => "Address",
            Self::Add(member) | Self::Revoke(member) => match member {
                MemberId::Address(_) => "Address",
                MemberId::Installation(_) => "ID",
                MemberId::Passkey(_) => "Passkey",
            },
        }
    }
}

impl fmt::Display for TextAction {
    /// The action's two lines, joined by a newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "- {}\n  ({}: {})",
            self.title(),
            self.label(),
            self.value()
        )
    }
}

/// A whole signature text, as fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureText {
    /// The inbox the update is for.
    pub inbox_id: InboxId,
    /// The update's client time in whole seconds since the Unix epoch (the text drops
    /// the nanoseconds).
    pub time_secs: u64,
    /// The actions, in order; never empty.
    pub actions: Vec<TextAction>,
}

impl fmt::Display for SignatureText {
    /// The exact text libxmtp builds: header, blank line, inbox id and time, blank
    /// line, the actions' lines, blank line, footer, and no final newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{HEADER}\n\nInbox ID: {}\nCurrent time: {}\n\n",
            self.inbox_id,
            format_time(self.time_secs)
        )?;
        for (index, action) in self.actions.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{action}")?;
        }
        write!(f, "\n\n{FOOTER}")
    }
}

/// Why a text is not an "XMTP : Authenticate to inbox" text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Longer than [`MAX_TEXT_BYTES`].
    #[error("the text is {0} bytes; an identity-update text is at most {MAX_TEXT_BYTES}")]
    TooLong(usize),
    /// A line that is not what the format has there.
    #[error("line {line}: expected {expected}, found {found:?}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What the format has at that line.
        expected: &'static str,
        /// What the text has (at most 80 characters of it).
        found: String,
    },
    /// The text ends before its footer.
    #[error("the text ends at line {0}, before its footer")]
    Truncated(usize),
    /// Something follows the footer (a trailing newline included).
    #[error("the text goes on after its footer")]
    TrailingText,
    /// No action between the time and the footer.
    #[error("the text lists no action")]
    NoAction,
    /// Lines that each look right but together are not a text libxmtp would write.
    #[error("the text is not in the exact form libxmtp writes")]
    NotCanonical,
}

impl FromStr for SignatureText {
    type Err = TextError;

    /// Parses a text strictly: every line must be exactly what libxmtp writes there,
    /// and the result printed again must be the same bytes (checked, so that anything
    /// this parser lets through is a text it could have built).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(TextError::TooLong(text.len()));
        }
        let lines: Vec<&str> = text.split('\n').collect();
        let mut at = Cursor {
            lines: &lines,
            next: 0,
        };
        at.exact(HEADER, "the header \"XMTP : Authenticate to inbox\"")?;
        at.exact("", "an empty line")?;
        let inbox_id = at.field(
            "Inbox ID: ",
            "\"Inbox ID: \" and 64 lowercase hex digits",
            |v| v.parse::<InboxId>().ok(),
        )?;
        let time_secs = at.field(
            "Current time: ",
            "\"Current time: \" and a UTC time like 2026-12-03T15:02:50Z",
            parse_time,
        )?;
        at.exact("", "an empty line")?;
        let mut actions = Vec::new();
        while !at.peek()?.is_empty() {
            actions.push(at.action()?);
        }
        if actions.is_empty() {
            return Err(TextError::NoAction);
        }
        at.exact("", "an empty line")?;
        at.exact(
            FOOTER,
            "the footer \"For more info: https://xmtp.org/signatures\"",
        )?;
        if at.next != lines.len() {
            return Err(TextError::TrailingText);
        }
        let parsed = Self {
            inbox_id,
            time_secs,
            actions,
        };
        // Each line was checked on its own; this catches any way they could combine
        // into a text libxmtp would not write.
        if parsed.to_string() != text {
            return Err(TextError::NotCanonical);
        }
        Ok(parsed)
    }
}

/// Walks the lines of a text being parsed.
struct Cursor<'a> {
    lines: &'a [&'a str],
    next: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Result<&'a str, TextError> {
        self.lines
            .get(self.next)
            .copied()
            .ok_or(TextError::Truncated(self.next))
    }

    fn take(&mut self) -> Result<&'a str, TextError> {
        let line = self.peek()?;
        self.next += 1;
        Ok(line)
    }

    fn wrong(&self, expected: &'static str, found: &str) -> TextError {
        TextError::Line {
            line: self.next,
            expected,
            found: found.chars().take(80).collect(),
        }
    }

    fn exact(&mut self, wanted: &str, expected: &'static str) -> Result<(), TextError> {
        let line = self.take()?;
        if line == wanted {
            Ok(())
        } else {
            Err(self.wrong(expected, line))
        }
    }

    fn field<T>(
        &mut self,
        prefix: &str,
        expected: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, TextError> {
        let line = self.take()?;
        line.strip_prefix(prefix)
            .and_then(parse)
            .ok_or_else(|| self.wrong(expected, line))
    }

    fn action(&mut self) -> Result<TextAction, TextError> {
        const TITLE: &str = "an action line such as \"- Create inbox\"";
        const VALUE: &str = "the action's value line, \"  (Label: value)\"";
        let title_line = self.take()?;
        let title = title_line
            .strip_prefix("- ")
            .ok_or_else(|| self.wrong(TITLE, title_line))?;
        let value_line = self.take()?;
        let (label, value) = value_line
            .strip_prefix("  (")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|inner| inner.split_once(": "))
            .ok_or_else(|| self.wrong(VALUE, value_line))?;
        let address = || parse_lower_address(value).ok();
        let installation = || {
            let mut key = [0u8; 32];
            (value.len() == 64
                && value
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| hex::decode_to_slice(value, &mut key).ok())
            .flatten()
            .map(|()| key)
        };
        let passkey = || {
            (!value.is_empty()
                && value
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| hex::decode(value).ok())
            .flatten()
        };
        let action = match (title, label) {
            ("Create inbox", "Owner") => address().map(|owner| TextAction::CreateInbox { owner }),
            ("Grant messaging access to app", "ID") => {
                installation().map(|key| TextAction::Add(MemberId::Installation(key)))
            }
            ("Link address to inbox", "Address") => {
                address().map(|a| TextAction::Add(MemberId::Address(a)))
            }
            ("Link passkey to inbox", "Passkey") => {
                passkey().map(|key| TextAction::Add(MemberId::Passkey(key)))
            }
            ("Revoke messaging access from app", "ID") => {
                installation().map(|key| TextAction::Revoke(MemberId::Installation(key)))
            }
            ("Unlink address from inbox", "Address") => {
                address().map(|a| TextAction::Revoke(MemberId::Address(a)))
            }
            ("Unlink passkey from inbox", "Passkey") => {
                passkey().map(|key| TextAction::Revoke(MemberId::Passkey(key)))
            }
            ("Change inbox recovery address", "Address") => {
                address().map(TextAction::ChangeRecovery)
            }
            _ => {
                self.next -= 1;
                return Err(self.wrong(TITLE, title_line));
            }
        };
        action.ok_or_else(|| self.wrong(VALUE, value_line))
    }
}

/// The last second the text can show, 9999-12-31T23:59:59Z. Updates never come near it
/// (their nanosecond clock ends in 2262, and later ones are refused), but a
/// [`SignatureText`] built by hand could.
const MAX_TIME_SECS: u64 = 253_402_300_799;

/// `secs` as RFC 3339 UTC with whole seconds and `Z`, as libxmtp writes the time
/// (chrono's `to_rfc3339_opts(SecondsFormat::Secs, true)`). A time past year 9999 is
/// written as that year's last second rather than failing.
pub fn format_time(secs: u64) -> String {
    let secs = secs.min(MAX_TIME_SECS);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

/// The inverse of [`format_time`]: only its exact output is accepted.
fn parse_time(text: &str) -> Option<u64> {
    let at = humantime::parse_rfc3339(text).ok()?;
    let secs = at.duration_since(UNIX_EPOCH).ok()?;
    (secs.subsec_nanos() == 0 && format_time(secs.as_secs()) == text).then_some(secs.as_secs())
}
