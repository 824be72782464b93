//! Unit tests of the Ethereum app client over the scripted fake app and `mockall` transports.

use super::*;
use crate::device::DeviceErrorKind;
use crate::device::LedgerSigner;
use crate::device::error::sw;
use crate::device::testing::{
    Tamper, address_answer, answering, device_address, device_signature, fake_app, key,
};
use crate::device::transport::MockTransport;
use crate::signer::{SignError, sign_verified};
use std::time::Duration;

const XMTP_TEXT: &str =
    "XMTP : Create Identity\n0a0b\n\nFor more info: https://xmtp.org/signatures/";

mod status_words;

fn path() -> DerivationPath {
    DerivationPath::ledger_live(0).unwrap()
}

#[test]
fn app_configuration_parses_flags_and_version() {
    let config = answering(vec![0x03, 1, 22, 0], 0x9000, 1)
        .app_configuration()
        .unwrap();
    assert_eq!(config.version.to_string(), "1.22.0");
    assert!(config.blind_signing_enabled());
    assert!(config.erc20_external_info());
    assert!(!config.transaction_check_enabled());
    let config = answering(vec![0x12, 1, 9, 19], 0x9000, 1)
        .app_configuration()
        .unwrap();
    assert!(!config.blind_signing_enabled() && config.transaction_check_enabled());
    assert_eq!(
        config.version,
        AppVersion {
            major: 1,
            minor: 9,
            patch: 19
        }
    );
}

#[test]
fn app_configuration_of_wrong_length_is_malformed() {
    for data in [vec![], vec![2], vec![2, 1, 22], vec![2, 1, 22, 0, 0]] {
        let error = answering(data.clone(), 0x9000, 1)
            .app_configuration()
            .unwrap_err();
        assert!(
            matches!(error, DeviceError::Malformed { .. }),
            "{data:?}: {error:?}"
        );
    }
}

#[test]
fn app_configuration_command_bytes() {
    let (app, state) = fake_app();
    app.app_configuration().unwrap();
    let log = &state.lock().unwrap().log;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].to_bytes(), [0xE0, 0x06, 0x00, 0x00, 0x00]);
}

#[test]
fn address_is_parsed_and_cross_checked() {
    let (app, state) = fake_app();
    let answer = app.get_address(&path(), AddressOptions::default()).unwrap();
    assert_eq!(answer.address, device_address());
    assert_eq!(answer.chain_code, None);
    assert_eq!(
        &answer.public_key[..],
        key().verifying_key().to_encoded_point(false).as_bytes()
    );
    let with_code = app
        .get_address(
            &path(),
            AddressOptions {
                confirm: true,
                chain_code: true,
            },
        )
        .unwrap();
    assert_eq!(with_code.chain_code, Some([0xCC; 32]));
    let log = &state.lock().unwrap().log;
    // P1 = confirm, P2 = chain code, data = the path encoding exactly.
    assert_eq!((log[0].ins(), log[0].p1(), log[0].p2()), (0x02, 0x00, 0x00));
    assert_eq!((log[1].ins(), log[1].p1(), log[1].p2()), (0x02, 0x01, 0x01));
    assert_eq!(log[0].data(), path().to_apdu_bytes());
}

fn address_error(data: Vec<u8>, chain_code: bool) -> DeviceError {
    answering(data, 0x9000, 1)
        .get_address(
            &path(),
            AddressOptions {
                confirm: false,
                chain_code,
            },
        )
        .unwrap_err()
}

