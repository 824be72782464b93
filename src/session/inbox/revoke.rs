//! `inbox revoke` and `inbox change-recovery`: what only the recovery address may sign,
//! checked against the inbox's verified state before the wallet is asked.

use crate::identity::Address;
use crate::network::UpdatePublished;
use crate::signer::Signer;
use crate::v3::{AssociationState, InboxId, MemberId, UnsignedUpdate, WalletAction};

use super::super::Progress;
use super::{InboxError, InboxSession, InboxStatus, address_status, inbox_status, next_timestamp};

/// What `inbox revoke` removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevokeTargets {
    /// These installations (each must be one of the inbox's).
    Installations(Vec<[u8; 32]>),
    /// Every installation but these (each must be one of the inbox's).
    AllInstallationsBut(Vec<[u8; 32]>),
    /// An address, and with it the installations it added.
    Address(Address),
}

/// An inbox after an update this session published.
#[derive(Debug)]
pub struct ChangedInbox {
    /// The inbox.
    pub inbox_id: InboxId,
    /// The members the update names (revoked, or the new recovery address).
    pub members: Vec<MemberId>,
    /// The state before the update.
    pub before: AssociationState,
    /// The state after it.
    pub after: AssociationState,
    /// What the node said.
    pub published: UpdatePublished,
}

impl<S: Signer> InboxSession<S> {
    /// The inbox to change: `inbox_id` if given (a recovery address need not be a member),
    /// else the account's; verified, and refused unless the account is its recovery
    /// address.
    fn recovery_status(
        &self,
        inbox_id: Option<&InboxId>,
    ) -> Result<InboxStatus, InboxError<S::Error>> {
        let account = self.account();
        let status = match inbox_id {
            Some(inbox_id) => inbox_status(&self.client, inbox_id)?,
            None => address_status(&self.client, &account)?,
        };
        if status.state.recovery() != &MemberId::Address(account) {
            return Err(InboxError::NotRecovery {
                inbox_id: status.inbox_id.clone(),
                recovery: status.state.recovery().clone(),
                account,
            });
        }
        Ok(status)
    }

    /// Revokes `targets` from the inbox (`inbox_id`, or the account's) in one update signed
    /// by the account as the inbox's recovery address: one approval for the whole batch.
    pub fn revoke(
        &self,
        inbox_id: Option<&InboxId>,
        targets: &RevokeTargets,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<ChangedInbox, InboxError<S::Error>> {
        let status = self.recovery_status(inbox_id)?;
        let members = revoked_members(&status, targets)?;
        let unsigned = UnsignedUpdate {
            inbox_id: status.inbox_id.clone(),
            client_timestamp_ns: next_timestamp(Some(&status)),
            actions: members.iter().cloned().map(WalletAction::Revoke).collect(),
        };
        let (after, published) =
            self.sign_check_publish(&unsigned, Some(&status.state), (1, 1), progress)?;
        Ok(ChangedInbox {
            inbox_id: status.inbox_id,
            members,
            before: status.state,
            after,
            published,
        })
    }

    /// Makes `new_recovery` the recovery address of the inbox (`inbox_id`, or the
    /// account's), signed by the account as the current one: one approval.
    pub fn change_recovery(
        &self,
        inbox_id: Option<&InboxId>,
        new_recovery: Address,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<ChangedInbox, InboxError<S::Error>> {
        let status = self.recovery_status(inbox_id)?;
        if new_recovery == self.account() {
            return Err(InboxError::NothingToDo(format!(
                "{new_recovery} is already the recovery address of inbox {}",
                status.inbox_id
            )));
        }
        let unsigned = UnsignedUpdate {
            inbox_id: status.inbox_id.clone(),
            client_timestamp_ns: next_timestamp(Some(&status)),
            actions: vec![WalletAction::ChangeRecovery(new_recovery)],
        };
        let (after, published) =
            self.sign_check_publish(&unsigned, Some(&status.state), (1, 1), progress)?;
        Ok(ChangedInbox {
            inbox_id: status.inbox_id,
            members: vec![MemberId::Address(new_recovery)],
            before: status.state,
            after,
            published,
        })
    }
}

/// The members `targets` names, each checked to be one of the inbox's.
fn revoked_members<E: std::error::Error + 'static>(
    status: &InboxStatus,
    targets: &RevokeTargets,
) -> Result<Vec<MemberId>, InboxError<E>> {
    let installed: Vec<[u8; 32]> = status.state.installations().iter().map(|i| i.id).collect();
    let missing = |ids: &[[u8; 32]]| -> Result<(), InboxError<E>> {
        let unknown: Vec<String> = ids
            .iter()
            .filter(|id| !installed.contains(id))
            .map(hex::encode)
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(InboxError::NotMembers {
                inbox_id: status.inbox_id.clone(),
                what: format!("installation {}", unknown.join(", ")),
            })
        }
    };
    let members: Vec<MemberId> = match targets {
        RevokeTargets::Installations(ids) => {
            missing(ids)?;
            let mut unique: Vec<[u8; 32]> = Vec::new();
            for id in ids {
                if !unique.contains(id) {
                    unique.push(*id);
                }
            }
            unique.into_iter().map(MemberId::Installation).collect()
        }
        RevokeTargets::AllInstallationsBut(keep) => {
            missing(keep)?;
            installed
                .iter()
                .filter(|id| !keep.contains(id))
                .copied()
                .map(MemberId::Installation)
                .collect()
        }
        RevokeTargets::Address(address) => {
            let member = MemberId::Address(*address);
            if !status.state.has_member(&member) {
                return Err(InboxError::NotMembers {
                    inbox_id: status.inbox_id.clone(),
                    what: format!("member address {address}"),
                });
            }
            vec![member]
        }
    };
    if members.is_empty() {
        return Err(InboxError::NothingToDo(format!(
            "inbox {} has no installation to revoke",
            status.inbox_id
        )));
    }
    Ok(members)
}
