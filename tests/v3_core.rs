//! The v3 protocol core against known answers and libxmtp's rules: inbox ids, the
//! signature text (built and parsed), and AssociationState's replay of signed logs.

mod common;

use common::v3::{
    Act, By, address_id, create_only, create_with_installation, inbox_of, installation,
    installation_id, update, wallet,
};
use xmtp_ledger::identity::Address;
use xmtp_ledger::proto::identity::associations as pb;
use xmtp_ledger::signer::Signer;
use xmtp_ledger::v3::{
    AssociationState, InboxId, MAX_INBOX_UPDATES, MemberId, Rule, SignatureText, TextAction,
    TextError, UnsignedUpdate, WalletAction, format_time,
};

const T0: u64 = 1_796_310_170_123_456_789; // 2026-12-03T15:02:50.123456789Z

fn address(text: &str) -> Address {
    text.parse().expect("address")
}

#[test]
fn inbox_ids_match_the_reference_known_answers() {
    // shared/reference/xmtp-v3-identity.md §1.
    let anvil = address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    assert_eq!(
        InboxId::derive(&anvil, 0).as_str(),
        "41ff994ea1f9462295cee1ad48c270f6fe3e6307cd9a062e9320cf43a724e348"
    );
    assert_eq!(
        InboxId::derive(&anvil, 1).as_str(),
        "f2dc4b90b67487658e6fc1d4759c148fac797ea24fadee18c9d511787e04ea1a"
    );
}

#[test]
fn inbox_id_strings_are_64_lowercase_hex_digits_only() {
    let good = "41ff994ea1f9462295cee1ad48c270f6fe3e6307cd9a062e9320cf43a724e348";
    assert!(good.parse::<InboxId>().is_ok());
    for bad in [
        &good.to_uppercase(),
        &good[..63],
        &format!("{good}0"),
        &format!("0x{}", &good[2..]),
        "",
    ] {
        assert!(bad.parse::<InboxId>().is_err(), "{bad:?} must not parse");
    }
}

/// The 358-byte text node-sdk 6.0.0's `Client.create` asked a wallet to sign
/// (shared/reference/xmtp-v3-identity.md §3).
const CLIENT_CREATE_TEXT: &str = "XMTP : Authenticate to inbox\n\nInbox ID: f2dc4b90b67487658e6fc1d4759c148fac797ea24fadee18c9d511787e04ea1a\nCurrent time: 2026-12-03T15:02:50Z\n\n- Create inbox\n  (Owner: 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266)\n- Grant messaging access to app\n  (ID: da4a23610b16ebae30e0279999bf3afdebe6d68b9b88b21689021d2b2c87d8ee)\n\nFor more info: https://xmtp.org/signatures";

#[test]
fn the_captured_libxmtp_text_parses_and_prints_back_byte_for_byte() {
    assert_eq!(CLIENT_CREATE_TEXT.len(), 358);
    let parsed: SignatureText = CLIENT_CREATE_TEXT.parse().expect("libxmtp's own text");
    assert_eq!(
        parsed.inbox_id.as_str(),
        "f2dc4b90b67487658e6fc1d4759c148fac797ea24fadee18c9d511787e04ea1a"
    );
    assert_eq!(format_time(parsed.time_secs), "2026-12-03T15:02:50Z");
    let owner = address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    let mut key = [0u8; 32];
    hex::decode_to_slice(
        "da4a23610b16ebae30e0279999bf3afdebe6d68b9b88b21689021d2b2c87d8ee",
        &mut key,
    )
    .unwrap();
    assert_eq!(
        parsed.actions,
        vec![
            TextAction::CreateInbox { owner },
            TextAction::Add(MemberId::Installation(key))
        ]
    );
    assert_eq!(parsed.actions[0].kind(), "create_inbox");
    assert_eq!(parsed.actions[1].kind(), "add_installation");
    assert_eq!(parsed.to_string(), CLIENT_CREATE_TEXT);
    // The owner derives the inbox the text names (nonce 1, node-bindings' default).
    assert_eq!(InboxId::derive(&owner, 1), parsed.inbox_id);
}