#[test]
fn malformed_address_answers_are_refused() {
    let good = address_answer(&key());
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("length byte only", vec![65]),
        ("truncated key", good[..40].to_vec()),
        ("truncated address", good[..good.len() - 1].to_vec()),
        ("trailing byte", [good.clone(), vec![0]].concat()),
        (
            "chain code without asking",
            [good.clone(), vec![0xCC; 32]].concat(),
        ),
    ];
    let mut wrong_key_len = good.clone();
    wrong_key_len[0] = 64;
    cases.push(("key length byte 64", wrong_key_len));
    let mut wrong_address_len = good.clone();
    wrong_address_len[66] = 42;
    cases.push(("address length byte 42", wrong_address_len));
    let mut compressed_prefix = good.clone();
    compressed_prefix[1] = 0x02;
    cases.push(("key prefix 02", compressed_prefix));
    let mut off_curve = good.clone();
    off_curve[65] ^= 0x01;
    // The address is re-derived from the point, but a point off the curve is refused first.
    cases.push(("point not on curve", off_curve));
    let mut not_hex = good.clone();
    not_hex[67] = b'g';
    cases.push(("address not hex", not_hex));
    let mut lowercase = good.clone();
    lowercase[67..].make_ascii_lowercase();
    cases.push(("address not EIP-55", lowercase));
    for (what, data) in cases {
        let error = address_error(data, false);
        assert!(
            matches!(error, DeviceError::Malformed { .. }),
            "{what}: {error:?}"
        );
        assert_eq!(error.kind(), DeviceErrorKind::BadAnswer);
    }
    // Asked for a chain code, none came.
    assert!(matches!(
        address_error(good, true),
        DeviceError::Malformed { .. }
    ));
}

#[test]
fn address_not_matching_the_public_key_is_refused() {
    let other = k256::ecdsa::SigningKey::from_slice(&[0x33; 32]).unwrap();
    let mut data = address_answer(&key());
    data[67..].copy_from_slice(&address_answer(&other)[67..]);
    let error = address_error(data, false);
    assert!(
        matches!(error, DeviceError::AddressMismatch { derived, .. } if derived == device_address()),
        "{error:?}"
    );
}

fn stream_of(commands: &[ApduCommand]) -> Vec<u8> {
    commands.iter().flat_map(|c| c.data().to_vec()).collect()
}

#[test]
fn personal_sign_chunking_is_minimal() {
    let paths = [
        DerivationPath::ledger_live(0).unwrap(),       // 21 bytes
        "m/44'".parse().unwrap(),                      // 5 bytes
        "m/44'/60'/0'/0/0/1/2/3/4/5".parse().unwrap(), // 41 bytes
    ];
    for path in &paths {
        let header = path.encoded_len() + 4;
        let boundary = 255 - header;
        for len in [
            0,
            1,
            boundary - 1,
            boundary,
            boundary + 1,
            boundary + 255,
            boundary + 256,
            1000,
            4000,
            MAX_PERSONAL_MESSAGE_LEN,
        ] {
            let message: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let commands = personal_message_apdus(path, &message).unwrap();
            assert_eq!(
                commands.len(),
                (header + len).div_ceil(255),
                "{path} len {len}"
            );
            // Every chunk full but the last, P1 00 then 80, P2 00, INS 08.
            for (i, command) in commands.iter().enumerate() {
                assert_eq!(
                    (command.cla(), command.ins(), command.p2()),
                    (0xE0, 0x08, 0)
                );
                assert_eq!(command.p1(), if i == 0 { 0x00 } else { 0x80 });
                if i + 1 < commands.len() {
                    assert_eq!(command.data().len(), 255);
                }
            }
            // The stream is path ‖ u32be(len) ‖ message, nothing more or less.
            let mut expected = path.to_apdu_bytes();
            expected.extend_from_slice(&(len as u32).to_be_bytes());
            expected.extend_from_slice(&message);
            assert_eq!(stream_of(&commands), expected);
        }
    }
}

#[test]
fn boundary_lengths_for_the_default_path() {
    // path (21) + length (4) + message: 255 fits one APDU, 256 needs two.
    let count = |len: usize| {
        personal_message_apdus(&path(), &vec![b'x'; len])
            .unwrap()
            .len()
    };
    assert_eq!(count(0), 1);
    assert_eq!(count(1), 1);
    assert_eq!(count(230), 1);
    assert_eq!(count(231), 2);
    assert_eq!(count(485), 2);
    assert_eq!(count(486), 3);
}

