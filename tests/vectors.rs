//! Every vector in `../shared/vectors/xmtp-v2-keys.json` (made by @xmtp/xmtp-js 13.0.4 with
//! an ethers 6 wallet), reproduced byte for byte.

mod common;

use common::{KeyVector, key_vectors, unhex};
use prost::Message;
use xmtp_ledger::identity::auth::{self, TokenPolicy};
use xmtp_ledger::identity::{
    Address, AuthToken, ContactBundle, KeySignature, PrivateKeyBundleV1, PrivateKeyV1, PublicKeyV1,
    WalletSignature, eip191, topic,
};
use xmtp_ledger::keystore::{EncryptedBundle, KeystoreError};
use xmtp_ledger::signer::{LocalKeySigner, Signer, VForm};

fn ms(s: &str) -> u64 {
    s.parse().expect("timestamp in vector")
}

/// The wallet of a vector: its mnemonic and path derived by the software Ledger's key
/// code (BIP-39 + BIP-32, as an ethers HD wallet derives them), signing as the app does.
struct VectorWallet(ledger_app::keys::DerivedKey);

fn wallet(v: &KeyVector) -> VectorWallet {
    let seed = ledger_app::keys::Seed::from_mnemonic(&v.mnemonic, "").expect("mnemonic");
    let path: ledger_app::path::DerivationPath = v.hd_path.parse().expect("path");
    VectorWallet(seed.derive(&path).expect("derive"))
}

impl Signer for VectorWallet {
    type Error = std::convert::Infallible;