#[test]
fn every_action_kind_round_trips_through_text() {
    let a = address("0x1234567890abcdef1234567890abcdef12345678");
    let b = address("0x4567890abcdef1234567890abcdef12345678123");
    let text = SignatureText {
        inbox_id: InboxId::derive(&a, 0),
        time_secs: 0,
        actions: vec![
            TextAction::CreateInbox { owner: a },
            TextAction::Add(MemberId::Address(b)),
            TextAction::Add(MemberId::Installation([1; 32])),
            TextAction::Add(MemberId::Passkey(vec![0xab, 0xcd])),
            TextAction::Revoke(MemberId::Address(b)),
            TextAction::Revoke(MemberId::Installation([1; 32])),
            TextAction::Revoke(MemberId::Passkey(vec![0xab, 0xcd])),
            TextAction::ChangeRecovery(b),
        ],
    };
    let printed = text.to_string();
    // The line pairs libxmtp's unsigned_actions.rs writes, in order.
    let expected_lines = [
        "- Create inbox",
        "  (Owner: 0x1234567890abcdef1234567890abcdef12345678)",
        "- Link address to inbox",
        "  (Address: 0x4567890abcdef1234567890abcdef12345678123)",
        "- Grant messaging access to app",
        &format!("  (ID: {})", "01".repeat(32)),
        "- Link passkey to inbox",
        "  (Passkey: abcd)",
        "- Unlink address from inbox",
        "  (Address: 0x4567890abcdef1234567890abcdef12345678123)",
        "- Revoke messaging access from app",
        &format!("  (ID: {})", "01".repeat(32)),
        "- Unlink passkey from inbox",
        "  (Passkey: abcd)",
        "- Change inbox recovery address",
        "  (Address: 0x4567890abcdef1234567890abcdef12345678123)",
    ];
    let lines: Vec<&str> = printed.split('\n').collect();
    assert_eq!(lines[3], "Current time: 1970-01-01T00:00:00Z");
    assert_eq!(&lines[5..5 + expected_lines.len()], &expected_lines[..]);
    assert_eq!(printed.parse::<SignatureText>().expect("parses"), text);
}

#[test]
fn times_are_whole_seconds_and_never_fail_to_print() {
    assert_eq!(format_time(1_796_310_170), "2026-12-03T15:02:50Z");
    assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_time(u64::MAX), "9999-12-31T23:59:59Z");
}

#[test]
fn the_parser_refuses_anything_but_an_exact_text() {
    let cases: Vec<(String, &str)> = vec![
        (format!("{CLIENT_CREATE_TEXT}\n"), "trailing newline"),
        (CLIENT_CREATE_TEXT.replace('\n', "\r\n"), "CRLF"),
        (CLIENT_CREATE_TEXT.replace("0xf39fd6", "0xF39Fd6"), "mixed-case address"),
        (CLIENT_CREATE_TEXT.replace("15:02:50Z", "15:02:50.000Z"), "fractional seconds"),
        (CLIENT_CREATE_TEXT.replace("15:02:50Z", "15:02:50+00:00"), "offset instead of Z"),
        (CLIENT_CREATE_TEXT.replace("  (Owner", " (Owner"), "one-space indent"),
        (CLIENT_CREATE_TEXT.replace("Create inbox", "Create  inbox"), "unknown action"),
        (CLIENT_CREATE_TEXT.replace("(Owner:", "(Address:"), "create with the wrong label"),
        (CLIENT_CREATE_TEXT.replace("d8ee)", "d8)"), "short installation id"),
        (CLIENT_CREATE_TEXT.replace("Inbox ID: f2", "Inbox ID: F2"), "uppercase inbox id"),
        (CLIENT_CREATE_TEXT.replace("\n\nFor more info: https://xmtp.org/signatures", ""), "no footer"),
        (CLIENT_CREATE_TEXT.replace("signatures", "signatures/"), "the v2 footer"),
        (
            "XMTP : Create Identity\n04ab\n\nFor more info: https://xmtp.org/signatures/".to_string(),
            "a v2 text",
        ),
        (
            CLIENT_CREATE_TEXT.replace(
                "- Create inbox\n  (Owner: 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266)\n- Grant messaging access to app\n  (ID: da4a23610b16ebae30e0279999bf3afdebe6d68b9b88b21689021d2b2c87d8ee)\n",
                "",
            ),
            "no action",
        ),
        ("hello".to_string(), "arbitrary text"),
        ("x".repeat(70_000), "too long"),
    ];
    for (text, why) in cases {
        assert!(
            text.parse::<SignatureText>().is_err(),
            "{why}: must be refused"
        );
    }
    assert!(matches!(
        "x".repeat(70_000).parse::<SignatureText>(),
        Err(TextError::TooLong(70_000))
    ));
}

