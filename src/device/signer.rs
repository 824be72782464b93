//! [`LedgerSigner`]: one account of the Ethereum app, as a [`crate::signer::Signer`].

use std::sync::Mutex;

use crate::identity::{Address, WalletSignature};
use crate::signer::Signer;

use super::error::DeviceError;
use super::eth_app::{AddressOptions, EthApp};
use super::path::DerivationPath;

/// The Ethereum app bound to one derivation path.
///
/// The address is read from the device once and cached; every signature is checked to
/// recover to that address over exactly the text sent before it is returned, so a stale,
/// corrupted or other-account signature never leaves this type.
#[derive(Debug)]
pub struct LedgerSigner {
    app: EthApp,
    path: DerivationPath,
    address: Mutex<Option<Address>>,
}

impl Clone for LedgerSigner {
    /// A signer for the same account sharing the device (operations still take turns).
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            path: self.path.clone(),
            address: Mutex::new(*self.cache()),
        }
    }
}

impl LedgerSigner {
    /// A signer for `path`; talks to the device only when first used.
    pub fn new(app: EthApp, path: DerivationPath) -> Self {
        Self {
            app,
            path,
            address: Mutex::new(None),
        }
    }

    /// A signer for `path` whose address is read right away, so a locked device, a closed
    /// app or a refused path fail here rather than in the middle of a flow.
    pub fn connect(app: EthApp, path: DerivationPath) -> Result<Self, DeviceError> {
        let signer = Self::new(app, path);
        signer.address()?;
        Ok(signer)
    }

    /// The derivation path.
    pub fn path(&self) -> &DerivationPath {
        &self.path
    }

    /// The app client.
    pub fn app(&self) -> &EthApp {
        &self.app
    }

    /// Shows the address on the device and waits for the user to approve it
    /// ([`DeviceError::Rejected`] if they do not). Fails with [`DeviceError::AddressMismatch`]
    /// if the device now shows another address than the one this signer has been using.
    pub fn confirm_address(&self) -> Result<Address, DeviceError> {
        let shown = self
            .app
            .get_address(
                &self.path,
                AddressOptions {
                    confirm: true,
                    chain_code: false,
                },
            )?
            .address;
        let mut cached = self.cache();
        match *cached {
            Some(known) if known != shown => Err(DeviceError::AccountChanged {
                before: known,
                now: shown,
            }),
            _ => {
                *cached = Some(shown);
                Ok(shown)
            }
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Option<Address>> {
        // The guarded value is a plain Option<Address>: a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is still usable.
        self.address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Signer for LedgerSigner {
    type Error = DeviceError;

    fn address(&self) -> Result<Address, DeviceError> {
        if let Some(address) = *self.cache() {
            return Ok(address);
        }
        // Not holding the lock across device I/O: a concurrent caller may read it twice,
        // which is harmless (same path, same answer).
        let address = self.app.address(&self.path)?;
        *self.cache() = Some(address);
        Ok(address)
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, DeviceError> {
        let expected = self.address()?;
        self.app
            .sign_personal_message(&self.path, text.as_bytes(), &expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::testing::{Tamper, device_address, fake_app};

    #[test]
    fn address_is_read_once_and_signatures_are_verified() {
        let (app, state) = fake_app();
        let signer = LedgerSigner::new(app, DerivationPath::ledger_live(0).unwrap());
        assert_eq!(
            state.lock().unwrap().log.len(),
            0,
            "new() must not talk to the device"
        );
        assert_eq!(signer.address().unwrap(), device_address());
        assert_eq!(signer.address().unwrap(), device_address());
        let text = "XMTP : Enable Identity\n00\n\nFor more info: https://xmtp.org/signatures/";
        let signature = signer.personal_sign(text).unwrap();
        signature
            .verify_personal_sign(text.as_bytes(), &device_address())
            .unwrap();
        let log = state.lock().unwrap().log.clone();
        let address_reads = log.iter().filter(|c| c.ins() == 0x02).count();
        assert_eq!(address_reads, 1, "the address must be cached");
        assert_eq!(log.iter().filter(|c| c.ins() == 0x08).count(), 1);
    }

    #[test]
    fn stale_signature_is_an_error_not_a_result() {
        let (app, state) = fake_app();
        let signer = LedgerSigner::connect(app, DerivationPath::ledger_live(0).unwrap()).unwrap();
        signer.personal_sign("one").unwrap();
        state.lock().unwrap().tamper = Tamper::Stale;
        assert!(matches!(
            signer.personal_sign("two"),
            Err(DeviceError::BadSignature { .. })
        ));
    }

    #[test]
    fn confirm_address_sends_p1_confirm() {
        let (app, state) = fake_app();
        let signer = LedgerSigner::new(app, DerivationPath::legacy(0).unwrap());
        assert_eq!(signer.confirm_address().unwrap(), device_address());
        let log = state.lock().unwrap().log.clone();
        assert_eq!((log[0].ins(), log[0].p1()), (0x02, 0x01));
        // Confirmed address is cached for signing.
        assert_eq!(signer.address().unwrap(), device_address());
        assert_eq!(state.lock().unwrap().log.len(), 1);
    }
}
