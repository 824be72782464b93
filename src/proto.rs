//! Generated protobuf and gRPC code for the XMTP schemas under `proto/`: v2's keys and
//! MessageApi, v3's identity log, IdentityApi and the key-package part of MlsApi.
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

/// `xmtp.identity`: the v3 identity log and the API that carries it.
pub mod identity {
    /// `xmtp.identity.associations`: identity updates, their actions and signatures.
    pub mod associations {
        include!(concat!(env!("OUT_DIR"), "/xmtp.identity.associations.rs"));
    }
    /// `xmtp.identity.api`: the IdentityApi service.
    pub mod api {
        /// Version 1 of the IdentityApi.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/xmtp.identity.api.v1.rs"));
            #[cfg(feature = "node")]
            include!(concat!(env!("OUT_DIR"), "/server/xmtp.identity.api.v1.rs"));
        }
    }
}

/// `xmtp.mls`: the part of the v3 MlsApi a registering client uses (key packages).
pub mod mls {
    /// `xmtp.mls.api`: the MlsApi service.
    pub mod api {
        /// Version 1 of the MlsApi (key packages only).
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/xmtp.mls.api.v1.rs"));
            #[cfg(feature = "node")]
            include!(concat!(env!("OUT_DIR"), "/server/xmtp.mls.api.v1.rs"));
        }
    }
}
