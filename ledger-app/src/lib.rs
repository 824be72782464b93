//! A software Ledger device running the Ethereum app: the same APDUs, status words and
//! signatures as the real app (≥ 1.20), for tests, CI and the CLI's `emulator` mode.
//!
//! **Not a wallet.** Keys live in ordinary process memory; nothing here is protected by
//! hardware. Use it with the public [`TEST_MNEMONIC`] or throw-away mnemonics.
//!
//! # Using it
//!
//! ```
//! use ledger_app::{SoftwareDevice, sw};
//!
//! let device = SoftwareDevice::with_test_mnemonic();
//! // GET APP CONFIGURATION: flags 0x02, version 1.22.0, then 9000.
//! assert_eq!(device.exchange(&[0xE0, 0x06, 0x00, 0x00, 0x00]), [0x02, 1, 22, 0, 0x90, 0x00]);
//! // An unknown instruction is refused like the real app does.
//! let answer = device.exchange(&[0xE0, 0x7E, 0x00, 0x00]);
//! assert_eq!(sw::split_answer(&answer), Some((&[][..], sw::INVALID_INS)));
//! ```
//!
//! - In process: call [`SoftwareDevice::exchange`] (or [`SoftwareDevice::exchange_checked`] to
//!   see why an APDU got no answer: an injected drop, or the app exiting) with raw APDU bytes.
//! - Over TCP like Speculos: [`tcp::TcpServer::spawn_ephemeral`] in tests, or the `ledger-app`
//!   binary.
//!
//! # What it implements
//!
//! | APDU | answer |
//! | --- | --- |
//! | `E0 06` GET APP CONFIGURATION | `flags major minor patch` (`02 01 16 00` for 1.22.0) |
//! | `E0 02` GET ETH PUBLIC ADDRESS | `41 ‖ pubkey(65) ‖ 28 ‖ 40 EIP-55 chars [‖ chain code(32)]` |
//! | `E0 08` SIGN ETH PERSONAL MESSAGE | `9000` per intermediate chunk, then `v ‖ r ‖ s` (v = 27/28) |
//! | `B0 01` GET APP AND VERSION | `01 len "Ethereum" len "1.22.0" 01 flags` |
//! | `B0 A7` QUIT APP | `9000`, then the dashboard is open |
//! | `E0 04`, `E0 0A`, `E0 0C` (transactions, token info, EIP-712) | not implemented: the app's P1/P2 checks, then `6A80` or `6980` as the app refuses data it cannot use |
//!
//! Status words follow [`sw`]; the review screens follow [`screen`]; the message size limit
//! follows [`heap`]. Any error status resets the app context, so a host can always retry.

pub mod apdu;
mod cmd;
mod device;
mod error;
mod io;
pub mod keys;
pub mod model;
pub mod path;
pub mod policy;
pub mod screen;
pub mod sw;
pub mod tcp;

pub use cmd::app_config::{FLAG_BLIND_SIGNING, FLAG_EXTERNAL_TOKEN_INFO};
pub use cmd::os::{DASHBOARD_NAME, DASHBOARD_VERSION};
pub use cmd::personal_sign::MAX_MESSAGE_LENGTH;
pub use cmd::personal_sign::heap;
pub use device::{
    APDU_LOG_CAP, AppVersion, DeviceConfig, DropConnection, ETHEREUM_APP_NAME, Faults, NoAnswer,
    RunningApp, SCREEN_LOG_CAP, SPECULOS_MNEMONIC, ScreenListener, SoftwareDevice, TEST_MNEMONIC,
};
pub use error::Error;
pub use model::{Model, ModelError};
pub use path::DerivationPath;
pub use policy::ApprovalPolicy;
pub use screen::Screen;
