//! Reading what a node holds for a wallet, without the wallet: the newest valid contact
//! bundle (as xmtp-js picks it) and the newest private store.

use std::fmt;

use crate::identity::{Address, ContactBundle, IdentityError, VerifiedContact, topic};
use crate::network::{BlockingClient, NetworkError, Query};

/// Most contact envelopes read when looking for a wallet's identity.
pub const MAX_CONTACT_ENVELOPES: usize = 1_000;

/// Contact envelopes per page, as xmtp-js's `getUserContactFromNetwork` reads them.
const CONTACT_PAGE_SIZE: u32 = 5;

/// The newest valid contact bundle of a wallet, and what was passed over to find it.
#[derive(Debug)]
pub struct FoundIdentity {
    /// The bundle and what its signatures prove, if one was found.
    pub contact: Option<(ContactBundle, VerifiedContact)>,
    /// The sender timestamp of the envelope that carried it.
    pub published_ns: Option<u64>,
    /// Newer envelopes on the contact topic that were not a valid bundle of the wallet.
    pub skipped: Vec<Skipped>,
}

/// Why an envelope on a contact topic was passed over.
#[derive(Debug)]
pub enum Skipped {
    /// Not a contact bundle.
    Undecodable {
        /// The envelope's sender timestamp.
        timestamp_ns: u64,
        /// What the decoder found.
        error: IdentityError,
    },
    /// A valid bundle, but its identity key was signed by another wallet.
    OtherWallet {
        /// The envelope's sender timestamp.
        timestamp_ns: u64,
        /// The wallet that signed it.
        wallet: Address,
    },
    /// A bundle whose signatures do not check out.
    Invalid {
        /// The envelope's sender timestamp.
        timestamp_ns: u64,
        /// What the check found.
        error: IdentityError,
    },
    /// The search stopped after this many envelopes without a valid bundle.
    Truncated {
        /// Envelopes read.
        seen: usize,
    },
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Undecodable {
                timestamp_ns,
                error,
            } => write!(
                f,
                "skipped an undecodable envelope at {timestamp_ns}: {error}"
            ),
            Self::OtherWallet {
                timestamp_ns,
                wallet,
            } => write!(f, "skipped a bundle signed by {wallet} at {timestamp_ns}"),
            Self::Invalid {
                timestamp_ns,
                error,
            } => write!(f, "skipped an invalid bundle at {timestamp_ns}: {error}"),
            Self::Truncated { seen } => write!(f, "stopped after the newest {seen} envelopes"),
        }
    }
}

/// The newest contact bundle on `wallet`'s contact topic whose identity key was signed
/// by `wallet` and whose pre-key was signed by that identity key, as xmtp-js picks it:
/// newest first, a few per page, following cursors, stopping at the first valid bundle
/// (and after [`MAX_CONTACT_ENVELOPES`]).
pub fn find_identity(
    client: &BlockingClient,
    wallet: &Address,
) -> Result<FoundIdentity, NetworkError> {
    let topic = topic::contact_topic(wallet);
    let mut pages = client.pages(Query::topic(&topic).limit(CONTACT_PAGE_SIZE));
    let mut skipped = Vec::new();
    let mut seen = 0;
    while let Some(page) = pages.next_page()? {
        for envelope in page {
            seen += 1;
            match contact_of(&envelope.message, envelope.timestamp_ns, wallet) {
                None => {}
                Some(Ok(contact)) => {
                    return Ok(FoundIdentity {
                        contact: Some(contact),
                        published_ns: Some(envelope.timestamp_ns),
                        skipped,
                    });
                }
                Some(Err(skip)) => skipped.push(skip),
            }
        }
        if seen >= MAX_CONTACT_ENVELOPES {
            skipped.push(Skipped::Truncated { seen });
            break;
        }
    }
    Ok(FoundIdentity {
        contact: None,
        published_ns: None,
        skipped,
    })
}

/// What one contact-topic envelope sent at `timestamp_ns` holds for `wallet`: a valid
/// bundle of it with what its signatures prove, or why it is passed over; `None` for an
/// empty message (nothing to pass over).
pub(super) fn contact_of(
    message: &[u8],
    timestamp_ns: u64,
    wallet: &Address,
) -> Option<Result<(ContactBundle, VerifiedContact), Skipped>> {
    if message.is_empty() {
        return None;
    }
    let contact = match ContactBundle::decode(message) {
        Ok(contact) => contact,
        Err(error) => {
            return Some(Err(Skipped::Undecodable {
                timestamp_ns,
                error,
            }));
        }
    };
    Some(match contact.verify() {
        Ok(verified) if verified.wallet_address == *wallet => Ok((contact, verified)),
        Ok(verified) => Err(Skipped::OtherWallet {
            timestamp_ns,
            wallet: verified.wallet_address,
        }),
        Err(error) => Err(Skipped::Invalid {
            timestamp_ns,
            error,
        }),
    })
}

/// What a node already holds for a wallet.
#[derive(Debug)]
pub struct Existing {
    /// The newest private-store envelope's message.
    pub private_store: Option<Vec<u8>>,
    /// A valid contact bundle of the wallet is published.
    pub has_valid_contact: bool,
}

impl Existing {
    /// Something of an identity is there.
    pub fn any(&self) -> bool {
        self.private_store.is_some() || self.has_valid_contact
    }
}

/// Reads the newest private store and looks for a valid contact bundle of `wallet`.
pub fn lookup(client: &BlockingClient, wallet: &Address) -> Result<Existing, NetworkError> {
    let (private_store, found) = read_account(client, wallet)?;
    Ok(Existing {
        private_store,
        has_valid_contact: found.contact.is_some(),
    })
}

/// The newest private-store envelope's message, and what [`find_identity`] finds: the
/// two reads every decision about what to publish starts from.
pub fn read_account(
    client: &BlockingClient,
    wallet: &Address,
) -> Result<(Option<Vec<u8>>, FoundIdentity), NetworkError> {
    let private_store = client
        .newest(&topic::private_store_topic(wallet))?
        .map(|e| e.message);
    Ok((private_store, find_identity(client, wallet)?))
}
