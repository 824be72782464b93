//! What a CI script needs to start the software device and a node in the background
//! without racing them: `wait` (ready, or the documented exit code saying what was not),
//! the services' `--ready-file`, and services that cannot start failing at once.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::{ACCOUNT_0, Run, command};

/// Past this a run is killed and the test fails: a hang shows up as a failure.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Runs `command` to its end (bounded by [`HANG_GUARD`]); returns what it printed and how
/// long it took.
fn run_timed(mut command: Command) -> (Run, Duration) {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start xmtp-ledger");
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    };
    (run, elapsed)
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// `xmtp-ledger ARGS` with nothing from the caller's environment.
fn xmtp(args: &[&str]) -> Command {
    let mut cli = command();
    cli.args(args);
    cli
}

fn keys(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// A service started with its stdout read line by line (`Service` reads only one).
struct Started {
    child: Child,
    lines: Vec<String>,
}

impl Started {
    /// Starts `command` and reads `lines` lines of its stdout (the addresses it prints
    /// once listening).
    fn spawn(mut command: Command, lines: usize) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start service");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let lines = (0..lines)
            .map(|_| {
                let mut line = String::new();
                stdout.read_line(&mut line).expect("read address");
                line.trim().to_owned()
            })
            .collect();
        Self { child, lines }
    }

    /// SIGTERM, then the exit code.
    fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().expect("wait").code()
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text:?}", path.display()))
}

#[test]
fn ready_files_name_the_addresses_until_the_service_stops() {
    let dir = tempfile::tempdir().unwrap();
    let node_file = dir.path().join("node.json");
    // A file left by an earlier run is replaced.
    std::fs::write(&node_file, "stale").unwrap();
    let db = dir.path().join("node.sqlite3");
    let node = Started::spawn(
        xmtp(&[
            "node",
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
            "--db",
            db.to_str().unwrap(),
            "--ready-file",
            node_file.to_str().unwrap(),
        ]),
        2,
    );
    // Written before the addresses are printed.
    let ready = read_json(&node_file);
    assert_eq!(keys(&ready), ["grpc", "http", "pid", "url"], "{ready}");
    assert_eq!(ready["grpc"], node.lines[0].as_str());
    assert_eq!(ready["http"], node.lines[1].as_str());
    assert_eq!(ready["url"], format!("http://{}", node.lines[0]).as_str());
    assert_eq!(ready["pid"], node.child.id());

    let device_file = dir.path().join("device.json");
    let mut emulator = xmtp(&["emulator", "--listen", "127.0.0.1:0"]);
    emulator.env("XMTP_LEDGER_EMULATOR_READY_FILE", &device_file);
    let device = Started::spawn(emulator, 1);
    let ready_device = read_json(&device_file);
    assert_eq!(
        keys(&ready_device),
        ["device", "listen", "pid"],
        "{ready_device}"
    );
    assert_eq!(ready_device["listen"], device.lines[0].as_str());
    assert_eq!(
        ready_device["device"],
        format!("tcp://{}", device.lines[0]).as_str()
    );
    assert_eq!(ready_device["pid"], device.child.id());

    // What the files say is what a client uses: the device answers, and the node does
    // (no identity there yet is exit 4; an unreachable node would be 3).
    let (run, _) = run_timed(xmtp(&[
        "--device",
        ready_device["device"].as_str().unwrap(),
        "address",
    ]));
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), ACCOUNT_0);
    let (run, _) = run_timed(xmtp(&[
        "--network",
        ready["url"].as_str().unwrap(),
        "verify",
        ACCOUNT_0,
    ]));
    run.assert_code(4);

    assert_eq!(node.terminate(), Some(0));
    assert_eq!(device.terminate(), Some(0));
    assert!(!node_file.exists(), "the node's ready file outlived it");
    assert!(
        !device_file.exists(),
        "the emulator's ready file outlived it"
    );
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with("node.sqlite3"))
        .collect();
    left.sort();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_service_removes_only_its_own_ready_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ready.json");
    let path = file.to_str().unwrap();
    let first = Started::spawn(
        xmtp(&["emulator", "--listen", "127.0.0.1:0", "--ready-file", path]),
        1,
    );
    let second = Started::spawn(
        xmtp(&["emulator", "--listen", "127.0.0.1:0", "--ready-file", path]),
        1,
    );
    assert_eq!(read_json(&file)["listen"], second.lines[0].as_str());
    assert_eq!(first.terminate(), Some(0));
    assert_eq!(
        read_json(&file)["listen"],
        second.lines[0].as_str(),
        "the first emulator removed the second one's file"
    );
    assert_eq!(second.terminate(), Some(0));
    assert!(!file.exists());
}

#[test]
fn services_that_cannot_start_exit_at_once_saying_why() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("node.sqlite3");
    let db = db.to_str().unwrap();
    let file = dir.path().join("ready.json");
    let ready = file.to_str().unwrap();
    let missing_dir = dir.path().join("no-such-dir/ready.json");
    let cases: [(Vec<&str>, &str); 5] = [
        (
            vec!["emulator", "--listen", &taken, "--ready-file", ready],
            "Address already in use",
        ),
        (
            vec![
                "node",
                "--listen",
                &taken,
                "--db",
                db,
                "--ready-file",
                ready,
            ],
            "Address already in use",
        ),
        (
            vec![
                "node",
                "--listen",
                "127.0.0.1:0",
                "--http-listen",
                &taken,
                "--db",
                db,
                "--ready-file",
                ready,
            ],
            "Address already in use",
        ),
        (
            vec![
                "emulator",
                "--listen",
                "127.0.0.1:0",
                "--ready-file",
                missing_dir.to_str().unwrap(),
            ],
            "does not exist",
        ),
        (
            vec![
                "node",
                "--listen",
                "127.0.0.1:0",
                "--db",
                db,
                "--ready-file",
                dir.path().to_str().unwrap(),
            ],
            "is a directory",
        ),
    ];
    for (args, says) in cases {
        let (run, elapsed) = run_timed(xmtp(&args));
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        if says.contains("in use") {
            assert!(
                run.stderr.contains(&format!("cannot listen on {taken}")),
                "{args:?}: {}",
                run.stderr
            );
        }
        assert!(run.stdout.is_empty(), "{args:?} printed {:?}", run.stdout);
        assert!(!file.exists(), "{args:?} wrote a ready file");
        assert!(elapsed < Duration::from_secs(10), "{args:?}: {elapsed:?}");
    }
}
