//! `connect`: the seed's first move. Look the account up on the node, then generate an
//! identity if there is none, retrieve it if there is one, and complete it if an earlier
//! run stopped between publishes. It never generates over anything it cannot account for.

use super::lookup::read_account;
use super::{Progress, Session, SessionError, TopicOutcome};
use crate::flow::{UnlockedIdentity, generate_identity, identity_publications, unlock_identity};
use crate::signer::Signer;

/// Which path [`Session::connect`] took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectOutcome {
    /// The node held nothing for the account: a new identity was created and published
    /// (two signatures).
    Created,
    /// The node held a valid identity: its keys were retrieved and decrypted (one
    /// signature), and its contact bundles republished where missing.
    Retrieved,
    /// The node held a private store without any contact bundle (an earlier run stopped
    /// between publishes): the same keys were retrieved and their contact bundles
    /// published (one signature).
    Completed,
}

impl ConnectOutcome {
    /// `created`, `retrieved` or `completed`: the name scripts read.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Retrieved => "retrieved",
            Self::Completed => "completed",
        }
    }
}

/// The result of [`Session::connect`].
#[derive(Debug)]
pub struct Connected {
    /// Which path was taken.
    pub outcome: ConnectOutcome,
    /// The keys, checked against the signer (and, when one was published, the contact).
    pub identity: UnlockedIdentity,
    /// Each publication, in publish order.
    pub published: Vec<TopicOutcome>,
}

impl<S: Signer> Session<'_, S> {
    /// Generates or retrieves the account's identity, whichever the node calls for, as
    /// the reference SDK's `Client.create` does:
    ///
    /// | the node holds | then |
    /// | --- | --- |
    /// | nothing | generate and publish ([`ConnectOutcome::Created`]) |
    /// | a private store and a valid contact of its keys | retrieve ([`ConnectOutcome::Retrieved`]) |
    /// | a private store, no contact at all | retrieve and publish the contacts ([`ConnectOutcome::Completed`]) |
    /// | contacts, none of them a valid bundle of this account | [`SessionError::InvalidContact`] |
    /// | a valid contact, no private store | [`SessionError::ContactWithoutStore`] |
    /// | a valid contact naming a key the private store does not hold | [`SessionError::ContactMismatch`] |
    ///
    /// The last three are never resolved by generating over them: replacing an identity
    /// is `init` with `force`, a decision for a person. What the node holds is read
    /// before the device is asked for anything; nothing is published unless every
    /// signature verified.
    pub fn connect(
        &self,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Connected, SessionError<S::Error>> {
        let wallet = self.wallet();
        let node = || self.client.url().to_owned();
        let (private_store, found) = read_account(self.client, &wallet)?;
        let contact = found.contact.map(|(_, verified)| verified);
        if contact.is_none()
            && let Some(first) = found.skipped.first()
        {
            return Err(SessionError::InvalidContact {
                wallet,
                node: node(),
                reason: first.to_string(),
            });
        }
        let (outcome, identity, publications) = match (private_store, contact) {
            (None, None) => {
                let created = generate_identity(&self.signer, &mut Self::signatures(progress))?;
                let publications = created.publications().to_vec();
                let identity = UnlockedIdentity {
                    wallet,
                    bundle: created.bundle,
                };
                (ConnectOutcome::Created, identity, publications)
            }
            (None, Some(_)) => {
                return Err(SessionError::ContactWithoutStore {
                    wallet,
                    node: node(),
                });
            }
            (Some(stored), contact) => {
                let outcome = match contact {
                    Some(_) => ConnectOutcome::Retrieved,
                    None => {
                        progress(Progress::Completing);
                        ConnectOutcome::Completed
                    }
                };
                let identity =
                    unlock_identity(&self.signer, &stored, &mut Self::signatures(progress))?;
                self.check_contact(contact.as_ref(), &identity.bundle)?;
                let [_, contact_v1, contact_v2] =
                    identity_publications(&wallet, &identity.bundle, stored)?;
                (outcome, identity, vec![contact_v1, contact_v2])
            }
        };
        let published = self.publish(&identity.bundle, &publications, progress)?;
        Ok(Connected {
            outcome,
            identity,
            published,
        })
    }
}
