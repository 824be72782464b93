//! The two texts XMTP v2 asks a wallet to `personal_sign`, and the EIP-191 digest of a message.

use sha3::{Digest, Keccak256};

/// First line of the text that binds an identity key to a wallet.
pub const CREATE_IDENTITY_HEADER: &str = "XMTP : Create Identity";
/// First line of the text whose signature is the storage secret for the private key bundle.
pub const ENABLE_IDENTITY_HEADER: &str = "XMTP : Enable Identity";
/// Last line of both texts: a trailing slash and no final newline.
pub const SIGNATURE_FOOTER: &str = "For more info: https://xmtp.org/signatures/";

fn sign_request_text(header: &str, payload: &[u8]) -> String {
    format!("{header}\n{}\n\n{SIGNATURE_FOOTER}", hex::encode(payload))
}

/// The "XMTP : Create Identity" text for an identity key's `bytes_to_sign`
/// (lowercase hex, no `0x`), exactly as xmtp-js builds it.
pub fn create_identity_text(bytes_to_sign: &[u8]) -> String {
    sign_request_text(CREATE_IDENTITY_HEADER, bytes_to_sign)
}

/// The "XMTP : Enable Identity" text for a 32-byte wallet pre-key.
pub fn enable_identity_text(wallet_pre_key: &[u8; 32]) -> String {
    sign_request_text(ENABLE_IDENTITY_HEADER, wallet_pre_key)
}

/// EIP-191 (version 0x45) digest: keccak256("\x19Ethereum Signed Message:\n" || len || message).
pub fn personal_message_digest(message: &[u8]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    hasher.update(b"\x19Ethereum Signed Message:\n");
    hasher.update(message.len().to_string().as_bytes());
    hasher.update(message);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enable_identity_text_matches_xmtp_js() {
        let key: [u8; 32] =
            hex::decode("f51bd1da9ec2239723ae2cf6a9f8d0ac37546b27e634002c653d23bacfcc67ad")
                .unwrap()
                .try_into()
                .unwrap();
        let text = enable_identity_text(&key);
        assert_eq!(
            text,
            "XMTP : Enable Identity\nf51bd1da9ec2239723ae2cf6a9f8d0ac37546b27e634002c653d23bacfcc67ad\n\nFor more info: https://xmtp.org/signatures/"
        );
        assert_eq!(text.len(), 132);
        assert_eq!(
            hex::encode(personal_message_digest(text.as_bytes())),
            "3971183ed62c456a5621d92db2302e588f60742b1f9d89920b8ecdf84082207f"
        );
    }
}
