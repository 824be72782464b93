//! `Session::rotate_pre_key`: a new current pre-key, every older private one kept, the
//! private store published before the contacts, an interrupted run completed by the next,
//! and nothing published when the device refuses or the node's contact names a pre-key
//! the store lacks. The wallet is the software device through real APDU framing; the node
//! is real, on a loopback port.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ledger_app::ApprovalPolicy;

use xmtp_ledger::flow::{SignaturePurpose, identity_publications, rotate_pre_key, unlock_identity};
use xmtp_ledger::identity::{Address, PrivateKeyBundleV1, PrivateKeyV1, topic};
use xmtp_ledger::network::PublishOutcome;
use xmtp_ledger::session::{
    ConnectOutcome, ContactKey, Progress, RotateOutcome, Session, SessionError, find_identity,
};
use xmtp_ledger::signer::Signer;

use common::node::BlockingHarness;
use common::wallet::{ENABLE, Wallet, envelopes_of, publish_raw, rejected};

/// The pre-keys' points, newest first.
fn pre_keys(bundle: &PrivateKeyBundleV1) -> Vec<[u8; 65]> {
    bundle
        .pre_keys()
        .iter()
        .map(|key| *key.public_key().point())
        .collect()
}

/// The newest private store on the node.
fn newest_store(rig: &BlockingHarness, wallet: &Address) -> Vec<u8> {
    rig.client
        .newest(&topic::private_store_topic(wallet))
        .expect("query")
        .expect("a private store")
        .message
}

/// The newest private store, opened with the wallet (one more approval).
fn stored_bundle(rig: &BlockingHarness, wallet: &Wallet) -> PrivateKeyBundleV1 {
    let store = newest_store(rig, &wallet.address());
    unlock_identity(wallet, &store, &mut |_| {})
        .expect("open the store")
        .bundle
}

/// The pre-key named by the newest valid contact on the node.
fn published_pre_key(rig: &BlockingHarness, wallet: &Address) -> [u8; 65] {
    let found = find_identity(&rig.client, wallet).expect("query");
    let (_, verified) = found.contact.expect("a valid contact");
    assert_eq!(verified.version, 2, "the newest contact is v2");
    verified.pre_key_public_key
}

/// Each signature request as (purpose, step, total, text).
type Asked = Vec<(SignaturePurpose, usize, usize, String)>;

