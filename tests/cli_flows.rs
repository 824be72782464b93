//! The built binary end to end: `emulator` on a TCP port and `node` on a loopback port,
//! then `init`, `verify`, `unlock`, `inspect`, `publish`, and what must not happen.

mod common;

use std::os::unix::fs::PermissionsExt;

use std::path::Path;

use common::cli::{ACCOUNT_0, LEDGER_LIVE_1, Run, Setup};
use common::{key_vectors, unhex};

const IDENTITY_FIELDS: [&str; 7] = [
    "address",
    "hd_path",
    "identity_public_key",
    "identity_fingerprint",
    "pre_key_public_keys",
    "contact_topic",
    "private_store_topic",
];
const REPORT_FIELDS: [&str; 9] = [
    "kind",
    "valid",
    "wallet_address",
    "identity_public_key",
    "identity_fingerprint",
    "pre_key_public_key",
    "pre_key_public_keys",
    "problems",
    "notes",
];

fn keys(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut fields: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
    fields.sort();
    fields
}

#[test]
fn init_verify_unlock_inspect() {
    let setup = Setup::new();

    let address = setup.run(&["--json", "address"]);
    address.assert_code(0);
    let address = address.json();
    assert_eq!(
        keys(&address),
        sorted(&["address", "hd_path", "public_key"])
    );
    assert_eq!(address["address"], ACCOUNT_0);
    assert_eq!(address["hd_path"], "m/44'/60'/0'/0/0");

    let init = setup.run(&["--json", "init"]);
    init.assert_code(0);
    assert!(
        init.stderr
            .contains("review 'XMTP : Create Identity' and approve (1 of 2)"),
        "{}",
        init.stderr
    );
    assert!(
        init.stderr
            .contains("review 'XMTP : Enable Identity' and approve (2 of 2)"),
        "{}",
        init.stderr
    );
    let created = init.json();
    assert_eq!(keys(&created), sorted(&IDENTITY_FIELDS));
    assert_eq!(created["address"], ACCOUNT_0);
    let identity_key = created["identity_public_key"].as_str().unwrap().to_owned();
    assert_eq!(identity_key.len(), 130);
    assert!(identity_key.starts_with("04"));
    assert_eq!(identity_key, identity_key.to_lowercase());
    assert_eq!(created["pre_key_public_keys"].as_array().unwrap().len(), 1);
    assert_eq!(
        created["contact_topic"],
        format!("/xmtp/0/contact-{ACCOUNT_0}/proto")
    );

    let verify = setup.run(&["--json", "verify", ACCOUNT_0]);
    verify.assert_code(0);
    let report = verify.json();
    assert_eq!(keys(&report), sorted(&REPORT_FIELDS));
    assert_eq!(
        report["kind"], "contact_bundle_v2",
        "the newest contact is v2"
    );
    assert_eq!(report["valid"], true);
    assert_eq!(report["wallet_address"], ACCOUNT_0);
    assert_eq!(report["identity_public_key"], identity_key.as_str());
    assert_eq!(
        report["pre_key_public_key"],
        created["pre_key_public_keys"][0]
    );

    let keystore = setup.dir.path().join("keystore.bin");
    let unlock = setup.run(&["--json", "unlock", "--keystore", keystore.to_str().unwrap()]);
    unlock.assert_code(0);
    let unlocked = unlock.json();
    assert_eq!(
        unlocked, created,
        "unlock recovers exactly the identity init created"
    );
    let mode = std::fs::metadata(&keystore).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the keystore file is private");

    // The keystore is an encrypted bundle: inspect sees no keys, unlock --from-file opens it.
    let inspect = setup.run(&["--json", "inspect", keystore.to_str().unwrap()]);
    inspect.assert_code(0);
    assert_eq!(inspect.json()["kind"], "encrypted_private_key_bundle");
    let from_keystore = setup.run(&[
        "--json",
        "unlock",
        "--from-file",
        keystore.to_str().unwrap(),
    ]);
    from_keystore.assert_code(0);
    assert_eq!(from_keystore.json(), created);

    // Another account of the same device has no identity.
    setup
        .run(&["--account", "1", "verify", LEDGER_LIVE_1])
        .assert_code(4);
    setup.run(&["--account", "1", "unlock"]).assert_code(4);
}

