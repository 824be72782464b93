//! OS-level commands (class `0xB0`) answered by the SDK in every app and by the dashboard, and
//! what the dashboard or another app answers to Ethereum commands.

use super::Reply;
use crate::apdu::{CLA_ETH, CLA_OS, Command, INS_OS_GET_APP_AND_VERSION, INS_OS_QUIT_APP};
use crate::sw;

/// The name the dashboard reports to GET APP AND VERSION.
pub const DASHBOARD_NAME: &str = "BOLOS";
/// The firmware version the dashboard reports (a Nano S Plus release).
pub const DASHBOARD_VERSION: &str = "1.4.1";
/// The flags byte reported with the name and version (Speculos reports 0 too).
pub const APP_FLAGS: u8 = 0x00;

/// GET APP AND VERSION answer: `01 | len | name | len | version | 01 | flags`.
pub(crate) fn app_and_version(name: &str, version: &str) -> Reply {
    let mut data = vec![0x01];
    for field in [name, version] {
        // Names and versions are short; cut anything absurd rather than write a wrong length.
        let bytes = &field.as_bytes()[..field.len().min(255)];
        data.push(bytes.len() as u8);
        data.extend_from_slice(bytes);
    }
    data.extend_from_slice(&[0x01, APP_FLAGS]);
    Reply::ok(data)
}

/// What the dashboard (no app open) answers.
pub(crate) fn dashboard(cmd: &Command<'_>) -> Reply {
    match (cmd.cla, cmd.ins) {
        (CLA_OS, INS_OS_GET_APP_AND_VERSION) => app_and_version(DASHBOARD_NAME, DASHBOARD_VERSION),
        (CLA_ETH, _) => Reply::status(sw::DASHBOARD_UNKNOWN_APDU),
        _ => Reply::status(sw::DASHBOARD_CLA_NOT_SUPPORTED),
    }
}

/// What another app answers: its own name to GET APP AND VERSION, `eth_sw` to Ethereum-class
/// commands and `0x6E00` to any other class.
pub(crate) fn other_app(cmd: &Command<'_>, name: &str, version: &str, eth_sw: u16) -> Reply {
    match (cmd.cla, cmd.ins) {
        (CLA_OS, INS_OS_GET_APP_AND_VERSION) => app_and_version(name, version),
        (CLA_OS, INS_OS_QUIT_APP) => Reply::status(sw::SUCCESS),
        (CLA_ETH, _) => Reply::status(eth_sw),
        _ => Reply::status(sw::INVALID_CLA),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_and_version_layout() {
        assert_eq!(
            hex::encode(app_and_version("Ethereum", "1.22.0").into_answer()),
            "0108457468657265756d06312e32322e3001009000"
        );
    }
}
