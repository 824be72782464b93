//! `verify` over many addresses (arguments and stdin, one JSON line each) and
//! `verify --history` after a re-key, against the built binary, a software device and a
//! node on loopback ports.

mod common;

use common::cli::{ACCOUNT_0, LEDGER_LIVE_1, Run, Setup};

/// An address nobody publishes for here (Hardhat's account #2).
const NOBODY: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

/// Runs the binary against `setup`'s node with `input` on stdin.
fn run_with_stdin(setup: &Setup, args: &[&str], input: &str) -> Run {
    common::cli::run_with_stdin(
        common::cli::command()
            .args(["--network", &setup.network_flag()])
            .args(args),
        input,
    )
}

fn identity_key(setup: &Setup, account: &str) -> String {
    let init = setup.run(&["--account", account, "--json", "init"]);
    init.assert_code(0);
    init.json()["identity_public_key"]
        .as_str()
        .expect("identity key")
        .to_owned()
}

#[test]
fn many_addresses_answer_one_line_each_and_fail_if_any_has_no_identity() {
    let setup = Setup::new();
    let key_0 = identity_key(&setup, "0");
    let key_1 = identity_key(&setup, "1");

    let all_valid = setup.run(&["--json", "verify", ACCOUNT_0, LEDGER_LIVE_1]);
    all_valid.assert_code(0);
    let lines = all_valid.json_lines();
    assert_eq!(lines.len(), 2, "{}", all_valid.stdout);
    assert_eq!(lines[0]["wallet_address"], ACCOUNT_0);
    assert_eq!(lines[0]["identity_public_key"], key_0.as_str());
    assert_eq!(lines[1]["wallet_address"], LEDGER_LIVE_1);
    assert_eq!(lines[1]["identity_public_key"], key_1.as_str());

    let one_missing = setup.run(&["--json", "verify", ACCOUNT_0, NOBODY, LEDGER_LIVE_1]);
    one_missing.assert_code(4);
    let lines = one_missing.json_lines();
    assert_eq!(
        lines.len(),
        4,
        "three answers and the error: {}",
        one_missing.stdout
    );
    let valid: Vec<_> = lines[..3].iter().map(|l| l["valid"].clone()).collect();
    assert_eq!(valid, [true, false, true]);
    assert_eq!(lines[1]["wallet_address"], NOBODY);
    assert_eq!(lines[3]["error"]["code"], "verification_failed");
    assert!(
        lines[3]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 of 3 addresses"),
        "{}",
        lines[3]
    );

    // Human text: one line per address, naming its state.
    let human = setup.run(&["verify", ACCOUNT_0, NOBODY]);
    human.assert_code(4);
    let lines: Vec<_> = human.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", human.stdout);
    assert!(
        lines[0].starts_with(&format!("{ACCOUNT_0}  valid")),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(&format!("{NOBODY}  none")),
        "{}",
        lines[1]
    );
}

#[test]
fn addresses_from_stdin_skip_blanks_and_comments_and_refuse_a_bad_line_first() {
    let setup = Setup::new();
    identity_key(&setup, "0");

    let list = format!("# custody accounts\n{ACCOUNT_0}\n\n  {NOBODY}  \n");
    let run = run_with_stdin(&setup, &["--json", "verify", "-"], &list);
    run.assert_code(4);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[1]["wallet_address"], NOBODY);
    assert_eq!(lines[1]["valid"], false);

    // A list of one from stdin still answers in lines.
    let run = run_with_stdin(&setup, &["--json", "verify", "-"], ACCOUNT_0);
    run.assert_code(0);
    assert_eq!(run.json_lines().len(), 1);

    // A bad line is a usage error naming it, before anything is printed or asked.
    let bad = format!("{ACCOUNT_0}\n\n0x1234\n");
    let run = run_with_stdin(&setup, &["--json", "verify", "-"], &bad);
    run.assert_code(1);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 1, "only the error: {}", run.stdout);
    assert_eq!(lines[0]["error"]["code"], "usage");
    assert!(
        lines[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stdin line 3"),
        "{}",
        lines[0]
    );

    let empty = run_with_stdin(&setup, &["verify", "-"], "# nothing\n\n");
    empty.assert_code(1);
    assert!(
        empty.stderr.contains("no address to verify"),
        "{}",
        empty.stderr
    );
    let twice = run_with_stdin(&setup, &["verify", "-", "-"], ACCOUNT_0);
    twice.assert_code(1);
}

#[test]
fn history_lists_every_identity_newest_first_after_a_re_key() {
    let setup = Setup::new();
    let first = identity_key(&setup, "0");
    let replaced = setup.run(&["--json", "init", "--force"]);
    replaced.assert_code(0);
    let second = replaced.json()["identity_public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);

    let run = setup.run(&["--json", "verify", "--history", ACCOUNT_0]);
    run.assert_code(0);
    let history = run.json();
    assert_eq!(history["wallet_address"], ACCOUNT_0);
    let identities = history["identities"].as_array().expect("identities");
    assert_eq!(identities.len(), 2, "{history}");
    assert_eq!(identities[0]["identity_public_key"], second.as_str());
    assert_eq!(identities[0]["current"], true);
    assert_eq!(identities[1]["identity_public_key"], first.as_str());
    assert_eq!(identities[1]["current"], false);
    for identity in identities {
        assert_eq!(identity["contact_bundles"], 2, "a v1 and a v2: {identity}");
        assert!(identity["newest_ns"].as_u64() >= identity["oldest_ns"].as_u64());
        assert_eq!(identity["pre_key_public_keys"].as_array().unwrap().len(), 1);
    }
    assert!(
        identities[0]["oldest_ns"].as_u64() >= identities[1]["newest_ns"].as_u64(),
        "newest first: {history}"
    );

    // The plain verify agrees that the second is current.
    let verify = setup.run(&["--json", "verify", ACCOUNT_0]);
    assert_eq!(verify.json()["identity_public_key"], second.as_str());

    let human = setup.run(&["verify", "--history", ACCOUNT_0]);
    human.assert_code(0);
    assert!(
        human
            .stdout
            .contains("has published 2 identities, newest first"),
        "{}",
        human.stdout
    );

    let none = setup.run(&["--json", "verify", "--history", NOBODY]);
    none.assert_code(4);
    assert_eq!(none.json()["identities"].as_array().unwrap().len(), 0);
}

#[test]
fn unlock_from_a_file_warns_when_its_identity_is_no_longer_the_newest() {
    let setup = Setup::new();
    let out = setup.dir.path().join("backup");
    let out_arg = out.to_str().unwrap().to_owned();
    setup.run(&["init", "--out", &out_arg]).assert_code(0);
    setup.run(&["publish", &out_arg]).assert_code(0);
    let store = out.join("private-store.bin");
    let store_arg = store.to_str().unwrap();

    let current = setup.run(&["unlock", "--from-file", store_arg, "--check-node"]);
    current.assert_code(0);
    assert!(
        current.stderr.contains("this is the newest identity"),
        "{}",
        current.stderr
    );
    assert!(
        !current.stderr.contains("no longer the newest"),
        "{}",
        current.stderr
    );

    setup.run(&["init", "--force"]).assert_code(0);
    let stale = setup.run(&["unlock", "--from-file", store_arg, "--check-node"]);
    stale.assert_code(0);
    assert!(
        stale.stderr.contains("is no longer the newest"),
        "{}",
        stale.stderr
    );

    // Without --check-node it stays offline and says nothing of the node.
    let offline = setup.run(&["unlock", "--from-file", store_arg]);
    offline.assert_code(0);
    assert!(!offline.stderr.contains("newest"), "{}", offline.stderr);
}