fn record(asked: &mut Asked) -> impl FnMut(Progress<'_>) + '_ {
    move |event| {
        if let Progress::Signature(p) = event {
            asked.push((p.purpose, p.step, p.total, p.text.to_owned()));
        }
    }
}

fn created(rig: &BlockingHarness, wallet: &Wallet) -> PrivateKeyBundleV1 {
    let session = Session::new(wallet, &rig.client);
    let connected = session.connect(&mut |_| {}).expect("create");
    assert_eq!(connected.outcome, ConnectOutcome::Created);
    connected.identity.bundle
}

#[test]
fn each_rotation_prepends_a_new_pre_key_and_keeps_every_older_one() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let original = created(&rig, &wallet);
    let first_store = newest_store(&rig, &wallet.address());
    let first_enable = xmtp_ledger::keystore::EncryptedBundle::decode(&first_store)
        .expect("store")
        .enable_identity_text();
    let session = Session::new(&wallet, &rig.client);

    let before = wallet.asked();
    let mut asked = Asked::new();
    let rotated = session
        .rotate_pre_key(&mut record(&mut asked))
        .expect("rotate");
    assert_eq!(rotated.outcome, RotateOutcome::Rotated);
    assert_eq!(rotated.outcome.as_str(), "rotated");
    assert_eq!(wallet.asked() - before, 2, "two approvals");
    let positions: Vec<_> = asked.iter().map(|a| (a.0, a.1, a.2)).collect();
    assert_eq!(
        positions,
        [
            (SignaturePurpose::EnableIdentity, 1, 2),
            (SignaturePurpose::EnableIdentity, 2, 2)
        ],
        "open the store, then seal it again: never Create Identity"
    );
    assert_eq!(
        asked[0].3, first_enable,
        "the first opens the stored bundle"
    );
    assert!(asked[1].3.starts_with(ENABLE));
    assert_ne!(
        asked[1].3, asked[0].3,
        "the new store is sealed under a fresh wallet pre-key, not the old signature"
    );

    let bundle = &rotated.identity.bundle;
    let keys = pre_keys(bundle);
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys[1],
        pre_keys(&original)[0],
        "the old pre-key is kept second"
    );
    assert_ne!(keys[0], keys[1], "a new pre-key is current");
    assert!(bundle.pre_keys()[0].timestamp_ms() > bundle.pre_keys()[1].timestamp_ms());
    assert_eq!(
        bundle.identity_key().public_key(),
        original.identity_key().public_key(),
        "identity key and its wallet signature unchanged"
    );
    assert_eq!(bundle.verify().expect("verifies"), wallet.address());

    let private_store = topic::private_store_topic(&wallet.address());
    let contact = topic::contact_topic(&wallet.address());
    let published: Vec<_> = rotated
        .published
        .iter()
        .map(|p| (p.topic.as_str(), p.outcome))
        .collect();
    assert_eq!(
        published,
        [
            (private_store.as_str(), PublishOutcome::Published),
            (contact.as_str(), PublishOutcome::Published),
            (contact.as_str(), PublishOutcome::Published),
        ],
        "the private store first, then the v1 and v2 contacts"
    );
    assert_eq!(published_pre_key(&rig, &wallet.address()), keys[0]);
    assert_eq!(pre_keys(&stored_bundle(&rig, &wallet)), keys);

    let again = session.rotate_pre_key(&mut |_| {}).expect("rotate again");
    assert_eq!(again.outcome, RotateOutcome::Rotated);
    let three = pre_keys(&again.identity.bundle);
    assert_eq!(three.len(), 3);
    assert_eq!(three[1..], keys[..], "every older pre-key kept, in order");
    assert_eq!(published_pre_key(&rig, &wallet.address()), three[0]);
    assert_eq!(pre_keys(&stored_bundle(&rig, &wallet)), three);
}

#[test]
fn a_rotation_stopped_after_the_private_store_is_completed_by_the_next_run() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let original = created(&rig, &wallet);
    // An earlier run sealed and published the rotated store, then died before the
    // contacts.
    let sealed = rotate_pre_key(&wallet, &original, &mut |_| {}, (2, 2)).expect("rotate");
    let publications = sealed.publications();
    publish_raw(&rig, &sealed.bundle, &publications[..1]);
    assert_eq!(
        published_pre_key(&rig, &wallet.address()),
        pre_keys(&original)[0],
        "the contact still names the old pre-key"
    );
    let envelopes = envelopes_of(&rig, &wallet.address()).len();

    let session = Session::new(&wallet, &rig.client);
    let before = wallet.asked();
    let mut completing = false;
    let completed = session
        .rotate_pre_key(&mut |event| completing |= matches!(event, Progress::CompletingRotation))
        .expect("complete");
    assert_eq!(completed.outcome, RotateOutcome::Completed);
    assert!(
        completing,
        "the person is told the run completes an earlier one"
    );
    assert_eq!(wallet.asked() - before, 1, "one approval: no new pre-key");
    assert_eq!(
        pre_keys(&completed.identity.bundle),
        pre_keys(&sealed.bundle)
    );
    assert_eq!(
        published_pre_key(&rig, &wallet.address()),
        pre_keys(&sealed.bundle)[0]
    );
    assert_eq!(
        newest_store(&rig, &wallet.address()),
        publications[0].message,
        "the store is left as the earlier run published it"
    );
    assert_eq!(
        envelopes_of(&rig, &wallet.address()).len(),
        envelopes + 2,
        "only the two contacts were published"
    );

    // And the next run rotates again, on top of the completed one.
    let next = session.rotate_pre_key(&mut |_| {}).expect("rotate");
    assert_eq!(next.outcome, RotateOutcome::Rotated);
    assert_eq!(
        pre_keys(&next.identity.bundle)[1..],
        pre_keys(&sealed.bundle)[..]
    );
}

