//! README's "CI pipelines" recipe is run as it stands: the ```sh block under that heading,
//! with `bash -euo pipefail` and the built `xmtp-ledger` first on PATH, in an empty
//! directory, with none of the caller's `XMTP_LEDGER_*` settings and free ports. If the
//! block stops working (a flag renamed, an output changed, a step missing), this fails.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::{ACCOUNT_0, binary};

/// Past this the recipe's whole process group is killed and the test fails.
const HANG_GUARD: Duration = Duration::from_secs(120);

const HEADING: &str = "## CI pipelines";

/// The first ```sh block after [`HEADING`], before the next section.
fn recipe(readme: &str) -> String {
    let section = readme
        .split_once(&format!("\n{HEADING}\n"))
        .unwrap_or_else(|| panic!("README.md has no {HEADING:?} section"))
        .1;
    let section = section.split("\n## ").next().unwrap_or(section);
    let block = section
        .split_once("\n```sh\n")
        .unwrap_or_else(|| panic!("no ```sh block under {HEADING:?}"))
        .1;
    let (block, _) = block
        .split_once("\n```\n")
        .unwrap_or_else(|| panic!("the ```sh block under {HEADING:?} is not closed"));
    block.to_owned()
}

fn free_addr() -> String {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .to_string()
}

fn nothing_listens(addr: &str) -> bool {
    std::net::TcpStream::connect(addr).is_err()
}

#[test]
fn the_ci_recipe_in_the_readme_runs_as_it_stands() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let script = recipe(&readme);
    let dir = tempfile::tempdir().unwrap();
    let script_path = dir.path().join("ci.sh");
    std::fs::write(&script_path, &script).unwrap();

    let bin_dir = binary().parent().expect("binary directory").to_owned();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let device_addr = free_addr();
    let node_addr = free_addr();

    let mut bash = Command::new("bash");
    bash.args(["-euo", "pipefail"])
        .arg(&script_path)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a hang can be ended with everything it started.
        .process_group(0);
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if key_text.starts_with("XMTP_LEDGER_") || key_text == "RUNNER_TEMP" {
            bash.env_remove(key);
        }
    }
    bash.env("PATH", path)
        // Nothing of the caller's home (the default node database lives there).
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("DEVICE_ADDR", &device_addr)
        .env("NODE_ADDR", &node_addr);

    let started = Instant::now();
    let mut child = bash.spawn().expect("run bash");
    let mut stdout_pipe = child.stdout.take().unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout_pipe.read_to_string(&mut text);
        text
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG_GUARD {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            panic!("the recipe still ran after {HANG_GUARD:?}:\n{script}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().unwrap();
    let stderr = stderr.join().unwrap();
    let report = format!("script:\n{script}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(status.code(), Some(0), "{report}");

    // What each step printed: wait, then init, then verify, all for the test account.
    assert!(
        stdout.contains(&format!("device tcp://{device_addr} ready: Ethereum app")),
        "{report}"
    );
    assert!(
        stdout.contains(&format!("node http://{node_addr} ready")),
        "{report}"
    );
    assert!(
        stdout.contains(&format!("{ACCOUNT_0} has a valid XMTP identity")),
        "{report}"
    );
    assert!(stderr.contains("published 3 envelope(s)"), "{report}");
    // Stopped at the end: nothing listens on either port any more.
    assert!(
        nothing_listens(&device_addr),
        "the emulator still runs\n{report}"
    );
    assert!(nothing_listens(&node_addr), "the node still runs\n{report}");
    // The node's database went where the recipe says, not into a home directory.
    assert!(dir.path().join("node.sqlite3").exists(), "{report}");
    // And so did the audit log of the tcp:// device's signatures.
    assert!(
        stdout.contains("audit.jsonl: intact, 3 line(s)"),
        "{report}"
    );
    assert!(!dir.path().join("data").exists(), "{report}");
}

#[test]
fn the_recipe_is_found_between_its_markers() {
    let readme = "# x\n\n## CI pipelines\n\nText.\n\n```sh\necho one\necho two\n```\n\nMore.\n\n```sh\nnot this\n```\n\n## Next\n";
    assert_eq!(recipe(readme), "echo one\necho two");
    let elsewhere = "\n## CI pipelines\n\nno block\n\n## Next\n\n```sh\nelsewhere\n```\n";
    assert!(
        std::panic::catch_unwind(|| recipe(elsewhere)).is_err(),
        "a block under another heading was taken for the recipe"
    );
}
