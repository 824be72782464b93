//! A transport straight into the software device (`ledger-app`) in this process: the same
//! bytes a USB or TCP transport would carry, with no framing in between. Used by
//! `--device emulator` and by tests.

use std::sync::Arc;

use ledger_app::SoftwareDevice;
use zeroize::Zeroize;

use super::error::DeviceError;
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

impl Transport for InProcessTransport {
    fn exchange(&self, command: &ApduCommand) -> Result<ApduAnswer, DeviceError> {
        let mut raw = self
            .device
            .exchange_checked(&command.to_bytes())
            .map_err(|dropped| DeviceError::Disconnected {
                detail: dropped.to_string(),
            })?;
        let answer = ApduAnswer::from_bytes(&raw);
        // The raw copy may hold a signature, which can be a secret.
        raw.zeroize();
        answer
    }
}
