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
    for (step, header) in [(1, "XMTP : Create Identity"), (2, "XMTP : Enable Identity")] {
        let guide = line_of(
            err,
            &format!("signature {step} of 2 {account}: the Ledger shows 'Review message'"),
        );
        // The text as the device pages it: line breaks as spaces, footer included.
        let shown = err.lines().nth(guide + 1).expect("text line");
        assert!(
            shown.starts_with(&format!("  {header} "))
                && shown.ends_with("  For more info: https://xmtp.org/signatures/"),
            "{shown}"
        );
        let hex = shown
            .trim()
            .strip_prefix(header)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("hex");
        let compare = err.lines().nth(guide + 2).expect("compare line");
        assert_eq!(
            compare,
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
    assert_eq!(hex_digits(err, "XMTP : Enable Identity"), 64);
}

/// The length of the hex line of the text shown for `header`.
fn hex_digits(stderr: &str, header: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{header} ")))
        .and_then(|rest| rest.split_whitespace().next())
        .map_or(0, str::len)
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
