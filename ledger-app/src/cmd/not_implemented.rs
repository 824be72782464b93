//! Instructions the official app has and this device does not implement (transactions, token
//! descriptors, EIP-712), answered the way app 1.22.0 answers data it cannot use, so that a host
//! probing them sees the official status words rather than "unknown instruction".
//!
//! Each rule follows the app's own checks in order, read in app-ethereum 1.22.0 and recorded
//! where `ethapp-apdus.json` has a case (`ins_04_sign_tx_garbage`, `ins_0a_garbage`,
//! `ins_0c_eip712_p2_00_garbage`, `ins_0c_eip712_p2_02`). Past those checks the app would parse
//! the data; this device refuses it as the app refuses data it cannot parse (`6A80`), and never
//! signs. Every answer is an error, so the app context is reset as usual.

use super::Reply;
use crate::apdu::{
    Command, INS_PROVIDE_ERC20_TOKEN_INFORMATION, INS_SIGN_EIP712, INS_SIGN_TRANSACTION, P1_FIRST,
    P1_MORE,
};
use crate::sw;

/// SIGN ETH TRANSACTION P2: parse and review (`SIGN_MODE_BASIC`).
const P2_SIGN_BASIC: u8 = 0x00;
/// SIGN ETH TRANSACTION P2: parse and store (`SIGN_MODE_STORE`).
const P2_SIGN_STORE: u8 = 0x01;
/// SIGN ETH TRANSACTION P2: review what was stored (`SIGN_MODE_START_FLOW`).
const P2_SIGN_START_FLOW: u8 = 0x02;
/// SIGN ETH EIP 712 P2: domain and message hashes given directly (v0).
const P2_EIP712_LEGACY: u8 = 0x00;
/// SIGN ETH EIP 712 P2: sign the structures sent before (full implementation).
const P2_EIP712_FULL: u8 = 0x01;

/// The answer to `ins` if it is one of the app's instructions this module covers.
pub(crate) fn handle(cmd: &Command<'_>) -> Option<Reply> {
    let status = match cmd.ins {
        INS_SIGN_TRANSACTION => sign_transaction(cmd.p1, cmd.p2),
        // `cmd_provide_token_info.c`: the descriptor must carry Ledger's signature, which this
        // device cannot check, so every descriptor is refused like a malformed one.
        INS_PROVIDE_ERC20_TOKEN_INFORMATION => sw::INCORRECT_DATA,
        INS_SIGN_EIP712 => sign_eip712(cmd.p1, cmd.p2),
        _ => return None,
    };
    Some(Reply::status(status))
}

/// `cmd_sign_tx.c handle_sign`: P2 first, then P1; a following chunk or the start of the review
/// needs a transaction in progress (`6980`), which this device never has.
fn sign_transaction(p1: u8, p2: u8) -> u16 {
    match (p2, p1) {
        (P2_SIGN_BASIC | P2_SIGN_STORE, P1_FIRST) => sw::INCORRECT_DATA,
        (P2_SIGN_BASIC | P2_SIGN_STORE, P1_MORE) | (P2_SIGN_START_FLOW, _) => {
            sw::COMMAND_NOT_ALLOWED
        }
        _ => sw::WRONG_P1_P2,
    }
}

/// `main.c` dispatches on P2 (anything but `00`/`01` is `6B00`);
/// `cmd_sign_message_eip712.c` then wants P1 `00` and refuses the data with `6A80` (at once when
/// blind signing is off, after an error screen this device does not show);
/// `commands_712.c handle_eip712_sign` needs structures sent before (`6980`), which this device
/// does not take.
fn sign_eip712(p1: u8, p2: u8) -> u16 {
    match p2 {
        P2_EIP712_LEGACY if p1 != 0x00 => sw::WRONG_P1_P2,
        P2_EIP712_LEGACY => sw::INCORRECT_DATA,
        P2_EIP712_FULL => sw::COMMAND_NOT_ALLOWED,
        _ => sw::WRONG_P1_P2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(ins: u8, p1: u8, p2: u8) -> Option<u16> {
        let apdu = [0xE0, ins, p1, p2, 4, 0xDE, 0xAD, 0xBE, 0xEF];
        handle(&Command::parse(&apdu).unwrap()).map(|reply| reply.sw)
    }

    #[test]
    fn garbage_gets_the_official_status_words() {
        // Recorded from app 1.22.0.
        assert_eq!(answer(0x04, 0x00, 0x00), Some(0x6A80));
        assert_eq!(answer(0x0A, 0x00, 0x00), Some(0x6A80));
        assert_eq!(answer(0x0C, 0x00, 0x00), Some(0x6A80));
        assert_eq!(answer(0x0C, 0x00, 0x02), Some(0x6B00));
        // Read in the app's handlers.
        assert_eq!(answer(0x04, 0x80, 0x00), Some(0x6980));
        assert_eq!(answer(0x04, 0x00, 0x02), Some(0x6980));
        assert_eq!(answer(0x04, 0x01, 0x00), Some(0x6B00));
        assert_eq!(answer(0x04, 0x00, 0x03), Some(0x6B00));
        assert_eq!(answer(0x0C, 0x01, 0x00), Some(0x6B00));
        assert_eq!(answer(0x0C, 0x00, 0x01), Some(0x6980));
        // Anything else is not covered here.
        assert_eq!(answer(0xFF, 0x00, 0x00), None);
        assert_eq!(answer(0x02, 0x00, 0x00), None);
    }
}