#[test]
fn personal_sign_sends_exactly_the_minimal_apdus_and_returns_the_answer() {
    for len in [0usize, 1, 230, 231, 485, 486, 3000] {
        let (app, state) = fake_app();
        let message: Vec<u8> = (0..len).map(|i| b' ' + (i % 90) as u8).collect();
        let signature = app.sign_personal_message(&path(), &message).unwrap();
        // v ‖ r ‖ s from the device became r ‖ s ‖ v, bytes unchanged.
        let vrs = device_signature(&key(), &message);
        assert_eq!(signature.as_bytes()[..64], vrs[1..]);
        assert_eq!(signature.v(), vrs[0]);
        assert!(signature.v() == 27 || signature.v() == 28);
        signature
            .verify_personal_sign(&message, &device_address())
            .unwrap();
        let state = state.lock().unwrap();
        assert_eq!(state.log.len(), (25 + len).div_ceil(255), "len {len}");
    }
}

#[test]
fn tampered_signatures_never_verify() {
    for tamper in [Tamper::Stale, Tamper::Corrupt, Tamper::OtherKey] {
        let (app, state) = fake_app();
        let signer = LedgerSigner::connect(app, path()).unwrap();
        // A first, genuine signature so that "stale" has something to replay.
        sign_verified(&signer, "first").unwrap();
        state.lock().unwrap().tamper = tamper;
        let error = sign_verified(&signer, XMTP_TEXT).unwrap_err();
        assert!(
            matches!(error, SignError::DoesNotVerify(_)),
            "{tamper:?}: {error:?}"
        );
    }
}

#[test]
fn the_client_does_not_judge_whose_signature_it_is() {
    // Checking the signer is sign_verified's job alone; the client hands over what came.
    let (app, state) = fake_app();
    state.lock().unwrap().tamper = Tamper::OtherKey;
    let signature = app.sign_personal_message(&path(), b"hello").unwrap();
    let recovered = signature.recover_address(b"hello").unwrap();
    assert_ne!(recovered, device_address());
}

#[test]
fn malformed_signature_answers_are_refused() {
    let good = device_signature(&key(), b"hi");
    let mut v_29 = good.clone();
    v_29[0] = 29;
    let mut zero_r = good.clone();
    zero_r[1..33].fill(0);
    let mut high_s = good.clone();
    high_s[33..65].fill(0xFF);
    for (what, data) in [
        ("empty", vec![]),
        ("short", good[..64].to_vec()),
        ("long", [good.clone(), vec![0]].concat()),
        ("v 29", v_29),
        ("r zero", zero_r),
        ("s out of range", high_s),
    ] {
        let error = answering(data, 0x9000, 1)
            .sign_personal_message(&path(), b"hi")
            .unwrap_err();
        assert!(
            matches!(error, DeviceError::Malformed { .. }),
            "{what}: {error:?}"
        );
        assert_eq!(error.kind(), DeviceErrorKind::BadAnswer, "{what}");
    }
}

#[test]
fn intermediate_chunk_answers_must_be_bare_9000() {
    // First chunk answered with data: the device is out of step; stop there.
    let error = answering(vec![1], 0x9000, 1)
        .sign_personal_message(&path(), &[b'x'; 600])
        .unwrap_err();
    assert!(matches!(error, DeviceError::Malformed { .. }), "{error:?}");
}

#[test]
fn an_error_on_a_middle_chunk_stops_the_stream() {
    let mut mock = MockTransport::new();
    let mut seq = mockall::Sequence::new();
    mock.expect_exchange()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(ApduAnswer::new(vec![], 0x9000)));
    mock.expect_exchange()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(ApduAnswer::new(vec![], sw::INSUFFICIENT_MEMORY)));
    // Three chunks needed; the third must never be sent (mock panics on a third call).
    let error = EthApp::from_transport(mock)
        .sign_personal_message(&path(), &[b'x'; 600])
        .unwrap_err();
    assert!(
        matches!(error, DeviceError::OutOfMemory { .. }),
        "{error:?}"
    );
}

#[test]
fn transport_errors_pass_through_unchanged() {
    let mut mock = MockTransport::new();
    mock.expect_exchange_within().times(1).returning(|_, _| {
        Err(DeviceError::Disconnected {
            detail: "unplugged".into(),
        })
    });
    let error = EthApp::from_transport(mock).address(&path()).unwrap_err();
    assert!(matches!(error, DeviceError::Disconnected { .. }));
}

