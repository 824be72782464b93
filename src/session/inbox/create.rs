//! `inbox create`: the account creates its inbox, with its wallet (one approval) or,
//! once on the whole network, with its XMTP v2 identity key.

use crate::flow::{FlowError, SignaturePrompt, unlock_identity};
use crate::identity::{Address, PrivateKeyBundleV1, WalletSignature, eip191};
use crate::network::{BlockingClient, UpdatePublished};
use crate::proto::identity::associations as pb;
use crate::signer::Signer;
use crate::v3::{AssociationState, InboxId, UnsignedUpdate, WalletAction};

use super::super::{Progress, Session, SessionError};
use super::{InboxError, InboxSession, inbox_of, next_timestamp};

/// An inbox this session created.
#[derive(Debug)]
pub struct CreatedInbox {
    /// The account, its owner and recovery address.
    pub address: Address,
    /// The nonce it was derived with.
    pub nonce: u64,
    /// The inbox.
    pub inbox_id: InboxId,
    /// Its state after the create.
    pub state: AssociationState,
    /// What the node said.
    pub published: UpdatePublished,
}

impl<S: Signer> InboxSession<S> {
    /// Creates the account's inbox with `nonce`: refused when the account already belongs
    /// to an inbox or that inbox id already has a log ([`InboxError::Exists`]); one
    /// approval.
    pub fn create(
        &self,
        nonce: u64,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<CreatedInbox, InboxError<S::Error>> {
        let address = self.account();
        let inbox_id = self.check_no_inbox(nonce)?;
        let unsigned = UnsignedUpdate {
            inbox_id: inbox_id.clone(),
            client_timestamp_ns: next_timestamp(None),
            actions: vec![WalletAction::CreateInbox {
                owner: address,
                nonce,
            }],
        };
        let (state, published) = self.sign_check_publish(&unsigned, None, (1, 1), progress)?;
        Ok(CreatedInbox {
            address,
            nonce,
            inbox_id,
            state,
            published,
        })
    }

    /// The inbox `nonce` would create, after checking that neither the account belongs to
    /// an inbox nor that one has a log.
    fn check_no_inbox(&self, nonce: u64) -> Result<InboxId, InboxError<S::Error>> {
        let address = self.account();
        if let Some(inbox_id) = inbox_of(&self.client, &address)? {
            return Err(InboxError::Exists {
                address,
                inbox_id,
                node: self.node(),
            });
        }
        let inbox_id = InboxId::derive(&address, nonce);
        // The account may have left this inbox (revoked from it): its id stays taken.
        if !self
            .client
            .get_identity_updates(inbox_id.as_str(), 0)?
            .is_empty()
        {
            return Err(InboxError::Exists {
                address,
                inbox_id,
                node: self.node(),
            });
        }
        Ok(inbox_id)
    }

    /// Creates the account's nonce-0 inbox with its XMTP v2 identity key instead of a new
    /// wallet signature (libxmtp's `LegacyDelegatedSignature`): the v2 keys are fetched
    /// from `v2_node` and decrypted with one approval (Enable Identity), then the identity
    /// key signs the update. The network remembers the wallet's Create Identity signature
    /// inside it, so this works once on the whole network; refused when the nonce-0 inbox
    /// or any inbox of the account exists.
    pub fn create_from_v2(
        &self,
        v2_node: &BlockingClient,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<CreatedInbox, InboxError<S::Error>> {
        let address = self.account();
        let inbox_id = self.check_no_inbox(0)?;
        let bundle = self.unlock_v2(v2_node, progress)?;
        let unsigned = UnsignedUpdate {
            inbox_id: inbox_id.clone(),
            client_timestamp_ns: next_timestamp(None),
            actions: vec![WalletAction::CreateInbox {
                owner: address,
                nonce: 0,
            }],
        };
        let text = unsigned.signature_text();
        let delegated = legacy_signature(&bundle, &text)?;
        let update = unsigned.with_signature(delegated);
        let state = AssociationState::create(&update)
            .map_err(|e| InboxError::WouldBeRefused(Box::new(e)))?;
        progress(Progress::Publishing {
            node: self.client.url(),
        });
        let published = self.client.publish_identity_update(update)?;
        Ok(CreatedInbox {
            address,
            nonce: 0,
            inbox_id,
            state,
            published,
        })
    }

    /// The account's v2 private keys, from the v2 node, with one approval.
    fn unlock_v2(
        &self,
        v2_node: &BlockingClient,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<PrivateKeyBundleV1, InboxError<S::Error>> {
        let session = Session::new(&self.signer, v2_node);
        let stored = session.read_identity().map_err(|e| match e {
            SessionError::Network(e) => InboxError::Network(e),
            // Reading the store can only fail on the network or find nothing.
            _ => InboxError::NoV2Identity {
                address: self.account(),
                node: v2_node.url().to_owned(),
            },
        })?;
        let mut prompt = |prompt: SignaturePrompt<'_>| progress(Progress::Signature(prompt));
        let unlocked = unlock_identity(&self.signer, &stored.private_store, &mut prompt)?;
        Ok(unlocked.bundle)
    }
}

/// The v2 identity key's personal_sign of `text`, wrapped with the key and its wallet
/// signature as a `delegated_erc_191` signature.
fn legacy_signature<E: std::error::Error + 'static>(
    bundle: &PrivateKeyBundleV1,
    text: &str,
) -> Result<pb::Signature, InboxError<E>> {
    let digest = eip191::personal_message_digest(text.as_bytes());
    let by_key = bundle
        .identity_key()
        .sign_digest(&digest)
        .map_err(|e| InboxError::Flow(FlowError::Identity(e)))?;
    let by_key = WalletSignature::from_compact(&by_key);
    let signed = bundle
        .public_bundle()
        .to_signed_bundle()
        .map_err(|e| InboxError::Flow(FlowError::Identity(e)))?;
    Ok(pb::Signature {
        signature: Some(pb::signature::Signature::DelegatedErc191(
            pb::LegacyDelegatedSignature {
                delegated_key: Some(signed.identity_key.to_proto()),
                signature: Some(pb::RecoverableEcdsaSignature {
                    bytes: by_key.as_bytes().to_vec(),
                }),
            },
        )),
    })
}
