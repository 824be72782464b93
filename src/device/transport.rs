//! The seam between the host and a device: one APDU exchange.
//!
//! Framing (USB HID reports, the Speculos socket, a function call into the software device)
//! lives in the implementations; the meaning of commands and status words lives above, in
//! [`super::eth_app`]. Nothing above this trait knows which transport it has.

use std::time::Duration;

use zeroize::Zeroize;

use super::error::{DeviceError, SW_OK};
use super::model::LedgerModel;

/// Most data bytes one command APDU can carry (`Lc` is one byte).
pub const MAX_APDU_DATA: usize = 255;

/// A command APDU: `CLA INS P1 P2 Lc data`. Data is at most [`MAX_APDU_DATA`] bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct ApduCommand {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: Vec<u8>,
}

impl ApduCommand {
    /// Builds a command; refuses data longer than 255 bytes rather than sending a wrong `Lc`.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8, data: Vec<u8>) -> Result<Self, DeviceError> {
        if data.len() > MAX_APDU_DATA {
            return Err(DeviceError::CommandTooLong { len: data.len() });
        }
        Ok(Self {
            cla,
            ins,
            p1,
            p2,
            data,
        })
    }

    /// Class byte.
    pub fn cla(&self) -> u8 {
        self.cla
    }

    /// Instruction byte.
    pub fn ins(&self) -> u8 {
        self.ins
    }

    /// First parameter.
    pub fn p1(&self) -> u8 {
        self.p1
    }

    /// Second parameter.
    pub fn p2(&self) -> u8 {
        self.p2
    }

    /// Data field.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Serialized form `CLA INS P1 P2 Lc data`. `Lc` is always present (as ledgerjs sends it;
    /// the SDK parser accepts it with empty data) and no `Le` is ever appended, since the
    /// parser rejects a trailing byte with `0x6A87`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.data.len());
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        // `new` bounds the length to 255.
        out.push(self.data.len() as u8);
        out.extend_from_slice(&self.data);
        out
    }
}

impl std::fmt::Debug for ApduCommand {
    /// Header and length only: data can be a message the user would rather not see in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ApduCommand({:02x} {:02x} {:02x} {:02x}, {} data bytes)",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len()
        )
    }
}

/// A response APDU: data and the 2-byte status word. The status word is always kept, whatever
/// it is; interpreting it is the caller's job.
///
/// The data is wiped on drop: a personal_sign answer is a signature that may be a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApduAnswer {
    data: Vec<u8>,
    status: u16,
}

impl ApduAnswer {
    /// From data and status word.
    pub fn new(data: Vec<u8>, status: u16) -> Self {
        Self { data, status }
    }

    /// Parses `data || SW` as received from a device. Fewer than 2 bytes is a malformed
    /// answer, never a panic.
    pub fn from_bytes(raw: &[u8]) -> Result<Self, DeviceError> {
        let Some(split) = raw.len().checked_sub(2) else {
            return Err(DeviceError::malformed(format!(
                "answer of {} bytes is shorter than a status word",
                raw.len()
            )));
        };
        let (data, sw) = raw.split_at(split);
        Ok(Self {
            data: data.to_vec(),
            status: u16::from_be_bytes([sw[0], sw[1]]),
        })
    }

    /// Data without the status word.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The status word.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// True for `0x9000`.
    pub fn is_success(&self) -> bool {
        self.status == SW_OK
    }

    /// The data if the status word is `0x9000`, else the typed error for the status word.
    pub fn into_result(self) -> Result<Self, DeviceError> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(DeviceError::from_status(self.status))
        }
    }
}

impl Drop for ApduAnswer {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

impl std::fmt::Debug for ApduAnswer {
    /// Length and status only: the data can be a secret signature.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ApduAnswer({} data bytes, status {:04x})",
            self.data.len(),
            self.status
        )
    }
}

/// One APDU exchange with a device: send a command, wait for its answer.
///
/// Two ways to wait, because two kinds of command exist:
/// - [`Transport::exchange`] waits as long as it takes (up to a limit the transport itself may
///   be configured with): the answer may come only after a person reviews and approves on the
///   device, and nobody can say how long a person takes.
/// - [`Transport::exchange_within`] waits at most `limit`: the device answers by itself (app
///   configuration, an address without confirmation), so a device silent that long is stuck,
///   and the caller gets [`DeviceError::Timeout`] instead of a hang.
///
/// Implementations block until the answer arrives or the wait ends; async callers run them on
/// `spawn_blocking`. An answer with any status word is `Ok`: only failures of the link itself
/// (not found, permission, disconnected, timeout, malformed framing) are errors. Exchanges
/// are serialized: a device has one command outstanding at a time.
///
/// A link that timed out in the middle of an exchange may still deliver that exchange's late
/// answer, which would then be read as the answer to the next command. A transport over such
/// a link (USB, TCP) therefore refuses every later exchange ([`DeviceError::Disconnected`])
/// rather than risk reading a stale answer.
#[cfg_attr(test, mockall::automock)]
pub trait Transport: Send + Sync {
    /// Sends `command` and returns the device's answer, waiting as long as it takes.
    fn exchange(&self, command: &ApduCommand) -> Result<ApduAnswer, DeviceError>;

