//! `xmtp-ledger connect` end to end: the software device over TCP, the node over gRPC,
//! the binary as a person or a script runs it.

mod common;

use common::cli::{ACCOUNT_0, Setup};

fn identity_key(run: &common::cli::Run) -> String {
    run.json()["identity_public_key"]
        .as_str()
        .expect("identity_public_key")
        .to_owned()
}

#[test]
fn connect_twice_creates_then_retrieves_the_same_identity() {
    let setup = Setup::new();
    let first = setup.run(&["--json", "connect"]);
    first.assert_code(0);
    let json = first.json();
    assert_eq!(json["outcome"], "created");
    assert_eq!(json["address"], ACCOUNT_0);
    common::cli::assert_outcome_contract(&json);
    assert!(first.stderr.contains("(1 of 2)") && first.stderr.contains("(2 of 2)"));

    let second = setup.run(&["--json", "connect"]);
    second.assert_code(0);
    assert_eq!(second.json()["outcome"], "retrieved");
    assert_eq!(identity_key(&second), identity_key(&first));
    assert!(
        second.stderr.contains("(1 of 1)") && !second.stderr.contains("Create Identity"),
        "one approval to retrieve: {}",
        second.stderr
    );

    // What connect created is a valid identity for anyone.
    let verify = setup.run(&["--json", "verify", ACCOUNT_0]);
    verify.assert_code(0);
    assert_eq!(
        verify.json()["identity_public_key"].as_str(),
        Some(identity_key(&first).as_str())
    );

    // Human output names the path taken.
    let human = setup.run(&["connect"]);
    human.assert_code(0);
    assert!(
        human.stdout.contains("XMTP identity retrieved") && human.stdout.contains("retrieved"),
        "{}",
        human.stdout
    );
}

#[test]
fn connect_with_a_keystore_counts_the_extra_approval() {
    let setup = Setup::new();
    let keystore = setup.dir.path().join("keys.bin");
    let keystore_arg = keystore.to_str().expect("utf-8 path");
    let run = setup.run(&["connect", "--keystore", keystore_arg]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("(1 of 3)") && run.stderr.contains("(3 of 3)"),
        "{}",
        run.stderr
    );
    assert!(keystore.exists());
    // An existing keystore is replaced only with --force, and refused before the device.
    let refused = setup.run(&["connect", "--keystore", keystore_arg]);
    refused.assert_code(1);
    assert!(
        !refused.stderr.contains("Ledger: review"),
        "{}",
        refused.stderr
    );
    let again = setup.run(&["connect", "--keystore", keystore_arg, "--force"]);
    again.assert_code(0);
    assert!(again.stderr.contains("(2 of 2)"), "{}", again.stderr);
}

#[test]
fn a_rejection_while_connecting_publishes_nothing() {
    for prompt in ["XMTP : Create Identity", "XMTP : Enable Identity"] {
        let setup = Setup::with_emulator(&["--reject-containing", prompt]);
        let run = setup.run(&["--json", "connect"]);
        run.assert_code(20);
        // No identity, not even half of one: a later connect starts from scratch.
        setup.run(&["verify", ACCOUNT_0]).assert_code(4);
        let mut setup = setup;
        setup.restart_device(&[]);
        let retry = setup.run(&["--json", "connect"]);
        retry.assert_code(0);
        assert_eq!(retry.json()["outcome"], "created", "{prompt}");
    }

    // Rejecting the one approval of a retrieval leaves the identity as it was.
    let mut setup = Setup::new();
    let created = setup.run(&["--json", "connect"]);
    created.assert_code(0);
    setup.restart_device(&["--reject-containing", "XMTP : Enable Identity"]);
    setup.run(&["connect"]).assert_code(20);
    setup.restart_device(&[]);
    let retrieved = setup.run(&["--json", "connect"]);
    retrieved.assert_code(0);
    assert_eq!(retrieved.json()["outcome"], "retrieved");
    assert_eq!(identity_key(&retrieved), identity_key(&created));
}

/// `--network local` says which node it uses, and names an in-process node by its
/// database, never by the port that ends with the command.
#[test]
fn network_local_says_which_node_and_never_names_a_throwaway_port() {
    if std::net::TcpStream::connect("127.0.0.1:5556").is_ok() {
        eprintln!("something listens on 127.0.0.1:5556: not publishing to it; skipped");
        return;
    }
    let device = common::cli::Service::emulator(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("node.sqlite3");
    let run = |args: &[&str]| -> common::cli::Run {
        common::cli::command()
            .args([
                "--device",
                &format!("tcp://{}", device.addr),
                "--network",
                "local",
            ])
            .args(args)
            .env("XMTP_LEDGER_NODE_DB", &db)
            .output()
            .expect("run")
            .into()
    };
    let ports = |text: &str| -> Vec<String> {
        text.match_indices("127.0.0.1:")
            .map(|(at, m)| {
                text[at + m.len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect()
            })
            .collect()
    };
    let db_text = db.display().to_string();

    let created = run(&["connect"]);
    created.assert_code(0);
    assert!(
        created
            .stderr
            .contains("--network local: nothing listens on 127.0.0.1:5556")
            && created.stderr.contains(&db_text),
        "{}",
        created.stderr
    );
    assert!(
        created.stderr.contains(&format!(
            "published 3 envelope(s) to the local node (database {db_text})"
        )),
        "{}",
        created.stderr
    );
    let refused = run(&["init"]);
    refused.assert_code(6);
    assert!(refused.stderr.contains(&db_text), "{}", refused.stderr);
    for run in [&created, &refused] {
        let all = format!("{}{}", run.stdout, run.stderr);
        for port in ports(&all) {
            assert_eq!(port, "5556", "a throwaway port is named:\n{all}");
        }
    }
}
