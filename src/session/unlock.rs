//! `unlock`: retrieve and decrypt the identity from the node.

use super::{Progress, Session, SessionError, Stored, TopicOutcome};
use crate::flow::{UnlockedIdentity, identity_publications, unlock_identity};
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
    /// the keys belong to this account and hold every key the published contact names
    /// ([`SessionError::ContactMismatch`] otherwise: a contact naming a pre-key the store
    /// lacks announces keys nobody can read with), and then, as xmtp-js does at start-up, makes sure
    /// this identity's contact bundles are the newest on the contact topic (publishing
    /// only what is missing).
    pub fn unlock(
        &self,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Unlocked, SessionError<S::Error>> {
        let wallet = self.wallet();
        let Stored {
            private_store: stored,
            contact,
        } = self.read_identity()?;
        let identity = unlock_identity(&self.signer, &stored, &mut Self::signatures(progress))?;
        self.check_contact(contact.as_ref(), &identity.bundle)?;
        let [_, contact_v1, contact_v2] = identity_publications(&wallet, &identity.bundle, stored)?;
        let published = self.publish(&identity.bundle, &[contact_v1, contact_v2], progress)?;
        Ok(Unlocked {
            identity,
            published,
        })
    }
}
