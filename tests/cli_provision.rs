//! `provision` end to end: the built binary, a software device on a TCP port and a node
//! on a loopback port. A run over 20 accounts is killed midway, a second run meets a
//! device that rejects, a third finishes; every account ends with one identity, none
//! replaced, and no account done earlier is asked to sign again.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use std::sync::Arc;

use base64::Engine;
use common::cli::{ACCOUNT_0, Setup};
use ledger_app::SoftwareDevice;
use xmtp_ledger::device::{DerivationPath, EthApp, InProcessTransport, LedgerSigner};
use xmtp_ledger::keystore::EncryptedBundle;
use xmtp_ledger::signer::Signer;

fn manifest(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("manifest")).expect("manifest JSON")
}

/// hd_path → (outcome, identity key) of every account in the manifest.
fn accounts(path: &Path) -> BTreeMap<String, (String, Option<String>)> {
    manifest(path)["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| {
            (
                a["hd_path"].as_str().unwrap().to_owned(),
                (
                    a["outcome"].as_str().unwrap().to_owned(),
                    a["identity_public_key"].as_str().map(str::to_owned),
                ),
            )
        })
        .collect()
}

/// Starts `provision` and kills it (SIGKILL) once the manifest records `after` accounts.
fn run_and_kill(setup: &Setup, args: &[&str], manifest_path: &Path, after: usize) {
    let mut child = common::cli::command()
        .args([
            "--device",
            &setup.device_flag(),
            "--network",
            &setup.network_flag(),
        ])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn provision");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let recorded = std::fs::read(manifest_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .map_or(0, |m| m["accounts"].as_array().map_or(0, Vec::len));
        if recorded >= after {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the manifest never reached {after}"
        );
        assert!(
            child.try_wait().expect("poll").is_none(),
            "provision ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().expect("kill");
    child.wait().expect("reap");
}

#[test]
fn a_killed_and_rejected_run_is_resumed_with_no_identity_replaced_or_signed_twice() {
    let mut setup = Setup::new();
    let manifest_path = setup.dir.path().join("manifest.json");
    let manifest_arg = manifest_path.to_str().unwrap().to_owned();
    let args = [
        "--json",
        "provision",
        "--accounts",
        "0..19",
        "--manifest",
        &manifest_arg,
    ];

    // 1. Killed once three accounts are recorded.
    run_and_kill(&setup, &args, &manifest_path, 3);
    let after_kill = accounts(&manifest_path);
    assert!(
        (3..20).contains(&after_kill.len()),
        "killed midway: {after_kill:?}"
    );
    assert!(after_kill.values().all(|(outcome, _)| outcome == "created"));

    // 2. A device that rejects every Enable Identity: the done accounts are skipped
    //    without a signature, every other one fails as rejected, and the run goes on.
    setup.restart_device(&["--reject-containing", "XMTP : Enable Identity"]);
    let rejected = setup.run(&args);
    rejected.assert_code(20);
    let lines = rejected.json_lines();
    assert_eq!(
        lines.len(),
        21,
        "20 accounts and the error: {}",
        rejected.stdout
    );
    for line in &lines[..20] {
        let path = line["hd_path"].as_str().unwrap();
        if after_kill.contains_key(path) {
            assert_eq!(line["skipped"], true, "{line}");
            assert_eq!(line["approvals"], 0, "{line}");
        } else {
            assert_eq!(line["outcome"], "failed", "{line}");
            assert_eq!(line["error"]["code"], "rejected", "{line}");
        }
    }
    assert_eq!(lines[20]["error"]["code"], "rejected");
    let after_reject = accounts(&manifest_path);
    assert_eq!(after_reject.len(), 20);
    for (path, done) in &after_kill {
        assert_eq!(
            &after_reject[path], done,
            "{path} unchanged by the second run"
        );
    }

    // 3. An approving device finishes the rest.
    setup.restart_device(&[]);
    let finished = setup.run(&args);
    finished.assert_code(0);
    let lines = finished.json_lines();
    assert_eq!(lines.len(), 20, "{}", finished.stdout);
    let mut approvals = 0;
    for line in &lines {
        let path = line["hd_path"].as_str().unwrap();
        if after_kill.contains_key(path) {
            assert_eq!(line["skipped"], true, "{line}");
            assert_eq!(line["approvals"], 0, "signed again: {line}");
        } else {
            assert_eq!(line["skipped"], false, "{line}");
            let outcome = line["outcome"].as_str().unwrap();
            // An account the kill cut off between its publishes is completed with its keys.
            assert!(outcome == "created" || outcome == "completed", "{line}");
        }
        approvals += line["approvals"].as_u64().unwrap();
    }
    assert!(
        approvals <= 2 * (20 - after_kill.len() as u64),
        "{approvals}"
    );
    let finals = accounts(&manifest_path);
    assert_eq!(finals.len(), 20);
    for (path, (outcome, key)) in &finals {
        assert_ne!(outcome, "failed", "{path}");
        assert!(key.is_some(), "{path}");
        if let Some(done) = after_kill.get(path) {
            assert_eq!(
                &finals[path], done,
                "{path} kept the identity of the first run"
            );
        }
    }

    // The node agrees: every account has exactly one identity, the manifest's.
    let manifest = manifest(&manifest_path);
    for account in manifest["accounts"].as_array().unwrap() {
        let address = account["address"].as_str().unwrap();
        let history = setup.run(&["--json", "verify", "--history", address]);
        history.assert_code(0);
        let identities = history.json()["identities"].as_array().unwrap().clone();
        let keys: Vec<_> = identities
            .iter()
            .map(|i| i["identity_public_key"].clone())
            .collect();
        // A kill between the private store and the contacts leaves no contact of an
        // earlier key; a replaced identity would show as a second one.
        assert_eq!(keys, [account["identity_public_key"].clone()], "{address}");
    }
    assert_eq!(manifest["accounts"][0]["address"], ACCOUNT_0);
    assert_eq!(manifest["kind"], "xmtp-ledger-provision-manifest");

    // A fourth run does nothing: every account is skipped, no approval.
    let again = setup.run(&args);
    again.assert_code(0);
    assert!(
        again
            .json_lines()
            .iter()
            .all(|l| l["skipped"] == true && l["approvals"] == 0)
    );
}

#[test]
fn existing_identities_are_left_alone_unless_force_names_them() {
    let setup = Setup::new();
    let manifest_path = setup.dir.path().join("m.json");
    let manifest_arg = manifest_path.to_str().unwrap().to_owned();
    setup.run(&["init"]).assert_code(0);
    let before = setup.run(&["--json", "verify", ACCOUNT_0]).json()["identity_public_key"].clone();

    let run = setup.run(&[
        "--json",
        "provision",
        "--accounts",
        "0,1",
        "--manifest",
        &manifest_arg,
    ]);
    run.assert_code(0);
    let lines = run.json_lines();
    assert_eq!(lines[0]["outcome"], "existing");
    assert_eq!(lines[0]["approvals"], 0);
    assert_eq!(lines[0]["identity_public_key"], before);
    assert_eq!(lines[1]["outcome"], "created");
    assert_eq!(lines[1]["approvals"], 2);

    // --force names account 0 only: it is replaced, account 1 (done) is not touched.
    let other = setup.dir.path().join("m2.json");
    let forced_run = || {
        setup.run(&[
            "--json",
            "provision",
            "--accounts",
            "0,1",
            "--force",
            "0",
            "--manifest",
            other.to_str().unwrap(),
        ])
    };
    let forced = forced_run();
    forced.assert_code(0);
    let lines = forced.json_lines();
    assert_eq!(lines[0]["outcome"], "created");
    assert_ne!(lines[0]["identity_public_key"], before);
    assert_eq!(lines[1]["outcome"], "existing");
    let entry = &manifest(&other)["accounts"][0];
    assert_eq!(entry["replaced_identity_public_key"], before);

    // The same forced command again resumes that manifest: account 0 is done, so it is
    // skipped, not replaced a second time.
    let again = forced_run();
    again.assert_code(0);
    let lines = again.json_lines();
    assert_eq!(lines[0]["skipped"], true, "{}", again.stdout);
    assert_eq!(lines[0]["approvals"], 0);
    assert_eq!(
        setup.run(&["--json", "verify", ACCOUNT_0]).json()["identity_public_key"],
        entry["identity_public_key"]
    );
}

#[test]
fn offline_provisioning_writes_one_directory_per_account_and_refuses_bad_plans() {
    let setup = Setup::new();
    let out = setup.dir.path().join("vault");
    let out_arg = out.to_str().unwrap().to_owned();
    let run = setup.run(&["--json", "provision", "--legacy", "0..2", "--out", &out_arg]);
    run.assert_code(0);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 3);
    for (index, line) in lines.iter().enumerate() {
        assert_eq!(line["outcome"], "created");
        assert_eq!(line["hd_path"], format!("m/44'/60'/0'/{index}"));
        let dir = out.join(format!("account-{index:05}"));
        for file in [
            "private-store.bin",
            "contact-v1.bin",
            "contact-v2.bin",
            "identity.json",
        ] {
            assert!(dir.join(file).is_file(), "{}", dir.join(file).display());
        }
    }
    let manifest = manifest(&out.join("manifest.json"));
    assert_eq!(manifest["node"], serde_json::Value::Null);
    // Nothing reached the node.
    let first = lines[0]["address"].as_str().unwrap().to_owned();
    setup.run(&["verify", &first]).assert_code(4);

    // No Enable Identity signature (the secret that opens each private store) is in the
    // manifest, the account files or what the run printed: the software device with the
    // same mnemonic signs each store's text again (RFC 6979: the same bytes).
    let device = Arc::new(SoftwareDevice::with_test_mnemonic());
    let app = EthApp::from_transport(InProcessTransport::new(device));
    let mut written = std::fs::read(out.join("manifest.json")).unwrap();
    written.extend(run.stdout.as_bytes());
    written.extend(run.stderr.as_bytes());
    for (index, line) in lines.iter().enumerate() {
        let dir = out.join(format!("account-{index:05}"));
        for file in ["contact-v1.bin", "contact-v2.bin", "identity.json"] {
            written.extend(std::fs::read(dir.join(file)).unwrap());
        }
        let store = EncryptedBundle::decode(&std::fs::read(dir.join("private-store.bin")).unwrap())
            .expect("private store");
        let path: DerivationPath = line["hd_path"].as_str().unwrap().parse().unwrap();
        let signer = LedgerSigner::connect(app.clone(), path).expect("signer");
        let secret = signer
            .personal_sign(&store.enable_identity_text())
            .expect("sign");
        // It is the secret: it opens the store.
        store
            .open(&secret)
            .expect("the signature opens the private store");
        let secret = secret.as_bytes();
        let encodings: [Vec<u8>; 5] = [
            secret.to_vec(),
            secret[..64].to_vec(),
            hex::encode(secret).into_bytes(),
            hex::encode_upper(secret).into_bytes(),
            base64::engine::general_purpose::STANDARD
                .encode(secret)
                .into_bytes(),
        ];
        for needle in &encodings {
            assert!(
                !written
                    .windows(needle.len())
                    .any(|w| w == needle.as_slice()),
                "account {index}: the Enable Identity signature is in the output"
            );
        }
    }

    // `publish DIR` publishes every account of the directory, one approval each.
    let published = setup.run(&["--json", "publish", &out_arg]);
    published.assert_code(0);
    let lines = published.json_lines();
    assert_eq!(lines.len(), 3, "{}", published.stdout);
    assert!(
        lines.iter().all(|l| l["outcome"] == "published"),
        "{}",
        published.stdout
    );
    let addresses: Vec<&str> = lines
        .iter()
        .map(|l| l["address"].as_str().unwrap())
        .collect();
    let verified = setup.run(&["--json", "verify", addresses[0], addresses[1], addresses[2]]);
    for (line, address) in verified.json_lines().iter().zip(&addresses) {
        assert_eq!(line["valid"], true, "{address}: {line}");
    }
    for (index, address) in addresses.iter().enumerate() {
        let prepared =
            std::fs::read_to_string(out.join(format!("account-{index:05}/identity.json")))
                .expect("identity.json");
        let prepared: serde_json::Value = serde_json::from_str(&prepared).unwrap();
        let history = setup
            .run(&["--json", "verify", "--history", address])
            .json();
        assert_eq!(
            history["identities"][0]["identity_public_key"], prepared["identity_public_key"],
            "{address} published the key written offline"
        );
    }
    // Again: nothing new is sent, nothing fails.
    setup.run(&["publish", &out_arg]).assert_code(0);
    // The directory names its accounts: an account flag is a usage error.
    setup
        .run(&["--account", "1", "publish", &out_arg])
        .assert_code(1);

    // A manifest made offline is not resumed against a node.
    let mixed = setup.run(&[
        "provision",
        "--legacy",
        "0..2",
        "--manifest",
        out.join("manifest.json").to_str().unwrap(),
    ]);
    mixed.assert_code(1);
    assert!(mixed.stderr.contains("offline (--out)"), "{}", mixed.stderr);

    for bad in [
        &["provision", "--manifest", "m.json"][..],
        &["provision", "--accounts", "0..2"][..],
        &["provision", "--accounts", "2..0", "--manifest", "m.json"][..],
        &[
            "provision",
            "--accounts",
            "0..2",
            "--legacy",
            "0",
            "--manifest",
            "m.json",
        ][..],
        &[
            "--account",
            "3",
            "provision",
            "--accounts",
            "0..2",
            "--manifest",
            "m.json",
        ][..],
    ] {
        let run = setup.run(bad);
        run.assert_code(1);
    }
}

