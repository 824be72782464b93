//! The signing policy: which accounts may sign, which texts, how many per run, and
//! whether an account must have been shown on the device first. Read from TOML; a key
//! this version does not know is refused rather than ignored (a rule that is silently
//! dropped would allow what its author meant to forbid). A key left out sets no limit.
//!
//! ```toml
//! accounts = ["m/44'/60'/0'/0/0", "m/44'/60'/*'/0/0"]
//! texts = ["create_identity", "enable_identity", "inbox:revoke_installation"]
//! max_approvals = 4
//! require_confirmed_address = true
//! ```

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::device::DerivationPath;
use crate::device::path::{HARDENED, MAX_COMPONENTS};
use crate::flow::SignaturePurpose;
use crate::identity::Address;
use crate::v3::SignatureText;

use super::confirmed::ConfirmedAccounts;
use super::text::TextKind;

/// The largest policy file read.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not TOML of the expected shape (unknown key, wrong type, …).
    #[error("{0}")]
    Toml(String),
    /// An `accounts` entry that is not a path pattern.
    #[error("accounts: {pattern:?} is not a path such as m/44'/60'/0'/0/0 ({why})")]
    BadAccount {
        /// The entry.
        pattern: String,
        /// What is wrong.
        why: String,
    },
    /// A `texts` entry that names no kind of text.
    #[error("texts: {0:?} is not one of {known}", known = TextRule::KNOWN.join(", "))]
    BadText(String),
    /// Larger than [`MAX_POLICY_BYTES`].
    #[error("larger than {MAX_POLICY_BYTES} bytes")]
    TooLarge,
}

/// One component of a path pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Component {
    /// This index, hardened or not.
    Index(u32),
    /// Any one index, hardened if the pattern marks it so (`*'`), else unhardened.
    Any { hardened: bool },
}

/// A derivation path where `*` stands for exactly one index component (`*'` for one
/// hardened index); the hardened marks must match as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
    components: Vec<Component>,
}

impl PathPattern {
    /// Whether `path` matches: as many components, each equal or matched by a `*`.
    pub fn matches(&self, path: &DerivationPath) -> bool {
        let components = path.components();
        components.len() == self.components.len()
            && self
                .components
                .iter()
                .zip(components)
                .all(|(c, &p)| match c {
                    Component::Index(i) => *i == p,
                    Component::Any { hardened } => (p & HARDENED != 0) == *hardened,
                })
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for PathPattern {
    type Err = PolicyError;

    fn from_str(text: &str) -> Result<Self, PolicyError> {
        let bad = |why: &str| PolicyError::BadAccount {
            pattern: text.to_owned(),
            why: why.to_owned(),
        };
        let mut parts = text.split('/');
        if parts.next() != Some("m") {
            return Err(bad("it must start with m/"));
        }
        let mut components = Vec::new();
        for part in parts {
            let (body, hardened) = match part.strip_suffix(['\'', 'h', 'H']) {
                Some(body) => (body, true),
                None => (part, false),
            };
            if body == "*" {
                components.push(Component::Any { hardened });
                continue;
            }
            if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(&format!("{part:?} is neither an index nor *")));
            }
            let index: u32 = body
                .parse()
                .ok()
                .filter(|i| *i < HARDENED)
                .ok_or_else(|| bad(&format!("{part:?} is too large")))?;
            components.push(Component::Index(if hardened {
                index | HARDENED
            } else {
                index
            }));
        }
        if components.is_empty() || components.len() > MAX_COMPONENTS {
            return Err(bad("a path has 1 to 10 components"));
        }
        Ok(Self {
            text: text.to_owned(),
            components,
        })
    }
}

/// One entry of `texts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextRule {
    /// Every text of this kind (`create_identity`, `authenticate_to_inbox`, `audit_seal`, …).
    Kind(&'static str),
    /// An Authenticate to inbox text whose every action is of this kind
    /// (`inbox:revoke_installation`, …).
    InboxAction(&'static str),
}

impl TextRule {
    /// Every name `texts` accepts.
    pub const KNOWN: &'static [&'static str] = &[
        "create_identity",
        "enable_identity",
        "authenticate_to_inbox",
        "audit_seal",
        "other",
        "inbox:create_inbox",
        "inbox:add_address",
        "inbox:add_installation",
        "inbox:add_passkey",
        "inbox:revoke_address",
        "inbox:revoke_installation",
        "inbox:revoke_passkey",
        "inbox:change_recovery_address",
    ];
}

