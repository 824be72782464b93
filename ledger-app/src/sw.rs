//! Status words the software device answers, named as in the Ledger SDK (`SWO_*`) where it has a
//! name. Every answer ends with one of these, big-endian, after the data.

/// `SWO_SUCCESS`.
pub const SUCCESS: u16 = 0x9000;
/// `SWO_CONDITIONS_NOT_SATISFIED`: the user rejected the review on the device (app ≥ 1.20 uses it
/// for nothing else).
pub const CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
/// `SWO_COMMAND_NOT_ALLOWED`: a new personal message was started while one was in progress
/// (the app also resets, so an immediate retry works).
pub const COMMAND_NOT_ALLOWED: u16 = 0x6980;
/// `SWO_INCORRECT_DATA`: bad path, bad length field, overflow, P1=0x80 out of sequence.
pub const INCORRECT_DATA: u16 = 0x6A80;
/// `SWO_INSUFFICIENT_MEMORY`: the message does not fit in the app heap.
pub const INSUFFICIENT_MEMORY: u16 = 0x6A84;
/// `SWO_WRONG_DATA_LENGTH`: the APDU is neither 4 bytes nor `5 + Lc` bytes.
pub const WRONG_DATA_LENGTH: u16 = 0x6A87;
/// `SWO_WRONG_P1_P2`.
pub const WRONG_P1_P2: u16 = 0x6B00;
/// `SWO_INVALID_INS`: unknown instruction (also what an older or different app answers).
pub const INVALID_INS: u16 = 0x6D00;
/// `SWO_INVALID_CLA`: class byte other than `0xE0` (also what another app answers).
pub const INVALID_CLA: u16 = 0x6E00;
/// `SWO_SEC_PIN_15`: the device is locked (PIN screen); current firmware answers it to any APDU.
pub const LOCKED_DEVICE: u16 = 0x5515;
/// Dashboard (no app open) answer to a class it does not serve (ledger-live
/// `CLA_NOT_SUPPORTED_BOOTLOADER`).
pub const DASHBOARD_CLA_NOT_SUPPORTED: u16 = 0x6E01;
/// Dashboard answer to a `0xE0`-class command it does not know (ledger-live `UNKNOWN_APDU`).
pub const DASHBOARD_UNKNOWN_APDU: u16 = 0x6D02;
/// The status word the app's main loop answers for an error code that is not a status word
/// (`app-ethereum src/main.c`: `SWO_NOT_SUPPORTED_ERROR_NO_INFO | (sw & 0x7FF)` whenever
/// `(sw & 0xF000) != 0x6000`). OS exceptions reach hosts this way.
pub const fn from_os_error(error: u16) -> u16 {
    if error & 0xF000 == 0x6000 {
        error
    } else {
        0x6800 | (error & 0x7FF)
    }
}

/// The OS refused to derive a path outside the app's allowed prefixes (see
/// [`crate::path::ALLOWED_PREFIXES`]): `SWO_PAR_VAL_15` (`0x4215`, thrown by Speculos's
/// `os_perso_derive_node_bip32_check_path`), which GET ETH PUBLIC ADDRESS returns as its status
/// and the main loop maps to `0x6A15`. Recorded from app 1.22.0 for `m/44'`, `m/44'/1'/…` and
/// `m/44'/60/…` (`ethapp-apdus.json`).
pub const PATH_FORBIDDEN: u16 = from_os_error(0x4215);
/// The OS refused to derive a path without any hardened component, which an app may do only
/// with `APPLICATION_FLAG_DERIVE_MASTER` (the Ethereum app does not set it): `SWO_PAR_VAL_12`
/// (`0x4212`, thrown by Speculos's `sys_os_perso_derive_node_with_seed_key`), answered `0x6A12`.
/// Recorded from app 1.22.0 for `m/12381/3600/0/0` (`ethapp-apdus.json`).
pub const PATH_NOT_HARDENED: u16 = from_os_error(0x4212);

/// Splits an answer (`data || SW`) into its data and status word; `None` when it is shorter than
/// a status word.
pub fn split_answer(answer: &[u8]) -> Option<(&[u8], u16)> {
    let split = answer.len().checked_sub(2)?;
    let (data, sw) = answer.split_at(split);
    Some((data, u16::from_be_bytes([sw[0], sw[1]])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_answer_separates_data_and_big_endian_status_word() {
        assert_eq!(
            split_answer(&[1, 2, 0x90, 0x00]),
            Some((&[1u8, 2][..], 0x9000))
        );
        assert_eq!(split_answer(&[0x69, 0x85]), Some((&[][..], 0x6985)));
        assert_eq!(split_answer(&[0x90]), None);
    }

    #[test]
    fn os_errors_become_68xx_status_words_and_status_words_pass_through() {
        assert_eq!(PATH_FORBIDDEN, 0x6A15);
        assert_eq!(PATH_NOT_HARDENED, 0x6A12);
        assert_eq!(from_os_error(INCORRECT_DATA), INCORRECT_DATA);
        assert_eq!(from_os_error(0x550B), 0x6D0B);
    }
}
