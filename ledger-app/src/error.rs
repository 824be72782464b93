//! The crate's one error type for its fallible API (configuration, keys, files, sockets).
//!
//! APDU handling never returns these: a bad APDU is answered with a status word, exactly as the
//! real app does, and never makes the device fail.

use std::path::PathBuf;

/// Everything that can go wrong while building or running the software device.
///
/// Messages never contain secret material: a bad mnemonic is reported by word position or count,
/// never by its words.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The mnemonic is not a valid English BIP-39 phrase (word list, word count or checksum).
    #[error("invalid BIP-39 mnemonic ({reason}); expected 12, 15, 18, 21 or 24 English words")]
    InvalidMnemonic {
        /// What the BIP-39 parser objected to (word index, count or checksum; never a word).
        reason: String,
    },

    /// A derivation path string such as `m/44'/60'/0'/0/0` could not be parsed.
    #[error("invalid derivation path {path:?}: {reason}")]
    InvalidPath {
        /// The text that was given.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// BIP-32 derivation failed (an invalid child key: probability about 2^-127).
    #[error("BIP-32 key derivation failed: {0}")]
    Derivation(String),

    /// ECDSA signing failed (k256 refused the digest; probability about 2^-256).
    #[error("ECDSA signing failed: {0}")]
    Signing(String),

    /// An application version string is not `MAJOR.MINOR.PATCH` with parts 0..=255.
    #[error("invalid app version {0:?}: expected MAJOR.MINOR.PATCH, each part 0..=255")]
    InvalidVersion(String),

    /// The mnemonic file could not be read.
    #[error("cannot read the mnemonic file {path}: {source}")]
    MnemonicFile {
        /// The file that was named.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A socket operation of the TCP server failed.
    #[error("TCP server: {context}: {source}")]
    Tcp {
        /// What the server was doing.
        context: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}
