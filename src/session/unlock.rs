//! `unlock`: retrieve and decrypt the identity from the node.

use super::{Progress, Session, SessionError, TopicOutcome};
use crate::flow::{UnlockedIdentity, identity_publications, unlock_identity};
use crate::identity::topic;
use crate::signer::Signer;

/// The result of [`Session::unlock`].
#[derive(Debug)]
pub struct Unlocked {
    /// The keys, checked against the signer and the bundle.
    pub identity: UnlockedIdentity,
    /// The contact bundles, republished where they were missing or not the newest.
    pub published: Vec<TopicOutcome>,
}

impl<S: Signer> Session<'_, S> {
    /// Fetches the newest private store, decrypts it with one verified signature, checks
    /// the keys belong to this account, and then, as xmtp-js does at start-up, makes sure
    /// this identity's contact bundles are the newest on the contact topic (publishing
    /// only what is missing).
    pub fn unlock(
        &self,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Unlocked, SessionError<S::Error>> {
        let wallet = self.wallet();
        let stored = self
            .client
            .newest(&topic::private_store_topic(&wallet))?
            .ok_or_else(|| SessionError::NoIdentity {
                wallet,
                node: self.client.url().to_owned(),
            })?;
        let identity = unlock_identity(
            &self.signer,
            &stored.message,
            &mut Self::signatures(progress),
        )?;
        let [_, contact_v1, contact_v2] =
            identity_publications(&wallet, &identity.bundle, stored.message)?;
        let published = self.publish(&identity.bundle, &[contact_v1, contact_v2], progress)?;
        Ok(Unlocked {
            identity,
            published,
        })
    }
}
