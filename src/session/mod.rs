//! The networked flows: an identity's whole life against a node, over a [`Signer`] and a
//! [`BlockingClient`]. This is where the rules live that decide what to publish: refuse
//! to replace an identity unless asked, complete a half-published one with the same
//! keys, republish missing contact bundles on unlock (as xmtp-js does at start-up), and
//! only publish prepared files whose contacts are exactly the keys of their private store.
//!
//! Everything here blocks: the wallet waits on a person, and the node is reached
//! through the blocking facade. What the person must be told (each signature, and a
//! decision such as completing or replacing an identity) arrives as [`Progress`] before
//! it happens.

mod connect;
mod history;
pub mod inbox;
mod init;
mod lookup;
mod publish;
mod rotate;
mod unlock;

pub use connect::{ConnectOutcome, Connected};
pub use history::{IdentityHistory, MAX_HISTORY_ENVELOPES, PublishedIdentity, identity_history};
pub use init::{InitOptions, InitOutcome, Initialized};
pub use lookup::{
    Existing, FoundIdentity, MAX_CONTACT_ENVELOPES, Skipped, find_identity, lookup, read_account,
};
pub use publish::{
    PreparedIdentity, PublishOptions, PublishedOutcome, PublishedPrepared, check_prepared_fits,
};
pub use rotate::{RotateOutcome, RotatedPreKey};
pub use unlock::Unlocked;

use sha2::Digest;

use crate::flow::{FlowError, SignaturePrompt};
use crate::identity::{Address, IdentityError, PrivateKeyBundleV1, VerifiedContact};
use crate::network::{BlockingClient, NetworkError, PublishOutcome, auth_token_now};
use crate::signer::Signer;
use crate::wire::Publication;

/// What a session is about to do, announced before it happens.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// The wallet is about to be asked for this signature.
    Signature(SignaturePrompt<'a>),
    /// The node holds a private store without contact bundles (an earlier run stopped
    /// between publishes): it will be completed with the same keys.
    Completing,
    /// The node's private store already holds a newer pre-key than the published contact
    /// names (an earlier rotation stopped between publishes): its contact bundles will be
    /// published, and no other pre-key is made.
    CompletingRotation,
    /// `force` was given and the node already holds an identity for the wallet: it will
    /// be replaced, and others will see the new keys.
    Replacing {
        /// The account.
        wallet: Address,
        /// The node, as `scheme://host:port`.
        node: &'a str,
    },
    /// Every signature is in and verified; publishing starts.
    Publishing {
        /// The node, as `scheme://host:port`.
        node: &'a str,
    },
}

/// What went wrong in a session, generic over the signer's own error.
#[derive(Debug, thiserror::Error)]
pub enum SessionError<E: std::error::Error + 'static> {
    /// The key flow failed: the wallet refused or failed, a signature did not verify,
    /// or the keys did not check out.
    #[error(transparent)]
    Flow(#[from] FlowError<E>),
    /// The node failed or refused.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The node already holds an identity for the wallet and replacing it was not asked for.
    #[error("{wallet} already has an XMTP identity on {node}")]
    AlreadyExists {
        /// The wallet.
        wallet: Address,
        /// The node, as `scheme://host:port`.
        node: String,
    },
    /// The node holds no private store for the wallet.
    #[error("no XMTP identity for {wallet} on {node}")]
    NoIdentity {
        /// The wallet.
        wallet: Address,
        /// The node, as `scheme://host:port`.
        node: String,
    },
    /// The account's contact topic holds bundles, but none is a valid bundle of this
    /// account: the published identity cannot be trusted, and generating a new one over
    /// it is a person's decision.
    #[error("the XMTP contact published for {wallet} on {node} does not verify ({reason})")]
    InvalidContact {
        /// The wallet.
        wallet: Address,
        /// The node, as `scheme://host:port`.
        node: String,
        /// What was wrong with the newest bundle.
        reason: String,
    },
    /// A valid contact is published but the node holds no private store: the identity's
    /// keys cannot be retrieved from this node.
    #[error(
        "{wallet} has an XMTP contact on {node} but no private store to retrieve its keys from"
    )]
    ContactWithoutStore {
        /// The wallet.
        wallet: Address,
        /// The node, as `scheme://host:port`.
        node: String,
    },
    /// The published contact names a key the private store does not hold.
    #[error(
        "the XMTP contact published for {wallet} on {node} names {key} this private store does not hold"
    )]
    ContactMismatch {
        /// The wallet.
        wallet: Address,
        /// The node, as `scheme://host:port`.
        node: String,
        /// Which key.
        key: ContactKey,
    },
    /// The prepared contact bundles were signed by another wallet than the one they are
    /// published for.
    #[error("the prepared identity belongs to {found}, not to {expected}")]
    PreparedWallet {
        /// The wallet it is published for.
        expected: Address,
        /// The wallet that signed its contact bundles.
        found: Address,
    },
    /// Prepared contact bundles are not the bundles of the keys in their private store:
    /// publishing them would announce keys the wallet cannot use.
    #[error("the prepared contact bundles do not match the keys of the prepared private store")]
    PreparedMismatch,
}

