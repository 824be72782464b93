//! An inbox's association state: who belongs to it, replayed from its identity log,
//! every update checked against every rule before it counts.
//!
//! The rules and their order are libxmtp's `IdentityAction::update_state` implementations
//! (`crates/xmtp_id/src/associations/association_log.rs`); the differences are named on
//! [`Rule`]'s variants. Signatures are remembered only once a whole update has applied, so
//! one wallet signature may serve several actions of the same update, never two updates.

use std::collections::{BTreeMap, HashSet};

use crate::proto::identity::associations as pb;

use super::signature::{ReplayKey, SignatureKind, VerifiedSignature, verify};
use super::update::{identifier, parse_update};
use super::{InboxId, LogError, MemberId, MemberKind, Rule};

// One cap for the log, shared with the node's store and the client (which read it from
// `wire`), so a log is never full for one and not for the other.
pub use crate::wire::MAX_INBOX_UPDATES;

/// libxmtp clients refuse to register an eleventh installation
/// (`MAX_INSTALLATIONS_PER_INBOX`); the log itself does not forbid it.
pub const MAX_INSTALLATIONS_PER_INBOX: usize = 10;

/// A member and how it got there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Who.
    pub id: MemberId,
    /// The member whose signature added it; `None` for the inbox's creator.
    pub added_by: Option<MemberId>,
    /// The client time of the update that added it; `None` for the inbox's creator.
    pub added_at_ns: Option<u64>,
}

/// An installation of the inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installation {
    /// Its Ed25519 public key, which is its id.
    pub id: [u8; 32],
    /// The member (an address) that added it.
    pub added_by: Option<MemberId>,
    /// The client time of the update that added it.
    pub added_at_ns: Option<u64>,
}

/// The state of an inbox after some prefix of its log.
#[derive(Clone, Debug)]
pub struct AssociationState {
    inbox_id: InboxId,
    members: BTreeMap<MemberId, Member>,
    recovery: MemberId,
    seen: HashSet<ReplayKey>,
    updates: usize,
}

impl AssociationState {
    /// The state after an inbox's first update, which must create it.
    pub fn create(update: &pb::IdentityUpdate) -> Result<Self, LogError> {
        Self::apply_to(None, update)
    }

    /// The state after one more update; `self` is unchanged when the update breaks a rule.
    pub fn apply(&self, update: &pb::IdentityUpdate) -> Result<Self, LogError> {
        Self::apply_to(Some(self.clone()), update)
    }

    /// Replays a whole log from its first update.
    pub fn replay<'a>(
        updates: impl IntoIterator<Item = &'a pb::IdentityUpdate>,
    ) -> Result<Self, LogError> {
        let mut state: Option<Self> = None;
        for update in updates {
            // Each state moves into the next: a replay copies nothing.
            state = Some(Self::apply_to(state.take(), update)?);
        }
        state.ok_or(LogError {
            update: 0,
            action: None,
            rule: Rule::NotCreated,
        })
    }

    /// The inbox.
    pub fn inbox_id(&self) -> &InboxId {
        &self.inbox_id
    }

    /// The recovery address: the one identifier that may revoke members and name
    /// another recovery address.
    pub fn recovery(&self) -> &MemberId {
        &self.recovery
    }

    /// How many updates the log has so far.
    pub fn updates(&self) -> usize {
        self.updates
    }

    /// Every member, the creator first, then in the order they were added.
    pub fn members(&self) -> Vec<&Member> {
        let mut members: Vec<&Member> = self.members.values().collect();
        members.sort_by_key(|member| (member.added_at_ns.unwrap_or(0), &member.id));
        members
    }

    /// The member addresses, the creator first.
    pub fn addresses(&self) -> Vec<crate::identity::Address> {
        self.members()
            .into_iter()
            .filter_map(|member| member.id.address().copied())
            .collect()
    }

    /// The installations, in the order they were added.
    pub fn installations(&self) -> Vec<Installation> {
        self.members()
            .into_iter()
            .filter_map(|member| match member.id {
                MemberId::Installation(id) => Some(Installation {
                    id,
                    added_by: member.added_by.clone(),
                    added_at_ns: member.added_at_ns,
                }),
                _ => None,
            })
            .collect()
    }

    /// Whether `member` belongs to the inbox.
    pub fn has_member(&self, member: &MemberId) -> bool {
        self.members.contains_key(member)
    }

    /// `state` (the state before `update`) becomes the working state the actions change;
    /// replays are checked against its `seen`, which only grows once the whole update
    /// applies, so it is the set from before the update throughout.
    fn apply_to(state: Option<Self>, update: &pb::IdentityUpdate) -> Result<Self, LogError> {
        let index = state.as_ref().map_or(0, |state| state.updates);
        let fail = |action: Option<usize>, rule: Rule| LogError {
            update: index,
            action,
            rule,
        };
        if index >= MAX_INBOX_UPDATES {
            return Err(fail(None, Rule::LogFull(index)));
        }
        let (text, _) = parse_update(update).map_err(|(action, rule)| fail(action, rule))?;
        let text = text.to_string();
        let mut working: Option<Self> = state;
        let mut used: Vec<ReplayKey> = Vec::new();
        for (at, action) in update.actions.iter().enumerate() {
            let next = apply_action(
                working,
                action,
                &text,
                update.client_timestamp_ns,
                &mut used,
            )
            .map_err(|rule| fail(Some(at), rule))?;
            working = Some(next);
        }
        let mut next = working.ok_or_else(|| fail(None, Rule::NotCreated))?;
        if next.inbox_id.as_str() != update.inbox_id {
            return Err(fail(
                None,
                Rule::WrongInboxId {
                    expected: next.inbox_id.to_string(),
                    found: update.inbox_id.chars().take(80).collect(),
                },
            ));
        }
        next.seen.extend(used);
        next.updates = index + 1;
        Ok(next)
    }
}

