//! What the person is told around each approval: what the Ledger will show and what to
//! compare before it, a line that stays once it is given, and, when something fails,
//! which step it was and what was or was not signed and published.

mod common;

use common::cli::{ACCOUNT_0, Run, Setup};

/// The index of the first line of `text` containing `what`.
fn line_of(text: &str, what: &str) -> usize {
    text.lines()
        .position(|line| line.contains(what))
        .unwrap_or_else(|| panic!("no line with {what:?} in:\n{text}"))
}

#[test]
fn each_signature_is_explained_before_and_acknowledged_after() {
    let setup = Setup::new();
    let init = setup.run(&["init"]);
    init.assert_code(0);
    let err = &init.stderr;
    let account = format!("for {ACCOUNT_0} (m/44'/60'/0'/0/0)");
    let lines: Vec<&str> = err.lines().collect();
    for (step, header, pages) in [
        (1, "XMTP : Create Identity", 5),
        (2, "XMTP : Enable Identity", 3),
    ] {
        let guide = line_of(
            err,
            &format!(
                "signature {step} of 2 {account}: the Ledger shows 'Review message', then \
                 {pages} pages (Nano S Plus and Nano X layout; a tcp:// device does not say \
                 its model, a Stax or Flex pages differently):"
            ),
        );
        // The pages as the device lays them out; their lines, joined, are the text with
        // line breaks as spaces.
        let shown: Vec<&str> = lines[guide + 1..=guide + pages].to_vec();
        let mut text = String::new();
        for (i, page) in shown.iter().enumerate() {
            let title = format!("  Message ({}/{pages})", i + 1);
            let rest = page
                .strip_prefix(&title)
                .unwrap_or_else(|| panic!("{page:?} is not page {}", i + 1));
            text.push_str(&rest.trim_start().replace(" | ", ""));
        }
        assert!(
            text.starts_with(&format!("{header} "))
                && text.ends_with("  For more info: https://xmtp.org/signatures/"),
            "{text}"
        );
        assert_eq!(lines[guide + pages + 1], "  then 'Sign message'");
        let hex = text
            .strip_prefix(header)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("hex");
        assert_eq!(
            lines[guide + pages + 2],
            format!(
                "  compare the hex on its screen: starts {}, ends {} ({} digits)",
                &hex[..8],
                &hex[hex.len() - 8..],
                hex.len()
            )
        );
        let prompt = line_of(err, &format!("review '{header}' and approve ({step} of 2)"));
        let approved = line_of(err, &format!("✔ approved {step} of 2: {header}"));
        assert!(guide < prompt && prompt < approved, "{err}");
    }
}

#[test]
fn a_rejection_at_the_second_prompt_says_the_first_was_given_and_nothing_published() {
    let setup = Setup::with_emulator(&["--reject-containing", "XMTP : Enable Identity"]);
    for json in [false, true] {
        let run: Run = setup.run(if json { &["--json", "init"] } else { &["init"] });
        run.assert_code(20);
        let message = if json {
            let error = run.json_error();
            assert_eq!(error["code"], "rejected");
            error["message"].as_str().expect("message").to_owned()
        } else {
            run.stderr.clone()
        };
        assert!(
            message.contains(
                "approval 2 of 2 ('XMTP : Enable Identity'), after 1 approval given \
                 (XMTP : Create Identity); nothing was published"
            ),
            "{message}"
        );
        assert!(run.stderr.contains("✔ approved 1 of 2"), "{}", run.stderr);
        assert!(!run.stderr.contains("✔ approved 2 of 2"), "{}", run.stderr);
    }
    setup.run(&["verify", ACCOUNT_0]).assert_code(4);
}

#[test]
fn address_confirm_prints_the_address_before_the_device_shows_it() {
    let setup = Setup::new();
    let run = setup.run(&["address", "--confirm"]);
    run.assert_code(0);
    let before = line_of(
        &run.stderr,
        &format!("the Ledger will show the address of m/44'/60'/0'/0/0; it must read {ACCOUNT_0}"),
    );
    let prompt = line_of(&run.stderr, "Ledger: compare the address, then approve");
    let after = line_of(
        &run.stderr,
        &format!("✔ confirmed on the Ledger: {ACCOUNT_0}"),
    );
    assert!(before < prompt && prompt < after, "{}", run.stderr);
    assert!(run.stdout.contains(ACCOUNT_0), "{}", run.stdout);

    let rejecting = Setup::with_emulator(&["--policy", "reject"]);
    let run = rejecting.run(&["--json", "address", "--confirm"]);
    run.assert_code(20);
    let error = run.json_error();
    assert_eq!(error["code"], "rejected");
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("address confirmation was rejected")
            && message.contains(&format!("{ACCOUNT_0} was not confirmed")),
        "{message}"
    );
}

/// In `--policy ask`, a key typed before a review is shown does not answer it: the
/// emulator runs on a pseudo-terminal (`script`), a `y` is typed ahead, and the review
/// that follows still waits for the person, who then rejects it.
#[test]
fn the_emulator_in_ask_mode_discards_type_ahead() {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let emulator = format!(
        "{} emulator --listen 127.0.0.1:0 --policy ask --ready-file {}",
        common::cli::binary().display(),
        ready.display()
    );
    // util-linux `script` gives the emulator a terminal of its own, fed from our pipe.
    let mut terminal = Command::new("script")
        .args(["-qfec", &emulator, "/dev/null"])
        .env_remove("XMTP_LEDGER_EMULATOR_POLICY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("`script` (util-linux) is needed: `bash .ci/install-deps` installs it");
    let screen = Arc::new(Mutex::new(String::new()));
    {
        let screen = Arc::clone(&screen);
        let mut out = terminal.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    let wait_for = |what: &dyn Fn(&str) -> bool, why: &str| {
        let started = Instant::now();
        while !what(&screen.lock().unwrap()) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no {why}:\n{}",
                screen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let started = Instant::now();
    while !ready.exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "no ready file");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ready: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
    let device = ready["device"].as_str().unwrap().to_owned();
    let mut keys = terminal.stdin.take().unwrap();

    // Typed ahead, and echoed by the terminal: it is in the terminal's input queue.
    keys.write_all(b"y\n").unwrap();
    keys.flush().unwrap();
    wait_for(
        &|s| s.contains("\ny\r\n") || s.contains("\ny\n"),
        "echo of the y",
    );

    let mut confirm = common::cli::command()
        .args(["--device", &device, "address", "--confirm"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&|s| s.contains("b: both buttons"), "review prompt");
    // The review still waits: the y typed ahead did not answer it.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        confirm.try_wait().unwrap().is_none(),
        "the y typed ahead answered the review"
    );
    keys.write_all(b"n\n").unwrap();
    keys.flush().unwrap();
    let status = confirm.wait().unwrap();
    assert_eq!(status.code(), Some(20), "{}", screen.lock().unwrap());
    let _ = terminal.kill();
    let _ = terminal.wait();
}
