//! Every mistake a host can make gets the status word the real app (≥ 1.20) gives, and every
//! error leaves the device idle so the next command starts clean.

mod common;

use common::*;
use ledger_app::{
    ApprovalPolicy, DeviceConfig, NoAnswer, RunningApp, SoftwareDevice, heap, screen, sw,
};

const ACCOUNT_0: &str = "m/44'/60'/0'/0/0";

fn device() -> SoftwareDevice {
    SoftwareDevice::with_test_mnemonic()
}

/// Starts a message of `declared` bytes whose first APDU carries `first` message bytes.
fn start_message(device: &SoftwareDevice, declared: u32, first: &[u8]) -> Vec<u8> {
    let apdus = personal_sign_apdus_declaring(&path(ACCOUNT_0), declared, first, 255);
    assert_eq!(apdus.len(), 1, "helper expects a single first APDU");
    device.exchange(&apdus[0])
}

fn more(data: &[u8]) -> Vec<u8> {
    apdu(0xE0, 0x08, 0x80, 0x00, data)
}

/// Proves the device is idle: a continuation chunk is refused as out of sequence.
fn assert_idle(device: &SoftwareDevice) {
    assert_eq!(sw(&device.exchange(&more(b"x"))), sw::INCORRECT_DATA);
}

#[test]
fn wrong_class_is_6e00_unknown_instruction_6d00_and_unimplemented_ones_refuse_the_data() {
    let d = device();
    assert_eq!(d.exchange(&[0xE1, 0x06, 0, 0, 0]), [0x6E, 0x00]);
    assert_eq!(d.exchange(&[0x80, 0x02, 0, 0, 0]), [0x6E, 0x00]);
    assert_eq!(d.exchange(&[0xE0, 0x7E, 0, 0, 0]), [0x6D, 0x00]);
    // The app's instructions this device does not implement refuse the data as the app does
    // (a transaction without a path, an unsigned token descriptor, EIP-712 v0 with blind
    // signing off), with the app's P1/P2 checks first.
    assert_eq!(d.exchange(&[0xE0, 0x04, 0, 0, 0]), [0x6A, 0x80]);
    assert_eq!(d.exchange(&[0xE0, 0x04, 0x80, 0, 0]), [0x69, 0x80]);
    assert_eq!(d.exchange(&[0xE0, 0x0A, 0, 0, 0]), [0x6A, 0x80]);
    assert_eq!(d.exchange(&[0xE0, 0x0C, 0, 0, 0]), [0x6A, 0x80]);
    assert_eq!(d.exchange(&[0xE0, 0x0C, 0, 2, 0]), [0x6B, 0x00]);
    // An unknown OS-class instruction is not the app's class.
    assert_eq!(d.exchange(&[0xB0, 0x55, 0, 0]), [0x6E, 0x00]);
}

#[test]
fn apdu_length_must_be_4_or_5_plus_lc() {
    let d = device();
    // A fresh app has answered nothing yet, so its first 6A87 carries no stale bytes (see the
    // next test): trailing Le after the data.
    assert_eq!(d.exchange(&[0xE0, 0x06, 0, 0, 0, 0]), [0x6A, 0x87]);
    // Lc larger and smaller than the data.
    let mut a = get_address(&path(ACCOUNT_0), false, false);
    a[4] += 1;
    assert_eq!(sw(&d.exchange(&a)), 0x6A87);
    a[4] -= 2;
    assert_eq!(sw(&d.exchange(&a)), 0x6A87);
    // Too short for a header.
    assert_eq!(sw(&d.exchange(&[0xE0, 0x06, 0])), 0x6A87);
    assert_eq!(sw(&d.exchange(&[0xE0])), 0x6A87);
    // An empty APDU is not answered at all.
    assert_eq!(d.exchange_checked(&[]), Err(NoAnswer::EmptyApdu));
    assert_eq!(sw(&d.exchange(&app_config())), 0x9000);
}