/// One action over the state so far (`working`), whose `seen` is still that of the
/// state before the update: replays are checked against it.
fn apply_action(
    working: Option<AssociationState>,
    action: &pb::IdentityAction,
    text: &str,
    client_timestamp_ns: u64,
    used: &mut Vec<ReplayKey>,
) -> Result<AssociationState, Rule> {
    use pb::identity_action::Kind;
    match action.kind.as_ref().ok_or(Rule::Missing("action"))? {
        Kind::CreateInbox(create) => match working {
            Some(_) => Err(Rule::MultipleCreate),
            None => create_inbox(create, text, used),
        },
        Kind::Add(add) => {
            let mut state = working.ok_or(Rule::NotCreated)?;
            let existing = checked(
                add.existing_member_signature.as_ref(),
                text,
                "existing member",
                &state.seen,
                used,
            )?;
            let new = checked(
                add.new_member_signature.as_ref(),
                text,
                "new member",
                &state.seen,
                used,
            )?;
            add_member(
                &mut state,
                add.new_member_identifier.as_ref(),
                &new,
                &existing,
                client_timestamp_ns,
            )?;
            Ok(state)
        }
        Kind::Revoke(revoke) => {
            let mut state = by_recovery(
                working,
                revoke.recovery_identifier_signature.as_ref(),
                text,
                used,
            )?;
            let revoked = MemberId::from_proto(revoke.member_to_revoke.as_ref())?;
            // A revoked address takes the installations it added with it.
            state.members.retain(|id, member| {
                *id != revoked
                    && !(member.id.kind() == MemberKind::Installation
                        && member.added_by.as_ref() == Some(&revoked))
            });
            Ok(state)
        }
        Kind::ChangeRecoveryAddress(change) => {
            let mut state = by_recovery(
                working,
                change.existing_recovery_identifier_signature.as_ref(),
                text,
                used,
            )?;
            let new_recovery = identifier(
                &change.new_recovery_identifier,
                change.new_recovery_identifier_kind,
            )?;
            state.recovery = MemberId::Address(new_recovery);
            Ok(state)
        }
    }
}

/// The inbox's first action: its owner signs, becomes its first member and its
/// recovery address.
fn create_inbox(
    create: &pb::CreateInbox,
    text: &str,
    used: &mut Vec<ReplayKey>,
) -> Result<AssociationState, Rule> {
    let address = identifier(&create.initial_identifier, create.initial_identifier_kind)?;
    let owner = MemberId::Address(address);
    let signature = verify(
        create.initial_identifier_signature.as_ref(),
        text,
        "initial identifier",
    )?;
    if signature.signer != owner {
        return Err(Rule::CreateNotByOwner {
            owner,
            signer: signature.signer,
        });
    }
    allowed_signature(MemberKind::Address, signature.kind)?;
    if signature.kind == SignatureKind::LegacyDelegated && create.nonce != 0 {
        return Err(Rule::LegacyOnlyNonceZero);
    }
    used.push(signature.replay_key);
    let creator = Member {
        id: owner.clone(),
        added_by: None,
        added_at_ns: None,
    };
    Ok(AssociationState {
        inbox_id: InboxId::derive(&address, create.nonce),
        members: BTreeMap::from([(owner.clone(), creator)]),
        recovery: owner,
        seen: HashSet::new(),
        updates: 0,
    })
}

