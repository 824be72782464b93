//! How long the CLI waits for the device: `--timeout` bounds every exchange the device
//! answers by itself (a silent device is exit 2 after about that long, never a hang), never
//! the time a person takes to approve.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cli::{ACCOUNT_0, Run, command};
use ledger_app::tcp::TcpServer;
use ledger_app::{ApprovalPolicy, SoftwareDevice};

/// Longer than any run here should take: past it the run is killed and the test fails,
/// so a hang shows up as a failure rather than a stuck test suite.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// A "device" that accepts connections and reads what it is sent, but never answers.
fn silent_device() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut sink = [0u8; 512];
                while matches!(socket.read(&mut sink), Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

/// A running `xmtp-ledger` whose stderr is collected line by line as it comes.
struct Running {
    child: Child,
    stderr: Arc<Mutex<String>>,
    started: Instant,
}

impl Running {
    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start xmtp-ledger");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr");
        let collected = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut text = collected.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Self {
            child,
            stderr,
            started: Instant::now(),
        }
    }

    /// Waits for the exit (killing it past the hang guard) and returns what it printed and
    /// how long it ran.
    fn finish(mut self) -> (Run, Duration) {
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if self.started.elapsed() > HANG_GUARD {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("still running after {HANG_GUARD:?}:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let elapsed = self.started.elapsed();
        let mut stdout = String::new();
        if let Some(mut pipe) = self.child.stdout.take() {
            let _ = pipe.read_to_string(&mut stdout);
        }
        // Let the collector drain the closed pipe.
        std::thread::sleep(Duration::from_millis(50));
        let run = Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr: self.stderr(),
        };
        (run, elapsed)
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_silent_device_fails_the_command_after_the_timeout() {
    let device = format!("tcp://{}", silent_device());
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("identity");
    let runs: [(&str, Vec<&str>); 2] = [
        ("address", vec!["--timeout", "1", "address"]),
        (
            "init --out, timeout from the environment",
            vec!["init", "--out", out_dir.to_str().unwrap()],
        ),
    ];
    for (what, args) in runs {
        let mut cli = command();
        cli.args(["--device", &device])
            .args(&args)
            .env("XMTP_LEDGER_TIMEOUT", "1");
        let (run, elapsed) = Running::spawn(cli).finish();
        run.assert_code(2);
        assert!(
            run.stderr.contains("the Ledger did not answer within 1 s"),
            "{what}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
        // Bounds against a hang and against failing at once, not a speed target.
        assert!(
            elapsed > Duration::from_millis(500) && elapsed < Duration::from_secs(10),
            "{what}: {elapsed:?}"
        );
        assert!(run.stdout.is_empty(), "{what}: {}", run.stdout);
    }
    assert!(!out_dir.exists(), "nothing written for a failed init --out");
}

/// Approves each review after `pace`, as a person reading it would.
fn slow_person(pace: Duration) -> TcpServer {
    let device = Arc::new(SoftwareDevice::with_test_mnemonic());
    device.set_approval(ApprovalPolicy::ask(move |_| {
        std::thread::sleep(pace);
        true
    }));
    TcpServer::spawn_ephemeral(device).expect("device")
}

#[test]
fn the_timeout_never_cuts_an_approval() {
    // Each approval takes 2 s; the timeout is 1 s.
    let server = slow_person(Duration::from_secs(2));
    let device = format!("tcp://{}", server.local_addr());
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("identity");

    let mut cli = command();
    cli.args(["--device", &device, "--timeout", "1", "--json"])
        .args(["address", "--confirm"]);
    let (run, elapsed) = Running::spawn(cli).finish();
    run.assert_code(0);
    assert_eq!(run.json()["address"], ACCOUNT_0);
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");

    let mut cli = command();
    cli.args(["--device", &device, "--timeout", "1"]).args([
        "init",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let (run, elapsed) = Running::spawn(cli).finish();
    run.assert_code(0);
    assert!(out_dir.join("private-store.bin").exists(), "{}", run.stderr);
    assert!(
        elapsed >= Duration::from_secs(4),
        "two approvals: {elapsed:?}"
    );
}
