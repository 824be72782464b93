//! Reaching the node named by `--network`, on a tokio runtime owned by the command.
//! Device work stays on the calling thread (it blocks on USB/TCP and on the person);
//! only network calls run inside the runtime.

use std::time::Duration;

use tokio::runtime::Runtime;

use super::args::GlobalArgs;
use super::error::CliError;
use super::ui::Ui;
use xmtp_ledger::identity::{ContactBundle, VerifiedContact};
use xmtp_ledger::network::{ClientConfig, Network, NetworkTarget, NodeClient, Query, open_network};

/// A multi-thread runtime, so that an in-process node keeps serving while the calling
/// thread waits on the device.
pub fn runtime() -> Result<Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::io("starting the async runtime"))
}

/// Connects to `--network`, starting the local node in-process if needed.
pub fn open(global: &GlobalArgs, ui: &Ui, runtime: &Runtime) -> Result<Network, CliError> {
    let target: NetworkTarget = global.network.parse()?;
    let config = ClientConfig {
        timeout: Duration::from_secs(global.timeout.max(1)),
        connect_timeout: Duration::from_secs(global.timeout.clamp(1, 30)),
        ..ClientConfig::default()
    };
    let network = runtime.block_on(open_network(&target, config))?;
    ui.detail(format!("using {}", network.describe()));
    Ok(network)
}

/// Most contact envelopes read when looking for a wallet's identity.
const MAX_CONTACT_ENVELOPES: usize = 1_000;

/// The newest contact bundle on `wallet`'s contact topic whose identity key was signed
/// by `wallet` and whose pre-key was signed by that identity key, as xmtp-js picks it.
/// Also returns what was wrong with the envelopes that were skipped.
pub async fn newest_valid_contact(
    client: &NodeClient,
    wallet: &xmtp_ledger::identity::Address,
) -> Result<(Option<(ContactBundle, VerifiedContact)>, Vec<String>), CliError> {
    let topic = xmtp_ledger::identity::topic::contact_topic(wallet);
    // Newest first, 5 per page, following cursors (xmtp-js getUserContactFromNetwork),
    // stopping at the first valid bundle.
    let mut pages = client.pages(Query::topic(&topic).limit(5));
    let mut problems = Vec::new();
    let mut seen = 0;
    while let Some(page) = pages.next_page().await? {
        for envelope in page {
            seen += 1;
            if envelope.message.is_empty() {
                continue;
            }
            let contact = match ContactBundle::decode(&envelope.message) {
                Ok(contact) => contact,
                Err(e) => {
                    problems.push(format!(
                        "skipped an undecodable envelope at {}: {e}",
                        envelope.timestamp_ns
                    ));
                    continue;
                }
            };
            match contact.verify() {
                Ok(verified) if verified.wallet_address == *wallet => {
                    return Ok((Some((contact, verified)), problems));
                }
                Ok(verified) => problems.push(format!(
                    "skipped a bundle signed by {} at {}",
                    verified.wallet_address, envelope.timestamp_ns
                )),
                Err(e) => problems.push(format!(
                    "skipped an invalid bundle at {}: {e}",
                    envelope.timestamp_ns
                )),
            }
        }
        if seen >= MAX_CONTACT_ENVELOPES {
            problems.push(format!("stopped after the newest {seen} envelopes"));
            break;
        }
    }
    Ok((None, problems))
}