#[test]
fn wrong_length_answers_carry_stale_bytes_of_the_io_buffer() {
    let d = device();
    // As app 1.22.0 answers (ethapp-apdus.json): the status word goes after as many bytes of
    // the I/O buffer as the main loop's last answer had, i.e. the new APDU over the rest of
    // that answer. Garbage a host must never parse.
    assert_eq!(d.exchange(&[0xE0, 0xFF, 0, 0, 0]), [0x6D, 0x00]);
    assert_eq!(d.exchange(&[0xE0, 0x06, 0]), [0xE0, 0x06, 0x6A, 0x87]);
    assert_eq!(sw(&d.exchange(&app_config())), 0x9000);
    assert_eq!(
        d.exchange(&[0xE0, 0x06, 0]),
        [0xE0, 0x06, 0x00, 0x00, 0x90, 0x00, 0x6A, 0x87]
    );
    // After a long answer, a long leak: the rest of the address answer.
    let address = d.exchange(&get_address(&path(ACCOUNT_0), false, false));
    let leaked = d.exchange(&[0xE0, 0x06, 0]);
    assert_eq!(leaked.len(), address.len() + 2);
    assert_eq!(leaked[3..address.len()], address[3..]);
    // An answer sent after a review leaves the main loop's length at 0.
    let _ = sign(&d, &path(ACCOUNT_0), b"hello");
    assert_eq!(d.exchange(&[0xE0, 0x06, 0]), [0x6A, 0x87]);
    // Every one of them resets the app context, like any error.
    assert_eq!(start_message(&d, 10, b"abc"), [0x90, 0x00]);
    assert_eq!(sw(&d.exchange(&[0xE0, 0x08, 0x80])), 0x6A87);
    assert_idle(&d);
}

#[test]
fn address_p1_p2_must_be_0_or_1() {
    let d = device();
    let mut a = get_address(&path(ACCOUNT_0), false, false);
    a[2] = 0x02;
    assert_eq!(d.exchange(&a), [0x6B, 0x00]);
    a[2] = 0x00;
    a[3] = 0x02;
    assert_eq!(d.exchange(&a), [0x6B, 0x00]);
}

#[test]
fn bad_paths_are_6a80() {
    let d = device();
    for data in [
        vec![],  // no path at all
        vec![0], // zero components
        {
            let mut v = vec![11];
            v.extend_from_slice(&[0; 44]);
            v
        }, // eleven components
        vec![2, 0x80, 0, 0, 44, 0x80, 0, 0], // truncated second component
    ] {
        assert_eq!(
            d.exchange(&apdu(0xE0, 0x02, 0, 0, &data)),
            [0x6A, 0x80],
            "address with {data:02x?}"
        );
        // Followed by a length and a message byte, unless that would complete the path.
        let mut sign = data.clone();
        if data.len() < 5 || data[0] == 11 {
            sign.extend_from_slice(&[0, 0, 0, 1, b'x']);
        }
        assert_eq!(
            d.exchange(&apdu(0xE0, 0x08, 0, 0, &sign)),
            [0x6A, 0x80],
            "message with {sign:02x?}"
        );
    }
}

#[test]
fn address_chain_id_is_optional_but_other_leftovers_are_6a80() {
    let d = device();
    let p = path(ACCOUNT_0);
    let mut data = p.to_apdu_bytes();
    data.extend_from_slice(&137u64.to_be_bytes());
    let with_chain = d.exchange(&apdu(0xE0, 0x02, 0, 0, &data));
    assert_eq!(sw(&with_chain), 0x9000);
    assert_eq!(
        with_chain,
        d.exchange(&get_address(&p, false, false)),
        "the chain id does not change the answer"
    );
    data.push(0);
    assert_eq!(d.exchange(&apdu(0xE0, 0x02, 0, 0, &data)), [0x6A, 0x80]);
    // Fewer than 8 leftover bytes are not a chain id either.
    let mut short = p.to_apdu_bytes();
    short.extend_from_slice(&[0; 7]);
    assert_eq!(d.exchange(&apdu(0xE0, 0x02, 0, 0, &short)), [0x6A, 0x80]);
}

