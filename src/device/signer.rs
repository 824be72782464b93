//! [`LedgerSigner`]: one account of the Ethereum app, as a [`crate::signer::Signer`].

use std::sync::Arc;

use crate::identity::{Address, WalletSignature};
use crate::signer::Signer;

use super::error::DeviceError;
use super::eth_app::{AddressOptions, EthApp};
use super::guard::{SignGuard, SignRequest};
use super::path::DerivationPath;

/// The Ethereum app bound to one derivation path.
///
/// The address is read from the device when the signer is opened
/// ([`LedgerSigner::connect`]) and never changes afterwards: a device that later answers
/// for another account is an error ([`DeviceError::AccountChanged`]), not a new address.
/// Signatures are returned as the device gives them; [`crate::signer::sign_verified`] is
/// the one place that checks them.
///
/// A [`SignGuard`] installed with [`LedgerSigner::with_guard`] sees every sign request
/// before its first APDU and every outcome after the device answered.
#[derive(Clone, Debug)]
pub struct LedgerSigner {
    app: EthApp,
    path: DerivationPath,
    address: Address,
    guard: Option<Arc<dyn SignGuard>>,
}

impl LedgerSigner {
    /// A signer for `path`, whose address is read right away, so a locked device, a
    /// closed app or a refused path fail here rather than in the middle of a flow.
    pub fn connect(app: EthApp, path: DerivationPath) -> Result<Self, DeviceError> {
        let address = app.address(&path)?;
        Ok(Self {
            app,
            path,
            address,
            guard: None,
        })
    }

    /// This signer with `guard` called around every signature (replacing any earlier one).
    pub fn with_guard(mut self, guard: Arc<dyn SignGuard>) -> Self {
        self.guard = Some(guard);
        self
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
    /// ([`DeviceError::Rejected`] if they do not). Fails with [`DeviceError::AccountChanged`]
    /// if the device now shows another address than the one this signer was opened with.
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
        if shown != self.address {
            return Err(DeviceError::AccountChanged {
                before: self.address,
                now: shown,
            });
        }
        Ok(shown)
    }
}

impl Signer for LedgerSigner {
    type Error = DeviceError;

    fn address(&self) -> Address {
        self.address
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, DeviceError> {
        let Some(guard) = &self.guard else {
            return self.app.sign_personal_message(&self.path, text.as_bytes());
        };
        let request = SignRequest {
            path: &self.path,
            address: self.address,
            text,
        };
        guard.before_sign(&request)?;
        let signed = self.app.sign_personal_message(&self.path, text.as_bytes());
        guard.after_sign(&request, signed.as_ref().map(drop))?;
        signed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::guard::GuardError;
    use crate::device::testing::{Tamper, device_address, fake_app};
    use crate::signer::{SignError, sign_verified};

    #[test]
    fn address_is_read_once_and_signatures_are_verified() {
        let (app, state) = fake_app();
        let signer = LedgerSigner::connect(app, DerivationPath::ledger_live(0).unwrap()).unwrap();
        assert_eq!(
            state.lock().unwrap().log.len(),
            1,
            "connect reads the address"
        );
        assert_eq!(signer.address(), device_address());
        assert_eq!(signer.address(), device_address());
        let text = "XMTP : Enable Identity\n00\n\nFor more info: https://xmtp.org/signatures/";
        sign_verified(&signer, text).unwrap();
        let log = state.lock().unwrap().log.clone();
        let address_reads = log.iter().filter(|c| c.ins() == 0x02).count();
        assert_eq!(address_reads, 1, "the address must be cached");
        assert_eq!(log.iter().filter(|c| c.ins() == 0x08).count(), 1);
    }

    #[test]
    fn stale_signature_is_an_error_not_a_result() {
        let (app, state) = fake_app();
        let signer = LedgerSigner::connect(app, DerivationPath::ledger_live(0).unwrap()).unwrap();
        sign_verified(&signer, "one").unwrap();
        state.lock().unwrap().tamper = Tamper::Stale;
        assert!(matches!(
            sign_verified(&signer, "two"),
            Err(SignError::DoesNotVerify(_))
        ));
    }

    /// A guard that refuses texts containing "no", counts its calls, and can fail after.
    #[derive(Debug, Default)]
    struct Recording {
        calls: std::sync::Mutex<Vec<String>>,
        fail_after: bool,
    }

    impl SignGuard for Recording {
        fn before_sign(&self, request: &SignRequest<'_>) -> Result<(), GuardError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("before {}", request.text));
            if request.text.contains("no") {
                return Err(GuardError::Refused("says no".into()));
            }
            Ok(())
        }

        fn after_sign(
            &self,
            request: &SignRequest<'_>,
            outcome: Result<(), &DeviceError>,
        ) -> Result<(), GuardError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("after {} {}", request.text, outcome.is_ok()));
            if self.fail_after {
                return Err(GuardError::Failed("disk full".into()));
            }
            Ok(())
        }
    }

    #[test]
    fn a_guard_refuses_before_any_sign_apdu_and_sees_each_outcome() {
        let (app, state) = fake_app();
        let guard = Arc::new(Recording::default());
        let signer = LedgerSigner::connect(app, DerivationPath::ledger_live(0).unwrap())
            .unwrap()
            .with_guard(guard.clone());
        let sent = || state.lock().unwrap().log.len();
        assert_eq!(sent(), 1);
        assert!(matches!(
            sign_verified(&signer, "say no"),
            Err(SignError::Signer(DeviceError::PolicyRefused { .. }))
        ));
        assert_eq!(sent(), 1, "a refused request sends no APDU");
        sign_verified(&signer, "yes").unwrap();
        assert!(sent() > 1);
        assert_eq!(
            *guard.calls.lock().unwrap(),
            ["before say no", "before yes", "after yes true"]
        );
    }

    #[test]
    fn a_signature_the_guard_cannot_record_is_discarded() {
        let (app, _) = fake_app();
        let guard = Arc::new(Recording {
            fail_after: true,
            ..Recording::default()
        });
        let signer = LedgerSigner::connect(app, DerivationPath::ledger_live(0).unwrap())
            .unwrap()
            .with_guard(guard);
        assert!(matches!(
            sign_verified(&signer, "yes"),
            Err(SignError::Signer(DeviceError::NotRecorded { .. }))
        ));
    }

    #[test]
    fn confirm_address_sends_p1_confirm() {
        let (app, state) = fake_app();
        let signer = LedgerSigner::connect(app, DerivationPath::legacy(0).unwrap()).unwrap();
        assert_eq!(signer.confirm_address().unwrap(), device_address());
        let log = state.lock().unwrap().log.clone();
        assert_eq!(
            (log[0].ins(), log[0].p1()),
            (0x02, 0x00),
            "connect reads silently"
        );
        assert_eq!(
            (log[1].ins(), log[1].p1()),
            (0x02, 0x01),
            "confirm shows it"
        );
        assert_eq!(signer.address(), device_address());
        assert_eq!(state.lock().unwrap().log.len(), 2);
    }
}
