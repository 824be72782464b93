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
    "identity/associations/signature.proto",
    "identity/associations/association.proto",
    "identity/api/v1/identity.proto",
    "mls/api/v1/mls.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from("proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());
    let descriptors = protox::compile(PROTO_FILES, [&proto_root])?;
    // Messages and the client, with tonic-prost's stock codec.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .compile_fds(descriptors.clone())?;
    // The server half needs tonic's server, which only the `node` feature brings. It is
    // generated on its own, into `$OUT_DIR/server/`, because it uses another codec
    // (`node::grpc_codec`: a request that does not decode is INVALID_ARGUMENT, not
    // INTERNAL); `extern_path` makes it refer to the messages above instead of
    // generating them twice.
    if std::env::var_os("CARGO_FEATURE_NODE").is_some() {
        let out_dir =
            PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR unset")?).join("server");
        std::fs::create_dir_all(&out_dir)?;
        tonic_prost_build::configure()
            .build_client(false)
            .build_server(true)
            .codec_path("crate::node::grpc_codec::ServerCodec")
            .extern_path(".xmtp", "crate::proto")
            .out_dir(&out_dir)
            .compile_fds(descriptors)?;
    }
    Ok(())
}
