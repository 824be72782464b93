//! The app's I/O buffer, and the one place its old contents reach a host: the main loop's
//! `6A87` answer.
//!
//! In SDK v25 the buffer a command arrives in is the buffer its answer is written to
//! (`io_legacy/include/os_io_legacy.h`: `#define G_io_apdu_buffer G_io_tx_buffer`): each APDU is
//! copied over the start of whatever the last answer left there, and each answer is written
//! from the start. The Ethereum app's main loop (`app-ethereum src/main.c app_main`, 1.22.0)
//! keeps the length of its last answer in `tx`, sets it to 0 before each command it dispatches,
//! and writes the status word at `tx`. When an APDU has the wrong length it skips dispatch and
//! so never resets `tx`: the `6A87` answer carries the first `tx` bytes of the buffer, i.e. the
//! new APDU over the rest of the previous answer. Recorded from app 1.22.0
//! (`ethapp-apdus.json`): after `6D00`, `E0 06 00` is answered `E0 06` `6A87`; after the
//! configuration `02 01 16 00 90 00`, it is answered `E0 06 00 00 90 00` `6A87`; after a
//! signature (sent from the review, with the main loop's `tx` at 0) it is a bare `6A87`.
//!
//! This defect is modelled so that hosts are tested against it: data that comes with an error
//! status word is garbage and must never be parsed.

use zeroize::Zeroizing;

use crate::cmd::Reply;
use crate::sw;

/// Size of the I/O buffer: `G_io_tx_buffer[OS_IO_BUFFER_SIZE + 1]` with
/// `OS_IO_SEPH_BUFFER_SIZE=272` (SDK v25.12 `Makefile.defines`). Past it the real app would
/// write out of bounds; this model stops at its end.
pub(crate) const BUFFER_SIZE: usize = 273;

/// Who sent an answer, which decides what the main loop's `tx` is afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sender {
    /// The main loop, after the handler returned: `tx` is the answer's length.
    MainLoop,
    /// The review's callback (`io_seproxyhal_send_status`), after the handler deferred the
    /// answer with `IO_ASYNCH_REPLY`: the main loop's `tx` stays at the 0 it set before
    /// dispatching.
    Review,
    /// The SDK's I/O layer, before the app saw the APDU (the lock screen, the OS's `B0`
    /// commands): the answer is written to the buffer, the main loop's `tx` is untouched.
    Os,
}

/// The I/O buffer and the main loop's `tx`, as a freshly started app has them (zeroed).
///
/// The buffer can hold a signature (an answer, or what is left of one), which may be a secret to
/// the host: it is wiped on drop.
pub(crate) struct IoBuffer {
    bytes: Zeroizing<[u8; BUFFER_SIZE]>,
    tx: usize,
}

impl Default for IoBuffer {
    fn default() -> Self {
        Self {
            bytes: Zeroizing::new([0; BUFFER_SIZE]),
            tx: 0,
        }
    }
}

impl IoBuffer {
    /// An APDU for the app arrives: it is copied over the start of the buffer.
    pub(crate) fn receive(&mut self, apdu: &[u8]) {
        let len = apdu.len().min(BUFFER_SIZE);
        self.bytes[..len].copy_from_slice(&apdu[..len]);
    }

    /// An answer is written over the start of the buffer by `sender`.
    pub(crate) fn send(&mut self, reply: &Reply, sender: Sender) {
        let mut len = 0;
        for chunk in [&reply.data[..], &reply.sw.to_be_bytes()[..]] {
            let end = (len + chunk.len()).min(BUFFER_SIZE);
            self.bytes[len..end].copy_from_slice(&chunk[..end - len]);
            len = end;
        }
        match sender {
            Sender::MainLoop => self.tx = len,
            Sender::Review => self.tx = 0,
            Sender::Os => {}
        }
    }

    /// The main loop's answer to an APDU of the wrong length (just [received](Self::receive)):
    /// the status word written at `tx`, and everything before it sent as data.
    pub(crate) fn wrong_length(&mut self) -> Reply {
        let at = self.tx.min(BUFFER_SIZE - 2);
        self.bytes[at..at + 2].copy_from_slice(&sw::WRONG_DATA_LENGTH.to_be_bytes());
        self.tx = at + 2;
        Reply {
            data: self.bytes[..at].to_vec(),
            ..Reply::status(sw::WRONG_DATA_LENGTH)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrong_length_after(io: &mut IoBuffer, apdu: &[u8]) -> Vec<u8> {
        io.receive(apdu);
        io.wrong_length().into_answer()
    }

    #[test]
    fn wrong_length_answers_carry_the_apdu_over_the_previous_answer() {
        let mut io = IoBuffer::default();
        // A fresh app has sent nothing: a bare status word.
        assert_eq!(
            wrong_length_after(&mut io, &[0xE0, 0x06, 0x00]),
            [0x6A, 0x87]
        );
        // That answer was 2 bytes long, so the next one carries 2 bytes: the new APDU's byte
        // over that answer's second one.
        assert_eq!(
            wrong_length_after(&mut io, &[0xE0]),
            [0xE0, 0x87, 0x6A, 0x87]
        );
        // After the configuration (6 bytes), 6 bytes: the APDU, then the rest of it.
        io.send(&Reply::ok(vec![0x02, 0x01, 0x16, 0x00]), Sender::MainLoop);
        assert_eq!(
            wrong_length_after(&mut io, &[0xE0, 0x06, 0x00]),
            [0xE0, 0x06, 0x00, 0x00, 0x90, 0x00, 0x6A, 0x87]
        );
        // After an answer sent from a review, nothing.
        io.send(&Reply::signature([0x1C; 65]), Sender::Review);
        assert_eq!(
            wrong_length_after(&mut io, &[0xE0, 0x06, 0x00]),
            [0x6A, 0x87]
        );
        // An answer from the OS changes the bytes but not the length.
        io.send(&Reply::status(0x5515), Sender::Os);
        assert_eq!(
            wrong_length_after(&mut io, &[0xE0]),
            [0xE0, 0x15, 0x6A, 0x87]
        );
    }

    #[test]
    fn the_model_stops_at_the_end_of_the_buffer() {
        let mut io = IoBuffer::default();
        io.receive(&[0xAB; 4096]);
        io.send(&Reply::ok(vec![0xCD; 4096]), Sender::MainLoop);
        for _ in 0..3 {
            let answer = wrong_length_after(&mut io, &[0xE0]);
            assert_eq!(answer.len(), BUFFER_SIZE);
            assert_eq!(answer[BUFFER_SIZE - 2..], [0x6A, 0x87]);
        }
    }
}
