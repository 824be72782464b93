//! Target `identity_decoders`: protobuf bytes from the network (contact bundles) or from files
//! and the private store (private key bundles, keys).
//!
//! The whole input is fed to each decoder of `xmtp_ledger::identity`:
//! `ContactBundle::decode` (+ `verify`), `PrivateKeyBundleV1::decode` (+ `verify`),
//! `PublicKeyV1::decode` (+ `wallet_address`), `SignedPublicKey::decode` (+ `wallet_address`).
//!
//! Invariants, besides never panicking:
//! - a decoded value re-encodes to bytes that decode to an equal value (for the private bundle,
//!   whose secrets have no `PartialEq`, to bytes that re-encode identically);
//! - verification is a function of the value: the re-decoded value verifies to the same result;
//! - a verified contact's keys are the decoded ones, and its wallet is the identity key's
//!   wallet signature's signer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use xmtp_ledger::identity::{
    ContactBundle, IdentityError, PrivateKeyBundleV1, PublicKeyV1, SignedPublicKey,
};

/// Results compared across a round trip: the value or the error's text.
fn same<T: PartialEq + std::fmt::Debug>(
    a: &Result<T, IdentityError>,
    b: &Result<T, IdentityError>,
) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("{a:?} vs {b:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    contact(data);
    private_bundle(data);
    public_key(data);
    signed_public_key(data);
});

fn contact(data: &[u8]) {
    let Ok(bundle) = ContactBundle::decode(data) else {
        return;
    };
    let encoded = bundle.encode();
    let again = ContactBundle::decode(&encoded).expect("re-encoded contact decodes");
    assert_eq!(again, bundle);
    assert_eq!(again.encode(), encoded);
    let verified = bundle.verify();
    same(&verified, &again.verify());
    if let Ok(contact) = verified {
        let (identity, pre_key, wallet) = match &bundle {
            ContactBundle::V1(b) => (
                *b.identity_key.point(),
                *b.pre_key.point(),
                b.identity_key.wallet_address(),
            ),
            ContactBundle::V2(b) => (
                *b.identity_key.point(),
                *b.pre_key.point(),
                b.identity_key.wallet_address(),
            ),
        };
        assert_eq!(contact.identity_public_key, identity);
        assert_eq!(contact.pre_key_public_key, pre_key);
        assert_eq!(contact.wallet_address, wallet.expect("verified, so signed"));
    }
}

fn private_bundle(data: &[u8]) {
    let Ok(bundle) = PrivateKeyBundleV1::decode(data) else {
        return;
    };
    assert!(!bundle.pre_keys().is_empty());
    let encoded = bundle.encode();
    let again = PrivateKeyBundleV1::decode(&encoded).expect("re-encoded bundle decodes");
    assert_eq!(*again.encode(), *encoded);
    assert_eq!(again.public_bundle(), bundle.public_bundle());
    same(&bundle.verify(), &again.verify());
}

fn public_key(data: &[u8]) {
    let Ok(key) = PublicKeyV1::decode(data) else {
        return;
    };
    let encoded = key.to_proto().encode_to_vec();
    let again = PublicKeyV1::decode(&encoded).expect("re-encoded key decodes");
    assert_eq!(again, key);
    same(&key.wallet_address(), &again.wallet_address());
    // The text a wallet signs names exactly the unsigned key.
    assert!(
        key.create_identity_text()
            .contains(&hex::encode(key.bytes_to_sign()))
    );
}

fn signed_public_key(data: &[u8]) {
    let Ok(key) = SignedPublicKey::decode(data) else {
        return;
    };
    // Re-encode through the wire type the decoder reads.
    let proto = xmtp_ledger::proto::message_contents::SignedPublicKey::decode(data)
        .expect("decoded once already");
    let encoded = proto.encode_to_vec();
    let again = SignedPublicKey::decode(&encoded).expect("re-encoded key decodes");
    assert_eq!(again, key);
    same(&key.wallet_address(), &again.wallet_address());
}
