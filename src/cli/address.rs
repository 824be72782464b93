//! `address [--confirm]`: the account's address and public key.

use serde::Serialize;

use super::args::GlobalArgs;
use super::context::{derivation_path, open_app};
use super::error::CliError;
use super::ui::Ui;
use xmtp_ledger::device::{AddressOptions, DeviceErrorKind};

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
    let options = |confirm| AddressOptions {
        confirm,
        chain_code: false,
    };
    let mut answer = app.get_address(&path, options(false))?;
    if confirm {
        // Say what to compare before the device shows it.
        ui.status(format!(
            "the Ledger will show the address of {path}; it must read {}",
            answer.address
        ));
        let confirmed = {
            let _prompt = ui.device_prompt("Ledger: compare the address, then approve");
            app.get_address(&path, options(true))
                .map_err(|e| match e.kind() {
                    DeviceErrorKind::Rejected => CliError::DeviceAt {
                        message: format!(
                            "the address confirmation was rejected on the Ledger: {} was not \
                         confirmed; if the screen showed another address, do not use this \
                         account",
                            answer.address
                        ),
                        source: e,
                    },
                    _ => e.into(),
                })?
        };
        if confirmed.address != answer.address {
            return Err(CliError::Verification(format!(
                "the Ledger confirmed {} but first answered {}: do not use this account",
                confirmed.address, answer.address
            )));
        }
        // A policy with require_confirmed_address lets this account sign from now on.
        super::custody::record_confirmation(&path, &confirmed.address)?;
        ui.status(format!("✔ confirmed on the Ledger: {}", confirmed.address));
        answer = confirmed;
    }
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
