//! `inbox id` and `inbox sign` (no node): the inbox id offline, and the Ledger signing the
//! very texts libxmtp asked its wallets to sign, byte for byte the same signatures, while
//! anything else is refused before the device is reached.

mod common;

use common::cli::{ACCOUNT_0, Run, command};
use common::libxmtp_v3::libxmtp_updates;

/// Runs `xmtp-ledger ARGS` with `stdin` as its standard input.
fn run_with_stdin(args: &[&str], stdin: &str) -> Run {
    common::cli::run_with_stdin(command().args(args), stdin)
}

#[test]
fn inbox_id_is_computed_offline_for_an_address() {
    let run: Run = command()
        .args([
            "--json",
            "inbox",
            "id",
            "--nonce",
            "1",
            "--address",
            ACCOUNT_0,
        ])
        // Neither a device nor a node is needed: point both at nothing.
        .args([
            "--device",
            "tcp://127.0.0.1:1",
            "--network",
            "http://127.0.0.1:1",
        ])
        .output()
        .unwrap()
        .into();
    run.assert_code(0);
    let json = run.json();
    assert_eq!(json["address"], ACCOUNT_0);
    assert_eq!(json["nonce"], 1);
    assert_eq!(
        json["inbox_id"],
        "f2dc4b90b67487658e6fc1d4759c148fac797ea24fadee18c9d511787e04ea1a"
    );
}

#[test]
fn inbox_id_reads_the_device_account_without_an_address() {
    let run: Run = command()
        .args(["--device", "emulator", "inbox", "id"])
        .output()
        .unwrap()
        .into();
    run.assert_code(0);
    assert_eq!(
        run.stdout.trim(),
        "41ff994ea1f9462295cee1ad48c270f6fe3e6307cd9a062e9320cf43a724e348"
    );
}

#[test]
fn the_device_signs_every_libxmtp_text_exactly_as_libxmtps_wallet_did() {
    let file = libxmtp_updates();
    let mut signed = 0;
    for step in file.inboxes.iter().flat_map(|inbox| &inbox.steps) {
        for expected in &step.wallet_signatures {
            let wallet = file
                .wallets
                .iter()
                .find(|w| w.address == expected.address)
                .expect("a wallet of the file");
            let run = run_with_stdin(
                &[
                    "--device",
                    "emulator",
                    "--hd-path",
                    &wallet.hd_path,
                    "--json",
                    "inbox",
                    "sign",
                ],
                &expected.text,
            );
            run.assert_code(0);
            let json = run.json();
            // RFC 6979 signatures are deterministic: the same key, text and v form give
            // the same 65 bytes as the SDK's software wallet.
            assert_eq!(
                json["signature"].as_str().unwrap().trim_start_matches("0x"),
                expected.signature.trim_start_matches("0x"),
                "{}",
                step.step
            );
            assert_eq!(json["address"], wallet.address.as_str());
            assert!(!json["actions"].as_array().unwrap().is_empty());
            assert!(json["inbox_id"].as_str().unwrap().len() == 64);
            signed += 1;
        }
    }
    assert!(signed >= 10, "{signed}");
}

#[test]
fn plain_output_is_the_signature_alone_and_stderr_shows_the_actions() {
    let file = libxmtp_updates();
    let create = &file.inboxes[0].steps[0].wallet_signatures[0];
    let run = run_with_stdin(&["--device", "emulator", "inbox", "sign"], &create.text);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        format!("0x{}\n", create.signature.trim_start_matches("0x"))
    );
    assert!(
        run.stderr
            .contains("- Create inbox (0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("- Grant messaging access to app ("),
        "{}",
        run.stderr
    );
}

#[test]
fn anything_but_an_inbox_text_is_refused_before_the_device() {
    let file = libxmtp_updates();
    let libxmtp_text = &file.inboxes[0].steps[0].wallet_signatures[0].text;
    let refused = [
        "XMTP : Create Identity\n0a0b\n\nFor more info: https://xmtp.org/signatures/".to_owned(),
        "Send 1 ETH to 0x0000000000000000000000000000000000000000".to_owned(),
        format!("{libxmtp_text}\n"),
        libxmtp_text.replace("- Create inbox", "- Create inbox now"),
        String::new(),
    ];
    for text in refused {
        // No device listens there: reaching it would fail with another code.
        let run = run_with_stdin(
            &["--device", "tcp://127.0.0.1:1", "--json", "inbox", "sign"],
            &text,
        );
        run.assert_code(1);
        let error = run.json_error();
        assert_eq!(error["code"], "usage");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("Authenticate to inbox"),
            "{error}"
        );
    }
}

#[test]
fn a_text_creating_another_accounts_inbox_is_refused() {
    let file = libxmtp_updates();
    // Inbox B's create is owned by W3; the device signs as account 0.
    let other = &file.inboxes[1].steps[0].wallet_signatures[0].text;
    let run = run_with_stdin(&["--device", "emulator", "--json", "inbox", "sign"], other);
    run.assert_code(1);
    let message = run.error_message();
    assert!(
        message.contains("0x90F79bf6EB2c4f870365E785982E1f101E93b906"),
        "{message}"
    );
}

#[test]
fn a_text_rejected_on_the_device_prints_no_signature() {
    let device = common::cli::Service::emulator(&["--policy", "reject"]);
    let file = libxmtp_updates();
    let create = &file.inboxes[0].steps[0].wallet_signatures[0].text;
    let device_flag = format!("tcp://{}", device.addr);
    let run = run_with_stdin(
        &["--device", &device_flag, "--json", "inbox", "sign"],
        create,
    );
    run.assert_code(20);
    assert_eq!(run.json_error()["code"], "rejected");
    assert!(!run.stdout.contains("signature"), "{}", run.stdout);
}
