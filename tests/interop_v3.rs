//! Interop with libxmtp itself (`@xmtp/node-sdk` 6.0.0 over `@xmtp/node-bindings` 1.10.0,
//! pinned in tests/interop/package-lock.json) against our node's IdentityApi:
//!
//! (a) node-sdk's `Client.create` with an EOA signer whose `signMessage` runs
//!     `xmtp-ledger inbox sign` on the software device: the client is created, and
//!     `inbox status` shows its installation;
//! (b) `inbox create` and `inbox revoke --all-installations` on the software device, with
//!     libxmtp clients registered in between: libxmtp's own verifier
//!     (`Client.fetchInboxStates`) shows exactly the state `inbox status` printed;
//! (c) our node refuses what breaks a rule, even when libxmtp made it: a logged update
//!     published again (a replayed signature), a revocation signed by a wallet that is not
//!     the recovery address;
//! (d) the texts and inbox ids libxmtp makes for several inboxes are the ones our builder
//!     makes from the same fields.
//!
//! The SDK runs as `tests/interop/node-v3 v3-client.mjs …` (node-v3 loads the private
//! glibc its native module needs on Debian 12; `bash .ci/install-deps` installs both).
//! `XMTP_LEDGER_SKIP_INTEROP=1` skips these tests; otherwise a missing install fails them.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use common::cli::{ACCOUNT_0, LEDGER_LIVE_1, Run, Setup, binary};
use xmtp_ledger::identity::Address;
use xmtp_ledger::network::{BlockingClient, ClientConfig, NetworkError};
use xmtp_ledger::signer::{LocalKeySigner, Signer};
use xmtp_ledger::v3::{InboxId, MemberId, SignatureText, TextAction, UnsignedUpdate, WalletAction};

/// One SDK run takes a second or two; this only catches a hang.
const SDK_TIMEOUT: Duration = Duration::from_secs(120);

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Whether to run: `XMTP_LEDGER_SKIP_INTEROP=1` skips; otherwise the SDK must be there.
fn sdk_available() -> bool {
    if std::env::var("XMTP_LEDGER_SKIP_INTEROP").is_ok_and(|v| v == "1") {
        eprintln!("XMTP_LEDGER_SKIP_INTEROP=1: skipping the libxmtp interop test");
        return false;
    }
    let manifest = interop_dir().join("node_modules/@xmtp/node-sdk/package.json");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| {
        panic!(
            "@xmtp/node-sdk is not installed ({}: {e}): run `bash .ci/install-deps`, or set \
             XMTP_LEDGER_SKIP_INTEROP=1 to skip the interop tests",
            manifest.display()
        )
    });
    let package: Value = serde_json::from_str(&text).expect("package.json");
    assert_eq!(
        package["version"], "6.0.0",
        "stale install: run `bash .ci/install-deps`"
    );
    true
}

/// `node-v3 v3-client.mjs ARGS`: its one JSON line (or one per line for `states`/`texts`).
fn sdk(args: &[&str]) -> Vec<Value> {
    let mut command = Command::new(interop_dir().join("node-v3"));
    command
        .arg("v3-client.mjs")
        .args(args)
        .current_dir(interop_dir())
        .stdin(Stdio::null());
    let what = format!("v3-client.mjs {}", args.first().copied().unwrap_or(""));
    let (run, elapsed) = common::cli::run_within(command, SDK_TIMEOUT, &what);
    eprintln!("{what}: exit {} in {elapsed:.2?}", run.code);
    assert_eq!(
        run.code, 0,
        "{what} failed:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run.stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: {e}: {line}")))
        .collect()
}

/// The shell command node-sdk's signer runs: `xmtp-ledger inbox sign` on the device.
fn sign_command(setup: &Setup, hd_path: &str) -> String {
    format!(
        "'{}' --device '{}' --hd-path \"{hd_path}\" -q inbox sign",
        binary().display(),
        setup.device_flag()
    )
}

/// `Client.create` for `address` signed through `inbox sign`; its JSON line.
fn client_create(setup: &Setup, address: &str, hd_path: &str) -> Value {
    let created = sdk(&[
        "create",
        "--url",
        &setup.network_flag(),
        "--address",
        address,
        "--sign-command",
        &sign_command(setup, hd_path),
    ]);
    assert_eq!(created[0]["ok"], true, "{}", created[0]);
    created[0].clone()
}

