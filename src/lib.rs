//! xmtp-ledger: bind an XMTP v2 messaging identity to an Ethereum account held on a Ledger.
//!
//! Layers, bottom up:
//! - [`identity`]: keys, texts, signatures, bundles, topics and the auth token (pure).
//! - [`keystore`]: encryption of the private key bundle under a wallet signature.
//! - [`signer`]: the one seam between the flows and a wallet (`address`, `personal_sign`).
//! - [`flow`]: key generation and key retrieval, written once against [`signer::Signer`].

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
pub mod wire;
