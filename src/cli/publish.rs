//! `publish DIR`: publish what `init --out DIR` wrote. The device opens the private
//! bundle once (1 signature) so that the contacts can be checked against it and the
//! publish can be authenticated with a fresh token.

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
use xmtp_ledger::flow::unlock_identity;
use xmtp_ledger::signer::Signer;

/// Runs `publish`.
pub fn run(global: &GlobalArgs, ui: &Ui, dir: &Path, force: bool) -> Result<(), CliError> {
    let files = out_dir::read(dir)?;
    let signer = open_signer(global, ui)?;
    let wallet = signer.address();

    let mut prompts = FlowPrompts::new(ui);
    let unlocked = unlock_identity(&signer, &files.private_store, &mut |p| prompts.announce(p))?;
    prompts.done();

    let to_publish = publications(&wallet, &unlocked.bundle, files.private_store.clone())?;
    // The contact files must be exactly the bundles of the keys in the private store:
    // publishing anything else would announce keys the wallet cannot use.
    if to_publish[1].message != files.contact_v1 || to_publish[2].message != files.contact_v2 {
        return Err(CliError::Verification(format!(
            "the contact bundles in {} do not match its private store: refusing to publish",
            dir.display()
        )));
    }

    let runtime = node_access::runtime()?;
    let network = node_access::open(global, ui, &runtime)?;
    let client = network.client();
    let found = existing(&runtime, client, &wallet)?;
    let ours = found.private_store.as_deref() == Some(files.private_store.as_slice());
    if !force && !ours && (found.private_store.is_some() || found.has_valid_contact) {
        return Err(refuse_replace(&wallet, &network));
    }
    publish(&runtime, client, ui, &unlocked.bundle, &to_publish)?;
    runtime.block_on(network.shutdown())?;

    let output = IdentityOutput::new(&wallet, signer.path().to_string(), &unlocked.bundle);
    ui.result(&output, || output.human("XMTP identity published"));
    Ok(())
}
