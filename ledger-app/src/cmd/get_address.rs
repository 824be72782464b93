//! GET ETH PUBLIC ADDRESS (`E0 02 P1 P2 Lc path [chain id]`).
//!
//! Answer: `0x41 || 65-byte uncompressed key || 0x28 || 40 ASCII EIP-55 characters (no 0x)
//! [|| 32-byte chain code when P2=1]`. With P1=1 the address is shown and the answer waits for
//! the user; a rejection answers `0x6985` without data. A path the OS refuses to derive answers
//! [`crate::path::PathRefusal::status_word`] at once, before any review
//! (`cmd_get_public_key.c` derives before it displays).

use super::{Reply, Ui};
use crate::apdu::{Command, P1_CONFIRM, P1_NON_CONFIRM, P2_CHAINCODE, P2_NO_CHAINCODE};
use crate::keys::Seed;
use crate::screen::{self, Screen};
use crate::{DerivationPath, sw};

/// Length byte before the public key.
const PUBLIC_KEY_LENGTH: u8 = 65;
/// Length byte before the address characters.
const ADDRESS_LENGTH: u8 = 40;

/// Handles one GET ETH PUBLIC ADDRESS. The caller has already reset the app context, as the app
/// does before anything else in this command.
pub(crate) fn handle(cmd: &Command<'_>, seed: &Seed, ui: &dyn Ui) -> Reply {
    if cmd.p1 != P1_CONFIRM && cmd.p1 != P1_NON_CONFIRM {
        return Reply::status(sw::WRONG_P1_P2);
    }
    if cmd.p2 != P2_CHAINCODE && cmd.p2 != P2_NO_CHAINCODE {
        return Reply::status(sw::WRONG_P1_P2);
    }
    let Some((path, rest)) = DerivationPath::read_apdu(cmd.data) else {
        return Reply::status(sw::INCORRECT_DATA);
    };
    // The app derives before looking at the optional chain id, so a refused path wins over
    // leftover bytes; the OS's refusal comes back as this command's status word.
    if let Some(refusal) = path.refusal() {
        return Reply::status(refusal.status_word());
    }
    let Ok(key) = seed.derive(&path) else {
        // An invalid child key (probability about 2^-127): the OS would fail the derivation.
        return Reply::status(sw::INCORRECT_DATA);
    };
    // An optional 8-byte big-endian chain id: it only changes what is shown, never the checksum.
    let (chain_id, rest) = match rest.split_first_chunk::<8>() {
        Some((id, rest)) => (Some(u64::from_be_bytes(*id)), rest),
        None => (None, rest),
    };
    if !rest.is_empty() {
        return Reply::status(sw::INCORRECT_DATA);
    }

    let address = key.address_eip55();
    let confirmed = cmd.p1 == P1_CONFIRM;
    if confirmed {
        if !ui.review(screen::address_review(&address, chain_id)) {
            ui.status(Screen::title(screen::ADDRESS_REJECTED));
            return Reply::status(sw::CONDITIONS_NOT_SATISFIED).after_review();
        }
        ui.status(Screen::title(screen::ADDRESS_VERIFIED));
    }

    let mut data = Vec::with_capacity(1 + 65 + 1 + 40 + 32);
    data.push(PUBLIC_KEY_LENGTH);
    data.extend_from_slice(&key.public_key_uncompressed());
    data.push(ADDRESS_LENGTH);
    data.extend_from_slice(address.as_bytes());
    if cmd.p2 == P2_CHAINCODE {
        data.extend_from_slice(&key.chain_code());
    }
    if confirmed {
        Reply::ok(data).after_review()
    } else {
        Reply::ok(data)
    }
}
