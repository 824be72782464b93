//! Building signed XMTP v3 identity updates for tests: wallets are in-memory
//! [`LocalKeySigner`]s (EIP-191), installations Ed25519 keys signing Ed25519ph with
//! libxmtp's context, so that the updates are what libxmtp itself would publish.

use ed25519_dalek::{Sha512, SigningKey};
use sha2::Digest;
use xmtp_ledger::identity::Address;
use xmtp_ledger::proto::identity::associations as pb;
use xmtp_ledger::signer::{LocalKeySigner, Signer};
use xmtp_ledger::v3::{INSTALLATION_KEY_CONTEXT, InboxId, MemberId, update_text};

/// A wallet from a one-byte secret (1..=255).
pub fn wallet(secret_byte: u8) -> LocalKeySigner {
    LocalKeySigner::from_private_key(&[secret_byte; 32]).expect("valid scalar")
}

/// An installation key from a one-byte seed.
pub fn installation(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The installation's member id.
pub fn installation_id(key: &SigningKey) -> MemberId {
    MemberId::Installation(key.verifying_key().to_bytes())
}

/// An address member id.
pub fn address_id(wallet: &LocalKeySigner) -> MemberId {
    MemberId::Address(wallet.address())
}

/// The inbox `wallet` creates with `nonce`.
pub fn inbox_of(wallet: &LocalKeySigner, nonce: u64) -> InboxId {
    InboxId::derive(&wallet.address(), nonce)
}

/// A placeholder signature, replaced once the text is known.
fn unsigned() -> Option<pb::Signature> {
    None
}

fn erc191(bytes: Vec<u8>) -> Option<pb::Signature> {
    Some(pb::Signature {
        signature: Some(pb::signature::Signature::Erc191(
            pb::RecoverableEcdsaSignature { bytes },
        )),
    })
}

/// What signs a slot of an action.
pub enum By<'a> {
    /// A wallet's personal_sign.
    Wallet(&'a LocalKeySigner),
    /// An installation key's Ed25519ph.
    Installation(&'a SigningKey),
    /// Fixed bytes (a replayed or forged signature).
    Raw(pb::Signature),
}

impl By<'_> {
    fn sign(&self, text: &str) -> Option<pb::Signature> {
        match self {
            By::Wallet(wallet) => erc191(
                wallet
                    .personal_sign(text)
                    .expect("sign")
                    .as_bytes()
                    .to_vec(),
            ),
            By::Installation(key) => {
                let mut prehashed = Sha512::new();
                prehashed.update(text.as_bytes());
                let signature = key
                    .sign_prehashed(prehashed, Some(INSTALLATION_KEY_CONTEXT))
                    .expect("sign");
                Some(pb::Signature {
                    signature: Some(pb::signature::Signature::InstallationKey(
                        pb::RecoverableEd25519Signature {
                            bytes: signature.to_bytes().to_vec(),
                            public_key: key.verifying_key().to_bytes().to_vec(),
                        },
                    )),
                })
            }
            By::Raw(signature) => Some(signature.clone()),
        }
    }
}

/// One action and who signs each of its slots.
pub enum Act<'a> {
    /// CreateInbox by `owner` with `nonce`.
    Create {
        owner: &'a LocalKeySigner,
        nonce: u64,
        by: By<'a>,
    },
    /// AddAssociation of `member`, signed by an existing member and the new one.
    Add {
        member: MemberId,
        existing: By<'a>,
        new: By<'a>,
    },
    /// RevokeAssociation of `member`, signed as the recovery address.
    Revoke { member: MemberId, by: By<'a> },
    /// ChangeRecoveryAddress to `to`.
    ChangeRecovery { to: Address, by: By<'a> },
}

/// An update of `inbox` at `time_ns` whose every slot is signed over its text.
pub fn update(inbox: &InboxId, time_ns: u64, acts: Vec<Act<'_>>) -> pb::IdentityUpdate {
    use pb::identity_action::Kind;
    let shape = |acts: &[Act<'_>]| pb::IdentityUpdate {
        inbox_id: inbox.to_string(),
        client_timestamp_ns: time_ns,
        actions: acts
            .iter()
            .map(|act| pb::IdentityAction {
                kind: Some(match act {
                    Act::Create { owner, nonce, .. } => Kind::CreateInbox(pb::CreateInbox {
                        initial_identifier: owner.address().to_lower_hex(),
                        nonce: *nonce,
                        initial_identifier_signature: unsigned(),
                        initial_identifier_kind: pb::IdentifierKind::Ethereum as i32,
                        relying_party: None,
                    }),
                    Act::Add { member, .. } => Kind::Add(pb::AddAssociation {
                        new_member_identifier: Some(member.to_proto()),
                        existing_member_signature: unsigned(),
                        new_member_signature: unsigned(),
                        relying_party: None,
                    }),
                    Act::Revoke { member, .. } => Kind::Revoke(pb::RevokeAssociation {
                        member_to_revoke: Some(member.to_proto()),
                        recovery_identifier_signature: unsigned(),
                    }),
                    Act::ChangeRecovery { to, .. } => {
                        Kind::ChangeRecoveryAddress(pb::ChangeRecoveryAddress {
                            new_recovery_identifier: to.to_lower_hex(),
                            existing_recovery_identifier_signature: unsigned(),
                            new_recovery_identifier_kind: pb::IdentifierKind::Ethereum as i32,
                            relying_party: None,
                        })
                    }
                }),
            })
            .collect(),
    };
    let mut update = shape(&acts);
    let text = update_text(&update).expect("text of a well-formed update");
    for (action, act) in update.actions.iter_mut().zip(&acts) {
        match (action.kind.as_mut().expect("kind"), act) {
            (Kind::CreateInbox(create), Act::Create { by, .. }) => {
                create.initial_identifier_signature = by.sign(&text)
            }
            (Kind::Add(add), Act::Add { existing, new, .. }) => {
                add.existing_member_signature = existing.sign(&text);
                add.new_member_signature = new.sign(&text);
            }
            (Kind::Revoke(revoke), Act::Revoke { by, .. }) => {
                revoke.recovery_identifier_signature = by.sign(&text)
            }
            (Kind::ChangeRecoveryAddress(change), Act::ChangeRecovery { by, .. }) => {
                change.existing_recovery_identifier_signature = by.sign(&text)
            }
            _ => unreachable!("shaped from the same acts"),
        }
    }
    update
}

/// Client.create's update: the wallet creates its inbox and grants an installation.
pub fn create_with_installation(
    owner: &LocalKeySigner,
    nonce: u64,
    key: &SigningKey,
    time_ns: u64,
) -> pb::IdentityUpdate {
    update(
        &inbox_of(owner, nonce),
        time_ns,
        vec![
            Act::Create {
                owner,
                nonce,
                by: By::Wallet(owner),
            },
            Act::Add {
                member: installation_id(key),
                existing: By::Wallet(owner),
                new: By::Installation(key),
            },
        ],
    )
}

/// The update `inbox create` publishes: the wallet creates its inbox, alone.
pub fn create_only(owner: &LocalKeySigner, nonce: u64, time_ns: u64) -> pb::IdentityUpdate {
    update(
        &inbox_of(owner, nonce),
        time_ns,
        vec![Act::Create {
            owner,
            nonce,
            by: By::Wallet(owner),
        }],
    )
}
