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

/// An OS command (class `B0`) as the SDK's I/O layer sees it in an open app, before the app:
/// `os_io_default_apdu.c os_io_handle_default_apdu` (SDK v25.12) reads only the header, so the
/// length is not checked, and P1 and P2 must be 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DefaultApdu {
    /// `B0 01 00 00`: GET APP AND VERSION.
    AppAndVersion,
    /// `B0 A7 00 00`: the app answers `9000` and exits to the dashboard.
    QuitApp,
    /// Any other `B0` command, or P1/P2 not 0: refused with this status word (`0x6E00`).
    Refused(u16),
}

/// The OS command in `apdu`, if it is one. (A `B0` frame shorter than a header is left to the
/// app, which answers `6A87`; the SDK would read the missing header bytes from the previous
/// frame, which this device does not model.)
pub(crate) fn default_apdu(apdu: &[u8]) -> Option<DefaultApdu> {
    let &[cla, ins, p1, p2] = apdu.first_chunk::<4>()?;
    if cla != CLA_OS {
        return None;
    }
    Some(match (ins, p1, p2) {
        (INS_OS_GET_APP_AND_VERSION, 0, 0) => DefaultApdu::AppAndVersion,
        (INS_OS_QUIT_APP, 0, 0) => DefaultApdu::QuitApp,
        // Recorded from app 1.22.0: `B0 01 01 00` and `B0 FF 00 00` (`ethapp-apdus.json`).
        _ => DefaultApdu::Refused(sw::INVALID_CLA),
    })
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
    fn os_commands_need_p1_p2_zero_and_any_length() {
        use DefaultApdu::*;
        assert_eq!(default_apdu(&[0xB0, 0x01, 0, 0]), Some(AppAndVersion));
        assert_eq!(default_apdu(&[0xB0, 0x01, 0, 0, 9]), Some(AppAndVersion));
        assert_eq!(default_apdu(&[0xB0, 0xA7, 0, 0, 0]), Some(QuitApp));
        for refused in [
            [0xB0, 0x01, 1, 0],
            [0xB0, 0x01, 0, 1],
            [0xB0, 0xA7, 0, 2],
            [0xB0, 0xFF, 0, 0],
        ] {
            assert_eq!(
                default_apdu(&refused),
                Some(Refused(0x6E00)),
                "{refused:02x?}"
            );
        }
        assert_eq!(default_apdu(&[0xE0, 0x01, 0, 0]), None);
        assert_eq!(default_apdu(&[0xB0, 0x01]), None);
    }

    #[test]
    fn app_and_version_layout() {
        assert_eq!(
            hex::encode(app_and_version("Ethereum", "1.22.0").into_answer()),
            "0108457468657265756d06312e32322e3001009000"
        );
    }
}
