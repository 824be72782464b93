//! `publish_prepared`: publish an identity generated offline (e.g. by `init --out`).

use super::{Progress, Session, SessionError, TopicOutcome};
use crate::flow::{identity_publications, unlock_identity};
use crate::identity::PrivateKeyBundleV1;
use crate::network::PublishOutcome;
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
        let found = self.lookup()?;
        let ours = found.private_store.as_deref() == Some(prepared.private_store.as_slice());
        if !options.force && !ours && found.any() {
            return Err(SessionError::AlreadyExists {
                wallet,
                node: self.client.url().to_owned(),
            });
        }
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