#[test]
fn a_wallet_only_update_is_signed_over_its_text_and_verifies() {
    let owner = wallet(1);
    let unsigned = UnsignedUpdate {
        inbox_id: inbox_of(&owner, 0),
        client_timestamp_ns: T0,
        actions: vec![WalletAction::CreateInbox {
            owner: owner.address(),
            nonce: 0,
        }],
    };
    let text = unsigned.signature_text();
    assert!(
        text.contains("Current time: 2026-12-03T15:02:50Z\n"),
        "{text}"
    );
    let signed = unsigned.sign(&owner.personal_sign(&text).unwrap());
    let state = AssociationState::create(&signed).expect("valid create");
    assert_eq!(state.inbox_id(), &inbox_of(&owner, 0));
    assert_eq!(state.recovery(), &address_id(&owner));
    assert_eq!(state.addresses(), vec![owner.address()]);
    assert!(state.installations().is_empty());
    assert_eq!(state.updates(), 1);
}

fn create_of(update: &mut pb::IdentityUpdate) -> &mut pb::CreateInbox {
    match update.actions[0].kind.as_mut() {
        Some(pb::identity_action::Kind::CreateInbox(create)) => create,
        _ => panic!("the first action creates the inbox"),
    }
}

fn rule_of(result: Result<AssociationState, xmtp_ledger::v3::LogError>) -> Rule {
    result.expect_err("must be refused").rule
}

#[test]
fn client_create_then_a_second_installation_then_revocations() {
    let owner = wallet(1);
    let (one, two) = (installation(1), installation(2));
    let inbox = inbox_of(&owner, 1);
    let created =
        AssociationState::create(&create_with_installation(&owner, 1, &one, T0)).expect("create");
    let installations = created.installations();
    assert_eq!(installations.len(), 1);
    assert_eq!(
        MemberId::Installation(installations[0].id),
        installation_id(&one)
    );
    assert_eq!(installations[0].added_by, Some(address_id(&owner)));
    assert_eq!(installations[0].added_at_ns, Some(T0));

    let second = update(
        &inbox,
        T0 + 1,
        vec![Act::Add {
            member: installation_id(&two),
            existing: By::Wallet(&owner),
            new: By::Installation(&two),
        }],
    );
    let state = created.apply(&second).expect("second installation");
    assert_eq!(state.installations().len(), 2);

    let revoke = update(
        &inbox,
        T0 + 2,
        vec![Act::Revoke {
            member: installation_id(&one),
            by: By::Wallet(&owner),
        }],
    );
    let state = state.apply(&revoke).expect("recovery revokes");
    assert_eq!(
        state
            .installations()
            .iter()
            .map(|i| MemberId::Installation(i.id))
            .collect::<Vec<_>>(),
        vec![installation_id(&two)]
    );
    assert_eq!(state.updates(), 3);

    // The very same revoke again: its signature is valid but already seen.
    assert_eq!(
        rule_of(state.apply(&revoke)),
        Rule::Replay { role: "recovery" }
    );
    // The whole log replays to the same state.
    let replayed = AssociationState::replay([
        &create_with_installation(&owner, 1, &one, T0),
        &second,
        &revoke,
    ])
    .expect("replay");
    assert_eq!(replayed.installations(), state.installations());
}