#[test]
fn unlock_also_completes_a_rotation_stopped_after_the_private_store() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let original = created(&rig, &wallet);
    let sealed = rotate_pre_key(&wallet, &original, &mut |_| {}, (2, 2)).expect("rotate");
    publish_raw(&rig, &sealed.bundle, &sealed.publications()[..1]);

    let session = Session::new(&wallet, &rig.client);
    let unlocked = session.unlock(&mut |_| {}).expect("unlock");
    assert_eq!(
        pre_keys(&unlocked.identity.bundle),
        pre_keys(&sealed.bundle)
    );
    assert_eq!(
        published_pre_key(&rig, &wallet.address()),
        pre_keys(&sealed.bundle)[0],
        "unlock published the contacts of the store's current pre-key"
    );
}

#[test]
fn a_contact_naming_a_pre_key_the_store_lacks_is_refused_by_unlock_and_rotate() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let original = created(&rig, &wallet);
    // Contacts of a pre-key that was never sealed into the store.
    let mut unsealed = original.clone();
    unsealed
        .add_pre_key(PrivateKeyV1::generate(u64::MAX / 2))
        .expect("sign");
    let publications =
        identity_publications(&wallet.address(), &unsealed, Vec::new()).expect("publications");
    publish_raw(&rig, &unsealed, &publications[1..]);
    let envelopes = envelopes_of(&rig, &wallet.address());

    let session = Session::new(&wallet, &rig.client);
    let unlock = session.unlock(&mut |_| {}).expect_err("unlock must refuse");
    assert!(
        matches!(
            unlock,
            SessionError::ContactMismatch {
                key: ContactKey::PreKey,
                ..
            }
        ),
        "{unlock:?}"
    );
    assert!(
        unlock
            .to_string()
            .contains("names a pre-key this private store does not hold"),
        "{unlock}"
    );

    let before = wallet.asked();
    let rotate = session
        .rotate_pre_key(&mut |_| {})
        .expect_err("rotate must refuse");
    assert!(
        matches!(
            rotate,
            SessionError::ContactMismatch {
                key: ContactKey::PreKey,
                ..
            }
        ),
        "{rotate:?}"
    );
    assert_eq!(
        wallet.asked() - before,
        1,
        "refused before the second approval"
    );
    assert_eq!(
        envelopes_of(&rig, &wallet.address()),
        envelopes,
        "nothing was published"
    );
}

#[test]
fn rejecting_the_second_approval_publishes_nothing() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let original = created(&rig, &wallet);
    let envelopes = envelopes_of(&rig, &wallet.address());
    // The person approves opening the store, then rejects sealing it again.
    let reviews = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&reviews);
    wallet.device.set_approval(ApprovalPolicy::ask(move |_| {
        seen.fetch_add(1, Ordering::SeqCst) == 0
    }));

    let session = Session::new(&wallet, &rig.client);
    let error = session.rotate_pre_key(&mut |_| {}).expect_err("rejected");
    assert!(rejected(&error), "{error:?}");
    assert_eq!(reviews.load(Ordering::SeqCst), 2);
    assert_eq!(envelopes_of(&rig, &wallet.address()), envelopes);
    assert_eq!(
        published_pre_key(&rig, &wallet.address()),
        pre_keys(&original)[0]
    );
}

#[test]
fn an_account_without_an_identity_is_refused_before_the_device_is_asked() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let session = Session::new(&wallet, &rig.client);
    let error = session
        .rotate_pre_key(&mut |_| {})
        .expect_err("nothing to rotate");
    assert!(
        matches!(error, SessionError::NoIdentity { .. }),
        "{error:?}"
    );
    assert_eq!(wallet.asked(), 0);
}