#[test]
fn too_long_messages_are_refused_before_sending() {
    // 65,536 bytes and more matter most: the app keeps the declared length in 16 bits and
    // would sign the first (len mod 65,536) bytes as a message of that length (recorded from
    // app 1.22.0: 65,541 declared, "hello" signed; `ethapp-apdus.json`).
    for len in [MAX_PERSONAL_MESSAGE_LEN + 1, 0xFFFF, 0x1_0000, 0x1_0005] {
        // `answering(.., 0)`: the mock fails the test if anything is sent.
        let error = answering(vec![], 0x9000, 0)
            .sign_personal_message(&path(), &vec![0; len])
            .unwrap_err();
        assert!(
            matches!(
                error,
                DeviceError::MessageTooLong { len: l, max: MAX_PERSONAL_MESSAGE_LEN } if l == len
            ),
            "{len}: {error:?}"
        );
        assert_eq!(error.kind(), DeviceErrorKind::InvalidRequest);
        assert!(personal_message_apdus(&path(), &vec![0; len]).is_err());
    }
}

fn app_and_version_answer(name: &[u8], version: &[u8], flags: Option<&[u8]>) -> Vec<u8> {
    let mut data = vec![1, name.len() as u8];
    data.extend_from_slice(name);
    data.push(version.len() as u8);
    data.extend_from_slice(version);
    if let Some(flags) = flags {
        data.push(flags.len() as u8);
        data.extend_from_slice(flags);
    }
    data
}

#[test]
fn app_and_version_parses_and_checks_lengths() {
    let app = answering(
        app_and_version_answer(b"Ethereum", b"1.22.0", Some(&[0x02])),
        0x9000,
        1,
    )
    .app_and_version()
    .unwrap();
    assert_eq!(
        app,
        AppAndVersion {
            name: "Ethereum".into(),
            version: "1.22.0".into(),
            flags: vec![2]
        }
    );
    assert!(app.is_ethereum() && !app.is_dashboard());
    let dashboard = answering(app_and_version_answer(b"BOLOS", b"2.2.3", None), 0x9000, 1)
        .app_and_version()
        .unwrap();
    assert!(dashboard.is_dashboard() && dashboard.flags.is_empty());

    let good = app_and_version_answer(b"Ethereum", b"1.22.0", Some(&[0x02]));
    let mut bad_format = good.clone();
    bad_format[0] = 2;
    let mut long_name = good.clone();
    long_name[1] = 200;
    for (what, data) in [
        ("empty", vec![]),
        ("format", bad_format),
        ("name overruns", long_name),
        ("flags overrun", good[..good.len() - 1].to_vec()),
        ("trailing", [good.clone(), vec![9]].concat()),
        (
            "not utf-8",
            app_and_version_answer(&[0xFF, 0xFE], b"1", None),
        ),
    ] {
        let error = answering(data, 0x9000, 1).app_and_version().unwrap_err();
        assert!(
            matches!(error, DeviceError::Malformed { .. }),
            "{what}: {error:?}"
        );
    }
}

/// A mock that answers `B0 01` with `os` and `E0 06` with `eth`.
fn os_and_eth(os: (Vec<u8>, u16), eth: (Vec<u8>, u16)) -> EthApp {
    let mut mock = MockTransport::new();
    mock.expect_exchange_within().returning(move |command, _| {
        let (data, status) = if command.cla() == CLA_OS { &os } else { &eth };
        Ok(ApduAnswer::new(data.clone(), *status))
    });
    EthApp::from_transport(mock)
}

#[test]
fn status_tells_apart_ethereum_dashboard_other_app_and_locked() {
    let eth = (vec![2, 1, 22, 0], 0x9000);
    let named = |name: &[u8]| (app_and_version_answer(name, b"1.0.0", Some(&[0])), 0x9000);
    let status = os_and_eth(named(b"Ethereum"), eth.clone()).status();
    assert!(matches!(status, AppStatus::Ethereum(c) if c.version.to_string() == "1.22.0"));
    assert!(matches!(
        os_and_eth(named(b"BOLOS"), (vec![], 0x6D02)).status(),
        AppStatus::Dashboard { .. }
    ));
    assert!(matches!(
        os_and_eth(named(b"Bitcoin"), (vec![], 0x6E00)).status(),
        AppStatus::OtherApp { name, .. } if name == "Bitcoin"
    ));
    assert!(matches!(
        os_and_eth((vec![], 0x5515), (vec![], 0x5515)).status(),
        AppStatus::Locked
    ));
    // No B0 01 support: decided by the app configuration alone.
    assert!(matches!(
        os_and_eth((vec![], 0x6D00), eth).status(),
        AppStatus::Ethereum(_)
    ));
    assert!(matches!(
        os_and_eth((vec![], 0x6D00), (vec![], 0x6E00)).status(),
        AppStatus::Error(DeviceError::WrongApp { .. })
    ));
}