#[test]
fn only_the_recovery_address_revokes_and_a_revoked_address_takes_its_installations() {
    let (owner, other) = (wallet(1), wallet(2));
    let key = installation(3);
    let inbox = inbox_of(&owner, 0);
    let created = AssociationState::create(&create_only(&owner, 0, T0)).unwrap();
    let linked = created
        .apply(&update(
            &inbox,
            T0 + 1,
            vec![Act::Add {
                member: address_id(&other),
                existing: By::Wallet(&owner),
                new: By::Wallet(&other),
            }],
        ))
        .expect("link a second address");
    let with_installation = linked
        .apply(&update(
            &inbox,
            T0 + 2,
            vec![Act::Add {
                member: installation_id(&key),
                existing: By::Wallet(&other),
                new: By::Installation(&key),
            }],
        ))
        .expect("the second address grants an installation");
    assert_eq!(
        with_installation.installations()[0].added_by,
        Some(address_id(&other))
    );

    // A member that is not the recovery address may not revoke.
    let by_member = update(
        &inbox,
        T0 + 3,
        vec![Act::Revoke {
            member: installation_id(&key),
            by: By::Wallet(&other),
        }],
    );
    assert_eq!(
        rule_of(with_installation.apply(&by_member)),
        Rule::NotRecovery {
            recovery: address_id(&owner),
            signer: address_id(&other)
        }
    );
    // The recovery address unlinks the second address; its installation goes with it.
    let unlinked = with_installation
        .apply(&update(
            &inbox,
            T0 + 4,
            vec![Act::Revoke {
                member: address_id(&other),
                by: By::Wallet(&owner),
            }],
        ))
        .expect("recovery unlinks");
    assert_eq!(unlinked.addresses(), vec![owner.address()]);
    assert!(unlinked.installations().is_empty());
}

#[test]
fn changing_the_recovery_address_moves_the_power_to_revoke() {
    let (owner, new_recovery) = (wallet(1), wallet(2));
    let key = installation(1);
    let inbox = inbox_of(&owner, 1);
    let state = AssociationState::create(&create_with_installation(&owner, 1, &key, T0)).unwrap();
    let state = state
        .apply(&update(
            &inbox,
            T0 + 1,
            vec![Act::ChangeRecovery {
                to: new_recovery.address(),
                by: By::Wallet(&owner),
            }],
        ))
        .expect("change recovery");
    assert_eq!(state.recovery(), &address_id(&new_recovery));
    // The old recovery address is still a member but may no longer revoke.
    let by_old = update(
        &inbox,
        T0 + 2,
        vec![Act::Revoke {
            member: installation_id(&key),
            by: By::Wallet(&owner),
        }],
    );
    assert!(matches!(
        rule_of(state.apply(&by_old)),
        Rule::NotRecovery { .. }
    ));
    // The new one may, though it is not a member.
    let by_new = update(
        &inbox,
        T0 + 3,
        vec![Act::Revoke {
            member: installation_id(&key),
            by: By::Wallet(&new_recovery),
        }],
    );
    assert!(
        state
            .apply(&by_new)
            .expect("new recovery revokes")
            .installations()
            .is_empty()
    );
}

