//! What a CI pipeline sets: `XMTP_LEDGER_*` variables, their boolean spellings, how they
//! combine with typed flags, and that every one the tool reads is documented in `--help`
//! and README.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::cli::{ACCOUNT_0, LEDGER_LIVE_1, Run, Setup, command};

/// `xmtp-ledger --device emulator ARGS` with `vars` set.
fn emulator(args: &[&str], vars: &[(&str, &str)]) -> Run {
    command()
        .args(["--device", "emulator"])
        .args(args)
        .envs(vars.iter().copied())
        .output()
        .expect("run xmtp-ledger")
        .into()
}

#[test]
fn boolean_variables_take_the_usual_spellings_and_refuse_others() {
    for yes in ["1", "true", "TRUE", "yes", "on"] {
        let run = emulator(&["address"], &[("XMTP_LEDGER_JSON", yes)]);
        run.assert_code(0);
        assert_eq!(run.json()["address"], ACCOUNT_0, "XMTP_LEDGER_JSON={yes}");
    }
    for no in ["0", "false", "no", "off"] {
        let run = emulator(&["address"], &[("XMTP_LEDGER_JSON", no)]);
        run.assert_code(0);
        assert_eq!(run.stdout.trim(), ACCOUNT_0, "XMTP_LEDGER_JSON={no}");
    }
    let run = emulator(&["address"], &[("XMTP_LEDGER_JSON", "maybe")]);
    run.assert_code(1);
    assert!(run.stderr.contains("maybe"), "{}", run.stderr);

    // Quiet: nothing but errors on stderr (not even the software-device warning).
    let quiet = emulator(&["address"], &[("XMTP_LEDGER_QUIET", "yes")]);
    quiet.assert_code(0);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
    let quiet_error = emulator(
        &[
            "--network",
            "http://127.0.0.1:9",
            "--timeout",
            "1",
            "verify",
            ACCOUNT_0,
        ],
        &[("XMTP_LEDGER_QUIET", "yes")],
    );
    quiet_error.assert_code(3);
    assert!(
        quiet_error.stderr.starts_with("error: "),
        "{}",
        quiet_error.stderr
    );
}

#[test]
fn a_typed_flag_wins_over_a_conflicting_variable() {
    // An exported account and a typed path: the typed path.
    let run = emulator(
        &["--json", "--hd-path", "m/44'/60'/1'/0/0", "address"],
        &[("XMTP_LEDGER_ACCOUNT", "5")],
    );
    run.assert_code(0);
    assert_eq!(run.json()["address"], LEDGER_LIVE_1);
    assert_eq!(run.json()["hd_path"], "m/44'/60'/1'/0/0");
    // And typed after the subcommand too.
    let run = emulator(
        &["--json", "address", "--account", "1"],
        &[("XMTP_LEDGER_LEGACY", "3")],
    );
    run.assert_code(0);
    assert_eq!(run.json()["address"], LEDGER_LIVE_1);

    // -vv typed over an exported quiet: the debug log is shown.
    let run = emulator(&["-vv", "address"], &[("XMTP_LEDGER_QUIET", "1")]);
    run.assert_code(0);
    assert!(run.stderr.contains("DEBUG"), "{}", run.stderr);
    let run = emulator(&["address"], &[("XMTP_LEDGER_QUIET", "1")]);
    assert!(!run.stderr.contains("DEBUG"), "{}", run.stderr);
}

#[test]
fn conflicts_typed_together_or_set_together_are_usage_errors_naming_them() {
    let run = emulator(
        &[
            "--json",
            "--account",
            "1",
            "--hd-path",
            "m/44'/60'/1'/0/0",
            "address",
        ],
        &[],
    );
    run.assert_code(1);
    let error = run.json_error();
    assert_eq!(error["code"], "usage");
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("--account") && message.contains("--hd-path"),
        "{message}"
    );

    let run = emulator(
        &["--json", "address"],
        &[
            ("XMTP_LEDGER_ACCOUNT", "1"),
            ("XMTP_LEDGER_HD_PATH", "m/44'/60'/1'/0/0"),
        ],
    );
    run.assert_code(1);
    let message = run.error_message();
    assert!(
        message.contains("XMTP_LEDGER_ACCOUNT") && message.contains("XMTP_LEDGER_HD_PATH"),
        "{message}"
    );

    let run = emulator(&["-v", "-q", "address"], &[]);
    run.assert_code(1);
}

#[test]
fn xmtp_ledger_force_replaces_and_its_false_spelling_does_not() {
    let setup = Setup::new();
    setup.run(&["init"]).assert_code(0);
    let kept = setup.run_with(&["--json", "init"], |c| {
        c.env("XMTP_LEDGER_FORCE", "no");
    });
    kept.assert_code(6);
    assert_eq!(kept.json_error()["code"], "exists");
    let replaced = setup.run_with(&["--json", "init"], |c| {
        c.env("XMTP_LEDGER_FORCE", "1");
    });
    replaced.assert_code(0);
}

/// A command line clap refuses is still one JSON document with `--json`.
#[test]
fn an_unparsable_command_line_with_json_is_a_json_usage_error() {
    let run: Run = command()
        .args(["--json", "--no-such-flag"])
        .output()
        .expect("run")
        .into();
    run.assert_code(1);
    let error = run.json_error();
    assert_eq!(error["code"], "usage");
    assert!(
        error["message"]
            .as_str()
            .expect("message")
            .contains("--no-such-flag"),
        "{error}"
    );
    let run: Run = command()
        .args(["--no-such-flag"])
        .env("XMTP_LEDGER_JSON", "true")
        .output()
        .expect("run")
        .into();
    run.assert_code(1);
    assert_eq!(run.json_error()["code"], "usage");
}

/// Every `XMTP_LEDGER_*` name in the sources.
fn variables_in(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            variables_in(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read source");
            let mut rest = text.as_str();
            while let Some(at) = rest.find("XMTP_LEDGER_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                found.insert(name.trim_end_matches('_').to_owned());
                rest = &rest[at + name.len()..];
            }
        }
    }
}

#[test]
fn every_variable_the_tool_reads_is_in_help_and_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut variables = BTreeSet::new();
    variables_in(&root.join("src"), &mut variables);
    assert!(variables.len() > 10, "{variables:?}");

    let help = |args: &[&str]| -> String {
        let run: Run = command().args(args).output().expect("help").into();
        run.assert_code(0);
        run.stdout
    };
    // The subcommands a help text lists under "Commands:".
    let listed = |text: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            // Skip the continuation lines of long descriptions.
            .filter(|l| !l.starts_with("   "))
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .filter(|name| name != "help")
            .collect()
    };
    let top = help(&["--help"]);
    let subcommands = listed(&top);
    assert!(subcommands.len() > 10, "{subcommands:?}");
    let mut all_help = top.clone();
    for sub in &subcommands {
        let sub_help = help(&[sub.as_str(), "--help"]);
        // Nested subcommands (`inbox create`, `udev install`) have flags of their own.
        for nested in listed(&sub_help) {
            all_help.push_str(&help(&[sub.as_str(), nested.as_str(), "--help"]));
        }
        all_help.push_str(&sub_help);
    }
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    for variable in &variables {
        assert!(
            all_help.contains(variable.as_str()),
            "{variable} is not in any --help"
        );
        assert!(
            readme.contains(variable.as_str()),
            "{variable} is not in README.md"
        );
    }
}
