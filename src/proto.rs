//! Generated protobuf and gRPC code for the XMTP v2 schemas under `proto/`.
//!
//! Never edited by hand: `build.rs` compiles the `.proto` files at build time.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// `xmtp.message_contents`: keys, signatures, ciphertext, contact bundles.
pub mod message_contents {
    include!(concat!(env!("OUT_DIR"), "/xmtp.message_contents.rs"));
}

/// `xmtp.message_api.v1`: the MessageApi service, envelopes and the auth token.
pub mod message_api {
    /// Version 1 of the MessageApi.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/xmtp.message_api.v1.rs"));
        // The server, generated separately with the node's codec (see build.rs).
        #[cfg(feature = "node")]
        include!(concat!(env!("OUT_DIR"), "/server/xmtp.message_api.v1.rs"));
    }
}