fn status(setup: &Setup, args: &[&str]) -> Value {
    let mut all = vec!["--json", "inbox", "status"];
    all.extend_from_slice(args);
    let run: Run = setup.run(&all);
    run.assert_code(0);
    run.json()
}

/// An inbox's state as recovery address, addresses and installation ids, lowercase and
/// sorted: the terms both sides can be compared in.
type Comparable = (String, BTreeSet<String>, BTreeSet<String>);

/// `state`'s `recovery_address`, `addresses` and `installations[].id`, as [`Comparable`].
fn comparable(state: &Value) -> Comparable {
    let strings = |value: &Value, key: Option<&str>| -> BTreeSet<String> {
        value
            .as_array()
            .expect("array")
            .iter()
            .map(|v| {
                key.map_or(v, |k| &v[k])
                    .as_str()
                    .expect("string")
                    .to_lowercase()
            })
            .collect()
    };
    (
        state["recovery_address"]
            .as_str()
            .expect("recovery_address")
            .to_lowercase(),
        strings(&state["addresses"], None),
        strings(&state["installations"], Some("id")),
    )
}

/// libxmtp's view of an inbox (`Client.fetchInboxStates`, its own verifier).
fn libxmtp_state(setup: &Setup, inbox_id: &str) -> Comparable {
    let states = sdk(&["states", "--url", &setup.network_flag(), inbox_id]);
    assert_eq!(states[0]["inbox_id"], inbox_id);
    comparable(&states[0])
}

