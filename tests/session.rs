//! The session layer as an embedder uses it: a signer, a blocking client and a node on a
//! loopback port. Each rule that decides what gets published is exercised here without
//! the CLI: create, refuse to replace, replace with `force`, complete a half-published
//! identity with the same keys, republish contacts on unlock, publish prepared files
//! only when their contacts match their keys, and find the newest valid contact.

mod common;

use std::cell::Cell;

use xmtp_ledger::flow::{SignaturePurpose, generate_identity};
use xmtp_ledger::identity::{Address, topic};
use xmtp_ledger::network::{PublishOutcome, auth_token_now};
use xmtp_ledger::session::{
    InitOptions, InitOutcome, PreparedIdentity, Progress, PublishOptions, PublishedOutcome,
    Session, SessionError, Skipped, find_identity,
};
use xmtp_ledger::signer::{LocalKeySigner, Signer};

use common::node::BlockingHarness;

/// Hardhat accounts #0 and #1.
const WALLET_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const OTHER_KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

fn signer(key: &str) -> LocalKeySigner {
    LocalKeySigner::from_private_key(&hex::decode(key).expect("hex")).expect("key")
}

/// Records what a session announced: signatures by purpose, and the other events by name.
#[derive(Default)]
struct Log(Vec<String>);

impl Log {
    fn on(&mut self, event: Progress<'_>) {
        self.0.push(match event {
            Progress::Signature(p) => format!("sign {:?} {}/{}", p.purpose, p.step, p.total),
            Progress::Completing => "completing".into(),
            Progress::Replacing { wallet, .. } => format!("replacing {wallet}"),
            Progress::Publishing { .. } => "publishing".into(),
            _ => "other".into(),
        });
    }
}

fn identity_key_of(bundle: &xmtp_ledger::identity::PrivateKeyBundleV1) -> Vec<u8> {
    bundle.identity_key().public_key().point().to_vec()
}

#[test]
fn init_creates_then_refuses_then_replaces_only_with_force() {
    let rig = BlockingHarness::new();
    let wallet = signer(WALLET_KEY);
    let session = Session::new(&wallet, &rig.client);

    let mut log = Log::default();
    let created = session
        .init(InitOptions::default(), &mut |e| log.on(e))
        .expect("init");
    assert_eq!(created.outcome, InitOutcome::Created);
    assert_eq!(created.wallet, wallet.address());
    assert_eq!(
        log.0,
        [
            "sign CreateIdentity 1/2",
            "sign EnableIdentity 2/2",
            "publishing"
        ]
    );
    let outcomes: Vec<_> = created.published.iter().map(|p| p.outcome).collect();
    assert_eq!(outcomes, [PublishOutcome::Published; 3]);
    assert_eq!(
        created.published[0].topic,
        topic::private_store_topic(&wallet.address()),
        "the private store goes first"
    );

    // The published identity is the one found, and the one returned.
    let found = find_identity(&rig.client, &wallet.address()).expect("find");
    let (_, verified) = found.contact.expect("a valid contact");
    assert_eq!(
        verified.identity_public_key.to_vec(),
        identity_key_of(&created.bundle)
    );

    // A second init is refused before the wallet is asked anything.
    let asked = Cell::new(0);
    let refused = session
        .init(InitOptions::default(), &mut |e| {
            if matches!(e, Progress::Signature(_)) {
                asked.set(asked.get() + 1);
            }
        })
        .expect_err("exists");
    assert!(
        matches!(refused, SessionError::AlreadyExists { wallet: w, .. } if w == wallet.address()),
        "{refused:?}"
    );
    assert_eq!(asked.get(), 0, "no signature before refusing");

    // With force: a new identity key, announced as a replacement.
    let mut log = Log::default();
    let replaced = session
        .init(InitOptions { force: true }, &mut |e| log.on(e))
        .expect("force");
    assert_eq!(replaced.outcome, InitOutcome::Replaced);
    assert_eq!(log.0[0], format!("replacing {}", wallet.address()));
    assert_ne!(
        identity_key_of(&replaced.bundle),
        identity_key_of(&created.bundle)
    );
    let (_, verified) = find_identity(&rig.client, &wallet.address())
        .expect("find")
        .contact
        .expect("valid");
    assert_eq!(
        verified.identity_public_key.to_vec(),
        identity_key_of(&replaced.bundle)
    );
    drop(rig.node);
}

#[test]
fn a_private_store_without_contacts_is_completed_with_the_same_keys() {
    let rig = BlockingHarness::new();
    let wallet = signer(WALLET_KEY);
    // A run that published the private store and stopped.
    let identity = generate_identity(&wallet, &mut |_| {}).expect("generate");
    let token = auth_token_now(identity.bundle.identity_key()).expect("token");
    rig.client
        .publish_publications(&token, &identity.publications()[..1])
        .expect("private store only");
    assert!(
        find_identity(&rig.client, &wallet.address())
            .expect("find")
            .contact
            .is_none()
    );

    let session = Session::new(&wallet, &rig.client);
    let mut log = Log::default();
    let completed = session
        .init(InitOptions::default(), &mut |e| log.on(e))
        .expect("complete");
    assert_eq!(completed.outcome, InitOutcome::Completed);
    assert_eq!(
        log.0,
        ["completing", "sign EnableIdentity 1/1", "publishing"],
        "one unlock signature, no new identity"
    );
    assert_eq!(
        identity_key_of(&completed.bundle),
        identity_key_of(&identity.bundle)
    );
    let outcomes: Vec<_> = completed.published.iter().map(|p| p.outcome).collect();
    assert_eq!(
        outcomes,
        [
            PublishOutcome::AlreadyNewest,
            PublishOutcome::Published,
            PublishOutcome::Published
        ]
    );
    assert!(
        find_identity(&rig.client, &wallet.address())
            .expect("find")
            .contact
            .is_some()
    );
}

