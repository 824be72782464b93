//! The one thing the node reads out of an uploaded MLS key package: the installation key
//! it is filed under. Everything else stays opaque bytes.
//!
//! libxmtp uploads `KeyPackage::tls_serialize_detached()` (openmls; `xmtp_mls`
//! `identity.rs` `generate_and_store_key_package`) and files a key package under
//! `leaf_node.signature_key` (`xmtp_id` `VerifiedKeyPackageV2::installation_id`, which
//! the reference node's validation service returns as the installation key). RFC 9420
//! §10 and §7.2 put that key fourth:
//!
//! ```text
//! KeyPackage { uint16 version; uint16 cipher_suite; opaque init_key<V>;
//!              LeafNode { opaque encryption_key<V>; opaque signature_key<V>; … } … }
//! ```
//!
//! where `<V>` is a vector whose length is a variable-length integer (RFC 9420 §2.1.2:
//! the top two bits of the first byte give its size, 1, 2 or 4 bytes; `11` is invalid;
//! the shortest form is required). Nothing here verifies the package's signatures: the
//! clients that fetch it (libxmtp) validate it themselves.

/// MLS 1.0, the only `ProtocolVersion` whose layout this reads (RFC 9420 §6).
const MLS_10: u16 = 1;

/// Length of an Ed25519 public key: every XMTP cipher suite signs with Ed25519, and an
/// installation is named by its 32-byte key in the identity log.
pub(crate) const INSTALLATION_KEY_LEN: usize = 32;

/// Why an upload is not a key package the node can file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyPackageError {
    /// The bytes end before the field.
    #[error("key package ends inside its {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// Not MLS 1.0.
    #[error("key package protocol version is {0:#06x}, not MLS 1.0 (0x0001)")]
    Version(u16),
    /// A vector length uses the reserved `11` prefix.
    #[error("key package {field} has an invalid length prefix")]
    LengthPrefix {
        /// The field being read.
        field: &'static str,
    },
    /// A vector length is not in its shortest form.
    #[error("key package {field} length is not minimally encoded")]
    NotMinimal {
        /// The field being read.
        field: &'static str,
    },
    /// The leaf node's signature key is not an Ed25519 key.
    #[error(
        "key package signature key (the installation key) is {0} bytes, not {INSTALLATION_KEY_LEN}"
    )]
    KeyLength(usize),
}

/// The installation key of a TLS-serialized MLS 1.0 key package: its leaf node's
/// signature key. Reads at most the first four fields; never panics.
pub(crate) fn installation_key(
    key_package: &[u8],
) -> Result<[u8; INSTALLATION_KEY_LEN], KeyPackageError> {
    let mut reader = Reader(key_package);
    let version = reader.u16("protocol version")?;
    if version != MLS_10 {
        return Err(KeyPackageError::Version(version));
    }
    reader.u16("cipher suite")?;
    reader.vector("init key")?;
    reader.vector("leaf node encryption key")?;
    let key = reader.vector("leaf node signature key")?;
    key.try_into()
        .map_err(|_| KeyPackageError::KeyLength(key.len()))
}

/// A cursor over the bytes still to read.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], KeyPackageError> {
        if self.0.len() < n {
            return Err(KeyPackageError::Truncated { field });
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, KeyPackageError> {
        let bytes = self.take(2, field)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    /// An `opaque field<V>`: the RFC 9420 §2.1.2 length, then that many bytes.
    fn vector(&mut self, field: &'static str) -> Result<&'a [u8], KeyPackageError> {
        let first = self.take(1, field)?[0];
        let (size, min) = match first >> 6 {
            0 => (1, 0),
            1 => (2, 1 << 6),
            2 => (4, 1 << 14),
            _ => return Err(KeyPackageError::LengthPrefix { field }),
        };
        let mut len = usize::from(first & 0x3f);
        for byte in self.take(size - 1, field)? {
            len = (len << 8) | usize::from(*byte);
        }
        if len < min {
            return Err(KeyPackageError::NotMinimal { field });
        }
        self.take(len, field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 9420 §2.1.2 length of `n` bytes, shortest form.
    fn varint(n: usize) -> Vec<u8> {
        match n {
            0..=0x3f => vec![n as u8],
            0x40..=0x3fff => ((n as u16) | 0x4000).to_be_bytes().to_vec(),
            _ => ((n as u32) | 0x8000_0000).to_be_bytes().to_vec(),
        }
    }

    fn vector(bytes: &[u8]) -> Vec<u8> {
        let mut out = varint(bytes.len());
        out.extend_from_slice(bytes);
        out
    }

    fn package(version: u16, init: &[u8], encryption: &[u8], signature: &[u8]) -> Vec<u8> {
        let mut out = version.to_be_bytes().to_vec();
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend(vector(init));
        out.extend(vector(encryption));
        out.extend(vector(signature));
        // The rest (credential, capabilities, …) is never read.
        out.extend_from_slice(b"opaque rest");
        out
    }

    #[test]
    fn the_fourth_field_is_the_installation_key() {
        let kp = package(1, &[1; 32], &[2; 32], &[7; 32]);
        assert_eq!(installation_key(&kp), Ok([7; 32]));
        // Long vectors before it use the two- and four-byte lengths.
        let kp = package(1, &[1; 1216], &[2; 70_000], &[9; 32]);
        assert_eq!(installation_key(&kp), Ok([9; 32]));
    }

    #[test]
    fn anything_else_is_a_typed_error() {
        assert_eq!(
            installation_key(&package(2, &[1], &[2], &[3; 32])),
            Err(KeyPackageError::Version(2))
        );
        assert_eq!(
            installation_key(&package(1, &[1], &[2], &[3; 33])),
            Err(KeyPackageError::KeyLength(33))
        );
        assert_eq!(
            installation_key(&[0, 1, 0]),
            Err(KeyPackageError::Truncated {
                field: "cipher suite"
            })
        );
        assert_eq!(
            installation_key(&[0, 1, 0, 1, 0xc0]),
            Err(KeyPackageError::LengthPrefix { field: "init key" })
        );
        // 5 written in two bytes.
        assert_eq!(
            installation_key(&[0, 1, 0, 1, 0x40, 5]),
            Err(KeyPackageError::NotMinimal { field: "init key" })
        );
        // A length past the end.
        assert_eq!(
            installation_key(&[0, 1, 0, 1, 0x80, 0xff, 0xff, 0xff]),
            Err(KeyPackageError::Truncated { field: "init key" })
        );
    }

    /// A key package libxmtp 1.10 uploaded while node-sdk's `Client.create` registered
    /// installation `installation_id` (which node-sdk reported) against this node.
    #[test]
    fn libxmtps_key_package_is_filed_under_the_installation_node_sdk_reported() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/v3-key-package.json"))
                .expect("json");
        let field = |name: &str| hex::decode(file[name].as_str().expect("string")).expect("hex");
        let key_package = field("key_package_tls_serialized");
        assert_eq!(
            installation_key(&key_package).map(|key| key.to_vec()),
            Ok(field("installation_id"))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_an_answer_without_panicking(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = installation_key(&bytes);
        }
    }

    #[test]
    fn no_prefix_of_a_package_panics_or_parses() {
        let kp = package(1, &[1; 100], &[2; 32], &[7; 32]);
        let end = 2 + 2 + 2 + 100 + 1 + 32 + 1 + 32;
        for n in 0..end {
            assert!(installation_key(&kp[..n]).is_err(), "prefix {n}");
        }
        assert_eq!(installation_key(&kp[..end]), Ok([7; 32]));
    }
}
