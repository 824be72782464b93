//! `inspect` on the tool's own files and with `--expect-address`: a directory `init --out`
//! wrote, its `identity.json`, a keystore; notes kept apart from problems; a corrupted
//! key reported as such.

mod common;

use common::cli::{ACCOUNT_0, LEDGER_LIVE_1, Run, Setup, command};
use common::{key_vectors, unhex};

fn inspect(args: &[&str]) -> Run {
    command()
        .arg("--json")
        .arg("inspect")
        .args(args)
        .output()
        .expect("inspect")
        .into()
}

fn texts(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

#[test]
fn the_directory_init_out_wrote_is_checked_file_by_file_and_as_a_whole() {
    let setup = Setup::new();
    let dir = |name: &str| setup.dir.path().join(name);
    setup
        .run(&["init", "--out", dir("a").to_str().unwrap()])
        .assert_code(0);
    setup
        .run(&[
            "--account",
            "1",
            "init",
            "--out",
            dir("b").to_str().unwrap(),
        ])
        .assert_code(0);

    let whole = inspect(&[dir("a").to_str().unwrap()]);
    whole.assert_code(0);
    let report = whole.json();
    assert_eq!(report["kind"], "init_out_dir", "{report}");
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["wallet_address"], ACCOUNT_0);
    assert!(texts(&report["problems"]).is_empty(), "{report}");
    assert!(
        texts(&report["notes"])
            .iter()
            .any(|n| n.contains("publish")),
        "{report}"
    );

    // Its identity.json alone: described, well formed, proving nothing.
    let description = inspect(&[dir("a").join("identity.json").to_str().unwrap()]);
    description.assert_code(0);
    assert_eq!(description.json()["kind"], "identity_json");
    assert_eq!(description.json()["wallet_address"], ACCOUNT_0);
    assert_eq!(
        description.json()["identity_fingerprint"],
        report["identity_fingerprint"]
    );

    // A contact of another account in the directory: which file, and why.
    std::fs::copy(
        dir("b").join("contact-v2.bin"),
        dir("a").join("contact-v2.bin"),
    )
    .unwrap();
    let mixed = inspect(&[dir("a").to_str().unwrap()]);
    mixed.assert_code(4);
    let problems = texts(&mixed.json()["problems"]).join("\n");
    assert!(
        problems.contains(&format!("contact-v2.bin was signed by {LEDGER_LIVE_1}")),
        "{problems}"
    );

    // A file missing.
    std::fs::remove_file(dir("b").join("private-store.bin")).unwrap();
    let partial = inspect(&[dir("b").to_str().unwrap()]);
    partial.assert_code(4);
    assert!(
        texts(&partial.json()["problems"])
            .iter()
            .any(|p| p.contains("missing private-store.bin")),
        "{}",
        partial.stdout
    );
}

#[test]
fn expect_address_fails_on_another_wallet_or_none_that_can_be_checked() {
    let v = &key_vectors().vectors[0];
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let contact = write("contact", &v.contact_bundle_v2);
    let contact = contact.to_str().unwrap();
    inspect(&[contact, "--expect-address", &v.address]).assert_code(0);
    let other = inspect(&[contact, "--expect-address", LEDGER_LIVE_1]);
    other.assert_code(4);
    let report = other.json();
    assert_eq!(report["valid"], false);
    assert!(
        texts(&report["problems"])
            .iter()
            .any(|p| p.contains(&format!("not the expected {LEDGER_LIVE_1}"))),
        "{report}"
    );
    // An encrypted bundle names no wallet without the device: the expectation fails.
    let sealed = write("sealed", &v.storage.encrypted_private_key_bundle);
    inspect(&[sealed.to_str().unwrap(), "--expect-address", &v.address]).assert_code(4);
    // A malformed expectation is a usage error.
    inspect(&[contact, "--expect-address", "0x1234"]).assert_code(1);
}

#[test]
fn notes_are_apart_from_problems_and_a_corrupted_key_is_named() {
    let v = &key_vectors().vectors[0];
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("private");
    std::fs::write(&private, &v.private_key_bundle).unwrap();
    let run = inspect(&[private.to_str().unwrap()]);
    run.assert_code(0);
    let report = run.json();
    assert!(texts(&report["problems"]).is_empty(), "{report}");
    assert!(
        texts(&report["notes"])
            .iter()
            .any(|n| n.contains("PRIVATE keys in clear")),
        "{report}"
    );

    // The identity key's point inside a v2 contact: its 0x04 prefix made 0x05.
    let mut contact = unhex(&v.contact_bundle_v2);
    let point = unhex(&v.identity.public_key_uncompressed);
    let at = contact
        .windows(point.len())
        .position(|w| w == point.as_slice())
        .expect("identity key in contact");
    contact[at] = 0x05;
    let corrupted = dir.path().join("corrupted");
    std::fs::write(&corrupted, hex::encode(&contact)).unwrap();
    let run = inspect(&[corrupted.to_str().unwrap()]);
    run.assert_code(4);
    let report = run.json();
    assert_eq!(report["kind"], "contact_bundle_v2", "{report}");
    assert!(
        texts(&report["problems"])
            .iter()
            .any(|p| p.contains("a key inside does not decode")),
        "{report}"
    );
}