#[test]
fn paths_the_os_refuses_are_6a15_or_6a12_for_an_address() {
    let d = device();
    // Outside 44'/60', 45' and 12381/3600: the OS's SWO_PAR_VAL_15, mapped to 0x6A15.
    for p in ["m/44'/0'/0'/0/0", "m/44'", "m/44'/60/0'/0/0", "m/0'"] {
        for confirm in [false, true] {
            assert_eq!(
                d.exchange(&get_address(&path(p), confirm, false)),
                [0x6A, 0x15],
                "{p}"
            );
        }
    }
    // No hardened component at all: SWO_PAR_VAL_12, mapped to 0x6A12.
    for p in ["m/44/60/0/0/0", "m/12381/3600/0/0"] {
        assert_eq!(
            d.exchange(&get_address(&path(p), false, false)),
            [0x6A, 0x12],
            "{p}"
        );
    }
    assert!(d.screens().is_empty(), "a refused path is never shown");
    // 45' and 12381/3600 with a hardened component are allowed.
    for p in ["m/45'/0/1", "m/12381/3600/0'/0"] {
        assert_eq!(
            sw(&d.exchange(&get_address(&path(p), false, false))),
            0x9000,
            "{p}"
        );
    }
}

#[test]
fn a_message_at_a_refused_path_is_reviewed_then_the_app_exits_without_answering() {
    let d = device();
    // The key is derived only after the review, as on the device: the person sees the message
    // and approves, then the app exits (the device shows its dashboard).
    for p in ["m/44'/501'/0'/0'", "m/12381/3600/0/0"] {
        d.set_running_app(RunningApp::Ethereum);
        let apdus = personal_sign_apdus(&path(p), b"hi", 255);
        assert_eq!(
            d.exchange_checked(&apdus[0]),
            Err(NoAnswer::AppExited),
            "{p}"
        );
        let screens = d.take_screens();
        assert_eq!(
            screens.first().map(|s| s.title.as_str()),
            Some(screen::REVIEW_MESSAGE)
        );
        assert!(!screens.iter().any(|s| s.title == screen::MESSAGE_SIGNED));
        assert_eq!(d.running_app(), RunningApp::Dashboard);
        assert_eq!(d.exchange(&app_config()), [0x6D, 0x02], "no app is open");
    }
    // Rejected, the review answers 6985 as for any message.
    d.set_running_app(RunningApp::Ethereum);
    d.set_approval(ApprovalPolicy::Reject);
    let apdus = personal_sign_apdus(&path("m/44'/501'/0'/0'"), b"hi", 255);
    assert_eq!(d.exchange(&apdus[0]), [0x69, 0x85]);
    assert_eq!(d.running_app(), RunningApp::Ethereum);
}

/// `xmtp-ledger emulator` emulates the person too: after the app exits on a refused path,
/// the Ethereum app is opened again at once (on its home screen, with nothing in progress),
/// so the next connection finds it, where a plain device stays on its dashboard.
#[test]
fn with_reopen_after_exit_the_app_is_opened_again_after_it_exits() {
    let mut config = DeviceConfig::test_mnemonic();
    config.reopen_after_exit = true;
    let d = SoftwareDevice::new(config).expect("the test mnemonic");
    let apdus = personal_sign_apdus(&path("m/44'/501'/0'/0'"), b"hi", 255);
    assert_eq!(d.exchange_checked(&apdus[0]), Err(NoAnswer::AppExited));
    assert_eq!(d.running_app(), RunningApp::Ethereum);
    let screens = d.take_screens();
    assert_eq!(
        screens.first().map(|s| s.title.as_str()),
        Some(screen::REVIEW_MESSAGE)
    );
    assert_eq!(screens.last(), Some(&screen::home()), "{screens:?}");
    assert!(!screens.iter().any(|s| s.title == screen::MESSAGE_SIGNED));
    // A fresh app: the configuration answers, and no message is in progress.
    assert_eq!(sw(&d.exchange(&app_config())), 0x9000);
    assert_eq!(d.exchange(&more(b"hello")), [0x6A, 0x80]);
    // And it signs at an allowed path as before.
    let ok = personal_sign_apdus(&path("m/44'/60'/0'/0/0"), b"hi", 255);
    assert_eq!(sw(&d.exchange(&ok[0])), 0x9000);
}

#[test]
fn continuation_without_a_message_is_6a80() {
    let d = device();
    assert_eq!(d.exchange(&more(b"hello")), [0x6A, 0x80]);
    assert_eq!(d.exchange(&[0xE0, 0x08, 0x80, 0x00]), [0x6A, 0x80]);
}

#[test]
fn message_p1_other_than_00_or_80_is_6b00_and_aborts_the_message() {
    let d = device();
    assert_eq!(start_message(&d, 4, b"ab"), [0x90, 0x00]);
    assert_eq!(d.exchange(&apdu(0xE0, 0x08, 0x01, 0, b"cd")), [0x6B, 0x00]);
    assert_idle(&d);
}