impl FromStr for TextRule {
    type Err = PolicyError;

    fn from_str(text: &str) -> Result<Self, PolicyError> {
        let known = Self::KNOWN
            .iter()
            .find(|k| **k == text)
            .ok_or_else(|| PolicyError::BadText(text.to_owned()))?;
        Ok(match known.strip_prefix("inbox:") {
            Some(action) => Self::InboxAction(action),
            None => Self::Kind(known),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    accounts: Option<Vec<String>>,
    texts: Option<Vec<String>>,
    max_approvals: Option<u32>,
    #[serde(default)]
    require_confirmed_address: bool,
}

/// A parsed policy. `None` for a list means the key was left out: no limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// The accounts that may sign.
    pub accounts: Option<Vec<PathPattern>>,
    /// The texts that may be signed.
    pub texts: Option<Vec<TextRule>>,
    /// The most sign requests one run may send to the device.
    pub max_approvals: Option<u32>,
    /// Each account must have been shown with `address --confirm` first.
    pub require_confirmed_address: bool,
}

impl Policy {
    /// Parses a policy file's text.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge);
        }
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| PolicyError::Toml(e.to_string().trim().into()))?;
        let accounts = file
            .accounts
            .map(|list| list.iter().map(|p| p.parse()).collect::<Result<_, _>>())
            .transpose()?;
        let texts = file
            .texts
            .map(|list| list.iter().map(|t| t.parse()).collect::<Result<_, _>>())
            .transpose()?;
        Ok(Self {
            accounts,
            texts,
            max_approvals: file.max_approvals,
            require_confirmed_address: file.require_confirmed_address,
        })
    }

    /// Whether the account at `path` may be used at all: checked before the device is
    /// opened. `Err` says why not.
    pub fn check_path(&self, path: &DerivationPath) -> Result<(), String> {
        match &self.accounts {
            Some(patterns) if !patterns.iter().any(|p| p.matches(path)) => Err(format!(
                "the account {path} is not in the policy's accounts ({})",
                patterns
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => Ok(()),
        }
    }

    /// Whether `text` may be signed by the account `path`/`address` as request number
    /// `request` (1-based) of this run, `confirmed` holding the accounts shown on the
    /// device. `Err` says why not.
    pub fn check_request(
        &self,
        path: &DerivationPath,
        address: &Address,
        text: &str,
        request: u32,
        confirmed: &ConfirmedAccounts,
    ) -> Result<(), String> {
        self.check_path(path)?;
        if let Some(texts) = &self.texts {
            check_text(texts, text)?;
        }
        if let Some(max) = self.max_approvals
            && request > max
        {
            return Err(format!(
                "this run already sent {max} sign request(s) to the device, the policy's \
                 max_approvals"
            ));
        }
        if self.require_confirmed_address && !confirmed.contains(path, address) {
            return Err(format!(
                "the account {address} ({path}) has not been confirmed on the device: run \
                 `xmtp-ledger address --confirm` for it first (require_confirmed_address)"
            ));
        }
        Ok(())
    }
}

/// Whether a `texts` list allows `text`: its kind is listed, or it is an Authenticate to
/// inbox text that parses and each of its actions is listed as `inbox:ACTION`.
fn check_text(rules: &[TextRule], text: &str) -> Result<(), String> {
    let kind = TextKind::of(text);
    if rules.contains(&TextRule::Kind(kind.name())) {
        return Ok(());
    }
    if kind == TextKind::Purpose(SignaturePurpose::AuthenticateToInbox) {
        let parsed: SignatureText = text
            .parse()
            .map_err(|e| format!("an Authenticate to inbox text that does not parse ({e})"))?;
        if let Some(action) = parsed
            .actions
            .iter()
            .find(|a| !rules.contains(&TextRule::InboxAction(a.kind())))
        {
            return Err(format!(
                "the policy's texts allow neither authenticate_to_inbox nor inbox:{}",
                action.kind()
            ));
        }
        return Ok(());
    }
    Err(format!("the policy's texts do not allow {}", kind.name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::eip191;

    fn path(text: &str) -> DerivationPath {
        text.parse().unwrap()
    }

    #[test]
    fn patterns_match_one_component_per_star_and_keep_hardened_marks() {
        let pattern: PathPattern = "m/44'/60'/*'/0/0".parse().unwrap();
        assert!(pattern.matches(&path("m/44'/60'/0'/0/0")));
        assert!(pattern.matches(&path("m/44'/60'/17'/0/0")));
        assert!(
            !pattern.matches(&path("m/44'/60'/17/0/0")),
            "hardened as written"
        );
        assert!(
            !pattern.matches(&path("m/44'/60'/0'/0")),
            "one star, one component"
        );
        assert!(!pattern.matches(&path("m/44'/60'/0'/0/0/0")));
        let exact: PathPattern = "m/44h/60h/0h/0/0".parse().unwrap();
        assert!(exact.matches(&path("m/44'/60'/0'/0/0")));
        assert!(!exact.matches(&path("m/44'/60'/1'/0/0")));
        for bad in ["44'/60'", "m", "m/x", "m/44'/**", "m/2147483648", "m//0"] {
            assert!(bad.parse::<PathPattern>().is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_keys_and_names_are_refused() {
        assert!(Policy::from_toml("acounts = []").is_err());
        assert!(Policy::from_toml("texts = [\"enable\"]").is_err());
        assert!(Policy::from_toml("max_approvals = -1").is_err());
        let policy = Policy::from_toml(
            "accounts = [\"m/44'/60'/*'/0/0\"]\ntexts = [\"create_identity\"]\n\
             max_approvals = 2\nrequire_confirmed_address = true\n",
        )
        .unwrap();
        assert_eq!(policy.max_approvals, Some(2));
        assert!(policy.require_confirmed_address);
        assert_eq!(Policy::from_toml("").unwrap(), Policy::default());
    }

    #[test]
    fn requests_are_checked_rule_by_rule() {
        let address: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .unwrap();
        let account = path("m/44'/60'/0'/0/0");
        let none = ConfirmedAccounts::default();
        let create = eip191::create_identity_text(&[1]);
        let enable = eip191::enable_identity_text(&[2; 32]);
        let policy = Policy::from_toml("texts = [\"create_identity\"]\nmax_approvals = 1").unwrap();
        policy
            .check_request(&account, &address, &create, 1, &none)
            .unwrap();
        let refused = policy
            .check_request(&account, &address, &enable, 1, &none)
            .unwrap_err();
        assert!(refused.contains("enable_identity"), "{refused}");
        let refused = policy
            .check_request(&account, &address, &create, 2, &none)
            .unwrap_err();
        assert!(refused.contains("max_approvals"), "{refused}");

        let confirmed = Policy::from_toml("require_confirmed_address = true").unwrap();
        assert!(
            confirmed
                .check_request(&account, &address, &create, 1, &none)
                .is_err()
        );
        let mut shown = ConfirmedAccounts::default();
        shown.add(&account, &address, "2026-01-01T00:00:00Z");
        confirmed
            .check_request(&account, &address, &create, 1, &shown)
            .unwrap();
        let other: Address = "0x8C8d35429F74ec245F8Ef2f4Fd1e551cFF97d650"
            .parse()
            .unwrap();
        assert!(
            confirmed
                .check_request(&account, &other, &create, 1, &shown)
                .is_err(),
            "the same path on another device (or passphrase) is another account"
        );
    }

    #[test]
    fn inbox_texts_are_allowed_action_by_action() {
        use crate::v3::{InboxId, MemberId, TextAction};
        let inbox: InboxId = "a".repeat(64).parse().unwrap();
        let text = |actions: Vec<TextAction>| {
            SignatureText {
                inbox_id: inbox.clone(),
                time_secs: 1_700_000_000,
                actions,
            }
            .to_string()
        };
        let revoke = text(vec![TextAction::Revoke(MemberId::Installation([1; 32]))]);
        let change = text(vec![TextAction::ChangeRecovery(
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
                .parse()
                .unwrap(),
        )]);
        let rules = ["inbox:revoke_installation".parse().unwrap()];
        check_text(&rules, &revoke).unwrap();
        assert!(check_text(&rules, &change).is_err());
        let all = ["authenticate_to_inbox".parse().unwrap()];
        check_text(&all, &change).unwrap();
        // Every name the list offers is a kind the text parser produces, and back.
        for action in [
            TextAction::CreateInbox {
                owner: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
                    .parse()
                    .unwrap(),
            },
            TextAction::Add(MemberId::Installation([1; 32])),
            TextAction::Revoke(MemberId::Installation([1; 32])),
            TextAction::ChangeRecovery(
                "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
                    .parse()
                    .unwrap(),
            ),
        ] {
            let name = format!("inbox:{}", action.kind());
            assert!(TextRule::KNOWN.contains(&name.as_str()), "{name}");
        }
    }
}
