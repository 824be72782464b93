//! Running the built `xmtp-ledger` binary against a software device (`xmtp-ledger
//! emulator`) and a node (`xmtp-ledger node`), each its own process on a loopback port.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_xmtp-ledger"))
}

/// A command with none of the caller's `XMTP_LEDGER_*` settings leaking in.
pub fn command() -> Command {
    let mut command = Command::new(binary());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("XMTP_LEDGER_") {
            command.env_remove(key);
        }
    }
    // The audit log is on by default for tcp:// devices: keep it (and the confirmed
    // accounts) out of the home directory of whoever runs the tests.
    command.env(
        "XMTP_LEDGER_DATA_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("data"),
    );
    command.stdin(Stdio::null());
    command
}

/// A background `xmtp-ledger` process that printed its listening address on stdout.
pub struct Service {
    child: Child,
    /// `IP:PORT` it listens on.
    pub addr: String,
}

impl Service {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start service");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read address");
        let addr = line.trim().to_owned();
        assert!(
            addr.contains(':'),
            "service printed {line:?} instead of an address"
        );
        Self { child, addr }
    }

    /// A service started by `xmtp-ledger` with the arguments `configure` adds.
    pub fn start_with(configure: impl FnOnce(&mut Command)) -> Self {
        let mut command = command();
        configure(&mut command);
        Self::start(command)
    }

    /// `xmtp-ledger emulator` on an ephemeral port, public test mnemonic, with `args`.
    pub fn emulator(args: &[&str]) -> Self {
        let mut command = command();
        command
            .args(["emulator", "--listen", "127.0.0.1:0"])
            .args(args);
        Self::start(command)
    }

    /// `xmtp-ledger node` on an ephemeral port with its database at `db`.
    pub fn node(db: &Path) -> Self {
        let mut command = command();
        command
            .args(["node", "--listen", "127.0.0.1:0", "--db"])
            .arg(db);
        Self::start(command)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGKILL (like a crash or power loss) and waits.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits; returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` with `input` written to its standard input, and waits for it.
pub fn run_with_stdin(command: &mut Command, input: &str) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run xmtp-ledger");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait").into()
}

/// What a run printed and how it exited.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Each line of stdout as a JSON document (the commands that answer one line per
    /// account or address).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}\n{}", self.stdout))
            })
            .collect()
    }

    /// The `--json` error document on stdout, checked against its schema
    /// (`{"error":{"code","exit_code","message","hint"}}`, `exit_code` the process's);
    /// returns the inner object.
    pub fn json_error(&self) -> serde_json::Value {
        let document = self.json();
        let error = &document["error"];
        let mut fields: Vec<_> = error
            .as_object()
            .unwrap_or_else(|| panic!("no error object: {document}"))
            .keys()
            .cloned()
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            ["code", "exit_code", "hint", "message"],
            "{document}"
        );
        assert!(error["code"].is_string(), "{document}");
        assert_eq!(error["exit_code"], self.code, "{document}");
        assert!(error["message"].is_string(), "{document}");
        assert!(
            error["hint"].is_null() || error["hint"].is_string(),
            "{document}"
        );
        error.clone()
    }

    /// The `message` of the `--json` error document (checked as [`Run::json_error`]).
    pub fn error_message(&self) -> String {
        self.json_error()["message"]
            .as_str()
            .expect("message")
            .to_owned()
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// A device and a node, and the flags that point the CLI at them.
pub struct Setup {
    pub device: Service,
    pub node: Service,
    pub dir: tempfile::TempDir,
}

impl Setup {
    /// A fresh node and an approving software device.
    pub fn new() -> Self {
        Self::with_emulator(&[])
    }

    /// A fresh node and a software device started with `emulator_args`.
    pub fn with_emulator(emulator_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = Service::node(&dir.path().join("node.sqlite3"));
        let device = Service::emulator(emulator_args);
        Self { device, node, dir }
    }

    pub fn device_flag(&self) -> String {
        format!("tcp://{}", self.device.addr)
    }

    pub fn network_flag(&self) -> String {
        format!("http://{}", self.node.addr)
    }

    /// Runs `xmtp-ledger --device … --network … ARGS`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, |_| {})
    }

    /// Like [`Setup::run`], with extra settings on the command.
    pub fn run_with(&self, args: &[&str], tweak: impl FnOnce(&mut Command)) -> Run {
        let mut command = command();
        command
            .args([
                "--device",
                &self.device_flag(),
                "--network",
                &self.network_flag(),
            ])
            .args(args);
        tweak(&mut command);
        command.output().expect("run xmtp-ledger").into()
    }

    /// Replaces the software device (e.g. to reject at a prompt).
    pub fn restart_device(&mut self, emulator_args: &[&str]) {
        self.device = Service::emulator(emulator_args);
    }
}

/// Account 0 of the public test mnemonic.
pub const ACCOUNT_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// Account 1 (Ledger Live path m/44'/60'/1'/0/0) of the public test mnemonic.
pub const LEDGER_LIVE_1: &str = "0x8C8d35429F74ec245F8Ef2f4Fd1e551cFF97d650";

/// `unlock --json`'s fields plus `"outcome"`: what `connect` and `rotate-prekey` print.
pub fn assert_outcome_contract(json: &serde_json::Value) {
    let mut fields: Vec<_> = json.as_object().expect("object").keys().cloned().collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "address",
            "contact_topic",
            "hd_path",
            "identity_fingerprint",
            "identity_public_key",
            "outcome",
            "pre_key_public_keys",
            "private_store_topic"
        ],
        "{json}"
    );
}

/// Runs `command` to its end, reading stdout and stderr as they come, and returns what it
/// printed and how long it took. A run past `limit` is killed and fails the test with its
/// stderr so far: a hang is a finding, not a stuck suite.
pub fn run_within(
    mut command: Command,
    limit: std::time::Duration,
    what: &str,
) -> (Run, std::time::Duration) {
    use std::time::{Duration, Instant};
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what} still running after {limit:?}; stderr:\n{}",
                stderr.join().unwrap_or_default()
            );
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

fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}
