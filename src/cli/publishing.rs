//! Publishing an identity: shared by `init`, `publish` and `unlock` (which, like xmtp-js,
//! republishes contact bundles that are missing or stale).

use tokio::runtime::Runtime;

use super::error::CliError;
use super::node_access::newest_valid_contact;
use super::ui::Ui;
use xmtp_ledger::flow::Publication;
use xmtp_ledger::identity::{Address, PrivateKeyBundleV1, topic};
use xmtp_ledger::network::{Network, NodeClient, PublishOutcome, auth_token_now};

/// The three publications of an identity, in publish order: the private store first,
/// then the v1 and v2 contact bundles (so the newest contact is v2).
pub fn publications(
    wallet: &Address,
    bundle: &PrivateKeyBundleV1,
    encrypted_bundle: Vec<u8>,
) -> Result<Vec<Publication>, CliError> {
    let public = bundle.public_bundle();
    Ok(vec![
        Publication {
            topic: topic::private_store_topic(wallet),
            message: encrypted_bundle,
        },
        Publication {
            topic: topic::contact_topic(wallet),
            message: public.encode_contact_v1(),
        },
        Publication {
            topic: topic::contact_topic(wallet),
            message: public.to_signed_bundle()?.encode_contact_v2(),
        },
    ])
}

/// Publishes in order; topics that already end with these bytes are left alone, so a
/// re-run after a failure sends only what is missing.
pub fn publish(
    runtime: &Runtime,
    client: &NodeClient,
    ui: &Ui,
    bundle: &PrivateKeyBundleV1,
    publications: &[Publication],
) -> Result<Vec<PublishOutcome>, CliError> {
    let token = auth_token_now(bundle.identity_key())?;
    ui.detail(format!("publishing to {} …", client.url()));
    let outcomes = runtime.block_on(client.publish_publications(&token, publications))?;
    let sent = outcomes
        .iter()
        .filter(|o| **o == PublishOutcome::Published)
        .count();
    if sent > 0 {
        ui.status(format!("published {sent} envelope(s) to {}", client.url()));
    }
    for (publication, outcome) in publications.iter().zip(&outcomes) {
        ui.detail(format!(
            "{}: {}",
            publication.topic,
            match outcome {
                PublishOutcome::Published => "published",
                PublishOutcome::AlreadyNewest => "already there",
            }
        ));
    }
    Ok(outcomes)
}

/// What the node already holds for a wallet.
pub struct Existing {
    /// The newest private-store envelope's message.
    pub private_store: Option<Vec<u8>>,
    /// A valid contact bundle for the wallet is published.
    pub has_valid_contact: bool,
}

/// Reads the private store and the contact topic of `wallet`.
pub fn existing(
    runtime: &Runtime,
    client: &NodeClient,
    wallet: &Address,
) -> Result<Existing, CliError> {
    let private_store = runtime
        .block_on(client.newest(&topic::private_store_topic(wallet)))?
        .map(|e| e.message);
    let (contact, _) = runtime.block_on(newest_valid_contact(client, wallet))?;
    Ok(Existing {
        private_store,
        has_valid_contact: contact.is_some(),
    })
}

/// The refusal when an identity is already published and `--force` was not given.
pub fn refuse_replace(wallet: &Address, network: &Network) -> CliError {
    CliError::Usage(format!(
        "{wallet} already has an XMTP identity on the {}: use `xmtp-ledger unlock` to retrieve \
         it, or add --force to replace it (others will then see the new keys)",
        network.describe()
    ))
}
