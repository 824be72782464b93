//! What can be wrong with an identity update: the rule it breaks, and where.

use std::fmt;

use super::{MemberId, MemberKind};

/// A rule of the identity log that an update breaks. The rules are libxmtp's
/// (`crates/xmtp_id/src/associations/association_log.rs`, `verified_signature.rs`,
/// `serialization.rs`); where this verifier is stricter, the variant says so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    /// A required field is absent.
    #[error("the update lacks its {0}")]
    Missing(&'static str),
    /// An update with no action. libxmtp would accept one as a no-op; it can only
    /// spend the inbox's 256 updates, so it is refused here.
    #[error("the update has no action")]
    NoAction,
    /// The first update of an inbox must create it.
    #[error("the inbox's first update must be a CreateInbox")]
    NotCreated,
    /// A second CreateInbox.
    #[error("the inbox already exists (a second CreateInbox)")]
    MultipleCreate,
    /// The update names another inbox than the one its log belongs to (or than its
    /// CreateInbox derives).
    #[error("the update is for inbox {found}, not {expected}")]
    WrongInboxId {
        /// The inbox of the log.
        expected: String,
        /// The inbox the update names.
        found: String,
    },
    /// An address not in the `0x` + 40 lowercase hex form libxmtp writes (stricter than
    /// libxmtp, which would fail later or treat it as another member).
    #[error("address {0:?} is not in lowercase 0x form")]
    AddressNotLowercase(String),
    /// An installation key that is not 32 bytes.
    #[error("an installation key is 32 bytes, not {0}")]
    InstallationKeyLength(usize),
    /// A time the text cannot show (past 2262, where libxmtp's clock wraps).
    #[error("client timestamp {0} ns is out of range")]
    TimestampOutOfRange(u64),
    /// A signature that does not check out over the update's text.
    #[error("the {role} signature is invalid: {reason}")]
    BadSignature {
        /// Which signature of the action.
        role: &'static str,
        /// Why.
        reason: String,
    },
    /// A kind of signature this verifier cannot check (smart-contract wallets need a
    /// chain, passkeys are not implemented); refused rather than trusted.
    #[error("{0} cannot be verified by this tool")]
    Unsupported(&'static str),
    /// CreateInbox signed by someone else than the address it names.
    #[error("CreateInbox for {owner} is signed by {signer}")]
    CreateNotByOwner {
        /// The address the action names.
        owner: MemberId,
        /// Who signed.
        signer: MemberId,
    },
    /// A member signing with a kind of signature its kind may not use.
    #[error("a {role} may not sign with a {kind} signature")]
    SignatureNotAllowed {
        /// The member's kind.
        role: MemberKind,
        /// The signature's kind.
        kind: &'static str,
    },
    /// The v2 legacy key signs only inside its own wallet's nonce-0 inbox.
    #[error("a legacy (v2) key may only sign for its wallet's nonce-0 inbox")]
    LegacyOnlyNonceZero,
    /// The v2 legacy key may not revoke or change the recovery address.
    #[error("a legacy (v2) key may not revoke or change the recovery address")]
    LegacyNotAllowed,
    /// AddAssociation's new member signature is not by the member it adds.
    #[error("the new member signature is by {signer}, not by {member}")]
    NewMemberMismatch {
        /// The member being added.
        member: MemberId,
        /// Who signed as the new member.
        signer: MemberId,
    },
    /// A member adding itself.
    #[error("{0} tries to add itself")]
    AddSelf(MemberId),
    /// The existing-member signature is by neither a member nor the recovery address.
    #[error("{0} is not a member of the inbox (nor its recovery address)")]
    NotAMember(MemberId),
    /// An installation adding another installation.
    #[error("an installation may not add another installation")]
    InstallationAddsInstallation,
    /// Revoke or change-recovery signed by someone else than the recovery address.
    #[error("only the recovery address {recovery} may do this; signed by {signer}")]
    NotRecovery {
        /// The inbox's recovery address.
        recovery: MemberId,
        /// Who signed.
        signer: MemberId,
    },
    /// A signature already used by an earlier update of the inbox.
    #[error("replayed signature: the {role} signature was already used in this inbox")]
    Replay {
        /// Which signature of the action.
        role: &'static str,
    },
    /// The log would pass the network's 256 updates per inbox.
    #[error("inbox log is full ({0} updates)")]
    LogFull(usize),
}

/// An update that breaks a rule, located in its inbox's log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LogError {
    /// 0-based index of the update in the inbox's log.
    pub update: usize,
    /// 0-based index of the action in the update, when one action is at fault.
    pub action: Option<usize>,
    /// The rule broken.
    pub rule: Rule,
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "update {}", self.update + 1)?;
        if let Some(action) = self.action {
            write!(f, ", action {}", action + 1)?;
        }
        write!(f, ": {}", self.rule)
    }
}
