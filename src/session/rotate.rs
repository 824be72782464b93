//! `rotate_pre_key`: a new current pre-key for the account's identity, every older
//! private pre-key kept, published private store first.

use super::{Progress, Session, SessionError, Stored, TopicOutcome};
use crate::flow::{UnlockedIdentity, identity_publications, rotate_pre_key, unlock_identity};
use crate::signer::Signer;

/// Which path [`Session::rotate_pre_key`] took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    /// A new pre-key was made, and the private store and contact bundles naming it were
    /// published (two signatures).
    Rotated,
    /// The private store already held a pre-key that no published contact named (an
    /// earlier rotation, or the first publish, stopped between publishes): its contact
    /// bundles were published and no other pre-key was made (one signature).
    Completed,
}

impl RotateOutcome {
    /// `rotated` or `completed`: the name scripts read.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rotated => "rotated",
            Self::Completed => "completed",
        }
    }
}

/// The result of [`Session::rotate_pre_key`].
#[derive(Debug)]
pub struct RotatedPreKey {
    /// Which path was taken.
    pub outcome: RotateOutcome,
    /// The keys now published: the identity key and every pre-key, newest first.
    pub identity: UnlockedIdentity,
    /// Each publication, in publish order.
    pub published: Vec<TopicOutcome>,
}

impl<S: Signer> Session<'_, S> {
    /// Rotates the identity's pre-key, as the seed asks ("always only one public PreKey,
    /// the most current"; every private one kept to read history):
    ///
    /// 1. reads the newest private store and contact, and opens the store with the
    ///    wallet's Enable Identity signature (approval 1 of 2);
    /// 2. checks the published contact names the store's identity key and one of its
    ///    pre-keys ([`SessionError::ContactMismatch`] otherwise);
    /// 3. makes a new pre-key, signed by the identity key, the current one, and seals the
    ///    bundle under a fresh Enable Identity signature (approval 2 of 2; see
    ///    [`rotate_pre_key`] for why not the first signature again);
    /// 4. publishes the new private store, then the v1 and v2 contact bundles.
    ///
    /// The store goes first so that no contact ever names a pre-key the newest store
    /// lacks. If a run stops after it, the next run finds the store ahead of the contact
    /// (its current pre-key named by no contact) and completes the rotation by publishing
    /// the contacts only ([`RotateOutcome::Completed`], one approval). The identity key
    /// and its wallet signature never change: correspondents see the same identity.
    pub fn rotate_pre_key(
        &self,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<RotatedPreKey, SessionError<S::Error>> {
        let wallet = self.wallet();
        let Stored {
            private_store: stored,
            contact,
        } = self.read_identity()?;
        // Without any contact the store's keys were never announced: publishing them
        // completes the identity, and rotating is not needed. One approval.
        let total = if contact.is_some() { 2 } else { 1 };
        if contact.is_none() {
            progress(Progress::Completing);
        }
        let identity = unlock_identity(
            &self.signer,
            &stored,
            &mut Self::signatures_of(progress, total),
        )?;
        self.check_contact(contact.as_ref(), &identity.bundle)?;
        let current = *identity.bundle.current_pre_key().public_key().point();
        let (outcome, identity, publications) = match contact {
            Some(contact) if contact.pre_key_public_key == current => {
                let sealed = rotate_pre_key(
                    &self.signer,
                    &identity.bundle,
                    &mut Self::signatures_of(progress, total),
                    (2, total),
                )?;
                let publications = sealed.publications().to_vec();
                let identity = UnlockedIdentity {
                    wallet,
                    bundle: sealed.bundle,
                };
                (RotateOutcome::Rotated, identity, publications)
            }
            contact => {
                if contact.is_some() {
                    progress(Progress::CompletingRotation);
                }
                let [_, contact_v1, contact_v2] =
                    identity_publications(&wallet, &identity.bundle, stored)?;
                (
                    RotateOutcome::Completed,
                    identity,
                    vec![contact_v1, contact_v2],
                )
            }
        };
        let published = self.publish(&identity.bundle, &publications, progress)?;
        Ok(RotatedPreKey {
            outcome,
            identity,
            published,
        })
    }
}