#[test]
fn message_p2_is_ignored() {
    let d = device();
    let mut apdus = personal_sign_apdus(&path(ACCOUNT_0), b"hello", 255);
    apdus[0][3] = 0x07;
    let answer = d.exchange(&apdus[0]);
    assert_eq!(sw(&answer), 0x9000);
    assert_eq!(answer.len(), 67);
}

#[test]
fn missing_length_bytes_are_6a80() {
    let d = device();
    assert_eq!(d.exchange(&[0xE0, 0x08, 0x00, 0x00, 0x00]), [0x6A, 0x80]);
    assert_eq!(d.exchange(&[0xE0, 0x08, 0x00, 0x00]), [0x6A, 0x80]);
    let mut data = path(ACCOUNT_0).to_apdu_bytes();
    data.extend_from_slice(&[0, 0, 5]);
    assert_eq!(d.exchange(&apdu(0xE0, 0x08, 0, 0, &data)), [0x6A, 0x80]);
}

#[test]
fn more_bytes_than_declared_is_6a80_and_resets() {
    let d = device();
    // In the first APDU.
    assert_eq!(start_message(&d, 2, b"abc"), [0x6A, 0x80]);
    assert_idle(&d);
    // In a later APDU.
    assert_eq!(start_message(&d, 4, b"ab"), [0x90, 0x00]);
    assert_eq!(d.exchange(&more(b"cde")), [0x6A, 0x80]);
    assert_idle(&d);
}

#[test]
fn new_message_while_one_is_in_progress_is_6980_then_a_retry_works() {
    let d = device();
    assert_eq!(start_message(&d, 10, b"abc"), [0x90, 0x00]);
    let retry = personal_sign_apdus(&path(ACCOUNT_0), b"hello", 255);
    assert_eq!(d.exchange(&retry[0]), [0x69, 0x80]);
    // The error reset the context: the old message cannot be continued...
    assert_idle(&d);
    // ...and an immediate retry signs.
    let answer = d.exchange(&retry[0]);
    assert_eq!(sw(&answer), 0x9000);
    assert_eq!(
        recover_address(b"hello", data(&answer)).unwrap(),
        d.address(&path(ACCOUNT_0)).unwrap().to_lowercase()
    );
}

#[test]
fn declared_length_is_kept_in_16_bits_so_65536_and_more_wrap() {
    let d = device();
    // 0x1_0005 is 5: "hello" is a complete message and is signed as such.
    let answer = start_message(&d, 0x1_0005, b"hello");
    assert_eq!(sw(&answer), 0x9000);
    assert_eq!(
        recover_address(b"hello", data(&answer)).unwrap(),
        d.address(&path(ACCOUNT_0)).unwrap().to_lowercase()
    );
    // 0x1_0000 is 0: one message byte is more than declared.
    assert_eq!(start_message(&d, 0x1_0000, b"a"), [0x6A, 0x80]);
    // 0xFFFF_FFFF is 65535: too big for the default heap.
    assert_eq!(start_message(&d, u32::MAX, b"a"), [0x6A, 0x84]);
}

#[test]
fn declared_length_above_32766_is_6a80_once_complete() {
    let d = device();
    // Enough heap that memory is not the limit: the 16-bit display-length guard is.
    d.set_heap_size(1 << 20);
    let message = vec![b'a'; 32_767];
    let apdus = personal_sign_apdus(&path(ACCOUNT_0), &message, 255);
    let last = send_all(&d, &apdus);
    assert_eq!(last, [0x6A, 0x80]);
    assert_eq!(d.apdu_count(), apdus.len() as u64);
    assert!(d.screens().is_empty(), "no review for a refused message");

    // One byte less is reviewed and signed.
    let message = vec![b'a'; 32_766];
    let answer = send_all(&d, &personal_sign_apdus(&path(ACCOUNT_0), &message, 255));
    assert_eq!(sw(&answer), 0x9000);
    assert_eq!(
        screen::reviewed_message(&d.screens()).unwrap(),
        String::from_utf8(message).unwrap()
    );
}

#[test]
fn with_the_default_heap_a_32767_byte_declaration_is_out_of_memory_at_once() {
    let d = device();
    assert_eq!(start_message(&d, 32_767, b"a"), [0x6A, 0x84]);
    assert_idle(&d);
}

