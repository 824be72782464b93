//! Target `eth_app_answers`: a hostile or broken device answering the Ethereum app client.
//!
//! Input: `op ‖ options ‖ answers`, where `answers` are records `u16be(len) ‖ raw answer`
//! (`data ‖ SW`). A [`ScriptedTransport`] hands them to `xmtp_ledger::device::EthApp` one per
//! exchange (fewer than 2 bytes is a malformed-answer error; when they run out, the device is
//! disconnected). `op` picks one client operation:
//! 0 `app_configuration`, 1 `app_and_version`, 2 `status`, 3 `ensure_ethereum_app`,
//! 4 `get_address`, 5 `address`, 6 `sign_personal_message`, 7 all of them in turn.
//! `options`: bit 0 confirm, bit 1 chain code, bits 2–3 the message
//! ([`fuzz_support::personal_messages`]), bits 4–5 the account of `m/44'/60'/a'/0/0`.
//!
//! Invariants, besides never panicking:
//! - a status word other than `9000` always surfaces as that status word
//!   (`DeviceError::status_word`), a too-short answer as `Malformed`, a dead link as
//!   `Disconnected`;
//! - an operation stops at the first failing exchange and never sends more commands than it
//!   needs (one per query, `ceil((path + 4 + len) / 255)` for a signature);
//! - an address is only returned if it is the one of the returned public key, with a chain
//!   code exactly when asked for;
//! - a signature is only accepted (by `signer::sign_verified`, as every flow takes it) if it
//!   recovers, over exactly that message, to the expected account (the test mnemonic's
//!   address at that path); the client itself only checks the answer's shape.
#![no_main]

use std::sync::{Arc, LazyLock};

use fuzz_support::{Exchanged, ScriptedTransport, personal_messages, records_u16};
use libfuzzer_sys::fuzz_target;
use xmtp_ledger::device::eth_app::personal_message_apdus;
use xmtp_ledger::device::{AddressOptions, DerivationPath, DeviceError, EthApp};
use xmtp_ledger::identity::{Address, WalletSignature};
use xmtp_ledger::signer::{SignError, Signer, sign_verified};

/// The software device's (test mnemonic's) address at `m/44'/60'/a'/0/0`, a in 0..4.
static ACCOUNTS: LazyLock<Vec<Address>> = LazyLock::new(|| {
    let device = ledger_app::SoftwareDevice::with_test_mnemonic();
    (0..4)
        .map(|a| {
            device
                .address(&ledger_app::DerivationPath::ledger_live(a))
                .expect("derivable")
                .parse()
                .expect("EIP-55")
        })
        .collect()
});

/// The account at `path` as a flow sees it: its address is known before anything is signed.
struct AtPath<'a> {
    app: &'a EthApp,
    path: &'a DerivationPath,
    address: Address,
}

impl Signer for AtPath<'_> {
    type Error = DeviceError;

    fn address(&self) -> Address {
        self.address
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, DeviceError> {
        self.app.sign_personal_message(self.path, text.as_bytes())
    }
}

static MESSAGES: LazyLock<[Vec<u8>; 4]> = LazyLock::new(personal_messages);

fuzz_target!(|data: &[u8]| {
    let [op, options, rest @ ..] = data else {
        return;
    };
    let answers = records_u16(rest);
    let transport = Arc::new(ScriptedTransport::new(answers.iter().copied()));
    let app = EthApp::new(transport.clone());
    let account = u32::from((options >> 4) & 3);
    let path = DerivationPath::ledger_live(account).expect("small account");
    let expected = ACCOUNTS[account as usize];
    let message = &MESSAGES[usize::from((options >> 2) & 3)];
    let address_options = AddressOptions {
        confirm: options & 1 != 0,
        chain_code: options & 2 != 0,
    };

    let ops: &[u8] = if op & 7 == 7 {
        &[0, 1, 2, 3, 4, 5, 6]
    } else {
        &[op & 7]
    };
    for &op in ops {
        let before = transport.log().len();
        let outcome: Result<(), DeviceError> = match op {
            0 => app.app_configuration().map(|_| ()),
            1 => app.app_and_version().map(|_| ()),
            2 => {
                // Never an error: every failure is a state.
                let _ = app.status().to_string();
                Ok(())
            }
            3 => app.ensure_ethereum_app().map(|_| ()),
            4 => app.get_address(&path, address_options).map(|answer| {
                assert_eq!(
                    Address::from_uncompressed_public_key(&answer.public_key).unwrap(),
                    answer.address
                );
                assert_eq!(answer.chain_code.is_some(), address_options.chain_code);
            }),
            5 => app.address(&path).map(|_| ()),
            6 => {
                let signer = AtPath {
                    app: &app,
                    path: &path,
                    address: expected,
                };
                let text = std::str::from_utf8(message).expect("the messages are text");
                match sign_verified(&signer, text) {
                    Ok(signature) => {
                        signature
                            .verify_personal_sign(message, &expected)
                            .expect("an accepted signature verifies");
                        Ok(())
                    }
                    // The device answered 9000 with a well-formed signature; it was refused.
                    Err(SignError::DoesNotVerify(_)) => Ok(()),
                    Err(SignError::Signer(error)) => Err(error),
                }
            }
            _ => unreachable!(),
        };
        let log = transport.log();
        let exchanged = &log[before..];
        let most = match op {
            2 | 3 => 2,
            6 => personal_message_apdus(&path, message).unwrap().len(),
            _ => 1,
        };
        assert!(
            exchanged.len() <= most,
            "op {op} sent {} commands (at most {most})",
            exchanged.len()
        );
        // Every exchange but the last answered 9000: the client stops at the first failure.
        if let Some((_, earlier)) = exchanged.split_last()
            && op != 2
            && op != 3
        {
            assert!(earlier.iter().all(|e| *e == Exchanged::Answer(0x9000)));
        }
        match (&outcome, exchanged.last()) {
            (Ok(()), last) if op != 2 => {
                assert_eq!(last, Some(&Exchanged::Answer(0x9000)), "op {op}");
            }
            (Err(error), Some(Exchanged::Answer(status))) if *status != 0x9000 && op != 3 => {
                assert_eq!(error.status_word(), Some(*status), "op {op}: {error:?}");
            }
            (Err(error), Some(Exchanged::Malformed)) if op != 3 => {
                assert!(matches!(error, DeviceError::Malformed { .. }), "{error:?}");
            }
            (Err(error), Some(Exchanged::Exhausted)) if op != 3 => {
                assert!(
                    matches!(error, DeviceError::Disconnected { .. }),
                    "{error:?}"
                );
            }
            _ => {}
        }
    }
});
