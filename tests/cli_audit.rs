//! The audit log and the signing policy through the binary: one record per device
//! signature and one per run, rejections and refusals recorded, no secret in the log
//! (searched for the Enable Identity signature and the key derived from it), `audit
//! verify` and `audit seal`, and a policy that refuses before the device is asked.

mod common;

use std::path::{Path, PathBuf};

use base64::Engine;
use common::cli::{ACCOUNT_0, Run, Setup, command};
use xmtp_ledger::keystore::{EncryptedBundle, derive_key};
use xmtp_ledger::signer::{LocalKeySigner, Signer};

/// Hardhat account #0: m/44'/60'/0'/0/0 of the public test mnemonic the software device uses.
const ACCOUNT_0_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// `xmtp-ledger --device emulator ARGS` (the in-process software device) with its data
/// directory in `data`.
fn emulator(data: &Path, args: &[&str]) -> Run {
    command()
        .env("XMTP_LEDGER_DATA_DIR", data)
        .args(["--device", "emulator"])
        .args(args)
        .output()
        .expect("run xmtp-ledger")
        .into()
}

fn records(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .expect("read the audit log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// (kind, purpose or command, decision or exit code) of each record.
fn summary(log: &Path) -> Vec<String> {
    records(log)
        .iter()
        .map(|r| match r["kind"].as_str().unwrap() {
            "signature" => format!("signature {} {}", r["purpose"], r["decision"]),
            "run" => format!("run {} {} {}", r["command"], r["exit_code"], r["error"]),
            other => format!("{other} {}", r["decision"]),
        })
        .map(|s| s.replace('"', ""))
        .collect()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Every form of `secret` a careless log could hold.
fn assert_absent(log_bytes: &[u8], secret: &[u8], what: &str) {
    let text = String::from_utf8_lossy(log_bytes).to_lowercase();
    let forms = [
        hex::encode(secret),
        base64::engine::general_purpose::STANDARD.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
    ];
    for form in &forms {
        assert!(
            !text.contains(&form.to_lowercase()),
            "the {what} ({form}) is in the audit log"
        );
    }
    // Half of it in hex (say r alone) must not be there either.
    assert!(
        !text.contains(&hex::encode(&secret[..secret.len() / 2])),
        "part of the {what}"
    );
    assert!(
        !log_bytes.windows(secret.len()).any(|w| w == secret),
        "the raw {what} is in the audit log"
    );
}

#[test]
fn init_and_unlock_record_each_approval_and_never_the_enable_identity_secret() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("audit.jsonl");
    let out = dir.path().join("out");
    let init = emulator(
        &data,
        &[
            "--audit-log",
            path_str(&log),
            "init",
            "--out",
            path_str(&out),
        ],
    );
    init.assert_code(0);
    assert_eq!(
        summary(&log),
        [
            "signature create_identity approved",
            "signature enable_identity approved",
            "run init 0 null",
        ]
    );
    let first = &records(&log)[0];
    assert_eq!(first["address"], ACCOUNT_0);
    assert_eq!(first["hd_path"], "m/44'/60'/0'/0/0");
    assert_eq!(first["app_version"], "1.22.0");
    assert_eq!(first["tool_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .starts_with("XMTP : Create Identity\n")
    );
    assert!(records(&log)[1].get("text").is_none());

    // Unlocking the file signs the same Enable Identity text again.
    let store = out.join("private-store.bin");
    emulator(
        &data,
        &[
            "--audit-log",
            path_str(&log),
            "unlock",
            "--from-file",
            path_str(&store),
        ],
    )
    .assert_code(0);
    assert_eq!(summary(&log).len(), 5);
    assert_eq!(summary(&log)[3], "signature enable_identity approved");

    // The secret, computed from the test key: the device signs deterministically
    // (RFC 6979), and it opens the bundle, so it is the very signature the device gave.
    let bundle = EncryptedBundle::decode(&std::fs::read(&store).unwrap()).unwrap();
    let wallet = LocalKeySigner::from_private_key(&hex::decode(ACCOUNT_0_KEY).unwrap()).unwrap();
    let text = bundle.enable_identity_text();
    let signature = wallet.personal_sign(&text).unwrap();
    bundle
        .open(&signature)
        .expect("the computed signature is the device's");
    let aes_key = derive_key(signature.as_bytes(), &bundle.sealed.hkdf_salt);

    let bytes = std::fs::read(&log).unwrap();
    assert_absent(&bytes, signature.as_bytes(), "Enable Identity signature");
    assert_absent(
        &bytes,
        &signature.with_other_v_form().as_bytes()[..],
        "signature (0/1 v)",
    );
    assert_absent(&bytes, &aes_key[..], "AES key");
    assert_absent(&bytes, &bundle.wallet_pre_key, "wallet pre-key");
    assert!(!String::from_utf8_lossy(&bytes).contains("Enable Identity\n"));

    let verify = command()
        .args(["--json", "audit", "verify", path_str(&log)])
        .output()
        .unwrap();
    let verify = Run::from(verify);
    verify.assert_code(0);
    assert_eq!(verify.json()["lines"], 5);
}

#[test]
fn a_rejected_approval_is_recorded_as_rejected_and_tcp_devices_log_by_default() {
    let setup = Setup::with_emulator(&["--reject-containing", "XMTP : Enable Identity"]);
    let data = setup.dir.path().join("data");
    let init = setup.run_with(&["--json", "init"], |c| {
        c.env("XMTP_LEDGER_DATA_DIR", &data);
    });
    init.assert_code(20);
    // No --audit-log: a tcp:// device writes to the data directory's log.
    let log = data.join("audit.jsonl");
    assert_eq!(
        summary(&log),
        [
            "signature create_identity approved",
            "signature enable_identity rejected",
            "run init 20 rejected",
        ]
    );
    let run = &records(&log)[2];
    assert_eq!(run["node"], setup.network_flag());
    assert_eq!(run["published"], serde_json::json!([]));

    // --no-audit-log writes nothing.
    let quiet = setup.dir.path().join("quiet");
    setup
        .run_with(&["--no-audit-log", "init"], |c| {
            c.env("XMTP_LEDGER_DATA_DIR", &quiet);
        })
        .assert_code(20);
    assert!(!quiet.join("audit.jsonl").exists());
}

#[test]
fn a_published_identity_names_the_digests_of_what_was_sent() {
    let setup = Setup::new();
    let log = setup.dir.path().join("audit.jsonl");
    setup
        .run(&["--audit-log", path_str(&log), "init"])
        .assert_code(0);
    let records = records(&log);
    assert_eq!(records.len(), 3);
    let published = records[2]["published"].as_array().unwrap();
    assert_eq!(published.len(), 3, "{published:?}");
    assert!(
        published[0]["topic"]
            .as_str()
            .unwrap()
            .contains("privatestore")
    );
    for entry in published {
        assert_eq!(entry["outcome"], "sent");
        assert_eq!(entry["message_sha256"].as_str().unwrap().len(), 64);
    }
}

#[test]
fn the_software_device_logs_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    emulator(&data, &["init", "--out", path_str(&dir.path().join("out"))]).assert_code(0);
    assert!(!data.join("audit.jsonl").exists());
}

/// Lines of `log` rewritten by `edit`, into a new file.
fn tampered(log: &Path, name: &str, edit: impl FnOnce(&mut Vec<String>)) -> PathBuf {
    let mut lines: Vec<String> = std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    edit(&mut lines);
    let path = log.with_file_name(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// Rewrites every `prev` from line index `from` on, as a forger who edited a line would.
fn rechain(lines: &mut [String], from: usize) {
    use sha2::Digest;
    for i in from..lines.len() {
        let prev = hex::encode(sha2::Sha256::digest(lines[i - 1].as_bytes()));
        let mut value: serde_json::Value = serde_json::from_str(&lines[i]).unwrap();
        value["prev"] = prev.into();
        lines[i] = serde_json::to_string(&value).unwrap();
    }
}

fn verify(file: &Path) -> Run {
    command()
        .args(["--json", "audit", "verify", path_str(file)])
        .output()
        .unwrap()
        .into()
}

#[test]
fn audit_verify_names_the_line_an_edit_a_removal_or_a_reordering_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("audit.jsonl");
    for _ in 0..2 {
        emulator(
            &data,
            &[
                "--audit-log",
                path_str(&log),
                "init",
                "--out",
                path_str(&dir.path().join("o")),
                "--force",
            ],
        )
        .assert_code(0);
    }
    assert_eq!(records(&log).len(), 6);
    let intact = verify(&log);
    intact.assert_code(0);
    assert_eq!(intact.json()["intact"], true);

    let cases = [
        (
            tampered(&log, "edited", |l| {
                l[1] = l[1].replace("approved", "rejected")
            }),
            "line 3",
        ),
        (tampered(&log, "removed", |l| drop(l.remove(2))), "line 3"),
        (tampered(&log, "reordered", |l| l.swap(3, 4)), "line 4"),
        (tampered(&log, "bad-json", |l| l[4] = "{".into()), "line 5"),
    ];
    for (file, line) in cases {
        let run = verify(&file);
        run.assert_code(4);
        let error = run.json_error();
        assert_eq!(error["code"], "verification_failed");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(line), "{}: {message}", file.display());
    }

    // Seal the log on the device, then forge an edit with every prev rewritten: the chain
    // holds, the seal does not.
    let seal = emulator(&data, &["--json", "audit", "seal", path_str(&log)]);
    seal.assert_code(0);
    assert_eq!(seal.json()["lines"], 6);
    let sealed = verify(&log);
    sealed.assert_code(0);
    assert_eq!(sealed.json()["seals"][0]["lines"], 6);
    assert_eq!(sealed.json()["seals"][0]["address"], ACCOUNT_0);
    let forged = tampered(&log, "forged", |l| {
        l[0] = l[0].replace("approved", "rejected");
        rechain(l, 1);
    });
    let run = verify(&forged);
    run.assert_code(4);
    let message = run.error_message();
    assert!(
        message.contains("line 7") && message.contains("seal"),
        "{message}"
    );
    // A broken log is not sealed.
    emulator(
        &data,
        &["audit", "seal", path_str(&forged.with_file_name("edited"))],
    )
    .assert_code(4);
}

fn policy(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("policy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn an_account_outside_the_policy_is_refused_before_the_device_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let policy = policy(dir.path(), "accounts = [\"m/44'/60'/*'/0/0\"]\n");
    // Nothing listens on port 9: had the device been contacted, the error would be 23.
    let run: Run = command()
        .args(["--json", "--device", "tcp://127.0.0.1:9", "--timeout", "1"])
        .args([
            "--audit-log",
            path_str(&log),
            "--signing-policy",
            path_str(&policy),
        ])
        .args([
            "--legacy",
            "0",
            "init",
            "--out",
            path_str(&dir.path().join("o")),
        ])
        .output()
        .unwrap()
        .into();
    run.assert_code(24);
    assert_eq!(run.json_error()["code"], "policy_refused");
    assert_eq!(
        summary(&log),
        [
            "account_refused refused_by_policy",
            "run init 24 policy_refused"
        ]
    );
    // An account the pattern matches goes on to the device (and finds none there).
    let run: Run = command()
        .args(["--device", "tcp://127.0.0.1:9", "--timeout", "1"])
        .args([
            "--audit-log",
            path_str(&log),
            "--signing-policy",
            path_str(&policy),
        ])
        .args([
            "--account",
            "4",
            "init",
            "--out",
            path_str(&dir.path().join("o")),
        ])
        .output()
        .unwrap()
        .into();
    run.assert_code(23);
}

#[test]
fn texts_max_approvals_and_confirmed_addresses_are_enforced_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("audit.jsonl");
    let out = path_str(&dir.path().join("o")).to_owned();
    let init = |policy: &Path| {
        emulator(
            &data,
            &[
                "--json",
                "--audit-log",
                path_str(&log),
                "--signing-policy",
                path_str(policy),
                "init",
                "--out",
                &out,
                "--force",
            ],
        )
    };

    let texts = policy(dir.path(), "texts = [\"create_identity\"]\n");
    let run = init(&texts);
    run.assert_code(24);
    let message = run.error_message();
    assert!(message.contains("enable_identity"), "{message}");
    assert_eq!(
        summary(&log),
        [
            "signature create_identity approved",
            "signature enable_identity refused_by_policy",
            "run init 24 policy_refused",
        ]
    );

    let max = policy(dir.path(), "max_approvals = 1\n");
    init(&max).assert_code(24);
    assert_eq!(
        summary(&log)[4],
        "signature enable_identity refused_by_policy"
    );
    assert!(
        records(&log)[4]["reason"]
            .as_str()
            .unwrap()
            .contains("max_approvals")
    );

    let confirmed = policy(dir.path(), "require_confirmed_address = true\n");
    let before = init(&confirmed);
    before.assert_code(24);
    let message = before.error_message();
    assert!(message.contains("address --confirm"), "{message}");
    assert_eq!(
        summary(&log)[6],
        "signature create_identity refused_by_policy"
    );
    // Another account confirmed does not count for this one.
    emulator(&data, &["--account", "1", "address", "--confirm"]).assert_code(0);
    init(&confirmed).assert_code(24);
    emulator(&data, &["address", "--confirm"]).assert_code(0);
    init(&confirmed).assert_code(0);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.join("confirmed-accounts.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // Unknown keys are refused, not ignored.
    let typo = policy(dir.path(), "max_aprovals = 1\n");
    let run = init(&typo);
    run.assert_code(1);
    let message = run.error_message();
    assert!(message.contains("max_aprovals"), "{message}");
    verify(&log).assert_code(0);
}
