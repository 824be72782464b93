//! Chunking, the review screens and the approval policy.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use ledger_app::{ApprovalPolicy, Screen, SoftwareDevice, screen};

const ACCOUNT_0: &str = "m/44'/60'/0'/0/0";

/// Bytes of the first APDU's data taken by a 5-component path and the length field.
const HEADER: usize = 1 + 4 * 5 + 4;

#[test]
fn a_message_that_fills_one_apdu_exactly_needs_one_apdu() {
    let d = SoftwareDevice::with_test_mnemonic();
    let p = path(ACCOUNT_0);
    let fits = vec![b'a'; 255 - HEADER];
    let apdus = personal_sign_apdus(&p, &fits, 255);
    assert_eq!(apdus.len(), 1);
    assert_eq!(apdus[0].len(), 5 + 255);
    let answer = send_all(&d, &apdus);
    assert_eq!(
        recover_address(&fits, data(&answer)),
        Some(d.address(&p).unwrap().to_lowercase())
    );
    assert_eq!(d.apdu_count(), 1);

    // One byte more spills into a second APDU carrying exactly that byte.
    d.reset_apdu_log();
    let spills = vec![b'a'; 256 - HEADER];
    let apdus = personal_sign_apdus(&p, &spills, 255);
    assert_eq!(apdus.len(), 2);
    assert_eq!(apdus[1], [0xE0, 0x08, 0x80, 0x00, 0x01, b'a']);
    let answer = send_all(&d, &apdus);
    assert_eq!(
        recover_address(&spills, data(&answer)),
        Some(d.address(&p).unwrap().to_lowercase())
    );
    assert_eq!(d.apdu_count(), 2);
    assert_eq!(d.apdu_log(), apdus);
}

#[test]
fn any_split_gives_the_same_signature() {
    let d = SoftwareDevice::with_test_mnemonic();
    let p = path(ACCOUNT_0);
    let message = XMTP_TEXT.repeat(7);
    let canonical = sign(&d, &p, message.as_bytes());
    // ledgerjs' 150-byte chunks, and silly 26-byte ones (first chunk: header + 1 byte).
    for chunk in [150, HEADER + 1, 100] {
        let apdus = personal_sign_apdus(&p, message.as_bytes(), chunk);
        assert!(apdus.len() > 3);
        let answer = send_all(&d, &apdus);
        assert_eq!(data(&answer), canonical, "chunk size {chunk}");
    }
    // The first APDU may also carry no message byte at all.
    let mut header = p.to_apdu_bytes();
    header.extend_from_slice(&(message.len() as u32).to_be_bytes());
    let first = apdu(0xE0, 0x08, 0x00, 0x00, &header);
    assert_eq!(d.exchange(&first), [0x90, 0x00]);
    let rest: Vec<Vec<u8>> = message
        .as_bytes()
        .chunks(255)
        .map(|c| apdu(0xE0, 0x08, 0x80, 0x00, c))
        .collect();
    assert_eq!(data(&send_all(&d, &rest)), canonical);
}

#[test]
fn the_longest_message_the_heap_allows_goes_through_in_minimal_chunks() {
    let d = SoftwareDevice::with_test_mnemonic();
    let p = path(ACCOUNT_0);
    let message: Vec<u8> = (0..d.max_message_len(true))
        .map(|i| b"abcdefghijklmnopqrstuvwxyz \n"[i % 28])
        .collect();
    let apdus = personal_sign_apdus(&p, &message, 255);
    assert_eq!(apdus.len(), (HEADER + message.len()).div_ceil(255));
    let answer = send_all(&d, &apdus);
    assert_eq!(
        recover_address(&message, data(&answer)),
        Some(d.address(&p).unwrap().to_lowercase())
    );
    assert_eq!(d.apdu_count(), apdus.len() as u64);
    // The whole text is recoverable from the screens, newlines shown as spaces.
    let shown = screen::reviewed_message(&d.screens()).unwrap();
    assert_eq!(
        shown,
        String::from_utf8(message).unwrap().replace('\n', " ")
    );
}

