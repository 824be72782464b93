//! `inbox status|create|revoke|change-recovery` on the software device against the node
//! (each its own process on a loopback port): what each prints, what each refuses, and
//! that nothing is published when the device refuses.

mod common;

use common::cli::{ACCOUNT_0, LEDGER_LIVE_1, Run, Setup};

const INBOX_0: &str = "41ff994ea1f9462295cee1ad48c270f6fe3e6307cd9a062e9320cf43a724e348";

fn status(setup: &Setup, args: &[&str]) -> Run {
    let mut all = vec!["--json", "inbox", "status"];
    all.extend_from_slice(args);
    setup.run(&all)
}

#[test]
fn create_then_status_then_create_again() {
    let setup = Setup::new();
    // No inbox yet: exit 4, as a missing identity.
    let before = status(&setup, &[]);
    before.assert_code(4);
    assert_eq!(before.json_error()["code"], "no_identity");

    let created = setup.run(&["--json", "inbox", "create"]);
    created.assert_code(0);
    let json = created.json();
    assert_eq!(json["address"], ACCOUNT_0);
    assert_eq!(json["nonce"], 0);
    assert_eq!(json["inbox_id"], INBOX_0);
    // The actions were shown before the approval, as the text lists them.
    assert!(
        created
            .stderr
            .contains("- Create inbox (0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266)"),
        "{}",
        created.stderr
    );

    let shown = status(&setup, &[]);
    shown.assert_code(0);
    let state = shown.json();
    assert_eq!(state["inbox_id"], INBOX_0);
    assert_eq!(state["recovery_address"], ACCOUNT_0);
    assert_eq!(state["addresses"], serde_json::json!([ACCOUNT_0]));
    assert_eq!(state["installations"], serde_json::json!([]));
    assert_eq!(state["updates"], 1);

    // By address or by inbox id, without a device.
    for args in [vec![ACCOUNT_0], vec!["--inbox-id", INBOX_0]] {
        let mut all = vec!["--device", "tcp://127.0.0.1:1"];
        all.extend(args);
        let by = status(&setup, &all);
        by.assert_code(0);
        assert_eq!(by.json(), state);
    }

    // The account already has an inbox: exit 6, whatever the nonce.
    for nonce in ["0", "1"] {
        let again = setup.run(&["--json", "inbox", "create", "--nonce", nonce]);
        again.assert_code(6);
        assert_eq!(again.json_error()["code"], "exists");
    }
}

#[test]
fn a_rejected_approval_publishes_nothing() {
    let mut setup = Setup::with_emulator(&["--policy", "reject"]);
    let rejected = setup.run(&["inbox", "create"]);
    rejected.assert_code(20);
    assert!(!rejected.stderr.contains("approved"), "{}", rejected.stderr);
    assert!(rejected.stderr.contains("rejected"), "{}", rejected.stderr);
    setup.restart_device(&[]);
    status(&setup, &[]).assert_code(4);
}

#[test]
fn only_the_recovery_address_revokes_or_hands_over_recovery() {
    let setup = Setup::new();
    setup.run(&["inbox", "create"]).assert_code(0);

    // Nothing to revoke: a success that changes nothing (a re-run is harmless).
    let none = setup.run(&["--json", "inbox", "revoke", "--all-installations"]);
    none.assert_code(0);
    assert_eq!(none.json()["outcome"], "unchanged");

    // An installation the inbox does not have: refused, nothing signed.
    let unknown = setup.run(&[
        "--json",
        "inbox",
        "revoke",
        "--installation",
        &"ab".repeat(32),
    ]);
    unknown.assert_code(1);

    // Hand recovery to Ledger Live account 1.
    let changed = setup.run(&["--json", "inbox", "change-recovery", LEDGER_LIVE_1]);
    changed.assert_code(0);
    let json = changed.json();
    assert_eq!(json["outcome"], "changed");
    assert_eq!(json["recovery_address"], LEDGER_LIVE_1);
    assert_eq!(json["updates"], 2);

    // Account 0 is still a member but no longer the recovery address.
    let refused = setup.run(&["--json", "inbox", "revoke", "--address", ACCOUNT_0]);
    refused.assert_code(1);
    let message = refused.error_message();
    assert!(message.contains(LEDGER_LIVE_1), "{message}");

    // Account 1 (not a member) names the inbox and unlinks account 0.
    let unlinked = setup.run(&[
        "--account",
        "1",
        "--json",
        "inbox",
        "revoke",
        "--address",
        ACCOUNT_0,
        "--inbox-id",
        INBOX_0,
    ]);
    unlinked.assert_code(0);
    let json = unlinked.json();
    assert_eq!(json["members"], serde_json::json!([ACCOUNT_0]));
    assert_eq!(json["addresses"], serde_json::json!([]));
    assert_eq!(json["recovery_address"], LEDGER_LIVE_1);

    // Account 0 left the inbox: the node maps it to none, and its nonce-0 id stays taken.
    status(&setup, &[ACCOUNT_0]).assert_code(4);
    let again = setup.run(&["--json", "inbox", "create"]);
    again.assert_code(6);
    let message = again.error_message();
    assert!(message.contains(INBOX_0), "{message}");
}

