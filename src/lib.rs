//! xmtp-ledger: bind an XMTP v2 messaging identity to an Ethereum account held on a Ledger,
//! and let that account own and manage its XMTP v3 inbox ([`session::inbox`]).
//!
//! # Layers
//!
//! Bottom up: each module imports only modules listed before it, never one after.
//!
//! | module | its one job |
//! | --- | --- |
//! | [`proto`] | the XMTP protobuf types, generated from `proto/` by `build.rs` |
//! | [`wire`] | what client and node agree on: limits, the clock, a publication |
//! | `signal` (feature `node`) | waiting for SIGINT/SIGTERM |
//! | [`identity`] | keys, the texts the wallet signs, signatures, bundles, topics, auth token (pure) |
//! | [`keystore`] | HKDF-SHA256 + AES-256-GCM sealing of the private key bundle under a wallet signature |
//! | [`signer`] | the seam to a wallet (`address`, `personal_sign`) and [`signer::sign_verified`], the one place a wallet signature is checked |
//! | [`v3`] | XMTP v3 identity: inbox ids, the "Authenticate to inbox" text, identity-update signatures, [`v3::AssociationState`] (pure) |
//! | [`flow`] | key generation and key retrieval, and the v3 wallet signature of an identity update, offline, written once against [`signer::Signer`] |
//! | [`network`] | the gRPC clients of a node: MessageApi (v2) and IdentityApi (v3), async ([`network::Client`], [`network::IdentityClient`]) and blocking ([`network::BlockingClient`], [`network::BlockingIdentityClient`]) |
//! | `node` (feature `node`) | the node: SQLite store, MessageApi gRPC service and REST gateway, v3 IdentityApi and key packages (checked with [`v3`]) |
//! | [`endpoint`] | which node (`local` or a URL) and connecting to it; the one module that names both client and node |
//! | [`device`] | the Ledger: transports (USB HID with feature `hid`, TCP, in-process with feature `emulator`), the Ethereum app client, [`device::LedgerSigner`] |
//! | `custody` (feature `custody`) | the signing policy and the hash-chained audit log of every device signature, called by [`device::LedgerSigner`] through [`device::SignGuard`] |
//! | [`session`] | the networked flows (`init`, `unlock`, `publish_prepared`, `find_identity`, `identity_history`; v3: [`session::inbox`]) and the rules of what gets published |
//!
//! The `xmtp-ledger` binary (feature `cli`) is a thin shell over [`session`] and [`flow`].
//! Everything the wallet touches blocks (a person approves on the device); the network
//! is async underneath and reached through [`network::BlockingClient`].
//!
//! # An embedder's path
//!
//! Open the Ledger, create the identity on a node, unlock it again, and check that anyone
//! can verify it (default features; needs a Ledger with the Ethereum app open):
//!
//! ```no_run
//! use xmtp_ledger::device::{DerivationPath, DeviceSpec, EthApp, LedgerSigner, TcpOptions};
//! use xmtp_ledger::endpoint::{self, Endpoint};
//! use xmtp_ledger::network::ClientConfig;
//! use xmtp_ledger::session::{InitOptions, Progress, Session, find_identity};
//! use xmtp_ledger::signer::Signer;
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // The first Ledger on USB; the account's address is read when the signer opens.
//!     let app = EthApp::new(DeviceSpec::Hid.open(TcpOptions::default())?);
//!     app.ensure_ethereum_app()?;
//!     let signer = LedgerSigner::connect(app, DerivationPath::ledger_live(0)?)?;
//!
//!     // A node: a URL, or `local` (one on 127.0.0.1:5556, else started in-process).
//!     let node: Endpoint = "https://node.example.org:443".parse()?;
//!     let connection = endpoint::connect(&node, ClientConfig::default())?;
//!     let session = Session::new(&signer, connection.client());
//!
//!     // Two approvals; each signature is verified before it is used, and nothing is
//!     // published unless both are.
//!     let created = session.init(InitOptions::default(), &mut |event| {
//!         if let Progress::Signature(prompt) = event {
//!             eprintln!("approve '{}' on the Ledger", prompt.purpose.header());
//!         }
//!     })?;
//!
//!     // One approval: fetch the private store, decrypt it, check it is this account's.
//!     let unlocked = session.unlock(&mut |_| {})?;
//!     assert_eq!(
//!         unlocked.identity.bundle.identity_key().public_key(),
//!         created.bundle.identity_key().public_key()
//!     );
//!
//!     // Anyone can check the published identity, without a device.
//!     let found = find_identity(connection.client(), &signer.address())?;
//!     assert!(found.contact.is_some());
//!     connection.shutdown()?;
//!     Ok(())
//! }
//! ```

#[cfg(feature = "custody")]
pub mod custody;
pub mod device;
pub mod endpoint;
pub mod flow;
pub mod identity;
pub mod keystore;
pub mod network;
#[cfg(feature = "node")]
pub mod node;
pub mod proto;
pub mod session;
#[cfg(feature = "node")]
pub mod signal;
pub mod signer;
pub mod v3;
pub mod wire;
