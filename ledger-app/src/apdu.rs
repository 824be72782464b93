//! Command APDU framing, the one place raw command bytes are parsed.
//!
//! The Ledger SDK parser (`lib_standard_app/parser.c`) accepts exactly two shapes: 4 bytes
//! `CLA INS P1 P2` (no data), or `CLA INS P1 P2 Lc data` with exactly `Lc` data bytes. Anything
//! else (a trailing Le byte, a short or long data field) is refused before dispatch with
//! [`crate::sw::WRONG_DATA_LENGTH`].

/// Class byte of every Ethereum app command.
pub const CLA_ETH: u8 = 0xE0;
/// Class byte of the OS/SDK commands every app and the dashboard answer.
pub const CLA_OS: u8 = 0xB0;

/// GET ETH PUBLIC ADDRESS.
pub const INS_GET_PUBLIC_KEY: u8 = 0x02;
/// GET APP CONFIGURATION.
pub const INS_GET_APP_CONFIGURATION: u8 = 0x06;
/// SIGN ETH PERSONAL MESSAGE (EIP-191).
pub const INS_SIGN_PERSONAL_MESSAGE: u8 = 0x08;
/// SIGN ETH TRANSACTION (not implemented here; see `cmd/not_implemented.rs`).
pub const INS_SIGN_TRANSACTION: u8 = 0x04;
/// PROVIDE ERC 20 TOKEN INFORMATION (not implemented here).
pub const INS_PROVIDE_ERC20_TOKEN_INFORMATION: u8 = 0x0A;
/// SIGN ETH EIP 712 (not implemented here).
pub const INS_SIGN_EIP712: u8 = 0x0C;
/// OS: GET APP AND VERSION (`B0 01 00 00`).
pub const INS_OS_GET_APP_AND_VERSION: u8 = 0x01;
/// OS: quit the running app and go back to the dashboard (`B0 A7 00 00`).
pub const INS_OS_QUIT_APP: u8 = 0xA7;

/// Address command P1: return without display.
pub const P1_NON_CONFIRM: u8 = 0x00;
/// Address command P1: display and wait for the user.
pub const P1_CONFIRM: u8 = 0x01;
/// Address command P2: no chain code.
pub const P2_NO_CHAINCODE: u8 = 0x00;
/// Address command P2: append the 32-byte chain code.
pub const P2_CHAINCODE: u8 = 0x01;
/// Chunked command P1: first chunk.
pub const P1_FIRST: u8 = 0x00;
/// Chunked command P1: following chunk.
pub const P1_MORE: u8 = 0x80;

/// A well-formed command APDU, borrowed from the received bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// First parameter.
    pub p1: u8,
    /// Second parameter.
    pub p2: u8,
    /// Data field (`Lc` bytes; empty for a 4-byte APDU).
    pub data: &'a [u8],
}

impl<'a> Command<'a> {
    /// Parses `bytes` with the SDK's rule; `None` means "answer `0x6A87`".
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        let (header, rest) = bytes.split_first_chunk::<4>()?;
        let [cla, ins, p1, p2] = *header;
        let data = match rest.split_first() {
            None => &[][..],
            Some((&lc, data)) if data.len() == usize::from(lc) => data,
            Some(_) => return None,
        };
        Some(Self {
            cla,
            ins,
            p1,
            p2,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_byte_apdu_has_empty_data() {
        let c = Command::parse(&[0xE0, 0x06, 0x00, 0x00]).unwrap();
        assert_eq!((c.cla, c.ins, c.p1, c.p2), (0xE0, 0x06, 0, 0));
        assert!(c.data.is_empty());
    }

    #[test]
    fn lc_must_match_the_data_length_exactly() {
        assert_eq!(
            Command::parse(&[0xE0, 0x06, 0, 0, 0]).map(|c| c.data.len()),
            Some(0)
        );
        assert_eq!(
            Command::parse(&[0xE0, 0x02, 0, 0, 2, 9, 8]).map(|c| c.data.to_vec()),
            Some(vec![9, 8])
        );
        // Trailing Le, short data, long data, short header.
        assert!(Command::parse(&[0xE0, 0x06, 0, 0, 0, 0]).is_none());
        assert!(Command::parse(&[0xE0, 0x02, 0, 0, 3, 9, 8]).is_none());
        assert!(Command::parse(&[0xE0, 0x02, 0, 0, 1, 9, 8]).is_none());
        assert!(Command::parse(&[0xE0, 0x02, 0]).is_none());
        assert!(Command::parse(&[]).is_none());
    }
}
