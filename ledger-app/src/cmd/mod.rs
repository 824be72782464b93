//! One file per command the software device answers. Each handler takes a parsed
//! [`Command`](crate::apdu::Command) and returns a [`Reply`]; status-word policy that applies to
//! every command (locked device, APDU length, class, reset on error) lives in
//! [`crate::device`].

pub(crate) mod app_config;
pub(crate) mod get_address;
pub(crate) mod not_implemented;
pub(crate) mod os;
pub(crate) mod personal_sign;

use crate::Screen;
use crate::sw;

/// What a command answers: data and status word, plus whether the data is a signature (the
/// signature faults apply only to those) and whether the answer comes from a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub data: Vec<u8>,
    pub sw: u16,
    pub is_signature: bool,
    /// Sent by the review's callback once the person decided, not by the main loop (the
    /// handler deferred it with `IO_ASYNCH_REPLY`): see [`crate::io::Sender::Review`].
    pub after_review: bool,
}

impl Reply {
    /// A status word without data.
    pub fn status(sw: u16) -> Self {
        Self {
            data: Vec::new(),
            sw,
            is_signature: false,
            after_review: false,
        }
    }

    /// Data and `9000`.
    pub fn ok(data: Vec<u8>) -> Self {
        Self {
            data,
            ..Self::status(sw::SUCCESS)
        }
    }

    /// A 65-byte `v || r || s` signature and `9000`, sent after the review.
    pub fn signature(signature: [u8; 65]) -> Self {
        Self {
            data: signature.to_vec(),
            is_signature: true,
            ..Self::status(sw::SUCCESS).after_review()
        }
    }

    /// The same answer, sent by the review's callback.
    pub fn after_review(self) -> Self {
        Self {
            after_review: true,
            ..self
        }
    }

    /// The wire form: data followed by the big-endian status word.
    pub fn into_answer(self) -> Vec<u8> {
        let mut out = self.data;
        out.extend_from_slice(&self.sw.to_be_bytes());
        out
    }
}

/// The app exits instead of answering: the SDK's `LEDGER_ASSERT` ends the app (the device goes
/// back to its dashboard; Speculos ends). The official app does so when an approved signature
/// cannot be made, e.g. at a path the OS refuses to derive (`ui_common_sign_message.c`:
/// `CX_ASSERT(bip32_derive_ecdsa_sign_rs_hash_256(...))`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AppExit;

/// The device's screen and buttons, as the command handlers see them.
pub(crate) trait Ui {
    /// Shows the review screens (logging them) and returns the user's choice.
    fn review(&self, screens: Vec<Screen>) -> bool;
    /// Shows a status screen after a review, then the home screen it returns to (both
    /// logged too).
    fn status(&self, screen: Screen);
}