    fn address(&self) -> Address {
        Address::from_uncompressed_public_key(&self.0.public_key_uncompressed()).expect("point")
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, Self::Error> {
        let vrs = self
            .0
            .sign_digest(&eip191::personal_message_digest(text.as_bytes()))
            .expect("sign");
        // The device answers v || r || s; wallets hand out r || s || v.
        let mut rsv = [0u8; 65];
        rsv[..64].copy_from_slice(&vrs[1..]);
        rsv[64] = vrs[0];
        Ok(WalletSignature::from_bytes(&rsv).expect("signature"))
    }
}

/// Hardhat/anvil account 0 of the public test mnemonic (m/44'/60'/0'/0/0).
const TEST_ACCOUNT_0_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// The identity key of a vector, signed by its wallet as xmtp-js signs it.
fn identity_key(v: &KeyVector) -> PrivateKeyV1 {
    let mut key = PrivateKeyV1::from_secret_bytes(
        &unhex(&v.identity.private_key),
        ms(&v.identity.timestamp_ms),
    )
    .expect("identity key");
    let signature = WalletSignature::from_hex(&v.identity.wallet_signature_rsv).expect("signature");
    key.set_signature(KeySignature::Ecdsa(signature.compact().expect("compact")));
    key
}

fn pre_key(v: &KeyVector, identity: &PrivateKeyV1) -> PrivateKeyV1 {
    let mut key = PrivateKeyV1::from_secret_bytes(
        &unhex(&v.pre_key.private_key),
        ms(&v.pre_key.timestamp_ms),
    )
    .expect("pre-key");
    identity.sign_key(&mut key).expect("sign pre-key");
    key
}

#[test]
fn vector_file_is_from_the_reference_sdk() {
    let file = key_vectors();
    assert!(
        file.generator.contains("@xmtp/xmtp-js 13.0.4"),
        "{}",
        file.generator
    );
    assert!(file.vectors.len() >= 4);
}

#[test]
fn wallet_address_and_signatures_match() {
    for v in key_vectors().vectors {
        let wallet = wallet(&v);
        let address = wallet.address();
        assert_eq!(address.to_string(), v.address, "{}", v.label);
        let create = wallet.personal_sign(&v.identity.sign_request_text).unwrap();
        assert_eq!(
            hex::encode(create.as_bytes()),
            v.identity.wallet_signature_rsv,
            "{}",
            v.label
        );
        let enable = wallet.personal_sign(&v.storage.sign_request_text).unwrap();
        assert_eq!(
            hex::encode(enable.as_bytes()),
            v.storage.wallet_signature_rsv,
            "{}",
            v.label
        );
    }
}

#[test]
fn identity_key_bytes_text_digest_and_signed_key_match() {
    for v in key_vectors().vectors {
        let key = identity_key(&v);
        let public = key.public_key();
        assert_eq!(
            hex::encode(public.point()),
            v.identity.public_key_uncompressed,
            "{}",
            v.label
        );
        assert_eq!(
            hex::encode(public.bytes_to_sign()),
            v.identity.bytes_to_sign,
            "{}",
            v.label
        );
        let text = public.create_identity_text();
        assert_eq!(text, v.identity.sign_request_text, "{}", v.label);
        assert_eq!(
            text,
            eip191::create_identity_text(&unhex(&v.identity.bytes_to_sign))
        );
        assert_eq!(
            hex::encode(eip191::personal_message_digest(text.as_bytes())),
            v.identity.eip191_digest,
            "{}",
            v.label
        );
        assert_eq!(
            hex::encode(public.to_proto().encode_to_vec()),
            v.identity.signed_public_key_v1
        );
        assert_eq!(public.wallet_address().unwrap().to_string(), v.address);

        let decoded = PublicKeyV1::decode(&unhex(&v.identity.signed_public_key_v1)).unwrap();
        assert_eq!(&decoded, public);
    }
}

#[test]
fn pre_key_signature_by_identity_key_is_reproduced() {
    for v in key_vectors().vectors {
        let identity = identity_key(&v);
        let pre = pre_key(&v, &identity);
        assert_eq!(
            hex::encode(pre.public_key().bytes_to_sign()),
            v.pre_key.bytes_to_sign,
            "{}",
            v.label
        );
        // RFC 6979 makes the identity key's signature deterministic: same bytes as xmtp-js.
        assert_eq!(
            hex::encode(pre.public_key().to_proto().encode_to_vec()),
            v.pre_key.signed_public_key_v1,
            "{}",
            v.label
        );
        pre.public_key()
            .verify_signed_by(identity.public_key())
            .unwrap();
    }
}

#[test]
fn private_key_bundle_encodes_and_decodes_byte_for_byte() {
    for v in key_vectors().vectors {
        let identity = identity_key(&v);
        let pre = pre_key(&v, &identity);
        let bundle = PrivateKeyBundleV1::new(identity, vec![pre]).unwrap();
        assert_eq!(
            hex::encode(bundle.encode().as_slice()),
            v.private_key_bundle,
            "{}",
            v.label
        );

        let decoded = PrivateKeyBundleV1::decode(&unhex(&v.private_key_bundle)).unwrap();
        assert_eq!(decoded.verify().unwrap().to_string(), v.address);
        assert_eq!(
            hex::encode(decoded.encode().as_slice()),
            v.private_key_bundle
        );
    }
}

#[test]
fn contact_bundles_match_and_verify() {
    for v in key_vectors().vectors {
        let identity = identity_key(&v);
        let pre = pre_key(&v, &identity);
        let bundle = PrivateKeyBundleV1::new(identity, vec![pre]).unwrap();
        let public = bundle.public_bundle();
        assert_eq!(
            hex::encode(public.encode_contact_v1()),
            v.contact_bundle_v1,
            "{}",
            v.label
        );
        assert_eq!(
            hex::encode(public.to_signed_bundle().unwrap().encode_contact_v2()),
            v.contact_bundle_v2,
            "{}",
            v.label
        );
        for (encoded, version) in [(&v.contact_bundle_v1, 1), (&v.contact_bundle_v2, 2)] {
            let contact = ContactBundle::decode(&unhex(encoded)).unwrap();
            assert_eq!(
                hex::encode(contact.encode()),
                *encoded,
                "re-encoding is byte-exact"
            );
            let verified = contact.verify().unwrap();
            assert_eq!(verified.version, version);
            assert_eq!(verified.wallet_address.to_string(), v.address);
            assert_eq!(
                hex::encode(verified.identity_public_key),
                v.identity.public_key_uncompressed
            );
        }
    }
}

#[test]
fn topics_match() {
    for v in key_vectors().vectors {
        let address: Address = v.address.parse().unwrap();
        assert_eq!(topic::contact_topic(&address), v.topics.contact);
        assert_eq!(topic::private_store_topic(&address), v.topics.private_store);
    }
}

#[test]
fn enable_identity_text_matches() {
    for v in key_vectors().vectors {
        let wallet_pre_key: [u8; 32] = unhex(&v.storage.wallet_pre_key).try_into().unwrap();
        assert_eq!(
            eip191::enable_identity_text(&wallet_pre_key),
            v.storage.sign_request_text
        );
    }
}

#[test]
fn encrypted_bundles_decrypt_to_the_private_key_bundle_in_both_v_forms() {
    for v in key_vectors().vectors {
        let signature = WalletSignature::from_hex(&v.storage.wallet_signature_rsv).unwrap();
        for encrypted in [
            &v.storage.encrypted_private_key_bundle,
            &v.storage.encrypted_private_key_bundle_canonical_v,
        ] {
            let bundle = EncryptedBundle::decode(&unhex(encrypted)).unwrap();
            assert_eq!(hex::encode(bundle.wallet_pre_key), v.storage.wallet_pre_key);
            assert_eq!(bundle.enable_identity_text(), v.storage.sign_request_text);
            // Whichever v form the signature arrives in, the bundle opens.
            for sig in [signature.clone(), signature.with_other_v_form()] {
                let opened = bundle.open(&sig).unwrap();
                assert_eq!(
                    hex::encode(opened.encode().as_slice()),
                    v.private_key_bundle,
                    "{}",
                    v.label
                );
            }
        }
        // The two encodings were sealed under the two v forms: `encrypted_private_key_bundle`
        // under the signature as the wallet returned it (v = 27/28), the `_canonical_v` one
        // under v = 0/1 (as older Ledger flows stored it). Without the fallback, exactly
        // one form opens each.
        let as_returned =
            EncryptedBundle::decode(&unhex(&v.storage.encrypted_private_key_bundle)).unwrap();
        let canonical_v =
            EncryptedBundle::decode(&unhex(&v.storage.encrypted_private_key_bundle_canonical_v))
                .unwrap();
        assert!(signature.v() >= 27, "{}: wallets return 27/28", v.label);
        let zero_one = signature.with_other_v_form();
        assert!(
            as_returned.sealed.open(signature.as_bytes()).is_ok(),
            "{}",
            v.label
        );
        assert!(matches!(
            as_returned.sealed.open(zero_one.as_bytes()),
            Err(KeystoreError::WrongKeyOrTampered)
        ));
        assert!(
            canonical_v.sealed.open(zero_one.as_bytes()).is_ok(),
            "{}",
            v.label
        );
        assert!(matches!(
            canonical_v.sealed.open(signature.as_bytes()),
            Err(KeystoreError::WrongKeyOrTampered)
        ));
    }
}

#[test]
fn wrong_signature_is_a_typed_error() {
    let v = &key_vectors().vectors[0];
    let other = &key_vectors().vectors[3];
    let bundle =
        EncryptedBundle::decode(&unhex(&v.storage.encrypted_private_key_bundle_canonical_v))
            .unwrap();
    let wrong = WalletSignature::from_hex(&other.storage.wallet_signature_rsv).unwrap();
    assert!(matches!(
        bundle.open(&wrong),
        Err(KeystoreError::WrongKeyOrTampered)
    ));
}

#[test]
fn auth_token_is_reproduced_and_verifies() {
    for v in key_vectors().vectors {
        let created_ns = ms(&v.auth_token.created_ms) * 1_000_000;
        let token = AuthToken::create(&identity_key(&v), created_ns).unwrap();
        assert_eq!(token.to_base64(), v.auth_token.bearer, "{}", v.label);

        let header = format!("Bearer {}", v.auth_token.bearer);
        let verified =
            auth::verify_header(&header, created_ns + 1_000, TokenPolicy::default()).unwrap();
        assert_eq!(verified.wallet.to_string(), v.address);
        assert_eq!(verified.created_ns, created_ns);
        assert_eq!(
            hex::encode(verified.identity_key.point()),
            v.identity.public_key_uncompressed
        );

        let an_hour_later = created_ns + 3_600_000_000_000 + 1;
        assert!(auth::verify_header(&header, an_hour_later, TokenPolicy::default()).is_err());
    }
}

#[test]
fn local_signer_in_zero_one_form_still_verifies() {
    let v = &key_vectors().vectors[0];
    assert_eq!(v.hd_path, "m/44'/60'/0'/0/0");
    let wallet = LocalKeySigner::from_private_key(&unhex(TEST_ACCOUNT_0_KEY))
        .unwrap()
        .with_v_form(VForm::Zero);
    assert_eq!(wallet.address().to_string(), v.address);
    let signature = wallet.personal_sign(&v.storage.sign_request_text).unwrap();
    assert!(signature.v() < 2);
    signature
        .verify_personal_sign(
            v.storage.sign_request_text.as_bytes(),
            &v.address.parse().unwrap(),
        )
        .unwrap();
    assert_eq!(
        hex::encode(signature.with_other_v_form().as_bytes()),
        v.storage.wallet_signature_rsv
    );
}
