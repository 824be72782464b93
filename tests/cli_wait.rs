//! What a CI script needs to start the software device and a node in the background
//! without racing them: `wait` (ready, or the documented exit code saying what was not),
//! the services' `--ready-file`, and services that cannot start failing at once.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::cli::{ACCOUNT_0, Run, Service, Setup, command};

/// Past this a run is killed and the test fails: a hang shows up as a failure.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Runs `command` to its end (bounded by [`HANG_GUARD`]); returns what it printed and how
/// long it took.
fn run_timed(command: Command) -> (Run, Duration) {
    common::cli::run_within(command, HANG_GUARD, "xmtp-ledger")
}

/// `xmtp-ledger ARGS` with nothing from the caller's environment.
fn xmtp(args: &[&str]) -> Command {
    let mut cli = command();
    cli.args(args);
    cli
}

/// A loopback port nothing listens on right now (freed again at once: a service is
/// started on it later, or nothing is, which is the point).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
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
fn wait_reports_each_service_once_it_answers() {
    let setup = Setup::new();
    let run = setup.run(&["--json", "wait"]);
    run.assert_code(0);
    let json = run.json();
    assert_eq!(keys(&json), ["device", "node", "waited_ms"], "{json}");
    assert_eq!(
        keys(&json["device"]),
        ["app", "app_version", "spec", "waited_ms"],
        "{json}"
    );
    assert_eq!(json["device"]["spec"], setup.device_flag());
    assert_eq!(json["device"]["app"], "Ethereum");
    let version = json["device"]["app_version"].as_str().expect("version");
    assert!(
        version.split('.').count() == 3 && version.split('.').all(|n| n.parse::<u32>().is_ok()),
        "{version}"
    );
    assert_eq!(keys(&json["node"]), ["url", "waited_ms"], "{json}");
    assert_eq!(json["node"]["url"], setup.network_flag());
    assert!(json["waited_ms"].is_u64(), "{json}");
    assert!(
        json["waited_ms"].as_u64() >= json["device"]["waited_ms"].as_u64(),
        "{json}"
    );

    let run = setup.run(&["wait"]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(
        lines[0].starts_with(&format!(
            "device {} ready: Ethereum app {version}",
            setup.device_flag()
        )),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with(&format!("node {} ready", setup.network_flag())),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains(&format!(
            "waiting up to 30 s for the device {} and the node {}",
            setup.device_flag(),
            setup.network_flag()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn wait_waits_only_for_what_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let node = Service::node(&dir.path().join("node.sqlite3"));
    let device = Service::emulator(&[]);
    let url = format!("http://{}", node.addr);
    let spec = format!("tcp://{}", device.addr);

    // Only a node: no USB Ledger is looked for (there is none here: that would be 23).
    let (run, _) = run_timed(xmtp(&[
        "--json",
        "wait",
        "--network",
        &url,
        "--timeout",
        "5",
    ]));
    run.assert_code(0);
    assert_eq!(
        run.json()["device"],
        serde_json::Value::Null,
        "{}",
        run.stdout
    );
    assert_eq!(run.json()["node"]["url"], url.as_str());

    // Only a device, named in the environment: the default local node is not waited for.
    let mut cli = xmtp(&["--json", "wait", "--timeout", "5"]);
    cli.env("XMTP_LEDGER_DEVICE", &spec);
    let (run, _) = run_timed(cli);
    run.assert_code(0);
    assert_eq!(
        run.json()["node"],
        serde_json::Value::Null,
        "{}",
        run.stdout
    );
    assert_eq!(run.json()["device"]["spec"], spec.as_str());

    // Both named in the environment, as a CI job exports them.
    let mut cli = xmtp(&["--json", "wait", "--timeout", "5"]);
    cli.env("XMTP_LEDGER_DEVICE", &spec)
        .env("XMTP_LEDGER_NETWORK", &url);
    let (run, _) = run_timed(cli);
    run.assert_code(0);
    assert_eq!(run.json()["device"]["spec"], spec.as_str());
    assert_eq!(run.json()["node"]["url"], url.as_str());
}

#[test]
fn naming_nothing_waits_for_a_usb_ledger_and_the_local_node_never_the_software_device() {
    let (run, elapsed) = run_timed(xmtp(&["wait", "--timeout", "1"]));
    assert!(
        run.stderr
            .contains("waiting up to 1 s for the device hid and the node http://127.0.0.1:5556"),
        "{}",
        run.stderr
    );
    // This machine has no Ledger: not found (23), or no USB HID at all (2).
    assert!(matches!(run.code, 2 | 23), "{}: {}", run.code, run.stderr);
    assert!(
        run.stderr
            .contains("the device hid was not ready within 1 s"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("SOFTWARE DEVICE"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");

    let (run, _) = run_timed(xmtp(&["wait", "--device", "hid", "--timeout", "1"]));
    assert!(matches!(run.code, 2 | 23), "{}: {}", run.code, run.stderr);
    assert!(!run.stderr.contains("SOFTWARE DEVICE"), "{}", run.stderr);
}

#[test]
fn wait_polls_until_services_started_late_answer() {
    let device_port = free_port();
    let node_port = free_port();
    let spec = format!("tcp://127.0.0.1:{device_port}");
    let url = format!("http://127.0.0.1:{node_port}");
    let waiting = std::thread::spawn({
        let (spec, url) = (spec.clone(), url.clone());
        move || {
            run_timed(xmtp(&[
                "--json",
                "wait",
                "--device",
                &spec,
                "--network",
                &url,
                "--timeout",
                "30",
            ]))
        }
    });
    std::thread::sleep(Duration::from_secs(1));
    let listen = format!("127.0.0.1:{device_port}");
    let _device = Started::spawn(xmtp(&["emulator", "--listen", &listen]), 1);
    std::thread::sleep(Duration::from_millis(1000));
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{node_port}");
    let db = dir.path().join("node.sqlite3");
    let _node = Started::spawn(
        xmtp(&["node", "--listen", &listen, "--db", db.to_str().unwrap()]),
        1,
    );
    let (run, elapsed) = waiting.join().unwrap();
    run.assert_code(0);
    let json = run.json();
    let device_ms = json["device"]["waited_ms"].as_u64().unwrap();
    let node_ms = json["node"]["waited_ms"].as_u64().unwrap();
    // Each became ready only once started (1 s and 2 s after `wait`, give or take how
    // long a loaded machine takes to start it), and was found soon after.
    assert!((500..10_000).contains(&device_ms), "{json}");
    assert!(
        node_ms >= 1500 && node_ms > device_ms && node_ms < 15_000,
        "{json}"
    );
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

#[test]
fn what_is_not_ready_by_the_timeout_ends_wait_with_its_code() {
    let dead = format!("127.0.0.1:{}", free_port());
    let dead_device = format!("tcp://{dead}");
    let dead_node = format!("http://{dead}");
    let locked = Service::emulator(&["--state", "locked"]);
    let dashboard = Service::emulator(&["--state", "dashboard"]);
    let dir = tempfile::tempdir().unwrap();
    let node = Service::node(&dir.path().join("node.sqlite3"));
    let url = format!("http://{}", node.addr);

    let cases = [
        // (device, network, exit code, what stderr says)
        (
            Some(dead_device.as_str()),
            None,
            23,
            "cannot reach a device at",
        ),
        (None, Some(dead_node.as_str()), 3, "is unreachable"),
        // The node was ready; the device was not: its code.
        (
            Some(&*format!("tcp://{}", locked.addr)),
            Some(url.as_str()),
            21,
            "locked",
        ),
        (
            Some(&*format!("tcp://{}", dashboard.addr)),
            None,
            22,
            "open the Ethereum app",
        ),
        // Neither: the device's code, and the node's reason on its own line.
        (
            Some(dead_device.as_str()),
            Some(dead_node.as_str()),
            23,
            "was not ready within 1 s: node",
        ),
    ];
    for (device, network, code, says) in cases {
        let mut cli = xmtp(&["wait", "--timeout", "1"]);
        if let Some(device) = device {
            cli.args(["--device", device]);
        }
        if let Some(network) = network {
            cli.args(["--network", network]);
        }
        let (run, elapsed) = run_timed(cli);
        let case = format!("{device:?} {network:?}");
        assert_eq!(run.code, code, "{case}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{case}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{case}: {}", run.stdout);
        if let Some(device) = device {
            assert!(
                run.stderr
                    .contains(&format!("the device {device} was not ready within 1 s")),
                "{case}: {}",
                run.stderr
            );
        }
        // It kept trying until the timeout (a locked device may be unlocked meanwhile),
        // and stopped then.
        assert!(
            elapsed >= Duration::from_millis(950) && elapsed < Duration::from_secs(10),
            "{case}: {elapsed:?}"
        );
    }
}

#[test]
fn what_waiting_cannot_fix_ends_wait_at_once() {
    for (args, code) in [
        (vec!["--device", "tcp://nowhere"], 1),
        (vec!["--network", "ftp://127.0.0.1:5556"], 1),
        // Plain http:// to a remote node is refused whatever it does (a usage error).
        (vec!["--network", "http://192.0.2.1:5556"], 1),
    ] {
        let mut cli = xmtp(&["wait", "--timeout", "30"]);
        cli.args(&args);
        let (run, elapsed) = run_timed(cli);
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert!(elapsed < Duration::from_secs(10), "{args:?}: {elapsed:?}");
    }
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
        ["device", "listen", "model", "pid"],
        "{ready_device}"
    );
    assert_eq!(ready_device["model"], "nanosp");
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
