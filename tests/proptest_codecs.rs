//! Property tests: encode/decode round trips, and hostile bytes never panic.

use proptest::prelude::*;
use xmtp_ledger::identity::auth::{self, TokenPolicy};
use xmtp_ledger::identity::{
    Address, ContactBundle, KeySignature, PrivateKeyBundleV1, PrivateKeyV1, PublicKeyV1,
    SignedPublicKey, WalletSignature,
};
use xmtp_ledger::keystore::{EncryptedBundle, KeystoreError, SealedBox};
use xmtp_ledger::signer::{LocalKeySigner, Signer};

fn valid_scalar() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>().prop_filter("valid secp256k1 scalar", |b| {
        k256::SecretKey::from_slice(b).is_ok()
    })
}

/// A bundle signed by a wallet key, like the generation flow makes, with arbitrary keys
/// and timestamps (including 0, whose varint is omitted on the wire).
fn signed_bundle(
    wallet: [u8; 32],
    identity: [u8; 32],
    pre_keys: Vec<([u8; 32], u64)>,
    identity_ts: u64,
) -> PrivateKeyBundleV1 {
    let wallet = LocalKeySigner::from_private_key(&wallet).unwrap();
    let mut identity = PrivateKeyV1::from_secret_bytes(&identity, identity_ts).unwrap();
    let signature = wallet
        .personal_sign(&identity.public_key().create_identity_text())
        .unwrap();
    identity.set_signature(KeySignature::Ecdsa(signature.compact().unwrap()));
    let pre_keys = pre_keys
        .into_iter()
        .map(|(secret, ts)| {
            let mut key = PrivateKeyV1::from_secret_bytes(&secret, ts).unwrap();
            identity.sign_key(&mut key).unwrap();
            key
        })
        .collect();
    PrivateKeyBundleV1::new(identity, pre_keys).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn private_bundle_round_trips(
        wallet in valid_scalar(),
        identity in valid_scalar(),
        pre_keys in prop::collection::vec((valid_scalar(), any::<u64>()), 1..4),
        identity_ts in any::<u64>(),
    ) {
        let bundle = signed_bundle(wallet, identity, pre_keys, identity_ts);
        let encoded = bundle.encode();
        let decoded = PrivateKeyBundleV1::decode(&encoded).unwrap();
        let reencoded = decoded.encode();
        prop_assert_eq!(reencoded.as_slice(), encoded.as_slice());
        let wallet_address = LocalKeySigner::from_private_key(&wallet).unwrap().address();
        prop_assert_eq!(decoded.verify().unwrap(), wallet_address);

        let public = decoded.public_bundle();
        for contact in [public.encode_contact_v1(), public.to_signed_bundle().unwrap().encode_contact_v2()] {
            let parsed = ContactBundle::decode(&contact).unwrap();
            prop_assert_eq!(parsed.encode(), contact);
            prop_assert_eq!(parsed.verify().unwrap().wallet_address, wallet_address);
        }
    }

    #[test]
    fn sealed_bundle_round_trips_and_detects_any_bit_flip(
        plaintext in prop::collection::vec(any::<u8>(), 0..512),
        secret in prop::collection::vec(any::<u8>(), 1..80),
        flip_at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let sealed = SealedBox::seal(&plaintext, &secret).unwrap();
        let opened = sealed.open(&secret).unwrap();
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());

        // Flip one bit anywhere in salt || nonce || payload.
        let mut bytes = [sealed.hkdf_salt.as_slice(), sealed.gcm_nonce.as_slice(), sealed.payload.as_slice()].concat();
        let i = flip_at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let tampered = SealedBox {
            hkdf_salt: bytes[..32].try_into().unwrap(),
            gcm_nonce: bytes[32..44].try_into().unwrap(),
            payload: bytes[44..].to_vec(),
        };
        prop_assert!(matches!(tampered.open(&secret), Err(KeystoreError::WrongKeyOrTampered)));
    }

    #[test]
    fn hostile_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = ContactBundle::decode(&bytes).map(|c| c.verify());
        let _ = PrivateKeyBundleV1::decode(&bytes).map(|b| b.verify());
        let _ = PublicKeyV1::decode(&bytes).map(|k| k.wallet_address());
        let _ = SignedPublicKey::decode(&bytes).map(|k| k.wallet_address());
        let _ = EncryptedBundle::decode(&bytes);
        let _ = WalletSignature::from_bytes(&bytes).map(|s| s.recover_address(b"x"));
        let _ = auth::verify_token_bytes(&bytes, 0, TokenPolicy::default());
    }

    #[test]
    fn hostile_encrypted_bundles_fail_cleanly(
        wallet_pre_key in any::<[u8; 32]>(),
        payload in prop::collection::vec(any::<u8>(), 0..300),
        signature_seed in valid_scalar(),
    ) {
        // Well-formed envelope, garbage inside: decryption is a typed error, never a panic.
        let bundle = EncryptedBundle {
            wallet_pre_key,
            sealed: SealedBox { hkdf_salt: [7; 32], gcm_nonce: [9; 12], payload },
        };
        let decoded = EncryptedBundle::decode(&bundle.encode());
        let signer = LocalKeySigner::from_private_key(&signature_seed).unwrap();
        let signature = signer.personal_sign(&bundle.enable_identity_text()).unwrap();
        match decoded {
            Ok(decoded) => prop_assert!(decoded.open(&signature).is_err()),
            Err(e) => prop_assert!(matches!(e, KeystoreError::Malformed(_))),
        }
    }

    #[test]
    fn address_display_parse_round_trip(bytes in any::<[u8; 20]>(), junk in "\\PC{0,50}") {
        let address = Address::from_bytes(bytes);
        prop_assert_eq!(address.to_string().parse::<Address>().unwrap(), address);
        prop_assert_eq!(address.to_string().to_lowercase().parse::<Address>().unwrap(), address);
        let _ = junk.parse::<Address>();
    }
}
