//! A transport straight into the software device (`ledger-app`) in this process: the same
//! bytes a USB or TCP transport would carry, with no framing in between. Used by
//! `--device emulator` and by tests.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use ledger_app::SoftwareDevice;
use zeroize::Zeroize;

use super::error::DeviceError;
use super::model::LedgerModel;
use super::transport::{ApduAnswer, ApduCommand, Transport};

/// The software device, called directly.
#[derive(Debug, Clone)]
pub struct InProcessTransport {
    device: Arc<SoftwareDevice>,
}

impl InProcessTransport {
    /// A transport into `device` (share the `Arc` to drive its approval policy, lock state or
    /// faults from elsewhere).
    pub fn new(device: Arc<SoftwareDevice>) -> Self {
        Self { device }
    }

    /// The device behind this transport.
    pub fn device(&self) -> &Arc<SoftwareDevice> {
        &self.device
    }
}

impl InProcessTransport {
    fn answer(raw: Result<Vec<u8>, ledger_app::NoAnswer>) -> Result<ApduAnswer, DeviceError> {
        let mut raw = raw.map_err(|no_answer| DeviceError::Disconnected {
            detail: no_answer.to_string(),
        })?;
        let answer = ApduAnswer::from_bytes(&raw);
        // The raw copy may hold a signature, which can be a secret.
        raw.zeroize();
        answer
    }
}

impl Transport for InProcessTransport {
    fn exchange(&self, command: &ApduCommand) -> Result<ApduAnswer, DeviceError> {
        Self::answer(self.device.exchange_checked(&command.to_bytes()))
    }

    /// The model the software device stands for.
    fn model(&self) -> Option<LedgerModel> {
        Some(match self.device.model() {
            ledger_app::Model::NanoSPlus => LedgerModel::NanoSPlus,
            ledger_app::Model::NanoX => LedgerModel::NanoX,
        })
    }

    /// Runs the command on its own thread and stops waiting after `limit` (a device slowed
    /// down by its delay fault, or held by a review on another thread). Unlike a USB or TCP
    /// link, nothing can arrive late in place of a later answer: each answer is returned to
    /// the call that asked for it, so the transport stays usable after a timeout.
    fn exchange_within(
        &self,
        command: &ApduCommand,
        limit: Duration,
    ) -> Result<ApduAnswer, DeviceError> {
        let device = Arc::clone(&self.device);
        let apdu = command.to_bytes();
        let (sender, receiver) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("software-ledger-exchange".into())
            .spawn(move || {
                if let Err(mpsc::SendError(Ok(mut late))) =
                    sender.send(device.exchange_checked(&apdu))
                {
                    // Nobody waits for it any more; it may still be a signature.
                    late.zeroize();
                }
            })
            .map_err(|source| DeviceError::Io {
                context: "starting the software device's thread".into(),
                source,
            })?;
        match receiver.recv_timeout(limit) {
            Ok(raw) => Self::answer(raw),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(DeviceError::Timeout { after: limit }),
            // The device panicked while answering.
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(DeviceError::Disconnected {
                detail: "the software device failed while answering".into(),
            }),
        }
    }
}
