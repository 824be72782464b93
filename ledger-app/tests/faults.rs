//! Fault injection: corrupt and stale signatures, dropped answers, delays, APDU counting.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ledger_app::{DropConnection, Faults, NoAnswer, SoftwareDevice};

const ACCOUNT_0: &str = "m/44'/60'/0'/0/0";

fn expected_address(d: &SoftwareDevice) -> String {
    d.address(&path(ACCOUNT_0)).unwrap().to_lowercase()
}

#[test]
fn corrupt_signature_differs_in_one_byte_and_no_longer_recovers_to_the_device() {
    let d = SoftwareDevice::with_test_mnemonic();
    let genuine = sign(&d, &path(ACCOUNT_0), XMTP_TEXT.as_bytes());
    d.set_corrupt_signature(true);
    let corrupt = sign(&d, &path(ACCOUNT_0), XMTP_TEXT.as_bytes());
    let differing = genuine.iter().zip(&corrupt).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 1);
    assert_ne!(
        recover_address(XMTP_TEXT.as_bytes(), &corrupt),
        Some(expected_address(&d))
    );
    // Only signatures are corrupted.
    assert_eq!(
        d.exchange(&app_config()),
        [0x02, 0x01, 0x16, 0x00, 0x90, 0x00]
    );
    d.set_corrupt_signature(false);
    assert_eq!(sign(&d, &path(ACCOUNT_0), XMTP_TEXT.as_bytes()), genuine);
}

#[test]
fn stale_signature_answers_the_previous_signature() {
    let d = SoftwareDevice::with_test_mnemonic();
    let p = path(ACCOUNT_0);
    let first = sign(&d, &p, b"first");
    d.set_stale_signature(true);
    let second = sign(&d, &p, b"second");
    assert_eq!(second, first, "answered the previous signature");
    assert_ne!(
        recover_address(b"second", &second),
        Some(expected_address(&d)),
        "a stale signature does not verify for the new message"
    );
    // The one computed for "second" was remembered and comes back next time.
    let third = sign(&d, &p, b"third");
    assert_eq!(
        recover_address(b"second", &third),
        Some(expected_address(&d))
    );
    d.set_stale_signature(false);
    let fourth = sign(&d, &p, b"fourth");
    assert_eq!(
        recover_address(b"fourth", &fourth),
        Some(expected_address(&d))
    );
}

#[test]
fn stale_fault_on_a_fresh_device_answers_the_genuine_signature() {
    let d = SoftwareDevice::with_test_mnemonic();
    d.set_stale_signature(true);
    let vrs = sign(&d, &path(ACCOUNT_0), b"only");
    assert_eq!(recover_address(b"only", &vrs), Some(expected_address(&d)));
}

#[test]
fn drop_next_signature_swallows_only_the_final_answer_once() {
    let d = SoftwareDevice::with_test_mnemonic();
    d.set_drop(DropConnection::NextSignature);
    let message = XMTP_TEXT.repeat(8);
    let apdus = personal_sign_apdus(&path(ACCOUNT_0), message.as_bytes(), 255);
    assert!(apdus.len() >= 3);
    let (last, first) = apdus.split_last().unwrap();
    for a in first {
        assert_eq!(d.exchange_checked(a), Ok(vec![0x90, 0x00]));
    }
    assert_eq!(d.exchange_checked(last), Err(NoAnswer::Dropped));
    assert_eq!(d.faults().drop, DropConnection::Never, "one-shot");
    // The retry gets an answer, and the device is not stuck mid-message.
    let vrs = sign(&d, &path(ACCOUNT_0), message.as_bytes());
    assert_eq!(
        recover_address(message.as_bytes(), &vrs),
        Some(expected_address(&d))
    );
}

#[test]
fn drop_next_apdu_and_always() {
    let d = SoftwareDevice::with_test_mnemonic();
    d.set_drop(DropConnection::NextApdu);
    assert_eq!(d.exchange_checked(&app_config()), Err(NoAnswer::Dropped));
    assert_eq!(sw(&d.exchange_checked(&app_config()).unwrap()), 0x9000);

    d.set_drop(DropConnection::Always);
    for _ in 0..3 {
        // The plain entry point has no way to drop: it answers nothing, not even a status word.
        assert_eq!(d.exchange(&app_config()), Vec::<u8>::new());
    }
    d.clear_faults();
    assert_eq!(d.faults(), Faults::default());
    assert_eq!(sw(&d.exchange(&app_config())), 0x9000);
    assert_eq!(d.apdu_count(), 6, "dropped APDUs are counted");
}

#[test]
fn delay_holds_the_answer() {
    let d = SoftwareDevice::with_test_mnemonic();
    d.set_delay(Some(Duration::from_millis(150)));
    let start = Instant::now();
    assert_eq!(sw(&d.exchange(&app_config())), 0x9000);
    assert!(start.elapsed() >= Duration::from_millis(150));
    d.set_delay(None);
    let start = Instant::now();
    d.exchange(&app_config());
    assert!(start.elapsed() < Duration::from_millis(150));
}

#[test]
fn every_apdu_is_counted_and_logged_even_refused_ones() {
    let d = SoftwareDevice::with_test_mnemonic();
    let sent = [
        app_config(),
        vec![0xE1, 0x00],
        get_address(&path(ACCOUNT_0), false, false),
    ];
    for a in &sent {
        d.exchange(a);
    }
    d.set_locked(true);
    d.exchange(&app_config());
    assert_eq!(d.apdu_count(), 4);
    assert_eq!(&d.apdu_log()[..3], &sent);
    d.reset_apdu_log();
    assert_eq!(d.apdu_count(), 0);
    assert!(d.apdu_log().is_empty());
}

#[test]
fn concurrent_exchanges_are_serialized() {
    use std::sync::Arc;
    let d = Arc::new(SoftwareDevice::with_test_mnemonic());
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let d = Arc::clone(&d);
            std::thread::spawn(move || {
                let account = path(&format!("m/44'/60'/{i}'/0/0"));
                let message = format!("thread {i}");
                let vrs = sign(&d, &account, message.as_bytes());
                (account, message, vrs)
            })
        })
        .collect();
    // Interleaved multi-APDU messages from different threads would corrupt each other (0x6980),
    // but each `sign` here is a single APDU, so all succeed and verify.
    for t in threads {
        let (account, message, vrs) = t.join().unwrap();
        assert_eq!(
            recover_address(message.as_bytes(), &vrs),
            Some(d.address(&account).unwrap().to_lowercase())
        );
    }
}
