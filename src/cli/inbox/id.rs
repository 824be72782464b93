//! `inbox id [--nonce N] [--address ADDR]`: an inbox id, computed offline.

use serde::Serialize;

use super::super::args::GlobalArgs;
use super::super::context::open_signer;
use super::super::error::CliError;
use super::super::ui::Ui;
use super::parse_address;
use xmtp_ledger::signer::Signer;
use xmtp_ledger::v3::InboxId;

#[derive(Serialize)]
struct IdOutput {
    address: String,
    nonce: u64,
    inbox_id: String,
}

/// Prints the inbox id of `--address` (or the device account's) with `nonce`.
pub fn run(
    global: &GlobalArgs,
    ui: &Ui,
    nonce: u64,
    address: Option<&str>,
) -> Result<(), CliError> {
    let address = match address {
        Some(text) => parse_address(text)?,
        None => open_signer(global, ui)?.address(),
    };
    let output = IdOutput {
        address: address.to_string(),
        nonce,
        inbox_id: InboxId::derive(&address, nonce).to_string(),
    };
    ui.result(&output, || output.inbox_id.clone());
    Ok(())
}
