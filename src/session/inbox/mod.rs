//! XMTP v3: one account's inbox on a node's IdentityApi. Reading and verifying an inbox's
//! whole log ([`inbox_status`]), and the updates a wallet signs alone: creating an inbox
//! (also with the v2 identity key, once), revoking members and changing the recovery
//! address ([`InboxSession`]); and signing a text an app produced ([`sign_text`]).
//!
//! Every update is built here, its text shown through [`Progress`] before the wallet is
//! asked, the wallet's signature verified over exactly that text, and the signed update
//! applied to the verified state of the inbox before anything is published: an update
//! the rules would refuse never leaves this process.

mod create;
mod revoke;
mod sign;

pub use create::CreatedInbox;
pub use revoke::{ChangedInbox, RevokeTargets};
pub use sign::{SignedText, sign_text};

use crate::flow::{FlowError, SignaturePrompt, sign_inbox_update};
use crate::identity::Address;
use crate::network::{BlockingIdentityClient, LoggedUpdate, NetworkError, UpdatePublished};
use crate::signer::Signer;
use crate::v3::{AssociationState, InboxId, LogError, MemberId, TextError, UnsignedUpdate};

use super::Progress;

/// What went wrong with an inbox, generic over the signer's own error.
#[derive(Debug, thiserror::Error)]
pub enum InboxError<E: std::error::Error + 'static> {
    /// The wallet refused or failed, or its signature did not verify.
    #[error(transparent)]
    Flow(#[from] FlowError<E>),
    /// The node failed or refused.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// A text to sign that is not a well-formed "XMTP : Authenticate to inbox" text.
    #[error("not an XMTP 'Authenticate to inbox' text: {0}")]
    Text(#[from] TextError),
    /// A text that creates an inbox for another address than this account's: its
    /// signature could only be refused.
    #[error("the text creates an inbox owned by {owner}, but this account is {account}")]
    NotOwner {
        /// The owner the text names.
        owner: Address,
        /// The signer's account.
        account: Address,
    },
    /// The account already belongs to an inbox, or the inbox to create already exists.
    #[error("{address} already has an XMTP inbox on {node}: {inbox_id}")]
    Exists {
        /// The account.
        address: Address,
        /// The inbox it belongs to (or that exists with the nonce asked for).
        inbox_id: InboxId,
        /// The node, as `scheme://host:port`.
        node: String,
    },
    /// No inbox for the address, or an inbox id with no log.
    #[error("no XMTP inbox for {subject} on {node}")]
    NoInbox {
        /// The address or inbox id asked about.
        subject: String,
        /// The node, as `scheme://host:port`.
        node: String,
    },
    /// The inbox's log does not verify: its state cannot be trusted.
    #[error("the log of inbox {inbox_id} on {node} does not verify: {error}")]
    InvalidLog {
        /// The inbox.
        inbox_id: InboxId,
        /// The node, as `scheme://host:port`.
        node: String,
        /// The update and the rule that failed.
        error: Box<LogError>,
    },
    /// The node maps the address to an inbox whose log does not list it.
    #[error("{node} says {address} belongs to inbox {inbox_id}, but its log does not list it")]
    NotListed {
        /// The address.
        address: Address,
        /// The inbox the node named.
        inbox_id: InboxId,
        /// The node, as `scheme://host:port`.
        node: String,
    },
    /// Revoking or changing the recovery address needs the recovery address's signature.
    #[error(
        "only the recovery address {recovery} may do this for inbox {inbox_id}; this account is {account}"
    )]
    NotRecovery {
        /// The inbox.
        inbox_id: InboxId,
        /// Its recovery address.
        recovery: MemberId,
        /// The signer's account.
        account: Address,
    },
    /// Members to revoke that the inbox does not have (or to keep that it does not have).
    #[error("inbox {inbox_id} has no {what}")]
    NotMembers {
        /// The inbox.
        inbox_id: InboxId,
        /// What is missing, said in words ("installation 0a1b…").
        what: String,
    },
    /// `inbox create --from-v2` for an account with no XMTP v2 identity on the node.
    #[error("no XMTP v2 identity for {address} on {node}")]
    NoV2Identity {
        /// The account.
        address: Address,
        /// The node, as `scheme://host:port`.
        node: String,
    },
    /// A request that asks for no change (everything already revoked, or kept).
    #[error("nothing to do: {0}")]
    NothingToDo(String),
    /// The update built and signed here breaks a rule of the log (a defect of this
    /// tool, or the inbox changed meanwhile): it was not published.
    #[error("the signed update would be refused ({0}); nothing was published")]
    WouldBeRefused(Box<LogError>),
}

/// An inbox's verified state and the log it was replayed from.
#[derive(Clone, Debug)]
pub struct InboxStatus {
    /// The inbox.
    pub inbox_id: InboxId,
    /// The state after the whole log.
    pub state: AssociationState,
    /// The log, as the node returned it.
    pub log: Vec<LoggedUpdate>,
}