#[test]
fn rules_of_creation() {
    let (owner, other) = (wallet(1), wallet(2));
    let key = installation(1);
    let inbox = inbox_of(&owner, 0);
    // The first update must create the inbox.
    let add_first = update(
        &inbox,
        T0,
        vec![Act::Add {
            member: installation_id(&key),
            existing: By::Wallet(&owner),
            new: By::Installation(&key),
        }],
    );
    assert_eq!(
        rule_of(AssociationState::create(&add_first)),
        Rule::NotCreated
    );
    // CreateInbox signed by another wallet.
    let forged = update(
        &inbox,
        T0,
        vec![Act::Create {
            owner: &owner,
            nonce: 0,
            by: By::Wallet(&other),
        }],
    );
    assert!(matches!(
        rule_of(AssociationState::create(&forged)),
        Rule::CreateNotByOwner { .. }
    ));
    // The update names another inbox than its CreateInbox derives.
    let wrong_inbox = update(
        &inbox_of(&owner, 5),
        T0,
        vec![Act::Create {
            owner: &owner,
            nonce: 0,
            by: By::Wallet(&owner),
        }],
    );
    assert!(matches!(
        rule_of(AssociationState::create(&wrong_inbox)),
        Rule::WrongInboxId { .. }
    ));
    // A second create.
    let created = AssociationState::create(&create_only(&owner, 0, T0)).unwrap();
    let again = update(
        &inbox,
        T0 + 1,
        vec![Act::Create {
            owner: &owner,
            nonce: 0,
            by: By::Wallet(&owner),
        }],
    );
    assert_eq!(rule_of(created.apply(&again)), Rule::MultipleCreate);
}

#[test]
fn rules_of_adding_members() {
    let (owner, stranger) = (wallet(1), wallet(2));
    let (one, two) = (installation(1), installation(2));
    let inbox = inbox_of(&owner, 1);
    let state = AssociationState::create(&create_with_installation(&owner, 1, &one, T0)).unwrap();
    // An installation may not add another installation.
    let by_installation = update(
        &inbox,
        T0 + 1,
        vec![Act::Add {
            member: installation_id(&two),
            existing: By::Installation(&one),
            new: By::Installation(&two),
        }],
    );
    assert_eq!(
        rule_of(state.apply(&by_installation)),
        Rule::InstallationAddsInstallation
    );
    // A stranger may not add anyone.
    let by_stranger = update(
        &inbox,
        T0 + 1,
        vec![Act::Add {
            member: installation_id(&two),
            existing: By::Wallet(&stranger),
            new: By::Installation(&two),
        }],
    );
    assert_eq!(
        rule_of(state.apply(&by_stranger)),
        Rule::NotAMember(address_id(&stranger))
    );
    // The new member's signature must be the new member's.
    let mismatched = update(
        &inbox,
        T0 + 1,
        vec![Act::Add {
            member: installation_id(&two),
            existing: By::Wallet(&owner),
            new: By::Installation(&one),
        }],
    );
    assert!(matches!(
        rule_of(state.apply(&mismatched)),
        Rule::NewMemberMismatch { .. }
    ));
    // libxmtp lets an installation link an address (only installation -> installation is
    // refused); the new address then counts as added by that installation.
    let by_installation = update(
        &inbox,
        T0 + 1,
        vec![Act::Add {
            member: address_id(&stranger),
            existing: By::Installation(&one),
            new: By::Wallet(&stranger),
        }],
    );
    let linked = state
        .apply(&by_installation)
        .expect("an installation links an address");
    assert_eq!(
        linked.addresses(),
        vec![owner.address(), stranger.address()]
    );
}

