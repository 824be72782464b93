//! Ordinary use never panics: a reader that closes the pipe (`| head -1`) ends the
//! command quietly, a stderr nobody reads is no reason to panic, and values of flags and
//! variables that cannot be represented (out of range, not UTF-8, unbindable addresses,
//! impossible derivation paths) are usage errors (exit 1), checked before anything is opened.

mod common;

use std::ffi::OsStr;
use std::net::TcpListener;
use std::os::unix::ffi::OsStrExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::cli::command;

const ACCOUNT_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

/// Runs `args` with stdout a pipe whose reading end is already closed, as `| head -1`
/// leaves it once it has its line: every write fails with EPIPE.
fn with_closed_stdout(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let output = command()
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    for args in [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["udev", "print"],
        &["--device", "emulator", "address"],
        &["--help"],
    ] {
        let (code, stderr) = with_closed_stdout(args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn timeouts_that_cannot_be_represented_are_usage_errors() {
    for value in ["0", "18446744073709551615", "86401", "-1", "ten"] {
        let flag = command()
            .arg(format!("--timeout={value}"))
            .args(["--network", "http://127.0.0.1:1"])
            .args(["verify", ACCOUNT_0])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&flag.stderr);
        assert_eq!(flag.status.code(), Some(1), "--timeout {value}: {stderr}");
        assert!(stderr.contains("--timeout"), "{stderr}");

        let variable = command()
            .env("XMTP_LEDGER_TIMEOUT", value)
            .args(["--network", "http://127.0.0.1:1", "verify", ACCOUNT_0])
            .output()
            .expect("run");
        assert_eq!(
            variable.status.code(),
            Some(1),
            "XMTP_LEDGER_TIMEOUT={value}: {}",
            String::from_utf8_lossy(&variable.stderr)
        );
    }
    // The largest accepted value works against a real node (it used to overflow the
    // timers and panic there).
    let setup = common::cli::Setup::new();
    setup
        .run(&["--timeout", "86400", "verify", ACCOUNT_0])
        .assert_code(4);
}

#[test]
fn the_timeout_bounds_a_node_operation_with_all_its_retries() {
    // Accepts connections and never answers: every attempt runs into its deadline.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in listener.incoming().flatten() {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let output = command()
        .args(["--timeout", "1", "--network", &format!("http://{addr}")])
        .args(["verify", ACCOUNT_0])
        .output()
        .expect("run");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    // One second for the whole query, retries included (5 attempts of 1 s plus their
    // backoff took over 6 s before); the margin is for a slow machine, not for retries.
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}: {stderr}");
}

/// Runs `args` with `env`, asserting there was no panic; returns the exit code, stdout and
/// stderr.
fn run(args: &[&OsStr], env: &[(&str, &OsStr)]) -> (Option<i32>, String, String) {
    let mut cli = command();
    cli.args(args);
    for (name, value) in env {
        cli.env(name, value);
    }
    let output = cli.output().expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{args:?} {env:?}: {stderr}");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
    )
}

fn os<'a>(texts: &[&'a str]) -> Vec<&'a OsStr> {
    texts.iter().map(|text| OsStr::new(*text)).collect()
}

/// Bytes that are not UTF-8.
fn not_utf8() -> &'static OsStr {
    OsStr::from_bytes(b"\xff\xfe words")
}

#[test]
fn a_stderr_nobody_reads_is_no_reason_to_panic() {
    // A pipe whose reader is gone: every write to stderr fails with EPIPE, where
    // eprintln! panics (exit 101).
    for (args, code) in [
        // Warns on stderr (the software device), then prints its result.
        (&["--device", "emulator", "address"][..], 0),
        // Fails, and its error cannot be shown.
        (&["--device", "tcp://127.0.0.1:1", "address"], 23),
        (&["--device", "tcp://127.0.0.1:1", "--json", "address"], 23),
    ] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let output = command()
            .args(args)
            .stderr(writer)
            .stdout(Stdio::piped())
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(code), "{args:?}");
        if code == 0 {
            assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), ACCOUNT_0);
        }
    }
}