#[test]
fn a_v2_identity_creates_the_nonce_0_inbox_once() {
    let setup = Setup::new();
    // Without a v2 identity there is nothing to create it with.
    let without = setup.run(&["--json", "inbox", "create", "--from-v2"]);
    without.assert_code(4);

    setup.run(&["init"]).assert_code(0);
    let created = setup.run(&["--json", "inbox", "create", "--from-v2"]);
    created.assert_code(0);
    assert_eq!(created.json()["inbox_id"], INBOX_0);
    assert!(created.stderr.contains("once"), "{}", created.stderr);
    let state = status(&setup, &[]).json();
    assert_eq!(state["recovery_address"], ACCOUNT_0);
    assert_eq!(state["updates"], 1);

    let again = setup.run(&["--json", "inbox", "create", "--from-v2"]);
    again.assert_code(6);
    // --from-v2 is the nonce-0 inbox only.
    setup
        .run(&["--json", "inbox", "create", "--from-v2", "--nonce", "1"])
        .assert_code(1);
}

/// Hardhat's (and the public test mnemonic's) account 0 key: the software device's
/// account 0, held here too so that a test can publish as an app would.
const ACCOUNT_0_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[test]
fn status_lists_installations_and_revoke_removes_the_named_ones() {
    use xmtp_ledger::network::{BlockingClient, ClientConfig};
    use xmtp_ledger::signer::{LocalKeySigner, Signer};

    let setup = Setup::new();
    let owner = LocalKeySigner::from_private_key(&hex::decode(ACCOUNT_0_KEY).unwrap()).unwrap();
    assert_eq!(owner.address().to_string(), ACCOUNT_0);
    // Two apps register as libxmtp does: create + grant, then another grant.
    let (one, two, three) = (
        common::v3::installation(1),
        common::v3::installation(2),
        common::v3::installation(3),
    );
    let time = 1_796_310_170_000_000_000;
    let client = BlockingClient::connect(&setup.network_flag(), ClientConfig::default()).unwrap();
    let identity = client.identity();
    identity
        .publish_identity_update(common::v3::create_with_installation(&owner, 0, &one, time))
        .unwrap();
    for (key, at) in [(&two, time + 1_000_000_000), (&three, time + 2_000_000_000)] {
        let grant = common::v3::update(
            &common::v3::inbox_of(&owner, 0),
            at,
            vec![common::v3::Act::Add {
                member: common::v3::installation_id(key),
                existing: common::v3::By::Wallet(&owner),
                new: common::v3::By::Installation(key),
            }],
        );
        identity.publish_identity_update(grant).unwrap();
    }
    let id = |key: &ed25519_dalek::SigningKey| hex::encode(key.verifying_key().to_bytes());

    let state = status(&setup, &[]).json();
    let installations = state["installations"].as_array().unwrap();
    assert_eq!(installations.len(), 3);
    assert_eq!(installations[0]["id"], id(&one));
    assert_eq!(installations[0]["added_by"], ACCOUNT_0);
    assert_eq!(installations[0]["added_at_ns"], time);
    assert_eq!(installations[2]["id"], id(&three));
    assert_eq!(state["updates"], 3);
    let human = setup.run(&["inbox", "status"]);
    human.assert_code(0);
    assert!(
        human.stdout.contains("3 of the 10 libxmtp allows"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains(&format!(
            "{}  added by {ACCOUNT_0} at 2026-12-03T",
            id(&two)
        )),
        "{}",
        human.stdout
    );

    // Revoke two by id, in one update and one approval.
    let revoked = setup.run(&[
        "--json",
        "inbox",
        "revoke",
        "--installation",
        &id(&one),
        "--installation",
        &id(&three),
    ]);
    revoked.assert_code(0);
    let json = revoked.json();
    assert_eq!(json["members"], serde_json::json!([id(&one), id(&three)]));
    assert_eq!(json["installations"].as_array().unwrap().len(), 1);
    assert_eq!(json["installations"][0]["id"], id(&two));
    assert_eq!(json["updates"], 4);
    // The update's text listed both, as the Ledger showed them.
    assert!(revoked.stderr.contains(&format!(
        "- Revoke messaging access from app ({})",
        id(&one)
    )));
    assert!(revoked.stderr.contains(&format!(
        "- Revoke messaging access from app ({})",
        id(&three)
    )));
}
