//! How long the CLI waits for the device, and how a person stops the wait: `--timeout`
//! bounds every exchange the device answers by itself (a silent device is exit 2 after
//! about that long, never a hang), never the time a person takes to approve, and Ctrl-C
//! ends the command at any time with exit 130, "cancelled", and nothing published.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cli::{ACCOUNT_0, Run, Service, command};
use ledger_app::screen::reviewed_message;
use ledger_app::tcp::TcpServer;
use ledger_app::{ApprovalPolicy, SoftwareDevice};
use xmtp_ledger::identity::Address;
use xmtp_ledger::identity::topic::{contact_topic, private_store_topic};
use xmtp_ledger::network::{BlockingClient, ClientConfig, Query};

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

    /// Waits until stderr contains `text`.
    fn wait_for_stderr(&mut self, text: &str) {
        while !self.stderr.lock().unwrap().contains(text) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "exited ({status}) before printing {text:?}:\n{}",
                    self.stderr()
                );
            }
            assert!(
                self.started.elapsed() < HANG_GUARD,
                "no {text:?} on stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill -INT");
        assert!(status.success());
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
    let runs: [(&str, Vec<&str>, bool); 3] = [
        ("address", vec!["--timeout", "1", "address"], false),
        (
            "init --out, timeout from the environment",
            vec!["init", "--out", out_dir.to_str().unwrap()],
            false,
        ),
        (
            "address --json",
            vec!["--timeout", "1", "--json", "address"],
            true,
        ),
    ];
    for (what, args, json) in runs {
        let mut cli = command();
        cli.args(["--device", &device])
            .args(&args)
            .env("XMTP_LEDGER_TIMEOUT", "1");
        let (run, elapsed) = Running::spawn(cli).finish();
        run.assert_code(2);
        // The error goes to stderr, or as the JSON document to stdout.
        let said = if json { &run.stdout } else { &run.stderr };
        assert!(
            said.contains("the Ledger did not answer within 1 s"),
            "{what}: {said}"
        );
        assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
        // Bounds against a hang and against failing at once, not a speed target.
        assert!(
            elapsed > Duration::from_millis(500) && elapsed < Duration::from_secs(10),
            "{what}: {elapsed:?}"
        );
        if json {
            let error = run.json_error();
            assert_eq!(error["code"], "device_timeout", "{error}");
            assert!(
                error["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("did not answer within 1 s")),
                "{error}"
            );
        } else {
            assert!(run.stdout.is_empty(), "{what}: {}", run.stdout);
        }
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

/// A device whose person approves "Create Identity" and then never decides on "Enable
/// Identity" (until released, so the server can shut down at the end of the test).
struct Undecided {
    server: Option<TcpServer>,
    release: Arc<AtomicBool>,
}

impl Undecided {
    fn start() -> Self {
        let release = Arc::new(AtomicBool::new(false));
        let device = Arc::new(SoftwareDevice::with_test_mnemonic());
        let released = Arc::clone(&release);
        device.set_approval(ApprovalPolicy::ask(move |screens| {
            let message = reviewed_message(screens).unwrap_or_default();
            if !message.contains("XMTP : Enable Identity") {
                return true;
            }
            while !released.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            false
        }));
        Self {
            server: Some(TcpServer::spawn_ephemeral(device).expect("device")),
            release,
        }
    }

    fn flag(&self) -> String {
        format!("tcp://{}", self.server.as_ref().unwrap().local_addr())
    }
}

impl Drop for Undecided {
    fn drop(&mut self) {
        self.release.store(true, Ordering::SeqCst);
        if let Some(server) = self.server.take() {
            let _ = server.shutdown();
        }
    }
}

/// Nothing at all on the node for `wallet`: no private store, no contact bundle.
fn assert_nothing_published(node: &str, wallet: &str) {
    let wallet: Address = wallet.parse().unwrap();
    let client = BlockingClient::connect(node, ClientConfig::default()).expect("node");
    let page = client
        .query(&Query::topics([
            private_store_topic(&wallet),
            contact_topic(&wallet),
        ]))
        .expect("query");
    assert!(
        page.envelopes.is_empty(),
        "{} envelope(s)",
        page.envelopes.len()
    );
}

/// What Ctrl-C during the second approval of `init` says.
const CANCELLED_AT_2: &str = "cancelled while waiting for approval 2 of 2 ('XMTP : Enable \
     Identity'), after 1 approval given (XMTP : Create Identity); nothing was published";

#[test]
fn ctrl_c_while_waiting_for_an_approval_cancels_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Service::node(&dir.path().join("node.sqlite3"));
    let network = format!("http://{}", node.addr);
    for json in [false, true] {
        let device = Undecided::start();
        let mut cli = command();
        cli.args(["--device", &device.flag(), "--network", &network])
            .args(json.then_some("--json"))
            .arg("init");
        let mut running = Running::spawn(cli);
        // The first signature is made; the second waits for the person.
        running.wait_for_stderr("review 'XMTP : Enable Identity' and approve (2 of 2)");
        running.interrupt();
        let interrupted = Instant::now();
        let (run, _) = running.finish();
        // Promptly: the device is still waiting, and nothing else holds the process up.
        assert!(
            interrupted.elapsed() < Duration::from_secs(5),
            "{:?}",
            interrupted.elapsed()
        );
        run.assert_code(130);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        let last = run.stderr.lines().last().unwrap_or_default();
        if json {
            assert_eq!(
                run.json(),
                serde_json::json!({ "error": {
                    "code": "cancelled", "exit_code": 130, "message": CANCELLED_AT_2, "hint": null
                } })
            );
        } else {
            assert!(run.stdout.is_empty(), "{}", run.stdout);
            assert_eq!(last, CANCELLED_AT_2, "{}", run.stderr);
            assert!(
                run.stderr
                    .contains("✔ approved 1 of 2: XMTP : Create Identity"),
                "{}",
                run.stderr
            );
        }
        assert_nothing_published(&network, ACCOUNT_0);
    }
}
