//! Identity updates as fields: reading the text out of a signed update, and building
//! the updates a wallet signs alone (create, revoke, change the recovery address).

use crate::identity::{Address, WalletSignature};
use crate::proto::identity::associations as pb;

use super::member::parse_lower_address;
use super::text::{SignatureText, TextAction};
use super::{InboxId, MemberId, Rule};

/// The newest time a text can show: libxmtp reads `client_timestamp_ns` as an `i64`, so
/// a later one wraps to a date before 1970 (year 2262 and after).
pub const MAX_CLIENT_TIMESTAMP_NS: u64 = i64::MAX as u64;

/// The text every signature of `update` must be over, with the index of the action at
/// fault when it cannot be built. Only the identifiers are read, never the signatures,
/// so a caller can build an update with empty signatures, take its text, sign it and
/// fill them in.
pub fn update_text(update: &pb::IdentityUpdate) -> Result<String, (Option<usize>, Rule)> {
    Ok(parse_update(update)?.0.to_string())
}

/// The update's text as fields, and the nonce of its CreateInbox if it has one.
pub(crate) fn parse_update(
    update: &pb::IdentityUpdate,
) -> Result<(SignatureText, Option<u64>), (Option<usize>, Rule)> {
    if update.actions.is_empty() {
        return Err((None, Rule::NoAction));
    }
    if update.client_timestamp_ns > MAX_CLIENT_TIMESTAMP_NS {
        return Err((None, Rule::TimestampOutOfRange(update.client_timestamp_ns)));
    }
    let inbox_id = update.inbox_id.parse::<InboxId>().map_err(|_| {
        (
            None,
            Rule::WrongInboxId {
                expected: "64 lowercase hex digits".into(),
                found: update.inbox_id.chars().take(80).collect(),
            },
        )
    })?;
    let mut nonce = None;
    let mut actions = Vec::with_capacity(update.actions.len());
    for (index, action) in update.actions.iter().enumerate() {
        let action = text_action(action, &mut nonce).map_err(|rule| (Some(index), rule))?;
        actions.push(action);
    }
    let text = SignatureText {
        inbox_id,
        time_secs: update.client_timestamp_ns / 1_000_000_000,
        actions,
    };
    Ok((text, nonce))
}

fn text_action(action: &pb::IdentityAction, nonce: &mut Option<u64>) -> Result<TextAction, Rule> {
    use pb::identity_action::Kind;
    match action.kind.as_ref().ok_or(Rule::Missing("action"))? {
        Kind::CreateInbox(create) => {
            let owner = identifier(&create.initial_identifier, create.initial_identifier_kind)?;
            nonce.get_or_insert(create.nonce);
            Ok(TextAction::CreateInbox { owner })
        }
        Kind::Add(add) => Ok(TextAction::Add(MemberId::from_proto(
            add.new_member_identifier.as_ref(),
        )?)),
        Kind::Revoke(revoke) => Ok(TextAction::Revoke(MemberId::from_proto(
            revoke.member_to_revoke.as_ref(),
        )?)),
        Kind::ChangeRecoveryAddress(change) => Ok(TextAction::ChangeRecovery(identifier(
            &change.new_recovery_identifier,
            change.new_recovery_identifier_kind,
        )?)),
    }
}

/// A public identifier (CreateInbox's, a new recovery identifier): old clients leave
/// the kind unspecified and mean Ethereum.
pub(crate) fn identifier(text: &str, kind: i32) -> Result<Address, Rule> {
    match pb::IdentifierKind::try_from(kind) {
        Ok(pb::IdentifierKind::Unspecified | pb::IdentifierKind::Ethereum) => {
            parse_lower_address(text)
        }
        Ok(pb::IdentifierKind::Passkey) => Err(Rule::Unsupported("a passkey identifier")),
        Err(_) => Err(Rule::Missing("known identifier kind")),
    }
}

/// An action a wallet signs alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalletAction {
    /// Create the inbox `owner` derives with `nonce`; `owner` becomes its first member
    /// and its recovery address.
    CreateInbox {
        /// The creating address (the signer).
        owner: Address,
        /// The nonce the inbox id is derived with.
        nonce: u64,
    },
    /// Remove a member; signed by the recovery address.
    Revoke(MemberId),
    /// Make another address the recovery address; signed by the current one.
    ChangeRecovery(Address),
}

/// An identity update before its wallet signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedUpdate {
    /// The inbox it changes.
    pub inbox_id: InboxId,
    /// The client time, in nanoseconds since the Unix epoch.
    pub client_timestamp_ns: u64,
    /// The actions, in order.
    pub actions: Vec<WalletAction>,
}

impl UnsignedUpdate {
    /// The text the wallet must personal_sign.
    pub fn signature_text(&self) -> String {
        SignatureText {
            inbox_id: self.inbox_id.clone(),
            time_secs: self.client_timestamp_ns / 1_000_000_000,
            actions: self
                .actions
                .iter()
                .map(|action| match action {
                    WalletAction::CreateInbox { owner, .. } => {
                        TextAction::CreateInbox { owner: *owner }
                    }
                    WalletAction::Revoke(member) => TextAction::Revoke(member.clone()),
                    WalletAction::ChangeRecovery(address) => TextAction::ChangeRecovery(*address),
                })
                .collect(),
        }
        .to_string()
    }

    /// The update with `signature` (over [`Self::signature_text`]) in every action:
    /// one wallet signature serves all actions of an update.
    pub fn sign(&self, signature: &WalletSignature) -> pb::IdentityUpdate {
        let signature = || {
            Some(pb::Signature {
                signature: Some(pb::signature::Signature::Erc191(
                    pb::RecoverableEcdsaSignature {
                        bytes: signature.as_bytes().to_vec(),
                    },
                )),
            })
        };
        use pb::identity_action::Kind;
        let actions = self
            .actions
            .iter()
            .map(|action| {
                let kind = match action {
                    WalletAction::CreateInbox { owner, nonce } => {
                        Kind::CreateInbox(pb::CreateInbox {
                            initial_identifier: owner.to_lower_hex(),
                            nonce: *nonce,
                            initial_identifier_signature: signature(),
                            initial_identifier_kind: pb::IdentifierKind::Ethereum as i32,
                            relying_party: None,
                        })
                    }
                    WalletAction::Revoke(member) => Kind::Revoke(pb::RevokeAssociation {
                        member_to_revoke: Some(member.to_proto()),
                        recovery_identifier_signature: signature(),
                    }),
                    WalletAction::ChangeRecovery(address) => {
                        Kind::ChangeRecoveryAddress(pb::ChangeRecoveryAddress {
                            new_recovery_identifier: address.to_lower_hex(),
                            existing_recovery_identifier_signature: signature(),
                            new_recovery_identifier_kind: pb::IdentifierKind::Ethereum as i32,
                            relying_party: None,
                        })
                    }
                };
                pb::IdentityAction { kind: Some(kind) }
            })
            .collect();
        pb::IdentityUpdate {
            actions,
            client_timestamp_ns: self.client_timestamp_ns,
            inbox_id: self.inbox_id.to_string(),
        }
    }
}
