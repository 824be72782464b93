//! `address [--confirm]`: the account's address and public key.

use serde::Serialize;

use super::args::GlobalArgs;
use super::context::{derivation_path, open_app};
use super::error::CliError;
use super::ui::Ui;
use xmtp_ledger::device::AddressOptions;

#[derive(Serialize)]
struct AddressOutput {
    address: String,
    hd_path: String,
    public_key: String,
}

/// Reads (and with `--confirm`, shows on the device) the account's address.
pub fn run(global: &GlobalArgs, ui: &Ui, confirm: bool) -> Result<(), CliError> {
    let path = derivation_path(global)?;
    let app = open_app(global, ui)?;
    app.ensure_ethereum_app()?;
    let answer = {
        let _prompt = confirm.then(|| {
            ui.device_prompt(format!(
                "Ledger: check that the address shown is the one below, then approve ({path})"
            ))
        });
        app.get_address(
            &path,
            AddressOptions {
                confirm,
                chain_code: false,
            },
        )?
    };
    let output = AddressOutput {
        address: answer.address.to_string(),
        hd_path: path.to_string(),
        public_key: hex::encode(answer.public_key),
    };
    ui.result(&output, || {
        if confirm {
            format!("{} (confirmed on the device)", output.address)
        } else {
            output.address.clone()
        }
    });
    Ok(())
}
