//! Target `v3_identity`: what XMTP v3 hands us from outside: an "XMTP : Authenticate to
//! inbox" text an app asks the Ledger to sign, and identity updates a node (or a client
//! publishing to ours) sends.
//!
//! The first byte picks the mode; the rest is the input.
//! - even: the rest, as UTF-8 (lossily), goes to `v3::SignatureText::from_str`;
//! - odd: the rest is split into `u16be(len) ‖ bytes` records, each decoded as an
//!   `IdentityUpdate` and applied in order with `v3::AssociationState::{create, apply}`
//!   (a log, as the node and `inbox status` replay it), each also through `v3::update_text`.
//!
//! Invariants, besides never panicking:
//! - a parsed text prints back to exactly the input, and that print parses to the same value;
//! - an update that applies has a text (`update_text` is `Ok`), names the state's inbox, and
//!   adds exactly one to the log's length; one that fails leaves the state as it was (the
//!   same update applied again fails the same way); the state's recovery address is one
//!   address, and every installation was added by a member or the recovery address of its day;
//! - `AssociationState::replay` of the applied prefix gives the same state.
#![no_main]

use fuzz_support::records_u16;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use xmtp_ledger::proto::identity::associations::IdentityUpdate;
use xmtp_ledger::v3::{AssociationState, MemberId, SignatureText, update_text};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let text = String::from_utf8_lossy(rest);
        if let Ok(parsed) = text.parse::<SignatureText>() {
            let printed = parsed.to_string();
            assert_eq!(printed, text);
            assert_eq!(printed.parse::<SignatureText>().expect("reparses"), parsed);
        }
        return;
    }
    let mut state: Option<AssociationState> = None;
    let mut applied: Vec<IdentityUpdate> = Vec::new();
    for record in records_u16(rest).into_iter().take(16) {
        let Ok(update) = IdentityUpdate::decode(record) else {
            continue;
        };
        let result = match &state {
            None => AssociationState::create(&update),
            Some(state) => state.apply(&update),
        };
        match result {
            Ok(next) => {
                assert!(update_text(&update).is_ok());
                assert_eq!(next.inbox_id().as_str(), update.inbox_id);
                assert_eq!(next.updates(), applied.len() + 1);
                assert!(matches!(next.recovery(), MemberId::Address(_)));
                for installation in next.installations() {
                    assert!(installation.added_by.is_some());
                }
                applied.push(update);
                state = Some(next);
            }
            Err(first) => {
                let again = match &state {
                    None => AssociationState::create(&update),
                    Some(state) => state.apply(&update),
                };
                assert_eq!(again.expect_err("fails again"), first);
            }
        }
    }
    if let Some(state) = state {
        let replayed = AssociationState::replay(&applied).expect("the applied log replays");
        assert_eq!(replayed.inbox_id(), state.inbox_id());
        assert_eq!(replayed.recovery(), state.recovery());
        assert_eq!(replayed.members(), state.members());
        assert_eq!(replayed.updates(), state.updates());
    }
});
