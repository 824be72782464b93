//! Compiles `proto/**/*.proto` into Rust with prost/tonic, using the pure-Rust
//! `protox` compiler so that no system `protoc` is needed.

use std::path::PathBuf;

const PROTO_FILES: &[&str] = &[
    "message_contents/signature.proto",
    "message_contents/public_key.proto",
    "message_contents/private_key.proto",
    "message_contents/ciphertext.proto",
    "message_contents/contact.proto",
    "message_api/v1/authn.proto",
    "message_api/v1/message_api.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from("proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());
    let descriptors = protox::compile(PROTO_FILES, [&proto_root])?;
    // The server half needs tonic's server, which only the `node` feature brings.
    let with_server = std::env::var_os("CARGO_FEATURE_NODE").is_some();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(with_server)
        .compile_fds(descriptors)?;
    Ok(())
}
