//! `init [--force] [--out DIR]`: the key generation flow on the device, then publishing.

use std::path::Path;

use super::args::GlobalArgs;
use super::context::open_signer;
use super::error::CliError;
use super::identity_output::IdentityOutput;
use super::node_access;
use super::out_dir;
use super::prompts::FlowPrompts;
use super::publishing::{existing, publications, publish, refuse_replace};
use super::ui::Ui;
use xmtp_ledger::device::LedgerSigner;
use xmtp_ledger::flow::{NewIdentity, generate_identity, unlock_identity};
use xmtp_ledger::signer::Signer;

/// Runs `init`.
pub fn run(global: &GlobalArgs, ui: &Ui, force: bool, out: Option<&Path>) -> Result<(), CliError> {
    let signer = open_signer(global, ui)?;
    let wallet = signer.address();
    let hd_path = signer.path().to_string();
    ui.status(format!("account {wallet} ({hd_path})"));

    if let Some(dir) = out {
        // Offline: nothing touches the network; `publish DIR` does the checks later.
        out_dir::check_writable(dir, force)?;
        let identity = generate(&signer, ui)?;
        out_dir::write(dir, &identity, &hd_path)?;
        let output = IdentityOutput::new(&wallet, hd_path, &identity.bundle);
        ui.result(&output, || {
            output.human(&format!(
                "XMTP identity created and written to {} (not published: run `xmtp-ledger publish {}`)",
                dir.display(),
                dir.display()
            ))
        });
        return Ok(());
    }

    let runtime = node_access::runtime()?;
    let network = node_access::open(global, ui, &runtime)?;
    let client = network.client();
    let found = existing(&runtime, client, &wallet)?;

    let (bundle, to_publish, headline) =
        match (&found.private_store, found.has_valid_contact, force) {
            (Some(stored), false, false) => {
                // An earlier run published the private store but not the contacts: finish it
                // with the same keys instead of making new ones.
                ui.status(
                    "found an identity whose contact bundles were never published: completing it",
                );
                let mut prompts = FlowPrompts::new(ui);
                let unlocked = unlock_identity(&signer, stored, &mut |p| prompts.announce(p))?;
                prompts.done();
                let list = publications(&wallet, &unlocked.bundle, stored.clone())?;
                (
                    unlocked.bundle,
                    list,
                    "XMTP identity completed and published",
                )
            }
            (Some(_), true, false) | (None, true, false) => {
                return Err(refuse_replace(&wallet, &network));
            }
            _ => {
                if force && (found.private_store.is_some() || found.has_valid_contact) {
                    ui.warn(format!(
                        "--force: replacing the identity of {wallet} on {}",
                        client.url()
                    ));
                }
                let identity = generate(&signer, ui)?;
                let list = identity.publications().to_vec();
                (identity.bundle, list, "XMTP identity created and published")
            }
        };

    publish(&runtime, client, ui, &bundle, &to_publish)?;
    runtime.block_on(network.shutdown())?;
    let output = IdentityOutput::new(&wallet, hd_path, &bundle);
    ui.result(&output, || output.human(headline));
    Ok(())
}

/// The generation flow with device prompts. Both signatures are verified by the flow
/// before anything is produced.
fn generate(signer: &LedgerSigner, ui: &Ui) -> Result<NewIdentity, CliError> {
    let mut prompts = FlowPrompts::new(ui);
    let identity = generate_identity(signer, &mut |p| prompts.announce(p))?;
    prompts.done();
    Ok(identity)
}
