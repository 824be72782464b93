//! The "done when" scenario: key generation publishes through the client to the node
//! (private store first), and key retrieval reads the newest private-store envelope
//! back and recovers the same identity; the newest contact is the v2 bundle.

mod common;

use std::time::Duration;

use tonic::Code;

use xmtp_ledger::flow::{generate_identity, unlock_identity};
use xmtp_ledger::identity::{Address, ContactBundle, topic};
use xmtp_ledger::network::{
    Client, ClientConfig, NetworkError, PublishOutcome, Query, auth_token_now,
};
use xmtp_ledger::signer::LocalKeySigner;

/// Hardhat account #0.
const WALLET_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const WALLET: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

fn signer() -> LocalKeySigner {
    LocalKeySigner::from_private_key(&hex::decode(WALLET_KEY).expect("hex")).expect("key")
}

#[tokio::test]
async fn generated_identity_round_trips_through_the_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = common::node::spawn_loopback(dir.path().join("node.sqlite3")).await;
    let client = Client::connect(&node.url(), ClientConfig::default())
        .await
        .expect("client");
    let signer = signer();
    let wallet: Address = WALLET.parse().expect("address");
    let private_topic = topic::private_store_topic(&wallet);
    let contact_topic = topic::contact_topic(&wallet);

    // Nothing stored yet: retrieval finds no identity.
    assert_eq!(client.newest(&private_topic).await.expect("query"), None);

    // Key generation, published in order; a subscriber sees the order on the wire.
    let mut prompts = 0;
    let identity = generate_identity(&signer, &mut |_| prompts += 1).expect("generate");
    assert_eq!(prompts, 2);
    assert_eq!(identity.wallet, wallet);
    let mut watcher = client.subscribe_all().await.expect("subscribe");
    let token = auth_token_now(identity.bundle.identity_key()).expect("token");
    let publications = identity.publications();
    let outcomes = client
        .publish_publications(&token, &publications)
        .await
        .expect("publish");
    assert_eq!(outcomes, [PublishOutcome::Published; 3]);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let envelope = tokio::time::timeout(Duration::from_secs(5), watcher.next())
            .await
            .expect("in time")
            .expect("stream")
            .expect("envelope");
        seen.push((envelope.content_topic, envelope.message));
    }
    let expected: Vec<(String, Vec<u8>)> = publications
        .iter()
        .map(|p| (p.topic.clone(), p.message.clone()))
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(seen[0].0, private_topic, "private store first");

    // Sender timestamps follow the publish order too.
    let stored = client
        .query_all(
            Query::topics([&private_topic, &contact_topic]).ascending(),
            10,
        )
        .await
        .expect("query");
    let order: Vec<Vec<u8>> = stored.iter().map(|e| e.message.clone()).collect();
    assert_eq!(
        order,
        expected.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>()
    );

    // Retrieval: the newest private-store envelope, decrypted by the same wallet.
    let envelope = client
        .newest(&private_topic)
        .await
        .expect("query")
        .expect("stored bundle");
    let unlocked = unlock_identity(&signer, &envelope.message, &mut |_| {}).expect("unlock");
    assert_eq!(unlocked.wallet, wallet);
    assert_eq!(
        unlocked.bundle.identity_key().public_key(),
        identity.bundle.identity_key().public_key()
    );
    assert_eq!(
        *unlocked.bundle.encode(),
        *identity.bundle.encode(),
        "same private keys"
    );

    // Verification: the newest contact is the v2 bundle of this identity.
    let newest_contact = client
        .newest(&contact_topic)
        .await
        .expect("query")
        .expect("contact");
    assert_eq!(newest_contact.message, identity.contact_v2());
    let contact = ContactBundle::decode(&newest_contact.message).expect("decode contact");
    assert!(matches!(contact, ContactBundle::V2(_)));
    let verified = contact.verify().expect("verify contact");
    assert_eq!(verified.version, 2);
    assert_eq!(verified.wallet_address, wallet);
    assert_eq!(
        &verified.identity_public_key,
        identity.bundle.identity_key().public_key().point()
    );

    // Re-running the publication adds nothing.
    let outcomes = client
        .publish_publications(&token, &publications)
        .await
        .expect("re-run");
    assert_eq!(outcomes, [PublishOutcome::AlreadyNewest; 3]);
    assert_eq!(
        client
            .query_all(Query::topic(&contact_topic), 10)
            .await
            .expect("query")
            .len(),
        2
    );

    // Another wallet cannot overwrite this wallet's private store.
    let intruder = LocalKeySigner::from_private_key(&[0x42; 32]).expect("key");
    let theirs = generate_identity(&intruder, &mut |_| {}).expect("generate");
    let their_token = auth_token_now(theirs.bundle.identity_key()).expect("token");
    let err = client
        .publish_if_newest_differs(
            &their_token,
            &private_topic,
            &theirs.encrypted_bundle.encode(),
        )
        .await
        .expect_err("intruder");
    assert!(
        matches!(
            err,
            NetworkError::Rejected {
                code: Code::PermissionDenied,
                ..
            }
        ),
        "{err}"
    );
    let still = client
        .newest(&private_topic)
        .await
        .expect("query")
        .expect("bundle");
    assert_eq!(still.message, envelope.message);

    node.shutdown().await.expect("shutdown");
}

/// A second key generation for the same wallet (`init --force`) supersedes the first:
/// retrieval then recovers the new identity.
#[tokio::test]
async fn a_regenerated_identity_becomes_the_one_retrieved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = common::node::spawn_loopback(dir.path().join("node.sqlite3")).await;
    let client = Client::connect(&node.url(), ClientConfig::default())
        .await
        .expect("client");
    let signer = signer();

    let first = generate_identity(&signer, &mut |_| {}).expect("generate");
    let token = auth_token_now(first.bundle.identity_key()).expect("token");
    client
        .publish_publications(&token, &first.publications())
        .await
        .expect("publish");

    let second = generate_identity(&signer, &mut |_| {}).expect("generate again");
    let token = auth_token_now(second.bundle.identity_key()).expect("token");
    client
        .publish_publications(&token, &second.publications())
        .await
        .expect("publish");

    let private_topic = topic::private_store_topic(&second.wallet);
    let envelope = client
        .newest(&private_topic)
        .await
        .expect("query")
        .expect("bundle");
    let unlocked = unlock_identity(&signer, &envelope.message, &mut |_| {}).expect("unlock");
    assert_eq!(
        unlocked.bundle.identity_key().public_key(),
        second.bundle.identity_key().public_key()
    );
    assert_ne!(
        unlocked.bundle.identity_key().public_key(),
        first.bundle.identity_key().public_key()
    );
    let contact = client
        .newest(&topic::contact_topic(&second.wallet))
        .await
        .expect("query")
        .expect("contact");
    assert_eq!(contact.message, second.contact_v2());
    node.shutdown().await.expect("shutdown");
}
