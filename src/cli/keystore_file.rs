//! `--keystore FILE`: the keys saved to a private file, sealed under a fresh device
//! signature (used by `unlock` and `connect`).

use std::path::Path;

use super::error::CliError;
use super::files::write_private;
use super::progress::FlowProgress;
use super::ui::Ui;
use xmtp_ledger::flow::seal_with_new_signature;
use xmtp_ledger::identity::PrivateKeyBundleV1;
use xmtp_ledger::signer::Signer;

/// Seals `bundle` under a new Enable Identity signature (announced as approval `step`
/// of `step`) and writes it to `path` (0600, atomically; replaced only with `force`,
/// which the caller checked before the device was asked anything).
pub fn save<S: Signer<Error = xmtp_ledger::device::DeviceError>>(
    ui: &Ui,
    signer: &S,
    bundle: &PrivateKeyBundleV1,
    path: &Path,
    force: bool,
    step: usize,
) -> Result<(), CliError> {
    let mut progress = FlowProgress::new(ui);
    let sealed =
        seal_with_new_signature(signer, bundle, &mut |p| progress.announce(p), (step, step))?;
    progress.done();
    write_private(path, &sealed.encode(), force)?;
    ui.status(format!(
        "saved the keys to {} (0600), encrypted under a new device signature",
        path.display()
    ));
    Ok(())
}
