//! xmtp-ledger: bind an XMTP v2 messaging identity to an Ethereum account held on a Ledger.
pub mod proto;
