//! `init`: create an identity and publish it, or finish one an earlier run left half
//! published.

use super::{Progress, Session, SessionError, TopicOutcome};
use crate::flow::{generate_identity, identity_publications, unlock_identity};
use crate::identity::{Address, PrivateKeyBundleV1};
use crate::signer::Signer;

/// How [`Session::init`] treats an identity the node already holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InitOptions {
    /// Replace an existing identity with a new one (others then see the new keys).
    /// Without it, an existing identity is an error and a half-published one is completed.
    pub force: bool,
}

/// What [`Session::init`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitOutcome {
    /// A new identity was created and published.
    Created,
    /// The node held a private store without contact bundles: the same keys were
    /// unlocked and their contact bundles published.
    Completed,
    /// `force`: a new identity was created and published over an existing one.
    Replaced,
}

/// The result of [`Session::init`].
#[derive(Debug)]
pub struct Initialized {
    /// What was done.
    pub outcome: InitOutcome,
    /// The account.
    pub wallet: Address,
    /// The identity's private keys.
    pub bundle: PrivateKeyBundleV1,
    /// Each publication, in publish order.
    pub published: Vec<TopicOutcome>,
}

impl<S: Signer> Session<'_, S> {
    /// Creates the account's identity on the node (two signatures), after checking what
    /// the node holds and before the device is asked for anything:
    ///
    /// - nothing: a new identity ([`InitOutcome::Created`]);
    /// - a private store without a valid contact bundle (a run that stopped between
    ///   publishes): it is unlocked (one signature) and completed with the same keys
    ///   ([`InitOutcome::Completed`]);
    /// - a valid contact bundle: [`SessionError::AlreadyExists`], unless
    ///   [`InitOptions::force`], which replaces it ([`InitOutcome::Replaced`]).
    ///
    /// Nothing is published unless every signature verified; the private store goes
    /// first, then the contact bundles.
    pub fn init(
        &self,
        options: InitOptions,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Initialized, SessionError<S::Error>> {
        let wallet = self.wallet();
        let found = self.lookup()?;
        let (outcome, bundle, publications) =
            match (found.private_store, found.has_valid_contact, options.force) {
                (Some(stored), false, false) => {
                    progress(Progress::Completing);
                    let unlocked =
                        unlock_identity(&self.signer, &stored, &mut Self::signatures(progress))?;
                    let publications = identity_publications(&wallet, &unlocked.bundle, stored)?;
                    (InitOutcome::Completed, unlocked.bundle, publications)
                }
                (_, true, false) => {
                    return Err(SessionError::AlreadyExists {
                        wallet,
                        node: self.client.url().to_owned(),
                    });
                }
                (stored, has_contact, _) => {
                    let outcome = if stored.is_some() || has_contact {
                        progress(Progress::Replacing {
                            wallet,
                            node: self.client.url(),
                        });
                        InitOutcome::Replaced
                    } else {
                        InitOutcome::Created
                    };
                    let identity =
                        generate_identity(&self.signer, &mut Self::signatures(progress))?;
                    let publications = identity.publications();
                    (outcome, identity.bundle, publications)
                }
            };
        let published = self.publish(&bundle, &publications, progress)?;
        Ok(Initialized {
            outcome,
            wallet,
            bundle,
            published,
        })
    }
}
