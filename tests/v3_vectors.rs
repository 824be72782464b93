//! The v3 core against what libxmtp 1.10 itself made (`tests/data/v3-*.json`, written by
//! `tests/interop/gen-v3-vectors.mjs` from `@xmtp/node-sdk`): inbox ids, every signature
//! text a wallet was asked to sign, and every logged update, replayed to the state
//! libxmtp's own `fetchInboxStates` reported.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::libxmtp_v3::libxmtp_updates;
use prost::Message;
use serde::Deserialize;
use xmtp_ledger::identity::{Address, WalletSignature};
use xmtp_ledger::proto::identity::associations as pb;
use xmtp_ledger::v3::{AssociationState, InboxId, MemberId, SignatureText, update_text};

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Deserialize)]
struct InboxIdFile {
    cases: Vec<InboxIdCase>,
    defaults: Vec<DefaultCase>,
    odd_addresses: Vec<OddAddress>,
}

#[derive(Deserialize)]
struct InboxIdCase {
    address: String,
    spelling: String,
    nonce: String,
    inbox_id: String,
}

#[derive(Deserialize)]
struct DefaultCase {
    address: String,
    inbox_id_without_nonce: String,
}

#[derive(Deserialize)]
struct OddAddress {
    what: String,
    address: String,
}

/// libxmtp lowercases whatever it is given; our `Address` refuses a mixed case that is
/// not a valid EIP-55 checksum (a mistyped address), so those are compared lowercased.
fn address_as_libxmtp_reads_it(text: &str) -> Address {
    text.to_ascii_lowercase().parse().expect("address")
}

#[test]
fn inbox_ids_equal_node_bindings_generate_inbox_id() {
    let file: InboxIdFile = serde_json::from_str(&data("v3-inbox-ids.json")).unwrap();
    assert!(file.cases.len() >= 20, "{} cases", file.cases.len());
    for case in &file.cases {
        let nonce: u64 = case.nonce.parse().expect("decimal nonce");
        let address = address_as_libxmtp_reads_it(&case.address);
        assert_eq!(
            InboxId::derive(&address, nonce).as_str(),
            case.inbox_id,
            "{} ({}) nonce {}",
            case.address,
            case.spelling,
            case.nonce
        );
        if case.spelling == "eip55" || case.spelling == "lowercase" {
            let parsed: Address = case
                .address
                .parse()
                .expect("a checksummed or lowercase address parses");
            assert_eq!(parsed, address);
        }
    }
    // node-bindings defaults the nonce to 1; the tool always asks for one explicitly.
    for default in &file.defaults {
        let address = address_as_libxmtp_reads_it(&default.address);
        assert_eq!(
            InboxId::derive(&address, 1).as_str(),
            default.inbox_id_without_nonce
        );
    }
    // What libxmtp refuses to hash, our address parser refuses too.
    for odd in &file.odd_addresses {
        assert!(
            odd.address.parse::<Address>().is_err(),
            "{}: {:?} must be refused",
            odd.what,
            odd.address
        );
    }
}

fn decode(hex_update: &str) -> pb::IdentityUpdate {
    pb::IdentityUpdate::decode(hex::decode(hex_update).expect("hex").as_slice())
        .expect("IdentityUpdate")
}

#[test]
fn libxmtp_texts_parse_strictly_and_match_the_text_of_their_update() {
    let file = libxmtp_updates();
    let mut texts = 0;
    for inbox in &file.inboxes {
        for step in &inbox.steps {
            let updates: Vec<pb::IdentityUpdate> =
                step.identity_updates.iter().map(|u| decode(u)).collect();
            for signed in &step.wallet_signatures {
                texts += 1;
                let parsed: SignatureText = signed.text.parse().unwrap_or_else(|e| {
                    panic!("{} / {}: {e}\n{}", inbox.label, step.step, signed.text)
                });
                assert_eq!(parsed.to_string(), signed.text);
                assert_eq!(parsed.inbox_id.as_str(), inbox.inbox_id);
                // The wallet's text is the text of one of the step's updates, rebuilt from
                // the protobuf fields alone.
                assert!(
                    updates
                        .iter()
                        .any(|update| update_text(update).ok().as_deref()
                            == Some(signed.text.as_str())),
                    "{} / {}: no update of the step has this text",
                    inbox.label,
                    step.step
                );
                // And the signature recovers the wallet that made it.
                let signature = WalletSignature::from_hex(&signed.signature).expect("65 bytes");
                let signer = signature
                    .recover_address(signed.text.as_bytes())
                    .expect("recovers");
                assert_eq!(signer, address_as_libxmtp_reads_it(&signed.address));
            }
        }
    }
    assert!(texts >= 10, "only {texts} texts");
}

#[test]
fn replaying_libxmtp_logs_gives_the_state_libxmtp_reports() {
    let file = libxmtp_updates();
    assert!(file.inboxes.len() >= 2);
    for inbox in &file.inboxes {
        let log: Vec<pb::IdentityUpdate> = inbox
            .steps
            .iter()
            .flat_map(|step| step.identity_updates.iter().map(|u| decode(u)))
            .collect();
        let state =
            AssociationState::replay(&log).unwrap_or_else(|e| panic!("{}: {e}", inbox.label));
        assert_eq!(
            state.inbox_id().as_str(),
            inbox.state.inbox_id,
            "{}",
            inbox.label
        );
        assert_eq!(state.updates(), log.len());
        assert_eq!(
            state.recovery(),
            &MemberId::Address(address_as_libxmtp_reads_it(
                &inbox.state.recovery_identifier.identifier
            )),
            "{}",
            inbox.label
        );
        let addresses: BTreeSet<Address> = state.addresses().into_iter().collect();
        let expected: BTreeSet<Address> = inbox
            .state
            .identifiers
            .iter()
            .map(|i| address_as_libxmtp_reads_it(&i.identifier))
            .collect();
        assert_eq!(addresses, expected, "{}", inbox.label);
        let installations: BTreeSet<String> = state
            .installations()
            .iter()
            .map(|i| hex::encode(i.id))
            .collect();
        let expected: BTreeSet<String> = inbox.state.installation_ids.iter().cloned().collect();
        assert_eq!(installations, expected, "{}", inbox.label);

        // Every logged update, published a second time, is a replay.
        for (index, update) in log.iter().enumerate().skip(1) {
            let error = state.apply(update).expect_err("a logged update again");
            assert!(
                matches!(error.rule, xmtp_ledger::v3::Rule::Replay { .. }),
                "{} update {index}: {error}",
                inbox.label
            );
        }
    }
}

#[test]
fn a_libxmtp_update_with_one_byte_changed_is_refused() {
    let file = libxmtp_updates();
    let inbox = &file.inboxes[0];
    let log: Vec<pb::IdentityUpdate> = inbox
        .steps
        .iter()
        .flat_map(|step| step.identity_updates.iter().map(|u| decode(u)))
        .collect();
    let created = AssociationState::create(&log[0]).expect("libxmtp's create");
    // Move the second update's time by one second: the text changes, so every signature
    // in it now recovers (or verifies for) someone else.
    let mut moved = log[1].clone();
    moved.client_timestamp_ns += 1_000_000_000;
    assert!(created.apply(&moved).is_err());
    assert!(created.apply(&log[1]).is_ok());
}
