//! `publish_prepared`: publish an identity generated offline (e.g. by `init --out`).

use super::lookup::lookup;
use super::{Progress, Session, SessionError, TopicOutcome};
use crate::flow::{FlowError, identity_publications, unlock_identity};
use crate::identity::{Address, ContactBundle, PrivateKeyBundleV1, VerifiedContact};
use crate::keystore::EncryptedBundle;
use crate::network::{BlockingClient, PublishOutcome};
use crate::signer::Signer;

/// An identity generated without the network: its three publications' bytes.
#[derive(Clone, Debug)]
pub struct PreparedIdentity {
    /// The encoded `EncryptedPrivateKeyBundle`.
    pub private_store: Vec<u8>,
    /// `ContactBundle{v1}` bytes.
    pub contact_v1: Vec<u8>,
    /// `ContactBundle{v2}` bytes.
    pub contact_v2: Vec<u8>,
}

/// How [`Session::publish_prepared`] treats another identity on the node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublishOptions {
    /// Replace another identity the node holds for the account.
    pub force: bool,
}

/// What [`Session::publish_prepared`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishedOutcome {
    /// At least one publication was sent.
    Published,
    /// The node already had every publication as the newest on its topic.
    AlreadyPublished,
}

/// The result of [`Session::publish_prepared`].
#[derive(Debug)]
pub struct PublishedPrepared {
    /// What was done.
    pub outcome: PublishedOutcome,
    /// The identity's private keys.
    pub bundle: PrivateKeyBundleV1,
    /// Each publication, in publish order.
    pub published: Vec<TopicOutcome>,
}

impl PreparedIdentity {
    /// What can be checked without the wallet: both contact bundles decode and verify,
    /// were signed by `wallet`, and name the same identity key and pre-key; the private
    /// store decodes. Returns the contact's keys. (That the private store holds exactly
    /// those keys needs the wallet: [`Session::publish_prepared`] checks it.)
    pub fn verify_offline<E: std::error::Error + 'static>(
        &self,
        wallet: &Address,
    ) -> Result<VerifiedContact, SessionError<E>> {
        EncryptedBundle::decode(&self.private_store).map_err(FlowError::Keystore)?;
        let v1 = ContactBundle::decode(&self.contact_v1)?.verify()?;
        let v2 = ContactBundle::decode(&self.contact_v2)?.verify()?;
        for contact in [&v1, &v2] {
            if contact.wallet_address != *wallet {
                return Err(SessionError::PreparedWallet {
                    expected: *wallet,
                    found: contact.wallet_address,
                });
            }
        }
        if v1.identity_public_key != v2.identity_public_key
            || v1.pre_key_public_key != v2.pre_key_public_key
        {
            return Err(SessionError::PreparedMismatch);
        }
        Ok(v2)
    }
}

/// Refuses, before any wallet is asked, to publish `prepared` over another identity the
/// node holds for `wallet` ([`SessionError::AlreadyExists`]) unless
/// [`PublishOptions::force`]; the same private store already there is not another
/// identity (a re-run completes it).
pub fn check_prepared_fits<E: std::error::Error + 'static>(
    client: &BlockingClient,
    wallet: &Address,
    prepared: &PreparedIdentity,
    options: PublishOptions,
) -> Result<(), SessionError<E>> {
    let found = lookup(client, wallet)?;
    let ours = found.private_store.as_deref() == Some(prepared.private_store.as_slice());
    if !options.force && !ours && found.any() {
        return Err(SessionError::AlreadyExists {
            wallet: *wallet,
            node: client.url().to_owned(),
        });
    }
    Ok(())
}

impl<S: Signer> Session<'_, S> {
    /// Publishes `prepared` after one verified signature that opens its private store,
    /// so that the contact bundles are checked to be exactly those of its keys
    /// ([`SessionError::PreparedMismatch`] otherwise) and the publish is authenticated
    /// with a fresh token. Another identity on the node is
    /// [`SessionError::AlreadyExists`] unless [`PublishOptions::force`]; this same one is
    /// resumed where an earlier publish stopped.
    pub fn publish_prepared(
        &self,
        prepared: &PreparedIdentity,
        options: PublishOptions,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<PublishedPrepared, SessionError<S::Error>> {
        let wallet = self.wallet();
        let unlocked = unlock_identity(
            &self.signer,
            &prepared.private_store,
            &mut Self::signatures(progress),
        )?;
        let publications =
            identity_publications(&wallet, &unlocked.bundle, prepared.private_store.clone())?;
        if publications[1].message != prepared.contact_v1
            || publications[2].message != prepared.contact_v2
        {
            return Err(SessionError::PreparedMismatch);
        }
        check_prepared_fits(self.client, &wallet, prepared, options)?;
        let published = self.publish(&unlocked.bundle, &publications, progress)?;
        let outcome = if published
            .iter()
            .all(|p| p.outcome == PublishOutcome::AlreadyNewest)
        {
            PublishedOutcome::AlreadyPublished
        } else {
            PublishedOutcome::Published
        };
        Ok(PublishedPrepared {
            outcome,
            bundle: unlocked.bundle,
            published,
        })
    }
}
