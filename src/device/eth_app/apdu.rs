//! The Ethereum app's wire constants and the commands built from them. Nothing here talks to
//! a device, so the exact bytes sent can be checked without one.

use super::super::error::DeviceError;
use super::super::path::DerivationPath;
use super::super::transport::{ApduCommand, MAX_APDU_DATA};

/// Class byte of every Ethereum app command.
pub const CLA: u8 = 0xE0;
/// GET ETH PUBLIC ADDRESS.
pub const INS_GET_PUBLIC_KEY: u8 = 0x02;
/// GET APP CONFIGURATION.
pub const INS_GET_APP_CONFIGURATION: u8 = 0x06;
/// SIGN ETH PERSONAL MESSAGE (EIP-191).
pub const INS_SIGN_PERSONAL_MESSAGE: u8 = 0x08;
/// Address P1: return without showing it.
pub const P1_NON_CONFIRM: u8 = 0x00;
/// Address P1: show it on the device and wait for the user to approve.
pub const P1_CONFIRM: u8 = 0x01;
/// Address P2: no chain code.
pub const P2_NO_CHAINCODE: u8 = 0x00;
/// Address P2: append the 32-byte BIP-32 chain code.
pub const P2_CHAINCODE: u8 = 0x01;
/// Chunked command P1: first chunk (carries the path and the message length).
pub const P1_FIRST: u8 = 0x00;
/// Chunked command P1: a following chunk.
pub const P1_MORE: u8 = 0x80;
/// Class byte of the OS commands every app and the dashboard answer.
pub const CLA_OS: u8 = 0xB0;
/// OS: GET APP AND VERSION.
pub const INS_OS_GET_APP_AND_VERSION: u8 = 0x01;

/// Longest message the Ethereum app (≥ 1.18) accepts: it refuses more than `(0xFFFF − 3) / 2`
/// once a message is complete. In practice its 16 KiB heap runs out earlier
/// ([`DeviceError::OutOfMemory`]), but longer messages are refused before anything is sent
/// ([`DeviceError::MessageTooLong`]), above all those of 65,536 bytes or more: the app keeps the
/// declared length in 16 bits, so it would take the first `len mod 65,536` bytes for the whole
/// message and sign that (recorded from app 1.22.0: a declared 65,541 followed by `hello` is
/// signed as `hello`).
pub const MAX_PERSONAL_MESSAGE_LEN: usize = (0xFFFF - 3) / 2;

/// Name the Ethereum app reports to `B0 01`.
pub const ETHEREUM_APP_NAME: &str = "Ethereum";

/// Options of GET ETH PUBLIC ADDRESS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressOptions {
    /// Show the address on the device and wait for the user to approve it (P1 = 1).
    pub confirm: bool,
    /// Ask for the BIP-32 chain code too (P2 = 1).
    pub chain_code: bool,
}

/// Builds the SIGN ETH PERSONAL MESSAGE commands for `message`: the stream
/// `path ‖ u32be(len) ‖ message` cut into 255-byte slices, the first with P1 `0x00` and the rest
/// with P1 `0x80`. That is the fewest APDUs possible: `ceil((path_len + 4 + len) / 255)`, and
/// always at least one (an empty message is sent as path and a zero length).
pub fn personal_message_apdus(
    path: &DerivationPath,
    message: &[u8],
) -> Result<Vec<ApduCommand>, DeviceError> {
    if message.len() > MAX_PERSONAL_MESSAGE_LEN {
        return Err(DeviceError::MessageTooLong {
            len: message.len(),
            max: MAX_PERSONAL_MESSAGE_LEN,
        });
    }
    let mut stream = path.to_apdu_bytes();
    // Bounded by MAX_PERSONAL_MESSAGE_LEN above, so it fits in u32.
    stream.extend_from_slice(&(message.len() as u32).to_be_bytes());
    stream.extend_from_slice(message);
    stream
        .chunks(MAX_APDU_DATA)
        .enumerate()
        .map(|(i, chunk)| {
            let p1 = if i == 0 { P1_FIRST } else { P1_MORE };
            ApduCommand::new(CLA, INS_SIGN_PERSONAL_MESSAGE, p1, 0x00, chunk.to_vec())
        })
        .collect()
}