/// Verifies a signature and refuses it if an earlier update used it.
fn checked(
    signature: Option<&pb::Signature>,
    text: &str,
    role: &'static str,
    seen: &HashSet<ReplayKey>,
    used: &mut Vec<ReplayKey>,
) -> Result<VerifiedSignature, Rule> {
    let signature = verify(signature, text, role)?;
    if seen.contains(&signature.replay_key) {
        return Err(Rule::Replay { role });
    }
    used.push(signature.replay_key);
    Ok(signature)
}

fn add_member(
    state: &mut AssociationState,
    new_member: Option<&pb::MemberIdentifier>,
    new: &VerifiedSignature,
    existing: &VerifiedSignature,
    client_timestamp_ns: u64,
) -> Result<(), Rule> {
    let new_member = MemberId::from_proto(new_member)?;
    if new.signer != new_member {
        return Err(Rule::NewMemberMismatch {
            member: new_member,
            signer: new.signer.clone(),
        });
    }
    if new.signer == existing.signer {
        return Err(Rule::AddSelf(new_member));
    }
    let legacy = new.kind == SignatureKind::LegacyDelegated
        || existing.kind == SignatureKind::LegacyDelegated;
    if let (true, MemberId::Address(address)) = (legacy, &existing.signer)
        && state.inbox_id != InboxId::derive(address, 0)
    {
        return Err(Rule::LegacyOnlyNonceZero);
    }
    allowed_signature(new_member.kind(), new.kind)?;
    let added_by = match state.members.get(&existing.signer) {
        Some(member) => member.id.clone(),
        None => {
            if existing.signer != state.recovery {
                return Err(Rule::NotAMember(existing.signer.clone()));
            }
            if existing.kind == SignatureKind::LegacyDelegated {
                return Err(Rule::LegacyOnlyNonceZero);
            }
            state.recovery.clone()
        }
    };
    allowed_signature(added_by.kind(), existing.kind)?;
    if existing.signer.kind() == MemberKind::Installation
        && new_member.kind() == MemberKind::Installation
    {
        return Err(Rule::InstallationAddsInstallation);
    }
    state.members.insert(
        new_member.clone(),
        Member {
            id: new_member,
            added_by: Some(added_by),
            added_at_ns: Some(client_timestamp_ns),
        },
    );
    Ok(())
}

/// The state a revoke or change-recovery applies to, once its signature checked out as
/// the recovery address's.
fn by_recovery(
    working: Option<AssociationState>,
    signature: Option<&pb::Signature>,
    text: &str,
    used: &mut Vec<ReplayKey>,
) -> Result<AssociationState, Rule> {
    let state = working.ok_or(Rule::NotCreated)?;
    let signature = checked(signature, text, "recovery", &state.seen, used)?;
    recovery_only(&state, &signature)?;
    Ok(state)
}

/// Revoke and change-recovery: only the recovery address, never through a legacy key.
fn recovery_only(state: &AssociationState, signature: &VerifiedSignature) -> Result<(), Rule> {
    if signature.kind == SignatureKind::LegacyDelegated {
        return Err(Rule::LegacyNotAllowed);
    }
    if signature.signer != state.recovery {
        return Err(Rule::NotRecovery {
            recovery: state.recovery.clone(),
            signer: signature.signer.clone(),
        });
    }
    Ok(())
}

/// Which kinds of signature each kind of member may make.
fn allowed_signature(role: MemberKind, kind: SignatureKind) -> Result<(), Rule> {
    let allowed = match role {
        MemberKind::Address => {
            matches!(kind, SignatureKind::Erc191 | SignatureKind::LegacyDelegated)
        }
        MemberKind::Installation => kind == SignatureKind::InstallationKey,
        MemberKind::Passkey => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Rule::SignatureNotAllowed {
            role,
            kind: kind.name(),
        })
    }
}
