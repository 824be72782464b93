//! `unlock [--from-file FILE] [--keystore FILE]`: the key retrieval flow.

use std::path::Path;

use super::args::GlobalArgs;
use super::context::open_signer;
use super::error::CliError;
use super::files::write_private;
use super::identity_output::IdentityOutput;
use super::input::{decode_flexible, read_input};
use super::node_access;
use super::prompts::FlowPrompts;
use super::publishing::{publications, publish};
use super::ui::Ui;
use xmtp_ledger::flow::{seal_with_new_signature, unlock_identity};
use xmtp_ledger::identity::topic;
use xmtp_ledger::signer::Signer;

const MAX_BUNDLE_BYTES: u64 = 1 << 20;

/// Runs `unlock`.
pub fn run(
    global: &GlobalArgs,
    ui: &Ui,
    from_file: Option<&Path>,
    keystore: Option<&Path>,
) -> Result<(), CliError> {
    let signer = open_signer(global, ui)?;
    let wallet = signer.address();
    let total = if keystore.is_some() { 2 } else { 1 };
    let mut prompts = FlowPrompts::new(ui);

    let unlocked = if let Some(file) = from_file {
        // Offline: decrypt a bundle from a file; nothing is fetched or published.
        let raw = read_input(file, MAX_BUNDLE_BYTES)
            .map_err(CliError::io(format!("reading {}", file.display())))?;
        let encrypted = decode_flexible(raw).bytes;
        unlock_identity(&signer, &encrypted, &mut |mut p| {
            p.total = total;
            prompts.announce(p)
        })?
    } else {
        let runtime = node_access::runtime()?;
        let network = node_access::open(global, ui, &runtime)?;
        let client = network.client();
        let stored = runtime
            .block_on(client.newest(&topic::private_store_topic(&wallet)))?
            .ok_or_else(|| {
                CliError::Verification(format!(
                    "no XMTP identity for {wallet} on {}: create one with `xmtp-ledger init`",
                    client.url()
                ))
            })?;
        let unlocked = unlock_identity(&signer, &stored.message, &mut |mut p| {
            p.total = total;
            prompts.announce(p)
        })?;
        prompts.done();
        // As xmtp-js does at start-up: make sure this identity's contact bundles are the
        // newest on the contact topic (publishes only what is missing).
        let list = publications(&wallet, &unlocked.bundle, stored.message)?;
        publish(&runtime, client, ui, &unlocked.bundle, &list[1..])?;
        runtime.block_on(network.shutdown())?;
        unlocked
    };
    prompts.done();

    if let Some(path) = keystore {
        let sealed = seal_with_new_signature(
            &signer,
            &unlocked.bundle,
            &mut |p| prompts.announce(p),
            (2, 2),
        )?;
        prompts.done();
        write_private(path, &sealed.encode(), true)?;
        ui.status(format!(
            "saved the keys to {} (0600), encrypted under a new device signature",
            path.display()
        ));
    }

    let output = IdentityOutput::new(&wallet, signer.path().to_string(), &unlocked.bundle);
    ui.result(&output, || output.human("XMTP identity unlocked"));
    Ok(())
}
