//! Talking to a Ledger running the Ethereum app.
//!
//! Layers, bottom up:
//! - [`transport`]: the [`Transport`] trait, one APDU exchange, and the command/answer types.
//!   Implementations: `hid::HidTransport` (USB), [`tcp::TcpTransport`] (Speculos socket, also
//!   served by the software device), `inprocess::InProcessTransport` (the software device in
//!   this process).
//! - [`eth_app`]: [`EthApp`], the Ethereum app's commands with length-checked answers and typed
//!   status words.
//! - [`LedgerSigner`]: one account as a [`crate::signer::Signer`]. Its signatures are checked
//!   by [`crate::signer::sign_verified`], not here.
//!
//! - [`guard`]: [`SignGuard`], called by [`LedgerSigner`] around every signature (the
//!   host's signing policy and audit log plug in there).
//! - [`access`]: whether this user may open a Ledger on USB (udev rules, hidraw permissions).
//! - [`review`]: the pages a Ledger shows when asked to sign a text, for the host's preview.
//!
//! All I/O is blocking; async callers use `tokio::task::spawn_blocking`.

pub mod access;
pub mod error;
pub mod eth_app;
pub mod guard;
#[cfg(feature = "hid")]
pub mod hid;
#[cfg(feature = "emulator")]
pub mod inprocess;
pub mod model;
pub mod path;
pub mod review;
mod signer;
pub mod spec;
pub mod tcp;
pub mod transport;

#[cfg(test)]
pub(crate) mod testing;

pub use error::{DeviceError, DeviceErrorKind, status_word_name};
pub use eth_app::{
    AddressOptions, AppAndVersion, AppConfiguration, AppStatus, AppVersion, EthApp, PublicAddress,
};
pub use guard::{GuardError, SignGuard, SignRequest};
#[cfg(feature = "hid")]
pub use hid::{DeviceListing, HidDeviceInfo, HidTransport, list_devices, probe_devices};
#[cfg(feature = "emulator")]
pub use inprocess::InProcessTransport;
pub use model::LedgerModel;
pub use path::{DerivationPath, PathError};
pub use signer::LedgerSigner;
pub use spec::DeviceSpec;
pub use tcp::{TcpOptions, TcpTransport};
pub use transport::{ApduAnswer, ApduCommand, Transport};

/// Ledger's udev rules (`udev/20-hw1.rules`), for `xmtp-ledger udev print|install`.
pub const UDEV_RULES: &str = include_str!("../../udev/20-hw1.rules");

/// Where `udev install` puts [`UDEV_RULES`].
pub const UDEV_RULES_PATH: &str = "/etc/udev/rules.d/20-hw1.rules";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_and_transports_can_cross_threads() {
        // Callers move these into `spawn_blocking`.
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<EthApp>();
        send_sync::<LedgerSigner>();
        #[cfg(feature = "hid")]
        send_sync::<HidTransport>();
        send_sync::<TcpTransport>();
        #[cfg(feature = "emulator")]
        send_sync::<InProcessTransport>();
        send_sync::<DeviceError>();
    }

    #[test]
    fn udev_rules_grant_access_to_the_ledger_vendor() {
        let rules: Vec<&str> = UDEV_RULES
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect();
        assert_eq!(rules.len(), 3, "{rules:?}");
        assert!(rules.iter().any(|r| r.contains(r#"SUBSYSTEMS=="usb""#)
            && r.contains(r#"ATTRS{idVendor}=="2c97""#)
            && r.contains(r#"TAG+="uaccess""#)));
        assert!(rules.iter().any(|r| r.contains(r#"KERNEL=="hidraw*""#)
            && r.contains(r#"ATTRS{idVendor}=="2c97""#)
            && r.contains(r#"MODE="0666""#)));
        // The official file grants access through uaccess, never through a group.
        assert!(!UDEV_RULES.contains("GROUP="));
    }
}