#[test]
fn second_init_is_refused_without_force_and_replaces_with_it() {
    let setup = Setup::new();
    let first = setup.run(&["--json", "init"]);
    first.assert_code(0);
    // Its own exit status and code, not a usage error: a script can tell "exists" apart.
    let refused = setup.run(&["--json", "init"]);
    refused.assert_code(6);
    let error = refused.json_error();
    assert_eq!(error["code"], "exists", "{error}");
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("already has an XMTP identity"),
        "{message}"
    );
    assert!(message.contains("--force"), "{message}");
    let human = setup.run(&["init"]);
    human.assert_code(6);
    assert!(human.stdout.is_empty(), "nothing on stdout for a refusal");
    assert!(
        human.stderr.contains("error: ") && human.stderr.contains("already has an XMTP identity"),
        "{}",
        human.stderr
    );

    let verify = setup.run(&["--json", "verify", ACCOUNT_0]);
    assert_eq!(
        verify.json()["identity_public_key"],
        first.json()["identity_public_key"]
    );

    let forced = setup.run(&["--json", "init", "--force"]);
    forced.assert_code(0);
    assert_ne!(
        forced.json()["identity_public_key"],
        first.json()["identity_public_key"]
    );
    let verify = setup.run(&["--json", "verify", ACCOUNT_0]);
    assert_eq!(
        verify.json()["identity_public_key"],
        forced.json()["identity_public_key"]
    );
    let unlock = setup.run(&["--json", "unlock"]);
    assert_eq!(
        unlock.json()["identity_public_key"],
        forced.json()["identity_public_key"]
    );
}

#[test]
fn rejection_at_either_prompt_publishes_nothing() {
    for prompt in ["XMTP : Create Identity", "XMTP : Enable Identity"] {
        let setup = Setup::with_emulator(&["--reject-containing", prompt]);
        let init = setup.run(&["--json", "init"]);
        init.assert_code(20);
        let error = init.json_error();
        assert_eq!(error["code"], "rejected", "{error}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("rejected on the Ledger")),
            "{error}"
        );
        // Nothing reached the node: no contact, and nothing to unlock.
        setup.run(&["verify", ACCOUNT_0]).assert_code(4);
        let mut setup = setup;
        setup.restart_device(&[]);
        let unlock = setup.run(&["unlock"]);
        unlock.assert_code(4);
        assert!(
            unlock.stderr.contains("no XMTP identity"),
            "{}",
            unlock.stderr
        );
    }
}

#[test]
fn other_accounts_and_paths() {
    let setup = Setup::new();
    let init = setup.run(&["--json", "--hd-path", "m/44'/60'/1'/0/0", "init"]);
    init.assert_code(0);
    assert_eq!(init.json()["address"], LEDGER_LIVE_1);
    assert_eq!(init.json()["hd_path"], "m/44'/60'/1'/0/0");
    // --account 1 is the same Ledger Live path.
    setup
        .run(&["--account", "1", "--json", "unlock"])
        .assert_code(0);
    setup.run(&["verify", LEDGER_LIVE_1]).assert_code(0);
    // Flags are also read from the environment.
    let via_env = setup.run_with(&["--json", "address"], |c| {
        c.env("XMTP_LEDGER_LEGACY", "1");
    });
    via_env.assert_code(0);
    assert_eq!(via_env.json()["hd_path"], "m/44'/60'/0'/1");
    // Mutually exclusive account flags are a usage error.
    setup
        .run(&["--account", "1", "--legacy", "1", "address"])
        .assert_code(1);
}