#[test]
fn secrets_in_the_environment_that_are_not_utf8_are_usage_errors() {
    // Read as "unset" they used to fall back to the public test mnemonic, or to the
    // account without the passphrase, with exit 0.
    for name in ["XMTP_LEDGER_MNEMONIC", "XMTP_LEDGER_PASSPHRASE"] {
        let (code, stdout, stderr) = run(
            &os(&["--device", "emulator", "address"]),
            &[(name, not_utf8())],
        );
        assert_eq!(code, Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains(name) && stderr.contains("UTF-8"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("words\""),
            "the value is never printed: {stderr}"
        );
        assert!(stdout.is_empty(), "{stdout}");
    }
}

#[test]
fn flag_values_from_the_environment_that_are_not_utf8_are_usage_errors() {
    for name in [
        "XMTP_LEDGER_DEVICE",
        "XMTP_LEDGER_NETWORK",
        "XMTP_LEDGER_HD_PATH",
        "XMTP_LEDGER_ACCOUNT",
        "XMTP_LEDGER_TIMEOUT",
        "XMTP_LEDGER_VERBOSE",
    ] {
        let (code, _, stderr) = run(&os(&["address"]), &[(name, not_utf8())]);
        assert_eq!(code, Some(1), "{name}: {stderr}");
    }
    let (code, _, stderr) = run(
        &[
            OsStr::new("emulator"),
            OsStr::new("--listen"),
            OsStr::new("127.0.0.1:0"),
            OsStr::new("--reject-containing"),
            not_utf8(),
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{stderr}");
}

#[test]
fn accounts_and_paths_at_the_edges_are_usage_errors() {
    // Checked safe (no panic before this test either); kept so it stays that way.
    let long_path = format!("m/44'/60'{}", "/0".repeat(2000));
    let cases: Vec<Vec<&str>> = vec![
        vec!["--account", "2147483648"],
        vec!["--account", "4294967295"],
        vec!["--account", "4294967296"],
        vec!["--legacy", "2147483648"],
        vec!["--legacy", "4294967295"],
        vec!["--legacy", "0..9"],
        vec!["--legacy", "3,7"],
        vec!["--hd-path", ""],
        vec!["--hd-path", "m"],
        vec!["--hd-path", "m/"],
        vec!["--hd-path", "m//0"],
        vec!["--hd-path", "m/44'/60'/0'/0/0/"],
        vec!["--hd-path", "m/2147483648'"],
        vec!["--hd-path", "m/2147483648"],
        vec!["--hd-path", "m/4294967296"],
        vec!["--hd-path", "m/0'h"],
        vec!["--hd-path", "m/+1"],
        vec!["--hd-path", &long_path],
    ];
    for flags in cases {
        let mut args = os(&["--device", "emulator"]);
        args.extend(flags.iter().map(OsStr::new));
        args.push(OsStr::new("address"));
        let (code, stdout, stderr) = run(&args, &[]);
        assert_eq!(code, Some(1), "{flags:?}: {stderr}");
        assert!(stdout.is_empty(), "{flags:?}: {stdout}");
    }
    // The largest account that exists works.
    let (code, _, stderr) = run(
        &os(&["--device", "emulator", "--account", "2147483647", "address"]),
        &[],
    );
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn verbosity_out_of_range_is_a_usage_error() {
    // Checked safe; clap bounds the count to a u8 and refuses the rest.
    for value in ["256", "99999999999999999999", "-1", ""] {
        let (code, _, stderr) = run(
            &os(&["--device", "emulator", "address"]),
            &[("XMTP_LEDGER_VERBOSE", OsStr::new(value))],
        );
        assert_eq!(code, Some(1), "XMTP_LEDGER_VERBOSE={value:?}: {stderr}");
    }
    // Repeating -v past 255 saturates.
    let many = format!("-{}", "v".repeat(300));
    let (code, _, stderr) = run(&os(&["--device", "emulator", &many, "address"]), &[]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn listen_addresses_that_cannot_be_bound_are_usage_errors() {
    // Checked safe.
    let long = format!("{}:1", "a".repeat(5000));
    for value in ["::::", "127.0.0.1:99999", "", "localhost", long.as_str()] {
        for args in [
            vec!["emulator", "--listen", value],
            vec!["node", "--listen", value],
            vec!["node", "--listen", "127.0.0.1:0", "--http-listen", value],
        ] {
            let (code, _, stderr) = run(
                &os(&args),
                &[("XMTP_LEDGER_NODE_DB", OsStr::new("/nonexistent/db"))],
            );
            assert_eq!(code, Some(1), "{args:?}: {stderr}");
        }
    }
}
