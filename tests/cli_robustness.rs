//! Ordinary use never panics: a reader that closes the pipe (`| head -1`) ends the
//! command quietly, and values of flags and variables that cannot be represented are
//! usage errors (exit 1), checked before anything is opened.

mod common;

use std::net::TcpListener;
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