#[test]
fn ensure_ethereum_app_names_the_open_app() {
    let named = |name: &[u8]| (app_and_version_answer(name, b"1.0.0", Some(&[0])), 0x9000);
    let error = os_and_eth(named(b"Bitcoin"), (vec![2, 1, 22, 0], 0x9000))
        .ensure_ethereum_app()
        .unwrap_err();
    assert!(matches!(&error, DeviceError::WrongApp { open_app: Some(n), .. } if n == "Bitcoin"));
    assert_eq!(error.kind(), DeviceErrorKind::WrongApp);
    let error = os_and_eth((vec![], 0x5515), (vec![], 0x5515))
        .ensure_ethereum_app()
        .unwrap_err();
    assert!(matches!(error, DeviceError::Locked { .. }));
    let config = os_and_eth(named(b"Ethereum"), (vec![2, 1, 22, 0], 0x9000))
        .ensure_ethereum_app()
        .unwrap();
    assert_eq!(config.version.to_string(), "1.22.0");
}

#[test]
fn only_commands_that_wait_for_a_person_are_unbounded() {
    let (app, state) = fake_app();
    let app = app.with_timeout(Duration::from_secs(7));
    app.app_and_version().unwrap();
    app.ensure_ethereum_app().unwrap();
    app.status();
    app.get_address(&path(), AddressOptions::default()).unwrap();
    app.get_address(
        &path(),
        AddressOptions {
            confirm: false,
            chain_code: true,
        },
    )
    .unwrap();
    // Shown for confirmation, and every chunk of a two-chunk personal_sign: a person's pace.
    app.get_address(
        &path(),
        AddressOptions {
            confirm: true,
            chain_code: false,
        },
    )
    .unwrap();
    app.sign_personal_message(&path(), &[b'x'; 300]).unwrap();

    let state = state.lock().unwrap();
    let bounded: Vec<(u8, u8, u8, Duration)> = state
        .bounded
        .iter()
        .map(|(c, limit)| (c.cla(), c.ins(), c.p1(), *limit))
        .collect();
    let seven = Duration::from_secs(7);
    assert_eq!(
        bounded,
        [
            (0xB0, 0x01, 0, seven),
            (0xB0, 0x01, 0, seven),
            (0xE0, 0x06, 0, seven),
            (0xB0, 0x01, 0, seven),
            (0xE0, 0x06, 0, seven),
            (0xE0, 0x02, 0, seven),
            (0xE0, 0x02, 0, seven),
        ]
    );
    // Everything after those went unbounded, in this order.
    assert_eq!(
        state.log[bounded.len()..]
            .iter()
            .map(|c| (c.ins(), c.p1()))
            .collect::<Vec<_>>(),
        [(0x02, 0x01), (0x08, 0x00), (0x08, 0x80)]
    );
    assert_eq!(EthApp::DEFAULT_TIMEOUT, Duration::from_secs(30));
}

#[test]
fn a_timeout_of_the_transport_reaches_the_caller_unchanged() {
    let mut mock = MockTransport::new();
    mock.expect_exchange_within()
        .times(1)
        .returning(|_, limit| Err(DeviceError::Timeout { after: limit }));
    let error = EthApp::from_transport(mock)
        .with_timeout(Duration::from_secs(2))
        .app_configuration()
        .unwrap_err();
    assert!(
        matches!(error, DeviceError::Timeout { after } if after == Duration::from_secs(2)),
        "{error:?}"
    );
    assert_eq!(error.kind(), DeviceErrorKind::Timeout);
    assert!(
        error.to_string().contains("did not answer within 2 s"),
        "{error}"
    );
}
