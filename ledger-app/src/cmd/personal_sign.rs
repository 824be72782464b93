//! SIGN ETH PERSONAL MESSAGE (`E0 08`), EIP-191, with the app ≥ 1.20 state machine.
//!
//! First APDU (P1=`00`): `path || u32be(message length) || first message bytes`; following APDUs
//! (P1=`80`): message bytes only. Intermediate APDUs answer `9000` with no data; the APDU that
//! completes the declared length starts the review, and its answer is `v || r || s` after
//! approval or `6985` after rejection.
//!
//! Errors (each one resets the app context, so the next command starts clean):
//! P1 not `00`/`80` → `6B00`; P1=`80` with no message in progress → `6A80`; P1=`00` while a
//! message is in progress → `6980`; bad path, fewer than 4 length bytes, or more bytes than
//! declared → `6A80`; declared length above 32766 → `6A80` once the message is complete; message
//! too big for the heap → `6A84` (see [`heap`]). The declared length is kept in 16 bits, so
//! 65,536 and more wrap (the app signs a shorter message than the host meant).

use super::{AppExit, Reply, Ui};
use crate::apdu::{Command, P1_FIRST, P1_MORE};
use crate::keys::{Seed, personal_message_digest};
use crate::screen::{self, Screen};
use crate::{DerivationPath, sw};

/// A personal message being received (the app's `APP_STATE_SIGNING_MESSAGE`).
#[derive(Debug)]
pub(crate) struct MessageInProgress {
    path: DerivationPath,
    declared: usize,
    received: Vec<u8>,
    /// Heap bytes charged so far (see [`heap`]).
    heap_used: usize,
}

/// Largest length the app accepts when the message is complete: `(0xFFFF − 3) / 2`, so that the
/// hex display buffer length (`2n + 3`) fits 16 bits.
pub const MAX_MESSAGE_LENGTH: usize = (0xFFFF - 3) / 2;

/// The app's 16 KiB message heap, modelled closely enough to give `0x6A84` where a device does.
///
/// The app allocates, from a fixed heap (`SIZE_MEM_BUFFER`, 16 KiB): at the first APDU a 12-byte
/// context, the receive buffer (n bytes) and a Keccak context; when the message is complete, the
/// display buffer (n + 1 bytes for text, 2n + 3 for hex) while the rest is still held. This model
/// charges each allocation rounded up to 8 bytes plus an 8-byte header and counts the Keccak
/// context as 424 bytes; the other UI buffers are ignored. With the default heap the limits are
/// `max_message_len(16384, true)` = 7952 bytes of text and 5302 bytes of binary, matching the
/// "7–8 KB of text, about 5 KB of binary" seen on devices. The heap size is configurable
/// ([`crate::SoftwareDevice::set_heap_size`]) so tests can reach the other limits.
pub mod heap {
    /// The app's heap size (`SIZE_MEM_BUFFER`).
    pub const DEFAULT_HEAP_SIZE: usize = 16 * 1024;
    /// Size of the app's message context (`signMsgCtx_t`).
    pub const CONTEXT_BYTES: usize = 12;
    /// Size charged for the Keccak-256 context (`cx_sha3_t`).
    pub const HASH_CONTEXT_BYTES: usize = 424;
    /// Per-allocation header charged by the model.
    pub const ALLOCATION_HEADER: usize = 8;

    /// Heap bytes one allocation of `size` bytes costs in this model.
    pub fn charge(size: usize) -> usize {
        size.div_ceil(8)
            .saturating_mul(8)
            .saturating_add(ALLOCATION_HEADER)
    }

    /// Bytes held after the first APDU of an `n`-byte message.
    pub fn after_first_apdu(n: usize) -> usize {
        charge(CONTEXT_BYTES)
            .saturating_add(charge(n))
            .saturating_add(charge(HASH_CONTEXT_BYTES))
    }

    /// Length of the display buffer for an `n`-byte message.
    pub fn display_len(n: usize, as_text: bool) -> usize {
        if as_text {
            n.saturating_add(1)
        } else {
            n.saturating_mul(2).saturating_add(3)
        }
    }

    /// Whether an `n`-byte message (text or not) fits a heap of `heap_size` bytes.
    pub fn fits(heap_size: usize, n: usize, as_text: bool) -> bool {
        after_first_apdu(n).saturating_add(charge(display_len(n, as_text))) <= heap_size
    }

    /// The longest message (text or not) that fits a heap of `heap_size` bytes.
    pub fn max_message_len(heap_size: usize, as_text: bool) -> usize {
        // `fits` is monotonic in n: binary search over 0..=heap_size.
        let (mut lo, mut hi) = (0usize, heap_size);
        if !fits(heap_size, 0, as_text) {
            return 0;
        }
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(heap_size, mid, as_text) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }
}