    /// Sends `command` and returns the device's answer, or [`DeviceError::Timeout`] once
    /// `limit` has passed without one.
    ///
    /// The default waits as long as [`Transport::exchange`] does: right for a transport that
    /// answers at once (in memory). Every transport over a link that can go silent (USB, TCP,
    /// another thread) overrides it.
    fn exchange_within(
        &self,
        command: &ApduCommand,
        limit: Duration,
    ) -> Result<ApduAnswer, DeviceError> {
        let _ = limit;
        self.exchange(command)
    }

    /// The Ledger model at the other end, when the link says it (USB: the product id; the
    /// software device in this process: its model). `None` when it does not: a
    /// Speculos-compatible socket carries APDUs only.
    fn model(&self) -> Option<LedgerModel> {
        None
    }
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn exchange(&self, command: &ApduCommand) -> Result<ApduAnswer, DeviceError> {
        (**self).exchange(command)
    }

    fn exchange_within(
        &self,
        command: &ApduCommand,
        limit: Duration,
    ) -> Result<ApduAnswer, DeviceError> {
        (**self).exchange_within(command, limit)
    }

    fn model(&self) -> Option<LedgerModel> {
        (**self).model()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn exchange(&self, command: &ApduCommand) -> Result<ApduAnswer, DeviceError> {
        (**self).exchange(command)
    }

    fn exchange_within(
        &self,
        command: &ApduCommand,
        limit: Duration,
    ) -> Result<ApduAnswer, DeviceError> {
        (**self).exchange_within(command, limit)
    }

    fn model(&self) -> Option<LedgerModel> {
        (**self).model()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_serializes_with_lc_and_without_le() {
        let command = ApduCommand::new(0xE0, 0x06, 0, 0, vec![]).unwrap();
        assert_eq!(command.to_bytes(), [0xE0, 0x06, 0, 0, 0]);
        let command = ApduCommand::new(0xE0, 0x02, 1, 0, vec![9, 8, 7]).unwrap();
        assert_eq!(command.to_bytes(), [0xE0, 0x02, 1, 0, 3, 9, 8, 7]);
    }

    #[test]
    fn command_refuses_more_than_255_data_bytes() {
        assert_eq!(
            ApduCommand::new(0xE0, 0x08, 0, 0, vec![0; 255])
                .unwrap()
                .to_bytes()[4],
            255
        );
        assert!(matches!(
            ApduCommand::new(0xE0, 0x08, 0, 0, vec![0; 256]),
            Err(DeviceError::CommandTooLong { len: 256 })
        ));
    }

    #[test]
    fn answer_keeps_every_status_word() {
        let answer = ApduAnswer::from_bytes(&[1, 2, 3, 0x90, 0x00]).unwrap();
        assert_eq!((answer.data(), answer.status()), (&[1u8, 2, 3][..], 0x9000));
        assert!(answer.is_success());
        let answer = ApduAnswer::from_bytes(&[0x55, 0x15]).unwrap();
        assert_eq!((answer.data(), answer.status()), (&[][..], 0x5515));
        assert!(matches!(
            answer.into_result(),
            Err(DeviceError::Locked { status: 0x5515 })
        ));
        // An unknown status word with data still surfaces as a number.
        let answer = ApduAnswer::from_bytes(&[7, 0x12, 0x34]).unwrap();
        assert!(matches!(
            answer.into_result(),
            Err(DeviceError::Status { status: 0x1234 })
        ));
    }

    #[test]
    fn answer_shorter_than_a_status_word_is_malformed() {
        for raw in [&[][..], &[0x90][..]] {
            assert!(matches!(
                ApduAnswer::from_bytes(raw),
                Err(DeviceError::Malformed { .. })
            ));
        }
    }

    #[test]
    fn debug_never_prints_data() {
        let answer = ApduAnswer::new(vec![0xAB; 65], 0x9000);
        assert!(!format!("{answer:?}").contains("ab"));
        let command = ApduCommand::new(0xE0, 0x08, 0, 0, b"secret".to_vec()).unwrap();
        assert!(!format!("{command:?}").contains("secret"));
    }
}