#[test]
fn unlock_recovers_the_keys_and_republishes_missing_contacts() {
    let rig = BlockingHarness::new();
    let wallet = signer(WALLET_KEY);
    let session = Session::new(&wallet, &rig.client);

    let missing = session.unlock(&mut |_| {}).expect_err("nothing there");
    assert!(
        matches!(missing, SessionError::NoIdentity { .. }),
        "{missing:?}"
    );

    let created = session
        .init(InitOptions::default(), &mut |_| {})
        .expect("init");
    let mut purposes = Vec::new();
    let unlocked = session
        .unlock(&mut |e| {
            if let Progress::Signature(p) = e {
                purposes.push(p.purpose);
            }
        })
        .expect("unlock");
    assert_eq!(purposes, [SignaturePurpose::EnableIdentity]);
    assert_eq!(unlocked.identity.wallet, wallet.address());
    assert_eq!(
        identity_key_of(&unlocked.identity.bundle),
        identity_key_of(&created.bundle)
    );
    // Both contacts were already the newest: nothing sent.
    let outcomes: Vec<_> = unlocked.published.iter().map(|p| p.outcome).collect();
    assert_eq!(outcomes, [PublishOutcome::AlreadyNewest; 2]);

    // Another account cannot open this account's store (it reads its own topic: none).
    let other = signer(OTHER_KEY);
    let err = Session::new(&other, &rig.client)
        .unlock(&mut |_| {})
        .expect_err("other account");
    assert!(matches!(err, SessionError::NoIdentity { .. }), "{err:?}");
}

#[test]
fn prepared_identity_is_published_once_and_only_if_its_contacts_match_its_keys() {
    let rig = BlockingHarness::new();
    let wallet = signer(WALLET_KEY);
    let session = Session::new(&wallet, &rig.client);
    let identity = generate_identity(&wallet, &mut |_| {}).expect("generate offline");
    let prepared = PreparedIdentity {
        private_store: identity.encrypted_bundle.encode(),
        contact_v1: identity.contact_v1().to_vec(),
        contact_v2: identity.contact_v2().to_vec(),
    };

    // Contacts of other keys next to this private store: refused, nothing published.
    let stranger = generate_identity(&wallet, &mut |_| {}).expect("other keys");
    let mismatched = PreparedIdentity {
        contact_v2: stranger.contact_v2().to_vec(),
        ..prepared.clone()
    };
    let err = session
        .publish_prepared(&mismatched, PublishOptions::default(), &mut |_| {})
        .expect_err("mismatch");
    assert!(matches!(err, SessionError::PreparedMismatch), "{err:?}");
    assert!(session.lookup().expect("lookup").private_store.is_none());

    let first = session
        .publish_prepared(&prepared, PublishOptions::default(), &mut |_| {})
        .expect("publish");
    assert_eq!(first.outcome, PublishedOutcome::Published);
    let again = session
        .publish_prepared(&prepared, PublishOptions::default(), &mut |_| {})
        .expect("same identity again");
    assert_eq!(again.outcome, PublishedOutcome::AlreadyPublished);

    // Another prepared identity for the same account needs force.
    let second = PreparedIdentity {
        private_store: stranger.encrypted_bundle.encode(),
        contact_v1: stranger.contact_v1().to_vec(),
        contact_v2: stranger.contact_v2().to_vec(),
    };
    let err = session
        .publish_prepared(&second, PublishOptions::default(), &mut |_| {})
        .expect_err("exists");
    assert!(matches!(err, SessionError::AlreadyExists { .. }), "{err:?}");
    let forced = session
        .publish_prepared(&second, PublishOptions { force: true }, &mut |_| {})
        .expect("force");
    assert_eq!(forced.outcome, PublishedOutcome::Published);
}

#[test]
fn find_identity_skips_newer_envelopes_that_are_not_the_wallets_bundle() {
    let rig = BlockingHarness::new();
    let wallet = signer(WALLET_KEY);
    let address: Address = wallet.address();
    let created = Session::new(&wallet, &rig.client)
        .init(InitOptions::default(), &mut |_| {})
        .expect("init");

    // Newer on the same contact topic: garbage, and another wallet's valid bundle (the
    // node only takes them from this wallet's own token; a hostile node could serve them).
    let other = generate_identity(&signer(OTHER_KEY), &mut |_| {}).expect("other");
    let token = auth_token_now(created.bundle.identity_key()).expect("token");
    let contact_topic = topic::contact_topic(&address);
    let garbage = xmtp_ledger::wire::Publication {
        topic: contact_topic.clone(),
        message: b"\xff\xffnot a bundle".to_vec(),
    };
    let foreign = xmtp_ledger::wire::Publication {
        topic: contact_topic,
        message: other.contact_v2().to_vec(),
    };
    rig.client
        .publish_publications(&token, &[garbage])
        .expect("garbage");
    rig.client
        .publish_publications(&token, &[foreign])
        .expect("foreign");

    let found = find_identity(&rig.client, &address).expect("find");
    let (_, verified) = found.contact.expect("still found");
    assert_eq!(
        verified.identity_public_key.to_vec(),
        identity_key_of(&created.bundle)
    );
    assert_eq!(found.skipped.len(), 2, "{:?}", found.skipped);
    assert!(
        matches!(&found.skipped[0], Skipped::OtherWallet { wallet, .. } if *wallet == other.wallet),
        "newest first: {:?}",
        found.skipped
    );
    assert!(
        matches!(found.skipped[1], Skipped::Undecodable { .. }),
        "{:?}",
        found.skipped
    );
}
