//! `Session::connect`, the seed's one move: generate, retrieve or complete, whichever the
//! node calls for, and stop (without generating) on an identity it cannot account for.
//! Each path also meets a rejection on the device, and then nothing is published. The
//! wallet is the software device through real APDU framing.

mod common;

use xmtp_ledger::flow::{SignaturePurpose, generate_identity};
use xmtp_ledger::identity::topic;
use xmtp_ledger::network::PublishOutcome;
use xmtp_ledger::session::{ConnectOutcome, Progress, Session, SessionError, find_identity};
use xmtp_ledger::signer::Signer;
use xmtp_ledger::wire::Publication;

use common::node::BlockingHarness;
use common::wallet::{CREATE, ENABLE, Wallet, envelopes_of, identity_key, publish_raw, rejected};

#[test]
fn connect_twice_creates_then_retrieves_the_same_identity() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let session = Session::new(&wallet, &rig.client);

    let mut purposes = Vec::new();
    let first = session
        .connect(&mut |e| {
            if let Progress::Signature(p) = e {
                purposes.push(p.purpose);
            }
        })
        .expect("first connect");
    assert_eq!(first.outcome, ConnectOutcome::Created);
    assert_eq!(first.outcome.as_str(), "created");
    assert_eq!(
        purposes,
        [
            SignaturePurpose::CreateIdentity,
            SignaturePurpose::EnableIdentity
        ]
    );
    let outcomes: Vec<_> = first.published.iter().map(|p| p.outcome).collect();
    assert_eq!(outcomes, [PublishOutcome::Published; 3]);
    let published = envelopes_of(&rig, &wallet.address());

    let second = session.connect(&mut |_| {}).expect("second connect");
    assert_eq!(second.outcome, ConnectOutcome::Retrieved);
    assert_eq!(second.outcome.as_str(), "retrieved");
    assert_eq!(wallet.asked(), 3, "two to create, one to retrieve");
    assert_eq!(
        identity_key(&second.identity.bundle),
        identity_key(&first.identity.bundle)
    );
    assert_eq!(second.identity.wallet, wallet.address());
    let outcomes: Vec<_> = second.published.iter().map(|p| p.outcome).collect();
    assert_eq!(outcomes, [PublishOutcome::AlreadyNewest; 2]);
    assert_eq!(
        envelopes_of(&rig, &wallet.address()),
        published,
        "nothing new"
    );
}

#[test]
fn a_private_store_without_contacts_is_completed_with_its_own_keys() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let earlier = generate_identity(&wallet.signer, &mut |_| {}).expect("generate");
    publish_raw(&rig, &earlier.bundle, &earlier.publications()[..1]);

    let mut events = Vec::new();
    let connected = Session::new(&wallet, &rig.client)
        .connect(&mut |e| {
            events.push(match e {
                Progress::Completing => "completing".to_owned(),
                Progress::Signature(p) => format!("sign {:?}", p.purpose),
                Progress::Publishing { .. } => "publishing".to_owned(),
                _ => "other".to_owned(),
            })
        })
        .expect("connect");
    assert_eq!(connected.outcome, ConnectOutcome::Completed);
    assert_eq!(
        events,
        ["completing", "sign EnableIdentity", "publishing"],
        "one signature, no new identity"
    );
    assert_eq!(
        identity_key(&connected.identity.bundle),
        identity_key(&earlier.bundle)
    );
    let (_, contact) = find_identity(&rig.client, &wallet.address())
        .expect("find")
        .contact
        .expect("the contact is published now");
    assert_eq!(
        contact.identity_public_key.to_vec(),
        identity_key(&earlier.bundle)
    );
}

#[test]
fn a_contact_that_does_not_verify_stops_before_the_wallet_is_asked() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let earlier = generate_identity(&wallet.signer, &mut |_| {}).expect("generate");
    let garbage = Publication {
        topic: topic::contact_topic(&wallet.address()),
        message: b"\x0a\x03not a bundle".to_vec(),
    };
    publish_raw(&rig, &earlier.bundle, &[garbage]);
    let before = envelopes_of(&rig, &wallet.address());

    let err = Session::new(&wallet, &rig.client)
        .connect(&mut |_| {})
        .expect_err("an invalid contact");
    assert!(
        matches!(&err, SessionError::InvalidContact { wallet: w, .. } if *w == wallet.address()),
        "{err:?}"
    );
    assert_eq!(wallet.asked(), 0, "the wallet was asked nothing");
    assert_eq!(
        envelopes_of(&rig, &wallet.address()),
        before,
        "nothing published"
    );
}

#[test]
fn a_contact_without_a_private_store_stops_before_the_wallet_is_asked() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let earlier = generate_identity(&wallet.signer, &mut |_| {}).expect("generate");
    publish_raw(&rig, &earlier.bundle, &earlier.publications()[1..]);
    let before = envelopes_of(&rig, &wallet.address());

    let err = Session::new(&wallet, &rig.client)
        .connect(&mut |_| {})
        .expect_err("no store");
    assert!(
        matches!(err, SessionError::ContactWithoutStore { .. }),
        "{err:?}"
    );
    assert_eq!(wallet.asked(), 0);
    assert_eq!(envelopes_of(&rig, &wallet.address()), before);
}

#[test]
fn a_contact_of_other_keys_than_the_private_store_stops_without_publishing() {
    let rig = BlockingHarness::new();
    let wallet = Wallet::new();
    let stored = generate_identity(&wallet.signer, &mut |_| {}).expect("stored keys");
    let announced = generate_identity(&wallet.signer, &mut |_| {}).expect("other keys");
    publish_raw(&rig, &stored.bundle, &stored.publications()[..1]);
    publish_raw(&rig, &announced.bundle, &announced.publications()[1..]);
    let before = envelopes_of(&rig, &wallet.address());

    let err = Session::new(&wallet, &rig.client)
        .connect(&mut |_| {})
        .expect_err("mismatch");
    assert!(
        matches!(err, SessionError::ContactMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(wallet.asked(), 1, "one signature to open the store");
    assert_eq!(
        envelopes_of(&rig, &wallet.address()),
        before,
        "nothing published"
    );
}

#[test]
fn a_rejection_on_the_device_publishes_nothing_on_any_path() {
    // Created: rejected at the first or the second review.
    for refuse in [CREATE, ENABLE] {
        let rig = BlockingHarness::new();
        let wallet = Wallet::new();
        wallet.reject_containing(refuse);
        let err = Session::new(&wallet, &rig.client)
            .connect(&mut |_| {})
            .expect_err("refused");
        assert!(rejected(&err), "{refuse}: {err:?}");
        assert!(
            envelopes_of(&rig, &wallet.address()).is_empty(),
            "{refuse}: something was published"
        );
    }

    // Retrieved and Completed: rejected at the one review.
    for contacts in [true, false] {
        let rig = BlockingHarness::new();
        let wallet = Wallet::new();
        let earlier = generate_identity(&wallet.signer, &mut |_| {}).expect("generate");
        wallet.reject_containing(ENABLE);
        let publications = earlier.publications();
        let upto = if contacts { publications.len() } else { 1 };
        publish_raw(&rig, &earlier.bundle, &publications[..upto]);
        let before = envelopes_of(&rig, &wallet.address());
        let err = Session::new(&wallet, &rig.client)
            .connect(&mut |_| {})
            .expect_err("refused");
        assert!(rejected(&err), "{err:?}");
        assert_eq!(wallet.asked(), 1);
        assert_eq!(
            envelopes_of(&rig, &wallet.address()),
            before,
            "contacts {contacts}: something was published"
        );
    }
}
