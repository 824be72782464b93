//! Custody: what the host enforces and records around every device signature
//! (feature `custody`).
//!
//! - [`text`]: what kind of text a request carries ([`TextKind`]) and the seal text.
//! - [`audit`]: the hash-chained audit log: its record format, locked appends
//!   ([`AuditLog`]) and the check of a whole log, seals included ([`verify_log`]).
//! - [`confirmed`]: the accounts shown on the device with `address --confirm`.
//! - [`policy`]: the signing policy ([`Policy`], TOML).
//! - [`guard`]: [`Custodian`], one run's policy and log as the
//!   [`crate::device::SignGuard`] its [`crate::device::LedgerSigner`]s call.

pub mod audit;
pub mod confirmed;
pub mod guard;
pub mod policy;
pub mod text;

pub use audit::{
    AuditError, AuditLog, BrokenChain, DeviceInfo, Entry, RunRecord, SealRecord, Verified,
    verify_file, verify_log,
};
pub use confirmed::ConfirmedAccounts;
pub use guard::Custodian;
pub use policy::{Policy, PolicyError};
pub use text::{TextKind, parse_seal_text, seal_text};
