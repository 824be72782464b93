//! Identities, auth tokens and envelopes for the node and network tests.

use xmtp_ledger::flow::{SealedIdentity, generate_identity};
use xmtp_ledger::identity::AuthToken;
use xmtp_ledger::network::{Envelope, now_ns};
use xmtp_ledger::signer::LocalKeySigner;

/// A fresh identity of the wallet whose private key is 32 × `secret_byte`: different bytes
/// give different wallets, so tests on one node do not share topics by accident.
pub fn identity(secret_byte: u8) -> SealedIdentity {
    let signer = LocalKeySigner::from_private_key(&[secret_byte; 32]).expect("wallet key");
    generate_identity(&signer, &mut |_| {}).expect("identity")
}

/// An auth token of `identity`, created now.
pub fn token(identity: &SealedIdentity) -> AuthToken {
    AuthToken::create(identity.bundle.identity_key(), now_ns()).expect("token")
}

/// An auth token of [`identity`]`(secret_byte)`, for tests that only need to be let in.
pub fn token_of(secret_byte: u8) -> AuthToken {
    token(&identity(secret_byte))
}

/// An envelope on `topic`.
pub fn envelope(topic: &str, timestamp_ns: u64, message: &[u8]) -> Envelope {
    Envelope {
        content_topic: topic.into(),
        timestamp_ns,
        message: message.to_vec(),
    }
}

/// The messages of `envelopes`, in order.
pub fn messages(envelopes: &[Envelope]) -> Vec<Vec<u8>> {
    envelopes.iter().map(|e| e.message.clone()).collect()
}