#[test]
fn messages_over_the_heap_are_6a84_and_the_limit_is_exact() {
    let d = device();
    let p = path(ACCOUNT_0);
    let text_max = d.max_message_len(true);
    let hex_max = d.max_message_len(false);
    assert_eq!(
        text_max,
        heap::max_message_len(heap::DEFAULT_HEAP_SIZE, true)
    );
    assert!((7_000..=8_192).contains(&text_max), "text limit {text_max}");
    assert!((4_500..=5_500).contains(&hex_max), "binary limit {hex_max}");

    // Text: the limit signs, one more byte is refused when the display buffer is allocated,
    // i.e. on the last APDU, after every chunk was accepted.
    let ok = send_all(&d, &personal_sign_apdus(&p, &vec![b'x'; text_max], 255));
    assert_eq!(sw(&ok), 0x9000);
    let too_big = send_all(&d, &personal_sign_apdus(&p, &vec![b'x'; text_max + 1], 255));
    assert_eq!(too_big, [0x6A, 0x84]);
    assert_idle(&d);

    // Binary needs a larger display buffer (hex), so its limit is lower.
    let ok = send_all(&d, &personal_sign_apdus(&p, &vec![0xFF; hex_max], 255));
    assert_eq!(sw(&ok), 0x9000);
    let too_big = send_all(&d, &personal_sign_apdus(&p, &vec![0xFF; hex_max + 1], 255));
    assert_eq!(too_big, [0x6A, 0x84]);

    // A declaration that cannot even be received is refused at the first APDU.
    assert_eq!(start_message(&d, 20_000, b"x"), [0x6A, 0x84]);

    // The cap is configurable.
    d.set_heap_size(1024);
    let small = d.max_message_len(true);
    assert!(small < 300, "{small}");
    let too_big = send_all(&d, &personal_sign_apdus(&p, &vec![b'x'; small + 1], 255));
    assert_eq!(too_big, [0x6A, 0x84]);
}

#[test]
fn rejection_is_6985_without_data() {
    let d = device();
    d.set_approval(ApprovalPolicy::Reject);
    let apdus = personal_sign_apdus(&path(ACCOUNT_0), XMTP_TEXT.as_bytes(), 255);
    assert_eq!(send_all(&d, &apdus), [0x69, 0x85]);
    assert_eq!(
        d.exchange(&get_address(&path(ACCOUNT_0), true, false)),
        [0x69, 0x85]
    );
    // Without display no approval is needed.
    assert_eq!(
        sw(&d.exchange(&get_address(&path(ACCOUNT_0), false, false))),
        0x9000
    );
    let titles: Vec<String> = d.screens().into_iter().map(|s| s.title).collect();
    assert!(titles.contains(&screen::MESSAGE_REJECTED.to_owned()));
    assert!(titles.contains(&screen::ADDRESS_REJECTED.to_owned()));
}

#[test]
fn locked_device_answers_5515_to_everything_until_unlocked() {
    let mut config = DeviceConfig::test_mnemonic();
    config.locked = true;
    let d = SoftwareDevice::new(config).unwrap();
    for a in [
        app_config(),
        get_address(&path(ACCOUNT_0), false, false),
        vec![0xB0, 0x01, 0x00, 0x00],
        vec![0xE1, 0x00],
        more(b"x"),
    ] {
        assert_eq!(d.exchange(&a), [0x55, 0x15], "{a:02x?}");
    }
    // An empty APDU never gets an answer, locked or not.
    assert_eq!(d.exchange_checked(&[]), Err(NoAnswer::EmptyApdu));
    d.set_locked(false);
    assert_eq!(sw(&d.exchange(&app_config())), 0x9000);

    // Locking in the middle of a message abandons it.
    assert_eq!(start_message(&d, 10, b"abc"), [0x90, 0x00]);
    d.set_locked(true);
    assert_eq!(d.exchange(&more(b"defghij")), [0x55, 0x15]);
    d.set_locked(false);
    assert_idle(&d);
    assert!(d.screens().is_empty());
}