/// (a) and (b): libxmtp registers through the Ledger, we revoke, libxmtp agrees.
#[test]
fn libxmtp_clients_signed_by_the_ledger_and_revoked_by_it() {
    if !sdk_available() {
        return;
    }
    let setup = Setup::new();
    // (a) Client.create for account 0, every text signed by `inbox sign`.
    let created = client_create(&setup, ACCOUNT_0, "m/44'/60'/0'/0/0");
    let inbox_id = created["inbox_id"].as_str().unwrap().to_owned();
    let installation = created["installation_id"].as_str().unwrap().to_owned();
    assert!(created["signatures"].as_u64().unwrap() >= 1);
    let state = status(&setup, &[]);
    assert_eq!(state["inbox_id"], inbox_id.as_str());
    let installations: Vec<&str> = state["installations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(installations, vec![installation.as_str()]);
    assert_eq!(state["installations"][0]["added_by"], ACCOUNT_0);
    assert_eq!(comparable(&state), libxmtp_state(&setup, &inbox_id));

    // (b) account 1 creates its inbox with `inbox create`; two libxmtp clients join it
    // through `inbox sign`; then `inbox revoke --all-installations --keep` the second.
    let ledger_1 = "m/44'/60'/1'/0/0";
    let ours = setup.run(&["--account", "1", "--json", "inbox", "create"]);
    ours.assert_code(0);
    let inbox_1 = ours.json()["inbox_id"].as_str().unwrap().to_owned();
    let first = client_create(&setup, LEDGER_LIVE_1, ledger_1);
    let second = client_create(&setup, LEDGER_LIVE_1, ledger_1);
    assert_eq!(
        first["inbox_id"],
        inbox_1.as_str(),
        "libxmtp found the inbox we created"
    );
    assert_eq!(second["inbox_id"], inbox_1.as_str());
    let keep = second["installation_id"].as_str().unwrap();
    let revoked = setup.run(&[
        "--account",
        "1",
        "--json",
        "inbox",
        "revoke",
        "--all-installations",
        "--keep",
        keep,
    ]);
    revoked.assert_code(0);
    let after = status(&setup, &[LEDGER_LIVE_1]);
    assert_eq!(
        after["installations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec![keep]
    );
    assert_eq!(after["updates"], 4);
    // libxmtp's own verifier replays the same log to the same state.
    assert_eq!(comparable(&after), libxmtp_state(&setup, &inbox_1));
}

/// (c): our node refuses libxmtp-made updates that break a rule.
#[test]
fn the_node_refuses_a_replay_and_a_revocation_by_a_non_recovery_wallet() {
    if !sdk_available() {
        return;
    }
    let setup = Setup::new();
    let created = client_create(&setup, ACCOUNT_0, "m/44'/60'/0'/0/0");
    let inbox_id: InboxId = created["inbox_id"].as_str().unwrap().parse().unwrap();
    let mut installation = [0u8; 32];
    hex::decode_to_slice(
        created["installation_id"].as_str().unwrap(),
        &mut installation,
    )
    .unwrap();

    // A second installation: an AddAssociation signed by the wallet (through the
    // Ledger) and the new installation key.
    client_create(&setup, ACCOUNT_0, "m/44'/60'/0'/0/0");
    let client = BlockingClient::connect(&setup.network_flag(), ClientConfig::default()).unwrap();
    let identity = client.identity();
    let log = identity.get_identity_updates(inbox_id.as_str(), 0).unwrap();
    assert_eq!(log.len(), 2);
    // The same AddAssociation again: both its signatures were seen.
    assert_invalid_argument(
        identity.publish_identity_update(log[1].update.clone()),
        "replay",
    );
    // The creation again: the inbox exists.
    assert_invalid_argument(
        identity.publish_identity_update(log[0].update.clone()),
        "already exists",
    );

    // A revocation of libxmtp's installation signed by a wallet that is not the recovery
    // address (well-formed, validly signed by its own key).
    let intruder = LocalKeySigner::from_private_key(&[7; 32]).unwrap();
    let unsigned = UnsignedUpdate {
        inbox_id: inbox_id.clone(),
        client_timestamp_ns: log[1].update.client_timestamp_ns + 1_000_000_000,
        actions: vec![WalletAction::Revoke(MemberId::Installation(installation))],
    };
    let signature = intruder.personal_sign(&unsigned.signature_text()).unwrap();
    let refused = identity.publish_identity_update(unsigned.sign(&signature));
    assert_invalid_argument(refused, "recovery");
    assert_eq!(
        identity
            .get_identity_updates(inbox_id.as_str(), 0)
            .unwrap()
            .len(),
        2,
        "nothing refused was stored"
    );
}

fn assert_invalid_argument(
    result: Result<xmtp_ledger::network::UpdatePublished, NetworkError>,
    rule: &str,
) {
    match result {
        Err(NetworkError::Rejected { code, message, .. }) => {
            assert_eq!(code, tonic::Code::InvalidArgument, "{message}");
            assert!(message.to_lowercase().contains(rule), "{message}");
        }
        other => panic!("expected INVALID_ARGUMENT naming {rule:?}, got {other:?}"),
    }
}

/// (d): libxmtp's texts for several inboxes, rebuilt by our builder from their fields.
#[test]
fn libxmtp_texts_and_inbox_ids_equal_ours() {
    if !sdk_available() {
        return;
    }
    let setup = Setup::new();
    let addresses = [
        ACCOUNT_0,
        LEDGER_LIVE_1,
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    ];
    let url = setup.network_flag();
    for nonce in ["0", "1", "5"] {
        let mut args = vec!["texts", "--url", url.as_str(), "--nonce", nonce];
        args.extend(addresses);
        let texts = sdk(&args);
        assert_eq!(texts.len(), addresses.len());
        for entry in &texts {
            let address: Address = entry["address"].as_str().unwrap().parse().unwrap();
            let nonce: u64 = nonce.parse().unwrap();
            let inbox_id = InboxId::derive(&address, nonce);
            assert_eq!(
                entry["inbox_id"],
                inbox_id.as_str(),
                "{address} nonce {nonce}"
            );
            let text = entry["text"].as_str().unwrap();
            let parsed: SignatureText = text.parse().expect("libxmtp's text parses");
            let mut installation = [0u8; 32];
            hex::decode_to_slice(
                entry["installation_id"].as_str().unwrap(),
                &mut installation,
            )
            .unwrap();
            let ours = SignatureText {
                inbox_id,
                time_secs: parsed.time_secs,
                actions: vec![
                    TextAction::CreateInbox { owner: address },
                    TextAction::Add(MemberId::Installation(installation)),
                ],
            };
            assert_eq!(ours.to_string(), text, "{address} nonce {nonce}");
        }
    }
    // The create-only text `inbox create` signs is the first action of the same text.
    let create = UnsignedUpdate {
        inbox_id: InboxId::derive(&ACCOUNT_0.parse().unwrap(), 0),
        client_timestamp_ns: 0,
        actions: vec![WalletAction::CreateInbox {
            owner: ACCOUNT_0.parse().unwrap(),
            nonce: 0,
        }],
    };
    let text = create.signature_text();
    assert!(
        text.contains("- Create inbox\n  (Owner: 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266)\n\n")
    );
}
