//! Exit codes and messages people and pipelines rely on (see `xmtp-ledger --help`).

mod common;

use common::cli::{ACCOUNT_0, Service, Setup, command};

/// The exit code of `xmtp-ledger ARGS`.
fn exit_code(args: &[&str]) -> Option<i32> {
    command()
        .args(args)
        .output()
        .expect("run xmtp-ledger")
        .status
        .code()
}

#[test]
fn help_documents_exit_codes_and_usage_errors_exit_1() {
    let help = command().arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for line in [
        "Exit codes:",
        "20  rejected on the device",
        "21  device locked",
        "22  Ethereum app not open",
        "23  no device found",
        "3   network error",
        "4   verification failed",
        "5   decryption failed",
        "130 cancelled (Ctrl-C)",
    ] {
        assert!(text.contains(line), "--help lacks {line:?}:\n{text}");
    }
    assert_eq!(exit_code(&["--no-such-flag"]), Some(1));
    assert_eq!(exit_code(&["verify", "0x1234"]), Some(1));
    assert_eq!(exit_code(&["--hd-path", "m/44'/60'/x", "address"]), Some(1));
}

#[test]
fn no_usb_device_is_an_error_never_a_silent_fallback() {
    // The default device is USB HID; this machine has no Ledger plugged in.
    let output = command()
        .args(["--network", "http://127.0.0.1:9", "init"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(23),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Ledger"), "{stderr}");
    assert!(
        !stderr.contains("SOFTWARE DEVICE"),
        "must not fall back to the software device"
    );
    // The library says what happened; the CLI adds what to type about it.
    assert!(stderr.contains("\nhint: "), "{stderr}");
    assert!(
        stderr.contains("udev install") || stderr.contains("--device tcp://"),
        "{stderr}"
    );
}

#[test]
fn device_states_map_to_their_exit_codes() {
    let unreachable = command()
        .args(["--device", "tcp://127.0.0.1:9", "address"])
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(23));
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert!(
        stderr.contains("error: cannot reach a device at 127.0.0.1:9"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: start `xmtp-ledger emulator"),
        "{stderr}"
    );

    for (state, code, phrase) in [
        ("locked", 21, "locked"),
        ("dashboard", 22, "Ethereum app"),
        ("other-app", 22, "Bitcoin"),
    ] {
        let setup = Setup::with_emulator(&["--state", state]);
        let run = setup.run(&["init"]);
        run.assert_code(code);
        assert!(run.stderr.contains(phrase), "{state}: {}", run.stderr);
        setup.run(&["verify", ACCOUNT_0]).assert_code(4);
    }

    let rejecting = Setup::with_emulator(&["--policy", "reject"]);
    let run = rejecting.run(&["address", "--confirm"]);
    run.assert_code(20);
}

#[test]
fn unreachable_node_is_exit_3_and_names_the_node() {
    let device = Service::emulator(&[]);
    let run = command()
        .args([
            "--device",
            &format!("tcp://{}", device.addr),
            "--network",
            "http://127.0.0.1:9",
            "--timeout",
            "2",
            "init",
        ])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("127.0.0.1:9"), "{stderr}");
    // Nothing was signed: the node is checked before the device is asked.
    assert!(!stderr.contains("approve"), "{stderr}");

    // Plain text to a remote host is refused as a usage error: the fix is on the command
    // line, and the message names no option that does not exist.
    let remote_plaintext: common::cli::Run = command()
        .args([
            "--json",
            "--network",
            "http://192.0.2.1:5556",
            "verify",
            ACCOUNT_0,
        ])
        .output()
        .unwrap()
        .into();
    remote_plaintext.assert_code(1);
    let error = remote_plaintext.json_error();
    assert_eq!(error["code"], "usage", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("use https://"), "{message}");
    assert!(!message.contains("explicitly"), "{message}");
}

#[test]
fn in_process_emulator_warns_and_takes_its_mnemonic_from_env_or_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let run = command()
        .args(["--device", "emulator", "--json", "address"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&run.stderr).contains("PUBLIC test mnemonic"));
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(json["address"], ACCOUNT_0);

    // The Speculos default mnemonic, from the environment and from a file.
    let speculos = "glory promote mansion idle axis finger extra february uncover one trip resource lawn turtle enact monster seven myth punch hobby comfort wild raise skin";
    let expected = "0xDad77910DbDFdE764fC21FCD4E74D71bBACA6D8D";
    let run = command()
        .args(["--device", "emulator", "--json", "address"])
        .env("XMTP_LEDGER_MNEMONIC", speculos)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(json["address"], expected);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("NOT protected by hardware"), "{stderr}");
    assert!(!stderr.contains("glory"), "the mnemonic is never printed");

    let file = dir.path().join("mnemonic");
    std::fs::write(&file, format!("{speculos}\n")).unwrap();
    let run = command()
        .args([
            "--device",
            "emulator",
            "--json",
            "address",
            "--mnemonic-file",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(json["address"], expected);
}

#[test]
fn main_job_against_the_embedded_local_node() {
    // The README's first command, with the node's database in a temporary directory.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("node.sqlite3");
    let init = command()
        .args(["--device", "emulator", "--json", "init", "--force"])
        .env("XMTP_LEDGER_NODE_DB", &db)
        .output()
        .unwrap();
    assert_eq!(
        init.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(db.exists(), "the in-process node stored the identity");
    // A later process, with a new in-process node on the same file, sees it.
    let verify = command()
        .args(["--json", "verify", ACCOUNT_0])
        .env("XMTP_LEDGER_NODE_DB", &db)
        .output()
        .unwrap();
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn small_commands() {
    let udev = command().args(["udev", "print"]).output().unwrap();
    assert_eq!(udev.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&udev.stdout).contains("2c97"));
    let completions = command().args(["completions", "bash"]).output().unwrap();
    assert_eq!(completions.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&completions.stdout).contains("xmtp-ledger"));
    let dir = tempfile::tempdir().unwrap();
    let install = command()
        .args(["udev", "install", "--dir"])
        .arg(dir.path().join("missing/dir"))
        .output()
        .unwrap();
    assert_eq!(install.status.code(), Some(1));
}

#[test]
fn node_stops_cleanly_on_sigterm_and_keeps_its_data() {
    let setup = Setup::new();
    setup.run(&["init"]).assert_code(0);
    let Setup { device, node, dir } = setup;
    assert!(node.terminate(), "node exits 0 on SIGTERM");
    let node = Service::node(&dir.path().join("node.sqlite3"));
    let run = command()
        .args([
            "--device",
            &format!("tcp://{}", device.addr),
            "--network",
            &format!("http://{}", node.addr),
            "verify",
            ACCOUNT_0,
        ])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
}

/// The string codes of the `--json` error document, as `--help` lists them per exit
/// status, are the ones README's table lists.
#[test]
fn readme_lists_every_error_code_of_help() {
    let help = command().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout).into_owned();
    let codes: Vec<&str> = text[text.find("Exit codes:").expect("exit codes")..]
        .lines()
        .filter_map(|line| {
            let open = line.rfind('[')?;
            line.trim_end().strip_suffix(']').map(|l| &l[open + 1..])
        })
        .flat_map(|list| list.split(", "))
        .collect();
    assert!(codes.len() >= 20, "{codes:?}");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = &readme[readme.find("### Exit codes").expect("section")..];
    for code in codes {
        assert!(
            table.contains(&format!("`{code}`")),
            "README lacks `{code}`"
        );
    }
}

/// `man` renders a page for the tool and one per subcommand, from the same definitions
/// as `--help`.
#[test]
fn man_pages_are_generated_from_the_command_line_definitions() {
    let page = command().arg("man").output().unwrap();
    assert_eq!(page.status.code(), Some(0));
    let text = String::from_utf8_lossy(&page.stdout);
    assert!(text.contains(".TH XMTP-LEDGER 1"), "{text}");
    assert!(text.contains("rotate\\-prekey"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let out = command()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let init = std::fs::read_to_string(dir.path().join("xmtp-ledger-init.1")).unwrap();
    assert!(init.contains("\\-\\-out"), "{init}");
    assert!(dir.path().join("xmtp-ledger-rotate-prekey.1").exists());
}

/// Colour only on a terminal: captured output never carries escape codes.
#[test]
fn errors_and_warnings_carry_no_colour_codes_off_a_terminal() {
    let out = command()
        .args([
            "--device",
            "emulator",
            "--network",
            "http://127.0.0.1:9",
            "--timeout",
            "1",
            "verify",
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: "), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

/// The software device with the public test mnemonic is never served where other
/// machines can reach it, unless asked by name; with another mnemonic it may be.
#[test]
fn the_emulator_keeps_the_public_test_mnemonic_on_loopback() {
    let refused = command()
        .args(["emulator", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("refusing to serve the PUBLIC test mnemonic on 0.0.0.0:0")
            && stderr.contains("--allow-remote-test-mnemonic"),
        "{stderr}"
    );
    assert!(refused.stdout.is_empty());
    // Asked by name: it listens (and prints its address).
    let allowed = common::cli::Service::start_with(|c| {
        c.args([
            "emulator",
            "--listen",
            "0.0.0.0:0",
            "--allow-remote-test-mnemonic",
        ]);
    });
    assert!(allowed.addr.starts_with("0.0.0.0:"), "{}", allowed.addr);
}

/// Each subcommand's help lists the global flags it uses and leaves the others out;
/// those stay accepted (a CI job exports them once for every step).
#[test]
fn each_subcommand_help_lists_only_the_flags_that_matter_to_it() {
    let help = |args: &[&str]| -> String {
        let out = command().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let device_flags = [
        "--device",
        "--account",
        "--hd-path",
        "--legacy",
        "--mnemonic-file",
    ];
    for (sub, device, network, timeout) in [
        ("init", true, true, true),
        ("rotate-prekey", true, true, true),
        ("address", true, false, true),
        ("verify", false, true, true),
        ("inspect", false, false, false),
        ("node", false, false, false),
        ("man", false, false, false),
    ] {
        for text in [
            help(&[sub, "--help"]),
            help(&["help", sub]),
            help(&[sub, "-h"]),
        ] {
            for flag in device_flags {
                assert_eq!(text.contains(flag), device, "{sub}: {flag}\n{text}");
            }
            assert_eq!(text.contains("--network"), network, "{sub}\n{text}");
            assert_eq!(text.contains("--timeout"), timeout, "{sub}\n{text}");
            // Output flags everywhere.
            assert!(
                text.contains("--json") && text.contains("--quiet"),
                "{sub}\n{text}"
            );
        }
    }
    // A nested subcommand's help is its own, not its parent's.
    for args in [
        &["udev", "install", "--help"][..],
        &["help", "udev", "install"][..],
    ] {
        let text = help(args);
        assert!(
            text.contains("Usage: xmtp-ledger udev install"),
            "{args:?}\n{text}"
        );
    }
    // Still accepted where they are not shown.
    let out = command()
        .args(["--device", "emulator", "--network", "local", "man"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// A v2 command that publishes, pointed at a public XMTP network (by name, by variable or
/// by URL), says at once that the network no longer takes v2 publishes: exit 1, code
/// `v2_retired`, before the device is asked anything (the `--device` here has nothing
/// listening: reaching for it would fail with exit 23 instead).
#[test]
fn v2_publishes_to_a_public_network_are_refused_before_the_device_is_asked() {
    let commands: [&[&str]; 5] = [
        &["init"],
        &["connect"],
        &["unlock"],
        &["rotate-prekey"],
        &["publish", "no-such-dir"],
    ];
    for (network, how) in [
        ("production", "flag"),
        ("dev", "variable"),
        ("https://grpc.production.xmtp.network:443", "flag"),
    ] {
        for args in commands {
            let mut cmd = command();
            cmd.args(["--json", "--device", "tcp://127.0.0.1:9"]);
            match how {
                "flag" => {
                    cmd.args(["--network", network]);
                }
                _ => {
                    cmd.env("XMTP_LEDGER_NETWORK", network);
                }
            }
            let run = common::cli::Run::from(cmd.args(args).output().expect("run"));
            run.assert_code(1);
            let error = run.json_error();
            assert_eq!(error["code"], "v2_retired", "{args:?} {network}");
            let message = error["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("stopped accepting XMTP v2 publishes in June 2025"),
                "{message}"
            );
            assert!(
                error["hint"]
                    .as_str()
                    .is_some_and(|h| h.contains("--network local")),
                "{error}"
            );
        }
    }
    // `init --out` stays offline: not refused for the network, it goes on to the device.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("prepared");
    let offline = command()
        .args([
            "--device",
            "tcp://127.0.0.1:9",
            "--network",
            "production",
            "init",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    assert_eq!(
        offline.status.code(),
        Some(23),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
}