#[test]
fn report_shows_state_fingerprint_and_a_re_key_the_manifest_did_not_record() {
    let setup = Setup::new();
    let manifest_path = setup.dir.path().join("m.json");
    let manifest_arg = manifest_path.to_str().unwrap().to_owned();
    setup
        .run(&[
            "provision",
            "--accounts",
            "0..1",
            "--manifest",
            &manifest_arg,
        ])
        .assert_code(0);

    let clean = setup.run(&["--json", "report", "--manifest", &manifest_arg]);
    clean.assert_code(0);
    let rows = clean.json_lines();
    assert_eq!(rows.len(), 2, "{}", clean.stdout);
    for (row, entry) in rows
        .iter()
        .zip(manifest(&manifest_path)["accounts"].as_array().unwrap())
    {
        assert_eq!(row["state"], "valid", "{row}");
        assert_eq!(row["differs_from_manifest"], false, "{row}");
        assert_eq!(row["fingerprint"], entry["fingerprint"], "{row}");
        assert!(
            row["published_at"].as_str().unwrap().ends_with('Z'),
            "{row}"
        );
    }

    // Someone re-keys account 1 outside the run.
    setup
        .run(&["--account", "1", "init", "--force"])
        .assert_code(0);
    let changed = setup.run(&["--json", "report", "--manifest", &manifest_arg]);
    changed.assert_code(4);
    let rows = changed.json_lines();
    assert_eq!(rows[0]["differs_from_manifest"], false);
    assert_eq!(rows[1]["state"], "valid");
    assert_eq!(rows[1]["differs_from_manifest"], true, "{}", rows[1]);
    assert_eq!(rows[2]["error"]["code"], "verification_failed");

    let human = setup.run(&["report", "--manifest", &manifest_arg]);
    human.assert_code(4);
    assert!(human.stdout.contains("DIFFERS"), "{}", human.stdout);
    assert!(
        human.stdout.contains("1 differ from the manifest"),
        "{}",
        human.stdout
    );

    // A list of addresses: no manifest to compare with; an unknown account is `none`.
    let list = setup.dir.path().join("addresses.txt");
    std::fs::write(
        &list,
        format!("# vault\n{ACCOUNT_0}\n0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC\n"),
    )
    .unwrap();
    let listed = setup.run(&["--json", "report", "--addresses", list.to_str().unwrap()]);
    listed.assert_code(4);
    let rows = listed.json_lines();
    assert_eq!(rows[0]["state"], "valid");
    assert_eq!(rows[0]["differs_from_manifest"], serde_json::Value::Null);
    assert_eq!(rows[0]["account"], "line 2");
    assert_eq!(rows[1]["state"], "none");
}