/// The inbox `address` belongs to on the node, if any.
pub fn inbox_of<E: std::error::Error + 'static>(
    client: &BlockingIdentityClient,
    address: &Address,
) -> Result<Option<InboxId>, InboxError<E>> {
    let found = client.get_inbox_ids(std::slice::from_ref(address))?;
    found
        .into_iter()
        .find(|(asked, _)| asked == address)
        .and_then(|(_, inbox)| inbox)
        .map(|inbox| {
            inbox.parse::<InboxId>().map_err(|e| {
                InboxError::Network(NetworkError::Protocol {
                    url: client.url().to_owned(),
                    call: "inbox id lookup",
                    reason: format!("an invalid inbox id for {address}: {e}"),
                })
            })
        })
        .transpose()
}

/// Fetches `inbox_id`'s whole log and replays it under every rule
/// ([`InboxError::NoInbox`] if it has none, [`InboxError::InvalidLog`] if it breaks one).
pub fn inbox_status<E: std::error::Error + 'static>(
    client: &BlockingIdentityClient,
    inbox_id: &InboxId,
) -> Result<InboxStatus, InboxError<E>> {
    let log = client.get_identity_updates(inbox_id.as_str(), 0)?;
    if log.is_empty() {
        return Err(InboxError::NoInbox {
            subject: format!("inbox id {inbox_id}"),
            node: client.url().to_owned(),
        });
    }
    let state =
        AssociationState::replay(log.iter().map(|logged| &logged.update)).map_err(|error| {
            InboxError::InvalidLog {
                inbox_id: inbox_id.clone(),
                node: client.url().to_owned(),
                error: Box::new(error),
            }
        })?;
    if state.inbox_id() != inbox_id {
        // A node that answers with another inbox's log: the first update names its own.
        return Err(InboxError::Network(NetworkError::Protocol {
            url: client.url().to_owned(),
            call: "identity update query",
            reason: format!(
                "asked for inbox {inbox_id}, it returned the log of {}",
                state.inbox_id()
            ),
        }));
    }
    Ok(InboxStatus {
        inbox_id: inbox_id.clone(),
        state,
        log,
    })
}

/// [`inbox_of`] then [`inbox_status`], checking that the inbox's log does list `address`.
pub fn address_status<E: std::error::Error + 'static>(
    client: &BlockingIdentityClient,
    address: &Address,
) -> Result<InboxStatus, InboxError<E>> {
    let inbox_id = inbox_of(client, address)?.ok_or_else(|| InboxError::NoInbox {
        subject: address.to_string(),
        node: client.url().to_owned(),
    })?;
    let status = inbox_status(client, &inbox_id)?;
    if !status.state.has_member(&MemberId::Address(*address)) {
        return Err(InboxError::NotListed {
            address: *address,
            inbox_id,
            node: client.url().to_owned(),
        });
    }
    Ok(status)
}

/// One account's inbox on one node: the updates its wallet signs alone.
#[derive(Debug)]
pub struct InboxSession<S> {
    signer: S,
    client: BlockingIdentityClient,
}

impl<S: Signer> InboxSession<S> {
    /// A session of `signer`'s account on the node behind `client`.
    pub fn new(signer: S, client: BlockingIdentityClient) -> Self {
        Self { signer, client }
    }

    /// The account.
    pub fn account(&self) -> Address {
        self.signer.address()
    }

    /// The node client.
    pub fn client(&self) -> &BlockingIdentityClient {
        &self.client
    }

    fn node(&self) -> String {
        self.client.url().to_owned()
    }

    /// Shows `unsigned`'s text, has the wallet sign it (verified), checks the signed
    /// update against `state` (`None`: it must create the inbox), and publishes it.
    fn sign_check_publish(
        &self,
        unsigned: &UnsignedUpdate,
        state: Option<&AssociationState>,
        position: (usize, usize),
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(AssociationState, UpdatePublished), InboxError<S::Error>> {
        let text = unsigned.signature_text();
        let mut prompt = |prompt: SignaturePrompt<'_>| progress(Progress::Signature(prompt));
        let signature = sign_inbox_update(&self.signer, &text, &mut prompt, position)?;
        let signed = unsigned.sign(&signature);
        let next = match state {
            None => AssociationState::create(&signed),
            Some(state) => state.apply(&signed),
        }
        .map_err(|e| InboxError::WouldBeRefused(Box::new(e)))?;
        progress(Progress::Publishing {
            node: self.client.url(),
        });
        let published = self.client.publish_identity_update(signed)?;
        Ok((next, published))
    }
}

/// The client time of a new update: now, and after the inbox's newest update, so that
/// the log reads in order even when this machine's clock is behind another client's.
fn next_timestamp(state: Option<&InboxStatus>) -> u64 {
    let newest = state
        .and_then(|status| {
            status
                .log
                .iter()
                .map(|logged| logged.update.client_timestamp_ns)
                .max()
        })
        .unwrap_or(0);
    crate::wire::now_ns().max(newest.saturating_add(1))
}
