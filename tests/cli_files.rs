//! The files the CLI writes cannot be hijacked or caught half-written: planted symlinks
//! are never followed, an existing file is never replaced without `--force` and the path
//! is checked before the device is asked for anything, a directory open to others is made
//! private, a write that fails midway leaves the old file byte-identical, and
//! `--mnemonic-file` reads only a small regular file.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::{Run, binary, command};

/// The line the software device prints when it is opened: its absence proves the device
/// was never asked anything.
const DEVICE_OPENED: &str = "SOFTWARE DEVICE";

fn run(args: &[&str]) -> Run {
    command()
        .args(["--device", "emulator"])
        .args(args)
        .output()
        .expect("run xmtp-ledger")
        .into()
}

/// A usage error (exit 1) that says `why`, given before the device was opened.
fn assert_refused_before_the_device(run: &Run, why: &str) {
    run.assert_code(1);
    assert!(run.stderr.contains(why), "{}", run.stderr);
    assert!(!run.stderr.contains(DEVICE_OPENED), "{}", run.stderr);
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .expect("stat")
        .permissions()
        .mode()
        & 0o777
}

/// `init --out` into a fresh directory under `parent`; returns that directory.
fn prepared_identity(parent: &Path) -> std::path::PathBuf {
    let dir = parent.join("prepared");
    run(&["init", "--out", arg(&dir)]).assert_code(0);
    dir
}

#[test]
fn planted_symlinks_at_the_output_paths_are_never_followed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, b"precious").expect("victim");
    std::os::unix::fs::symlink(&victim, out.join("private-store.bin")).expect("symlink");

    // Without --force: refused, before the device is opened.
    let refused = run(&["init", "--out", arg(&out)]);
    assert_refused_before_the_device(&refused, "already holds an identity");

    // With --force: the link itself is replaced; what it pointed at is untouched.
    run(&["init", "--out", arg(&out), "--force"]).assert_code(0);
    assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
    let written = out.join("private-store.bin");
    assert!(std::fs::symlink_metadata(&written).expect("stat").is_file());
    assert_eq!(mode(&written), 0o600);

    // A dangling link (to where an attacker wants a file) counts as existing too.
    let fresh = tmp.path().join("fresh");
    std::fs::create_dir(&fresh).expect("mkdir");
    let planted = tmp.path().join("planted-by-attacker");
    std::os::unix::fs::symlink(&planted, fresh.join("contact-v1.bin")).expect("symlink");
    let refused = run(&["init", "--out", arg(&fresh)]);
    assert_refused_before_the_device(&refused, "already exists");
    assert!(!planted.exists(), "nothing was written through the link");

    // A symlink as the directory itself is refused.
    let linked_dir = tmp.path().join("linked");
    std::os::unix::fs::symlink(&fresh, &linked_dir).expect("symlink");
    run(&["init", "--out", arg(&linked_dir)]).assert_code(1);
}

#[test]
fn an_output_directory_open_to_others_is_made_private() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("shared");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    run(&["init", "--out", arg(&out)]).assert_code(0);
    assert_eq!(mode(&out), 0o700);
    for name in [
        "private-store.bin",
        "contact-v1.bin",
        "contact-v2.bin",
        "identity.json",
    ] {
        assert_eq!(mode(&out.join(name)), 0o600, "{name}");
    }
}

#[test]
fn a_keystore_is_never_replaced_without_force_and_the_check_comes_first() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let prepared = prepared_identity(tmp.path());
    let store = prepared.join("private-store.bin");
    let keystore = tmp.path().join("keystore.bin");
    std::fs::write(&keystore, b"old keystore").expect("keystore");

    let refused = run(&[
        "unlock",
        "--from-file",
        arg(&store),
        "--keystore",
        arg(&keystore),
    ]);
    assert_refused_before_the_device(&refused, "already exists");
    assert_eq!(std::fs::read(&keystore).expect("keystore"), b"old keystore");

    let into_dir = run(&[
        "unlock",
        "--from-file",
        arg(&store),
        "--keystore",
        arg(tmp.path()),
    ]);
    into_dir.assert_code(1);
    assert!(
        into_dir.stderr.contains("is a directory"),
        "{}",
        into_dir.stderr
    );

    let forced = run(&[
        "unlock",
        "--from-file",
        arg(&store),
        "--keystore",
        arg(&keystore),
        "--force",
    ]);
    forced.assert_code(0);
    assert_ne!(std::fs::read(&keystore).expect("keystore"), b"old keystore");
    assert_eq!(mode(&keystore), 0o600);
    // The new keystore opens with the device.
    run(&["unlock", "--from-file", arg(&keystore)]).assert_code(0);
}

#[test]
fn a_write_that_fails_midway_leaves_the_previous_file_byte_identical() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let prepared = prepared_identity(tmp.path());
    let store = prepared.join("private-store.bin");
    let keystore = tmp.path().join("keystore.bin");
    let old = b"the previous keystore, which must survive".to_vec();
    std::fs::write(&keystore, &old).expect("keystore");

    // A file-size limit of 0 makes every write to a file fail (EFBIG, SIGXFSZ ignored),
    // as a full disk would; nothing else in this run writes files.
    let output = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\"")
        .arg(binary())
        .args(["--device", "emulator", "unlock", "--from-file", arg(&store)])
        .args(["--keystore", arg(&keystore), "--force"])
        .stdin(Stdio::null())
        .env_remove("XMTP_LEDGER_MNEMONIC")
        .output()
        .expect("run under ulimit");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the write cannot succeed: {stderr}"
    );
    assert_eq!(std::fs::read(&keystore).expect("keystore"), old, "{stderr}");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".xmtp-ledger-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// Runs `args` and kills it after `limit`: a command that reads forever fails the test
/// instead of hanging it.
fn run_bounded(args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let mut child = command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let output = child.wait_with_output().expect("output");
            return (
                status.code(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            );
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return (None, "killed: still running".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_mnemonic_file_must_be_a_small_regular_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fifo = tmp.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let big = tmp.path().join("big");
    std::fs::write(&big, vec![b'a'; 1 << 20]).expect("big file");

    for (what, path) in [
        ("a device that never ends", Path::new("/dev/zero")),
        ("a FIFO nobody writes to", fifo.as_path()),
        ("a 1 MiB file", big.as_path()),
        ("a directory", tmp.path()),
    ] {
        let (code, stderr) = run_bounded(
            &[
                "--device",
                "emulator",
                "--mnemonic-file",
                arg(path),
                "address",
            ],
            Duration::from_secs(20),
        );
        assert_eq!(code, Some(1), "{what}: {stderr}");
    }

    let words = tmp.path().join("words");
    std::fs::write(
        &words,
        "test test test test test test test test test test test junk\n",
    )
    .expect("words");
    let (code, stderr) = run_bounded(
        &[
            "--device",
            "emulator",
            "--mnemonic-file",
            arg(&words),
            "address",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(0), "{stderr}");
}