#[test]
fn dashboard_answers_bolos_and_refuses_ethereum_commands() {
    let d = device();
    d.set_running_app(RunningApp::Dashboard);
    let mut expected = vec![0x01, 5];
    expected.extend_from_slice(b"BOLOS");
    expected.push(ledger_app::DASHBOARD_VERSION.len() as u8);
    expected.extend_from_slice(ledger_app::DASHBOARD_VERSION.as_bytes());
    expected.extend_from_slice(&[0x01, 0x00, 0x90, 0x00]);
    assert_eq!(d.exchange(&[0xB0, 0x01, 0x00, 0x00]), expected);
    assert_eq!(d.exchange(&app_config()), [0x6D, 0x02]);
    assert_eq!(
        d.exchange(&get_address(&path(ACCOUNT_0), false, false)),
        [0x6D, 0x02]
    );
    assert_eq!(d.exchange(&[0xD7, 0x01, 0, 0, 0]), [0x6E, 0x01]);
    d.set_running_app(RunningApp::Ethereum);
    assert_eq!(
        d.exchange(&app_config()),
        [0x02, 0x01, 0x16, 0x00, 0x90, 0x00]
    );
}

#[test]
fn another_app_names_itself_and_refuses_ethereum_commands() {
    let d = device();
    d.set_running_app(RunningApp::other("Bitcoin", "2.2.3"));
    let answer = d.exchange(&[0xB0, 0x01, 0x00, 0x00]);
    assert_eq!(&answer[..9], b"\x01\x07Bitcoin");
    assert_eq!(sw(&answer), 0x9000);
    assert_eq!(d.exchange(&app_config()), [0x6E, 0x00]);
    assert_eq!(
        d.exchange(&personal_sign_apdus(&path(ACCOUNT_0), b"a", 255)[0]),
        [0x6E, 0x00]
    );

    d.set_running_app(RunningApp::Other {
        name: "Clone".into(),
        version: "1.0.0".into(),
        eth_sw: sw::INVALID_INS,
    });
    assert_eq!(d.exchange(&app_config()), [0x6D, 0x00]);
}

#[test]
fn quitting_the_app_opens_the_dashboard() {
    let d = device();
    assert_eq!(start_message(&d, 10, b"abc"), [0x90, 0x00]);
    assert_eq!(d.exchange(&[0xB0, 0xA7, 0x00, 0x00]), [0x90, 0x00]);
    assert_eq!(d.running_app(), RunningApp::Dashboard);
    assert_eq!(d.exchange(&more(b"def")), [0x6D, 0x02]);
    d.set_running_app(RunningApp::Ethereum);
    assert_idle(&d);
}

#[test]
fn any_error_resets_a_message_in_progress() {
    let d = device();
    for breaker in [
        vec![0xE1, 0x06, 0, 0, 0],      // wrong class
        vec![0xE0, 0x7E, 0, 0, 0],      // unknown instruction
        vec![0xE0, 0x06, 0, 0, 0, 0],   // bad length
        apdu(0xE0, 0x02, 0x05, 0, &[]), // bad P1
    ] {
        assert_eq!(start_message(&d, 10, b"abc"), [0x90, 0x00]);
        assert_ne!(sw(&d.exchange(&breaker)), 0x9000);
        assert_idle(&d);
    }
}

#[test]
fn get_address_resets_but_get_configuration_does_not() {
    let d = device();
    assert_eq!(start_message(&d, 6, b"abc"), [0x90, 0x00]);
    assert_eq!(
        sw(&d.exchange(&get_address(&path(ACCOUNT_0), false, false))),
        0x9000
    );
    assert_idle(&d);

    assert_eq!(start_message(&d, 6, b"abc"), [0x90, 0x00]);
    assert_eq!(sw(&d.exchange(&app_config())), 0x9000);
    let answer = d.exchange(&more(b"def"));
    assert_eq!(sw(&answer), 0x9000);
    assert_eq!(
        recover_address(b"abcdef", data(&answer)).unwrap(),
        d.address(&path(ACCOUNT_0)).unwrap().to_lowercase()
    );
}

#[test]
fn empty_message_is_reviewed_and_signed() {
    let d = device();
    let answer = send_all(&d, &personal_sign_apdus(&path(ACCOUNT_0), b"", 255));
    assert_eq!(sw(&answer), 0x9000);
    assert_eq!(
        recover_address(b"", data(&answer)).unwrap(),
        d.address(&path(ACCOUNT_0)).unwrap().to_lowercase()
    );
    assert_eq!(screen::reviewed_message(&d.screens()).as_deref(), Some(""));
}