impl<E: std::error::Error + 'static> From<IdentityError> for SessionError<E> {
    fn from(error: IdentityError) -> Self {
        Self::Flow(FlowError::Identity(error))
    }
}

/// One of the two keys a contact bundle names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactKey {
    /// The identity key.
    IdentityKey,
    /// The pre-key.
    PreKey,
}

impl std::fmt::Display for ContactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::IdentityKey => "an identity key",
            Self::PreKey => "a pre-key",
        })
    }
}

/// The key `contact` names that `bundle` does not hold, if any: its identity key must be
/// the bundle's, and its pre-key any of the bundle's (an older one while a rotation is
/// half published).
fn unheld_contact_key(
    contact: &VerifiedContact,
    bundle: &PrivateKeyBundleV1,
) -> Option<ContactKey> {
    if bundle.identity_key().public_key().point() != &contact.identity_public_key {
        Some(ContactKey::IdentityKey)
    } else if !bundle.holds_pre_key(&contact.pre_key_public_key) {
        Some(ContactKey::PreKey)
    } else {
        None
    }
}

/// An existing identity as the node holds it.
struct Stored {
    /// The newest private store's message.
    private_store: Vec<u8>,
    /// The newest valid contact, if any.
    contact: Option<VerifiedContact>,
}

/// What happened to one publication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicOutcome {
    /// The content topic.
    pub topic: String,
    /// Sent, or already the newest there.
    pub outcome: PublishOutcome,
    /// SHA-256 of the envelope's message bytes (for an audit record of what was sent).
    pub message_sha256: [u8; 32],
}

/// One wallet's account on one node.
///
/// The wallet is the signer's address, read when the signer was opened; every signature
/// the session takes is verified against it over exactly the text sent.
#[derive(Debug)]
pub struct Session<'c, S> {
    signer: S,
    client: &'c BlockingClient,
}

impl<'c, S: Signer> Session<'c, S> {
    /// A session of `signer`'s account on the node behind `client`.
    pub fn new(signer: S, client: &'c BlockingClient) -> Self {
        Self { signer, client }
    }

    /// The account.
    pub fn wallet(&self) -> Address {
        self.signer.address()
    }

    /// The signer.
    pub fn signer(&self) -> &S {
        &self.signer
    }

    /// The node client.
    pub fn client(&self) -> &'c BlockingClient {
        self.client
    }

    /// What the node holds for this account.
    pub fn lookup(&self) -> Result<Existing, NetworkError> {
        lookup(self.client, &self.wallet())
    }

    /// Publishes `publications` in order with a fresh auth token of `bundle`'s identity
    /// key; topics that already end with these bytes are left alone, so a re-run after a
    /// failure sends only what is missing.
    fn publish(
        &self,
        bundle: &PrivateKeyBundleV1,
        publications: &[Publication],
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Vec<TopicOutcome>, NetworkError> {
        let token = auth_token_now(bundle.identity_key())?;
        progress(Progress::Publishing {
            node: self.client.url(),
        });
        let outcomes = self.client.publish_publications(&token, publications)?;
        Ok(publications
            .iter()
            .zip(outcomes)
            .map(|(publication, outcome)| TopicOutcome {
                topic: publication.topic.clone(),
                outcome,
                message_sha256: sha2::Sha256::digest(&publication.message).into(),
            })
            .collect())
    }

    /// The flows' prompt callback, forwarding each signature request as [`Progress`].
    fn signatures<'p>(
        progress: &'p mut dyn FnMut(Progress<'_>),
    ) -> impl FnMut(SignaturePrompt<'_>) + 'p {
        move |prompt| progress(Progress::Signature(prompt))
    }

    /// [`Self::signatures`] for a session that chains flows: each request is announced
    /// as one of `total`, the session's count rather than the flow's.
    fn signatures_of<'p>(
        progress: &'p mut dyn FnMut(Progress<'_>),
        total: usize,
    ) -> impl FnMut(SignaturePrompt<'_>) + 'p {
        move |prompt| progress(Progress::Signature(SignaturePrompt { total, ..prompt }))
    }

    /// The newest private store ([`SessionError::NoIdentity`] without one) and the newest
    /// valid contact, for the paths that start from an existing identity.
    fn read_identity(&self) -> Result<Stored, SessionError<S::Error>> {
        let wallet = self.wallet();
        let (private_store, found) = lookup::read_account(self.client, &wallet)?;
        let private_store = private_store.ok_or_else(|| SessionError::NoIdentity {
            wallet,
            node: self.client.url().to_owned(),
        })?;
        Ok(Stored {
            private_store,
            contact: found.contact.map(|(_, verified)| verified),
        })
    }

    /// Fails with [`SessionError::ContactMismatch`] when `contact` names a key `bundle`
    /// does not hold.
    fn check_contact(
        &self,
        contact: Option<&VerifiedContact>,
        bundle: &PrivateKeyBundleV1,
    ) -> Result<(), SessionError<S::Error>> {
        match contact.and_then(|contact| unheld_contact_key(contact, bundle)) {
            Some(key) => Err(SessionError::ContactMismatch {
                wallet: self.wallet(),
                node: self.client.url().to_owned(),
                key,
            }),
            None => Ok(()),
        }
    }
}