#[test]
fn init_out_then_publish() {
    let setup = Setup::new();
    let out = setup.dir.path().join("offline");
    let init = setup.run(&["--json", "init", "--out", out.to_str().unwrap()]);
    init.assert_code(0);
    for name in [
        "private-store.bin",
        "contact-v1.bin",
        "contact-v2.bin",
        "identity.json",
    ] {
        let mode = std::fs::metadata(out.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    // Nothing was published yet.
    setup.run(&["verify", ACCOUNT_0]).assert_code(4);
    // A second --out into the same directory is refused.
    setup
        .run(&["init", "--out", out.to_str().unwrap()])
        .assert_code(1);

    let publish = setup.run(&["--json", "publish", out.to_str().unwrap()]);
    publish.assert_code(0);
    assert_eq!(publish.json(), init.json());
    let verify = setup.run(&["--json", "verify", ACCOUNT_0]);
    verify.assert_code(0);
    assert_eq!(
        verify.json()["identity_public_key"],
        init.json()["identity_public_key"]
    );
    // Publishing again is a no-op, not a refusal and not a duplicate.
    setup
        .run(&["publish", out.to_str().unwrap()])
        .assert_code(0);

    // Tampered contact files are refused before anything is published.
    let v1 = out.join("contact-v1.bin");
    let mut bytes = std::fs::read(&v1).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&v1, bytes).unwrap();
    setup
        .run(&["publish", out.to_str().unwrap()])
        .assert_code(4);
}

/// `publish DIR` takes the account from `DIR/identity.json`, and refuses (before the
/// device is asked anything) a flag naming another account, contacts of another wallet,
/// and a node that already holds another identity.
#[test]
fn publish_reads_the_account_from_the_directory_and_checks_before_the_device() {
    let setup = Setup::new();
    let dir = |name: &str| setup.dir.path().join(name).to_str().unwrap().to_owned();
    let (first, second) = (dir("account-1"), dir("account-0"));
    setup
        .run(&["--account", "1", "init", "--out", &first])
        .assert_code(0);
    setup.run(&["init", "--out", &second]).assert_code(0);
    let asked = |run: &Run| run.stderr.contains("Ledger: review");

    // Another account named on the command line: a usage error, the device untouched.
    let wrong = setup.run(&["--json", "--account", "2", "publish", &first]);
    wrong.assert_code(1);
    let message = wrong.error_message();
    assert!(
        message.contains("m/44'/60'/1'/0/0") && message.contains("m/44'/60'/2'/0/0"),
        "{message}"
    );
    assert!(!asked(&wrong), "{}", wrong.stderr);

    // Contacts of another wallet than identity.json names: refused before the device.
    let mixed = setup.dir.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    for name in ["private-store.bin", "identity.json"] {
        std::fs::copy(Path::new(&first).join(name), mixed.join(name)).unwrap();
    }
    for name in ["contact-v1.bin", "contact-v2.bin"] {
        std::fs::copy(Path::new(&second).join(name), mixed.join(name)).unwrap();
    }
    let refused = setup.run(&["publish", mixed.to_str().unwrap()]);
    refused.assert_code(4);
    assert!(!asked(&refused), "{}", refused.stderr);
    assert!(refused.stderr.contains(ACCOUNT_0), "{}", refused.stderr);

    // No flag: the account of identity.json (Ledger Live account 1), one approval.
    let published = setup.run(&["--json", "publish", &first]);
    published.assert_code(0);
    assert_eq!(published.json()["address"], LEDGER_LIVE_1);
    assert_eq!(published.json()["hd_path"], "m/44'/60'/1'/0/0");
    assert!(
        published.stderr.contains("(1 of 1)"),
        "{}",
        published.stderr
    );
    // The same flag as identity.json is fine too (and finds it already published).
    setup
        .run(&["--account", "1", "publish", &first])
        .assert_code(0);

    // Another identity of the same account on the node: exists, before the device.
    let other = dir("account-1-again");
    setup
        .run(&["--account", "1", "init", "--out", &other])
        .assert_code(0);
    let exists = setup.run(&["--json", "publish", &other]);
    exists.assert_code(6);
    assert_eq!(exists.json_error()["code"], "exists");
    assert!(!asked(&exists), "{}", exists.stderr);
}

#[test]
fn unlock_from_file_decrypts_the_reference_vectors_in_both_v_forms() {
    let setup = Setup::new();
    for v in key_vectors().vectors {
        for encrypted in [
            &v.storage.encrypted_private_key_bundle,
            &v.storage.encrypted_private_key_bundle_canonical_v,
        ] {
            let file = setup.dir.path().join("bundle.hex");
            std::fs::write(&file, encrypted).unwrap();
            let unlock = setup.run(&[
                "--json",
                "--hd-path",
                &v.hd_path,
                "unlock",
                "--from-file",
                file.to_str().unwrap(),
            ]);
            unlock.assert_code(0);
            let json = unlock.json();
            assert_eq!(json["address"], v.address.as_str(), "{}", v.label);
            assert_eq!(
                json["identity_public_key"],
                v.identity.public_key_uncompressed.as_str(),
                "{}",
                v.label
            );
        }
        // The wrong account cannot open it: decryption failure, exit 5.
        let file = setup.dir.path().join("bundle.hex");
        std::fs::write(&file, &v.storage.encrypted_private_key_bundle).unwrap();
        let other_path = if v.hd_path == "m/44'/60'/0'/0/0" {
            "m/44'/60'/7'/0/0"
        } else {
            "m/44'/60'/0'/0/0"
        };
        let wrong = setup.run(&[
            "--hd-path",
            other_path,
            "unlock",
            "--from-file",
            file.to_str().unwrap(),
        ]);
        wrong.assert_code(5);
        assert!(wrong.stderr.contains("cannot decrypt"), "{}", wrong.stderr);
    }
}

#[test]
fn inspect_reads_hex_base64_and_raw_and_flags_tampering() {
    let setup = Setup::new();
    let v = &key_vectors().vectors[0];
    let cases = [
        (v.contact_bundle_v1.clone(), "contact_bundle_v1"),
        (v.contact_bundle_v2.clone(), "contact_bundle_v2"),
        (
            v.identity.signed_public_key_v1.clone(),
            "signed_public_key_v1",
        ),
        (v.private_key_bundle.clone(), "private_key_bundle"),
        (
            v.storage.encrypted_private_key_bundle.clone(),
            "encrypted_private_key_bundle",
        ),
        (format!("Bearer {}", v.auth_token.bearer), "auth_token"),
    ];
    for (text, kind) in cases {
        let file = setup.dir.path().join("input");
        std::fs::write(&file, &text).unwrap();
        let run = setup.run(&["--json", "inspect", file.to_str().unwrap()]);
        run.assert_code(0);
        let report = run.json();
        assert_eq!(keys(&report), sorted(&REPORT_FIELDS));
        assert_eq!(report["kind"], kind);
        assert_eq!(report["valid"], true);
        if kind != "encrypted_private_key_bundle" {
            assert_eq!(report["wallet_address"], v.address.as_str(), "{kind}");
        }
    }
    // `-` reads standard input.
    let mut child = common::cli::command()
        .args(["--json", "inspect", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        v.contact_bundle_v2.as_bytes(),
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["kind"], "contact_bundle_v2");

    // Raw bytes and base64 of the same contact give the same report.
    let raw = setup.dir.path().join("raw");
    std::fs::write(&raw, unhex(&v.contact_bundle_v2)).unwrap();
    let from_raw = setup.run(&["--json", "inspect", raw.to_str().unwrap()]);
    from_raw.assert_code(0);
    assert_eq!(
        from_raw.json()["identity_public_key"],
        v.identity.public_key_uncompressed.as_str()
    );

    // One flipped bit in the pre-key's signature: decodes, but does not verify (exit 4).
    let contact = unhex(&v.contact_bundle_v1);
    let pre_key = unhex(&v.pre_key.signed_public_key_v1);
    // signed_public_key_v1 = 08 <6-byte ts> 12 44 0a 42 0a 40 <64-byte signature> ...
    let signature = &pre_key[13..77];
    let at = contact
        .windows(64)
        .position(|w| w == signature)
        .expect("pre-key signature in contact");
    let mut tampered = contact.clone();
    tampered[at + 10] ^= 0x01;
    let file = setup.dir.path().join("tampered");
    std::fs::write(&file, hex::encode(&tampered)).unwrap();
    let run = setup.run(&["--json", "inspect", file.to_str().unwrap()]);
    run.assert_code(4);
    let report = run.json();
    assert_eq!(report["kind"], "contact_bundle_v1");
    assert_eq!(report["valid"], false);
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .contains("does not verify"),
        "{report}"
    );

    // One flipped bit in the wallet's signature: the bundle now names another wallet.
    let identity = unhex(&v.identity.signed_public_key_v1);
    let signature = &identity[13..77];
    let at = contact
        .windows(64)
        .position(|w| w == signature)
        .expect("wallet signature in contact");
    let mut tampered = contact.clone();
    tampered[at + 10] ^= 0x01;
    std::fs::write(&file, hex::encode(&tampered)).unwrap();
    let run = setup.run(&["--json", "inspect", file.to_str().unwrap()]);
    let report = run.json();
    assert_ne!(
        report["wallet_address"],
        v.address.as_str(),
        "a forged signature never names the wallet"
    );

    // The private key bundle's secret never appears in the output.
    let file = setup.dir.path().join("private");
    std::fs::write(&file, &v.private_key_bundle).unwrap();
    let run = setup.run(&["inspect", file.to_str().unwrap()]);
    assert!(!run.stdout.contains(&v.identity.private_key));
    assert!(!run.stdout.contains(&v.pre_key.private_key));
}

/// `init`, `unlock` and `verify` show one fingerprint of the identity key, in one format,
/// in human output and in `--json`.
#[test]
fn init_unlock_and_verify_show_the_same_fingerprint() {
    let setup = Setup::new();
    let init = setup.run(&["--json", "init"]);
    init.assert_code(0);
    let fingerprint = init.json()["identity_fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned();
    // 8 groups of 4 hex digits.
    let groups: Vec<&str> = fingerprint.split(':').collect();
    assert_eq!(groups.len(), 8, "{fingerprint}");
    assert!(
        groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_hexdigit())),
        "{fingerprint}"
    );
    // It is the identity key's: SHA-256 of the point, first 16 bytes.
    let key = unhex(init.json()["identity_public_key"].as_str().unwrap());
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&key);
    assert_eq!(fingerprint.replace(':', ""), hex::encode(&digest[..16]));

    for args in [
        &["--json", "unlock"][..],
        &["--json", "verify", ACCOUNT_0][..],
    ] {
        let run = setup.run(args);
        run.assert_code(0);
        assert_eq!(
            run.json()["identity_fingerprint"],
            fingerprint.as_str(),
            "{args:?}"
        );
    }
    for args in [&["unlock"][..], &["verify", ACCOUNT_0][..]] {
        let run = setup.run(args);
        run.assert_code(0);
        assert!(
            run.stdout
                .contains(&format!("fingerprint    {fingerprint}")),
            "{args:?}: {}",
            run.stdout
        );
    }
}