/// Handles one `E0 08` APDU. `message` is the app context's message slot; on any error status
/// the caller clears it (the app's `reset_app_context`). [`AppExit`] when the user approved a
/// message that cannot be signed: the app exits without answering.
pub(crate) fn handle(
    cmd: &Command<'_>,
    message: &mut Option<MessageInProgress>,
    seed: &Seed,
    heap_size: usize,
    ui: &dyn Ui,
) -> Result<Reply, AppExit> {
    let chunk = match cmd.p1 {
        P1_FIRST => {
            if message.take().is_some() {
                return Ok(Reply::status(sw::COMMAND_NOT_ALLOWED));
            }
            match first_chunk(cmd.data, heap_size) {
                Ok((started, chunk)) => {
                    *message = Some(started);
                    chunk
                }
                Err(status) => return Ok(Reply::status(status)),
            }
        }
        P1_MORE => {
            if message.is_none() {
                return Ok(Reply::status(sw::INCORRECT_DATA));
            }
            cmd.data
        }
        _ => return Ok(Reply::status(sw::WRONG_P1_P2)),
    };

    let Some(current) = message.as_mut() else {
        return Ok(Reply::status(sw::INCORRECT_DATA));
    };
    if current.received.len() + chunk.len() > current.declared {
        return Ok(Reply::status(sw::INCORRECT_DATA));
    }
    current.received.extend_from_slice(chunk);
    if current.received.len() < current.declared {
        return Ok(Reply::status(sw::SUCCESS));
    }

    // Complete: the review happens now, and the app context goes back to idle whatever the
    // outcome (the reply to this APDU is the last thing the message produces).
    match message.take() {
        Some(complete) => review_and_sign(complete, seed, heap_size, ui),
        None => Ok(Reply::status(sw::INCORRECT_DATA)),
    }
}

/// Parses the first APDU's data and charges the first allocations.
fn first_chunk(data: &[u8], heap_size: usize) -> Result<(MessageInProgress, &[u8]), u16> {
    let (path, rest) = DerivationPath::read_apdu(data).ok_or(sw::INCORRECT_DATA)?;
    let (length, chunk) = rest.split_first_chunk::<4>().ok_or(sw::INCORRECT_DATA)?;
    if heap::charge(heap::CONTEXT_BYTES) > heap_size {
        return Err(sw::INSUFFICIENT_MEMORY);
    }
    // The app reads 4 bytes but keeps them in `uint16_t msg_length` (`signMsgCtx_t`,
    // `cmd_sign_message.c`): a declared length of 65,536 or more silently wraps, and the app
    // receives, hashes (with the wrapped length in the EIP-191 prefix) and signs that many bytes.
    // Recorded from app 1.22.0: 0x00010005 followed by "hello" signs "hello"
    // (`ethapp-apdus.json`, `ps_declared_len_65536_plus_5`).
    let declared = usize::from(u32::from_be_bytes(*length) as u16);
    let heap_used = heap::after_first_apdu(declared);
    if heap_used > heap_size {
        return Err(sw::INSUFFICIENT_MEMORY);
    }
    let started = MessageInProgress {
        path,
        declared,
        received: Vec::with_capacity(declared),
        heap_used,
    };
    Ok((started, chunk))
}

/// The app's `final_process` and review: length guard, display buffer, screens, signature.
fn review_and_sign(
    message: MessageInProgress,
    seed: &Seed,
    heap_size: usize,
    ui: &dyn Ui,
) -> Result<Reply, AppExit> {
    let MessageInProgress {
        path,
        received,
        heap_used,
        ..
    } = message;
    if received.len() > MAX_MESSAGE_LENGTH {
        return Ok(Reply::status(sw::INCORRECT_DATA));
    }
    let as_text = screen::is_displayed_as_text(&received);
    let display = heap::charge(heap::display_len(received.len(), as_text));
    if heap_used.saturating_add(display) > heap_size {
        return Ok(Reply::status(sw::INSUFFICIENT_MEMORY));
    }

    if !ui.review(screen::personal_message_review(&received)) {
        ui.status(Screen::title(screen::MESSAGE_REJECTED));
        return Ok(Reply::status(sw::CONDITIONS_NOT_SATISFIED).after_review());
    }
    // The key is derived only when the user approves, and the app asserts that signing worked
    // (`CX_ASSERT` in `io_seproxyhal_touch_signMessage_ok`): at a path the OS refuses, the person
    // reviews and approves, then the app exits without answering. Recorded from app 1.22.0
    // (`ethapp-apdus.json`, `ps_path_coin_0_bitcoin_approve`, `ps_path_len_1_m/44'_approve`).
    if path.refusal().is_some() {
        return Err(AppExit);
    }
    let signature = seed
        .derive(&path)
        .and_then(|key| key.sign_digest(&personal_message_digest(&received)));
    match signature {
        Ok(signature) => {
            ui.status(Screen::title(screen::MESSAGE_SIGNED));
            Ok(Reply::signature(signature))
        }
        // An invalid child key or a zero nonce (probability about 2^-127): the same assertion
        // fails.
        Err(_) => Err(AppExit),
    }
}

#[cfg(test)]
mod tests {
    use super::heap::*;

    #[test]
    fn default_heap_limits_match_what_devices_accept() {
        assert_eq!(max_message_len(DEFAULT_HEAP_SIZE, true), 7952);
        assert_eq!(max_message_len(DEFAULT_HEAP_SIZE, false), 5302);
        assert!(fits(DEFAULT_HEAP_SIZE, 7952, true));
        assert!(!fits(DEFAULT_HEAP_SIZE, 7953, true));
        assert!(!fits(DEFAULT_HEAP_SIZE, 5303, false));
        assert_eq!(max_message_len(0, true), 0);
    }
}