#[test]
fn signatures_are_checked_over_the_update_text() {
    let owner = wallet(1);
    let mut created = create_only(&owner, 0, T0);
    // Another time changes the text: the signature now recovers someone else.
    created.client_timestamp_ns += 1_000_000_000;
    assert!(matches!(
        rule_of(AssociationState::create(&created)),
        Rule::CreateNotByOwner { .. }
    ));
    created.client_timestamp_ns -= 1_000_000_000;
    // The nanoseconds are not in the text.
    created.client_timestamp_ns += 1;
    assert!(AssociationState::create(&created).is_ok());

    // A high-S twin of a valid signature (s' = n - s, v flipped) is refused.
    {
        let Some(pb::signature::Signature::Erc191(ecdsa)) = create_of(&mut created)
            .initial_identifier_signature
            .as_mut()
            .and_then(|signature| signature.signature.as_mut())
        else {
            panic!("an erc_191 signature")
        };
        use k256::elliptic_curve::PrimeField;
        let s =
            k256::Scalar::from_repr(*k256::FieldBytes::from_slice(&ecdsa.bytes[32..64])).unwrap();
        ecdsa.bytes[32..64].copy_from_slice(&(-s).to_repr());
        ecdsa.bytes[64] ^= 1;
    }
    assert!(matches!(
        rule_of(AssociationState::create(&created)),
        Rule::BadSignature { .. }
    ));

    // Smart-contract wallet signatures cannot be checked here, and are refused.
    create_of(&mut created).initial_identifier_signature = Some(pb::Signature {
        signature: Some(pb::signature::Signature::Erc6492(
            pb::SmartContractWalletSignature {
                account_id: "eip155:1:0x00".into(),
                block_number: 1,
                signature: vec![0; 65],
            },
        )),
    });
    assert!(matches!(
        rule_of(AssociationState::create(&created)),
        Rule::Unsupported(_)
    ));
}

#[test]
fn a_log_holds_at_most_256_updates() {
    let owner = wallet(1);
    let inbox = inbox_of(&owner, 0);
    let mut state = AssociationState::create(&create_only(&owner, 0, T0)).unwrap();
    for n in 1..MAX_INBOX_UPDATES as u64 {
        let next = update(
            &inbox,
            T0 + n * 1_000_000_000,
            vec![Act::ChangeRecovery {
                to: owner.address(),
                by: By::Wallet(&owner),
            }],
        );
        state = state.apply(&next).expect("within the cap");
    }
    assert_eq!(state.updates(), MAX_INBOX_UPDATES);
    let one_more = update(
        &inbox,
        T0 + 999 * 1_000_000_000,
        vec![Act::ChangeRecovery {
            to: owner.address(),
            by: By::Wallet(&owner),
        }],
    );
    assert_eq!(
        rule_of(state.apply(&one_more)),
        Rule::LogFull(MAX_INBOX_UPDATES)
    );
}

#[test]
fn malformed_updates_get_a_rule_not_a_panic() {
    let owner = wallet(1);
    let inbox = inbox_of(&owner, 0);
    let empty = pb::IdentityUpdate {
        actions: vec![],
        client_timestamp_ns: T0,
        inbox_id: inbox.to_string(),
    };
    assert_eq!(rule_of(AssociationState::create(&empty)), Rule::NoAction);
    let no_kind = pb::IdentityUpdate {
        actions: vec![pb::IdentityAction { kind: None }],
        ..empty.clone()
    };
    assert_eq!(
        rule_of(AssociationState::create(&no_kind)),
        Rule::Missing("action")
    );
    let mut unsigned = create_only(&owner, 0, T0);
    let mut far_future = unsigned.clone();
    far_future.client_timestamp_ns = u64::MAX;
    assert_eq!(
        rule_of(AssociationState::create(&far_future)),
        Rule::TimestampOutOfRange(u64::MAX)
    );
    create_of(&mut unsigned).initial_identifier_signature = None;
    assert_eq!(
        rule_of(AssociationState::create(&unsigned)),
        Rule::Missing("initial identifier")
    );
    let create = create_of(&mut unsigned);
    create.initial_identifier = create.initial_identifier.to_uppercase().replace("0X", "0x");
    assert!(matches!(
        rule_of(AssociationState::create(&unsigned)),
        Rule::AddressNotLowercase(_)
    ));
    let error = AssociationState::create(&unsigned).unwrap_err();
    assert!(
        error.to_string().starts_with("update 1, action 1: address"),
        "{error}"
    );
}