#[test]
fn xmtp_review_screens_match_a_nano_s_plus() {
    let d = SoftwareDevice::with_test_mnemonic();
    sign(&d, &path(ACCOUNT_0), XMTP_TEXT.as_bytes());
    let screens = d.screens();
    let titles: Vec<&str> = screens.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Review message",
            "Message (1/2)",
            "Message (2/2)",
            "Sign message",
            "Reject message",
            "Message signed",
            "Ethereum"
        ]
    );
    // Lines as the Nano S Plus draws them (case `check-py-create-identity-0a0b` of
    // `shared/vectors/nanosp-screens.json`).
    let lines: Vec<Vec<&str>> = screens[1..3].iter().map(|s| s.lines().collect()).collect();
    assert_eq!(
        lines,
        [
            vec!["XMTP : Create ", "Identity 0a0b  For ", "more info: "],
            vec!["https://xmtp.org/sign", "atures/"]
        ]
    );
    assert_eq!(
        screen::reviewed_message(&screens).unwrap(),
        "XMTP : Create Identity 0a0b  For more info: https://xmtp.org/signatures/"
    );
}

#[test]
fn binary_messages_are_reviewed_as_hex() {
    let d = SoftwareDevice::with_test_mnemonic();
    let message = "Créer".as_bytes();
    sign(&d, &path(ACCOUNT_0), message);
    assert_eq!(
        screen::reviewed_message(&d.screens()).unwrap(),
        format!("0x{}", hex::encode(message))
    );
}

#[test]
fn address_display_shows_the_address_and_waits_for_the_user() {
    let d = SoftwareDevice::with_test_mnemonic();
    let p = path(ACCOUNT_0);
    let mut data = p.to_apdu_bytes();
    data.extend_from_slice(&10u64.to_be_bytes());
    let answer = d.exchange(&apdu(0xE0, 0x02, 0x01, 0x00, &data));
    assert_eq!(sw(&answer), 0x9000);
    assert_eq!(
        d.take_screens(),
        [
            Screen::title("Verify Ethereum address"),
            Screen::new("Address", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
            Screen::new("Chain ID", "10"),
            Screen::title("Confirm"),
            Screen::title("Reject"),
            Screen::title("Address verified"),
            Screen::new("Ethereum", "app is ready"),
        ]
    );
    // Without display nothing is shown.
    d.exchange(&get_address(&p, false, true));
    assert!(d.screens().is_empty());
}

#[test]
fn a_callback_policy_sees_the_review_and_decides() {
    let d = SoftwareDevice::with_test_mnemonic();
    let seen: Arc<Mutex<Vec<Vec<Screen>>>> = Arc::default();
    let log = Arc::clone(&seen);
    // Approve messages that mention XMTP, reject anything else.
    d.set_approval(ApprovalPolicy::ask(move |screens: &[Screen]| {
        log.lock().unwrap().push(screens.to_vec());
        screen::reviewed_message(screens).is_some_and(|text| text.contains("XMTP"))
    }));
    let p = path(ACCOUNT_0);
    let ok = send_all(&d, &personal_sign_apdus(&p, XMTP_TEXT.as_bytes(), 255));
    assert_eq!(sw(&ok), 0x9000);
    let refused = send_all(&d, &personal_sign_apdus(&p, b"transfer everything", 255));
    assert_eq!(refused, [0x69, 0x85]);
    assert_eq!(d.exchange(&get_address(&p, true, false)), [0x69, 0x85]);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "one call per review");
    assert_eq!(seen[0].last().unwrap().title, "Reject message");
    assert_eq!(seen[2][0].title, "Verify Ethereum address");
}

#[test]
fn screen_listener_sees_every_screen_in_order() {
    let d = SoftwareDevice::with_test_mnemonic();
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    d.set_screen_listener(Some(Arc::new(move |_: &Screen| {
        c.fetch_add(1, Ordering::SeqCst);
    })));
    sign(&d, &path(ACCOUNT_0), b"short");
    assert_eq!(count.load(Ordering::SeqCst), d.screens().len());
    assert_eq!(d.screens().len(), 6);
    d.set_screen_listener(None);
    sign(&d, &path(ACCOUNT_0), b"short");
    assert_eq!(count.load(Ordering::SeqCst), 6);
}
