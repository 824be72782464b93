//! The generation and retrieval flows against in-memory signers, including wallets that
//! misbehave: every bad signature must be caught before anything is produced.

use std::cell::RefCell;

use xmtp_ledger::flow::{FlowError, SignaturePurpose, generate_identity, unlock_identity};
use xmtp_ledger::identity::{
    Address, ContactBundle, IdentityError, WalletSignature, eip191, topic,
};
use xmtp_ledger::keystore::EncryptedBundle;
use xmtp_ledger::signer::{LocalKeySigner, Signer, VForm};

const ACCOUNT_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ACCOUNT_1: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

fn signer(key: &str) -> LocalKeySigner {
    LocalKeySigner::from_private_key(&hex::decode(key).unwrap()).unwrap()
}

/// A wallet that answers with a signature of something else than what it was asked.
struct Misbehaving {
    inner: LocalKeySigner,
    mode: Mode,
    last: RefCell<Option<WalletSignature>>,
}

#[derive(Clone, Copy)]
enum Mode {
    /// Returns its previous signature (a stale answer) from the second request on.
    Stale,
    /// Flips a bit of r.
    Corrupt,
    /// Signs with another account than the one it reports.
    OtherAccount,
}

impl Signer for Misbehaving {
    type Error = IdentityError;

    fn address(&self) -> Address {
        self.inner.address()
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, IdentityError> {
        let fresh = self.inner.personal_sign(text)?;
        let answer = match self.mode {
            Mode::Stale => self.last.borrow().clone().unwrap_or_else(|| fresh.clone()),
            Mode::Corrupt => {
                let mut bytes = *fresh.as_bytes();
                bytes[5] ^= 0x01;
                WalletSignature::from_bytes(&bytes)?
            }
            Mode::OtherAccount => signer(ACCOUNT_1).personal_sign(text)?,
        };
        *self.last.borrow_mut() = Some(fresh);
        Ok(answer)
    }
}

#[test]
fn generated_identity_is_complete_and_unlocks() {
    let wallet = signer(ACCOUNT_0);
    let mut prompts = Vec::new();
    let identity = generate_identity(&wallet, &mut |p| {
        prompts.push((p.purpose, p.step, p.total, p.text.to_owned()))
    })
    .unwrap();

    assert_eq!(prompts.len(), 2);
    assert_eq!(
        (prompts[0].0, prompts[0].1, prompts[0].2),
        (SignaturePurpose::CreateIdentity, 1, 2)
    );
    assert_eq!(
        (prompts[1].0, prompts[1].1, prompts[1].2),
        (SignaturePurpose::EnableIdentity, 2, 2)
    );
    assert_eq!(prompts[0].1, 1);
    assert_eq!(
        prompts[0].3,
        identity
            .bundle
            .identity_key()
            .public_key()
            .create_identity_text()
    );
    assert_eq!(
        prompts[1].3,
        identity.encrypted_bundle.enable_identity_text()
    );
    assert_eq!(prompts[1].3.len(), 132);

    let address = wallet.address();
    assert_eq!(identity.wallet, address);
    assert_eq!(identity.bundle.verify().unwrap(), address);

    let publications = identity.publications();
    assert_eq!(publications[0].topic, topic::private_store_topic(&address));
    assert_eq!(publications[1].topic, topic::contact_topic(&address));
    assert_eq!(publications[2].topic, topic::contact_topic(&address));
    let v1 = ContactBundle::decode(&publications[1].message)
        .unwrap()
        .verify()
        .unwrap();
    let v2 = ContactBundle::decode(&publications[2].message)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(v1.wallet_address, address);
    assert_eq!(v2.identity_public_key, v1.identity_public_key);

    let unlocked = unlock_identity(&wallet, &publications[0].message, &mut |p| {
        assert_eq!(p.purpose, SignaturePurpose::EnableIdentity);
    })
    .unwrap();
    assert_eq!(unlocked.wallet, address);
    assert_eq!(unlocked.bundle.encode(), identity.bundle.encode());
}

#[test]
fn bundle_sealed_under_zero_one_v_unlocks_with_27_28_wallet() {
    let old_ledger_flow = signer(ACCOUNT_0).with_v_form(VForm::Zero);
    let identity = generate_identity(&old_ledger_flow, &mut |_| {}).unwrap();
    let encrypted = identity.encrypted_bundle.encode();
    let unlocked = unlock_identity(&signer(ACCOUNT_0), &encrypted, &mut |_| {}).unwrap();
    assert_eq!(unlocked.bundle.encode(), identity.bundle.encode());
}

#[test]
fn misbehaving_wallets_are_caught_before_use() {
    for (mode, purpose) in [
        (Mode::Stale, SignaturePurpose::EnableIdentity),
        (Mode::Corrupt, SignaturePurpose::CreateIdentity),
        (Mode::OtherAccount, SignaturePurpose::CreateIdentity),
    ] {
        let wallet = Misbehaving {
            inner: signer(ACCOUNT_0),
            mode,
            last: RefCell::new(None),
        };
        match generate_identity(&wallet, &mut |_| {}) {
            Err(FlowError::BadWalletSignature { purpose: p, .. }) => assert_eq!(p, purpose),
            other => panic!("expected a bad wallet signature, got {other:?}"),
        }
    }
}

#[test]
fn another_wallet_cannot_unlock() {
    let identity = generate_identity(&signer(ACCOUNT_0), &mut |_| {}).unwrap();
    let encrypted = identity.encrypted_bundle.encode();
    let err = unlock_identity(&signer(ACCOUNT_1), &encrypted, &mut |_| {}).unwrap_err();
    assert!(matches!(err, FlowError::Keystore(_)), "{err:?}");
}

#[test]
fn a_bundle_of_another_wallet_sealed_for_this_one_is_refused() {
    // Account 1's keys sealed under account 0's Enable Identity signature: decryption
    // works, but the keys vouch for another wallet, so they must not be accepted.
    let foreign = generate_identity(&signer(ACCOUNT_1), &mut |_| {}).unwrap();
    let wallet_pre_key = [42u8; 32];
    let signature = signer(ACCOUNT_0)
        .personal_sign(&eip191::enable_identity_text(&wallet_pre_key))
        .unwrap();
    let planted = EncryptedBundle::seal(&foreign.bundle, wallet_pre_key, &signature).unwrap();
    let err = unlock_identity(&signer(ACCOUNT_0), &planted.encode(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, FlowError::WrongWallet { .. }), "{err:?}");
}

#[test]
fn garbage_private_store_is_a_typed_error() {
    let err = unlock_identity(&signer(ACCOUNT_0), b"not a bundle", &mut |_| {}).unwrap_err();
    assert!(matches!(err, FlowError::Keystore(_)), "{err:?}");
}
