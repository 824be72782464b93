//! The v3 inbox session against a node on a loopback port: what the wallet is asked, and
//! that a wrong answer from the wallet (stale, corrupted, another account's) publishes
//! nothing.

mod common;

use std::cell::RefCell;

use common::node::BlockingHarness;
use common::wallet::Wallet;
use xmtp_ledger::flow::{FlowError, SignaturePurpose};
use xmtp_ledger::identity::{Address, IdentityError, WalletSignature};
use xmtp_ledger::session::Progress;
use xmtp_ledger::session::inbox::{InboxError, InboxSession, RevokeTargets, inbox_status};
use xmtp_ledger::signer::{LocalKeySigner, Signer};
use xmtp_ledger::v3::{InboxId, MemberId};

/// A wallet that answers each request with the signature of its previous one (a bridge
/// returning a stale signature), or with another account's.
struct Misbehaving {
    inner: LocalKeySigner,
    other: Option<LocalKeySigner>,
    last: RefCell<Option<WalletSignature>>,
}

impl Signer for Misbehaving {
    type Error = IdentityError;

    fn address(&self) -> Address {
        self.inner.address()
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, IdentityError> {
        if let Some(other) = &self.other {
            return other.personal_sign(text);
        }
        let fresh = self.inner.personal_sign(text)?;
        Ok(self.last.replace(Some(fresh.clone())).unwrap_or(fresh))
    }
}

#[test]
fn create_asks_once_shows_the_text_and_records_the_inbox() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let session = InboxSession::new(&wallet, rig.client.identity());
    let mut prompts = Vec::new();
    let created = session
        .create(3, &mut |event| {
            if let Progress::Signature(prompt) = event {
                prompts.push((
                    prompt.purpose,
                    prompt.step,
                    prompt.total,
                    prompt.text.to_owned(),
                ));
            }
        })
        .expect("create");
    assert_eq!(wallet.asked(), 1);
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0].0, SignaturePurpose::AuthenticateToInbox);
    assert_eq!((prompts[0].1, prompts[0].2), (1, 1));
    assert!(
        prompts[0]
            .3
            .starts_with("XMTP : Authenticate to inbox\n\nInbox ID: ")
    );
    assert_eq!(created.inbox_id, InboxId::derive(&wallet.address(), 3));
    let status =
        inbox_status::<IdentityError>(&rig.client.identity(), &created.inbox_id).expect("status");
    assert_eq!(
        status.state.recovery(),
        &MemberId::Address(wallet.address())
    );
    assert_eq!(status.log.len(), 1);
}

#[test]
fn a_wrong_signature_from_the_wallet_publishes_nothing() {
    let rig = BlockingHarness::new();
    let owner = LocalKeySigner::from_private_key(&[1; 32]).unwrap();
    let identity = rig.client.identity();
    // Create the inbox properly, then try to hand over recovery with bad answers.
    InboxSession::new(&owner, identity.clone())
        .create(0, &mut |_| {})
        .expect("create");
    let inbox_id = InboxId::derive(&owner.address(), 0);
    let cases = [
        Misbehaving {
            inner: LocalKeySigner::from_private_key(&[1; 32]).unwrap(),
            other: None,
            last: RefCell::new(Some(owner.personal_sign("an earlier text").unwrap())),
        },
        Misbehaving {
            inner: LocalKeySigner::from_private_key(&[1; 32]).unwrap(),
            other: Some(LocalKeySigner::from_private_key(&[2; 32]).unwrap()),
            last: RefCell::new(None),
        },
    ];
    for wallet in &cases {
        let session = InboxSession::new(wallet, identity.clone());
        let new_recovery = LocalKeySigner::from_private_key(&[9; 32])
            .unwrap()
            .address();
        let error = session
            .change_recovery(None, new_recovery, &mut |_| {})
            .expect_err("a signature that does not verify");
        assert!(
            matches!(
                error,
                InboxError::Flow(FlowError::BadWalletSignature { .. })
            ),
            "{error:?}"
        );
        let status = inbox_status::<IdentityError>(&identity, &inbox_id).unwrap();
        assert_eq!(status.log.len(), 1, "nothing was published");
        assert_eq!(status.state.recovery(), &MemberId::Address(owner.address()));
    }
}

#[test]
fn revoking_checks_the_targets_before_the_wallet_is_asked() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let session = InboxSession::new(&wallet, rig.client.identity());
    session.create(0, &mut |_| {}).expect("create");
    assert_eq!(wallet.asked(), 1);
    let unknown = session.revoke(
        None,
        &RevokeTargets::Installations(vec![[5; 32]]),
        &mut |_| {},
    );
    assert!(
        matches!(unknown, Err(InboxError::NotMembers { .. })),
        "{unknown:?}"
    );
    let nothing = session.revoke(
        None,
        &RevokeTargets::AllInstallationsBut(vec![]),
        &mut |_| {},
    );
    assert!(
        matches!(nothing, Err(InboxError::NothingToDo(_))),
        "{nothing:?}"
    );
    let stranger = LocalKeySigner::from_private_key(&[3; 32])
        .unwrap()
        .address();
    let not_member = session.revoke(None, &RevokeTargets::Address(stranger), &mut |_| {});
    assert!(
        matches!(not_member, Err(InboxError::NotMembers { .. })),
        "{not_member:?}"
    );
    assert_eq!(
        wallet.asked(),
        1,
        "the wallet was not asked for any of them"
    );
}
