//! [`SignGuard`]: what the host checks and records around every signature it asks a
//! Ledger for. [`super::LedgerSigner`] calls it before the sign request is sent (it may
//! refuse: a signing policy plugs in there) and after the device answered (an audit log
//! records the outcome). A guard never sees signature bytes: an Enable Identity signature
//! is the secret that opens the private keys, so nothing that might log it is handed one.

use std::fmt;

use crate::identity::Address;

use super::error::DeviceError;
use super::path::DerivationPath;

/// One sign request, as the guard sees it.
#[derive(Clone, Copy, Debug)]
pub struct SignRequest<'a> {
    /// The account's derivation path.
    pub path: &'a DerivationPath,
    /// The account's address, read when the signer was opened.
    pub address: Address,
    /// The exact text to be signed (EIP-191 personal_sign).
    pub text: &'a str,
}

/// Why a guard stopped a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuardError {
    /// A rule refused the request (it is recorded as refused, never sent).
    Refused(String),
    /// The guard could not do its job (the audit log cannot be written): the request
    /// must not go on unrecorded.
    Failed(String),
}

impl From<GuardError> for DeviceError {
    fn from(error: GuardError) -> Self {
        match error {
            GuardError::Refused(reason) => DeviceError::PolicyRefused { reason },
            GuardError::Failed(reason) => DeviceError::NotRecorded { reason },
        }
    }
}

/// Checks and records the signatures a [`super::LedgerSigner`] asks for.
///
/// Implementations must be cheap to call and must not talk to the device.
pub trait SignGuard: Send + Sync + fmt::Debug {
    /// Called before any APDU of the request is sent. An error stops it: nothing is sent
    /// and the signer returns the error as a [`DeviceError`].
    fn before_sign(&self, request: &SignRequest<'_>) -> Result<(), GuardError>;

    /// Called once the device answered (or failed), with the outcome only: `Ok(())` when
    /// it returned a signature. An error makes the signer discard the signature and
    /// fail, so a signature that could not be recorded is never used.
    fn after_sign(
        &self,
        request: &SignRequest<'_>,
        outcome: Result<(), &DeviceError>,
    ) -> Result<(), GuardError>;
}
