//! Interop with the reference JavaScript SDK, `@xmtp/xmtp-js` 13.0.4, in both directions,
//! through the node's REST gateway (the SDK speaks HTTP/JSON only):
//!
//! (a) identities created by `xmtp-ledger init` or `connect` (software device, gRPC) are
//!     loaded by the SDK's `Client.create` with an ethers wallet of the same mnemonic and
//!     path, through its network keystore provider only;
//! (b) an identity created by the SDK's `Client.create` is unlocked and verified by
//!     `xmtp-ledger` (gRPC);
//! (c) the SDK-made vectors of rotated bundles (`tests/data/xmtp-js-rotated-bundles.json`,
//!     checked on our side by tests/rotated_vectors.rs) still round-trip in the SDK;
//! (d) after `xmtp-ledger rotate-prekey`, the SDK loads the rotated identity, seals new
//!     invitations to the new pre-key and still reads those sealed to the older ones.
//!
//! The SDK runs as `node tests/interop/sdk-client.mjs` (and `gen-rotated-vectors.mjs`) with
//! the packages that `bash .ci/install-deps` installs (`npm ci` in `tests/interop`). Missing
//! Node.js or packages fail these tests; `XMTP_LEDGER_SKIP_INTEROP=1` skips them instead.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::cli::{ACCOUNT_0, LEDGER_LIVE_1, Run, Service, command};

/// The mnemonic `xmtp-ledger emulator` uses by default (public: tests only).
const MNEMONIC: &str = "test test test test test test test test test test test junk";
const PATH_0: &str = "m/44'/60'/0'/0/0";
const PATH_1: &str = "m/44'/60'/1'/0/0";
/// The SDK-side peer of the rotation test: another account of the same public mnemonic.
const PATH_5: &str = "m/44'/60'/5'/0/0";
const ACCOUNT_5: &str = "0xCA5455b7a77E0c076C805A1c0da5782e457C7ADA";
/// The SDK version the scripts are written against (pinned in tests/interop/package.json).
const SDK_VERSION: &str = "13.0.4";
/// One SDK run takes about a second; this only catches a hang.
const SDK_TIMEOUT: Duration = Duration::from_secs(60);

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Whether to run: true when Node.js and the pinned packages are there; false (skip)
/// only with `XMTP_LEDGER_SKIP_INTEROP=1`; otherwise a failure saying what to do.
fn sdk_available() -> bool {
    if std::env::var("XMTP_LEDGER_SKIP_INTEROP").is_ok_and(|v| v == "1") {
        eprintln!("XMTP_LEDGER_SKIP_INTEROP=1: skipping the xmtp-js interop test");
        return false;
    }
    let fix = "run `bash .ci/install-deps` (it installs Node.js if missing and runs `npm ci` in \
               tests/interop), or set XMTP_LEDGER_SKIP_INTEROP=1 to skip the interop tests";
    let version = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output();
    let version = match version {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => panic!("`node --version` failed ({}): {fix}", out.status),
        Err(e) => panic!("cannot run `node` ({e}): Node.js >= 20 is needed; {fix}"),
    };
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 20,
        "Node.js {version} is too old for @xmtp/xmtp-js {SDK_VERSION} (needs >= 20); {fix}"
    );
    let modules = interop_dir().join("node_modules");
    for (package, pinned) in [("@xmtp/xmtp-js", Some(SDK_VERSION)), ("ethers", None)] {
        let manifest = modules.join(package).join("package.json");
        let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| {
            panic!(
                "npm package {package} is not installed ({}: {e}): {fix}",
                manifest.display()
            )
        });
        if let Some(pinned) = pinned {
            let found: Value = serde_json::from_str(&text).expect("package.json is JSON");
            assert_eq!(
                found["version"].as_str(),
                Some(pinned),
                "{package} in tests/interop/node_modules is not the pinned version (stale install): {fix}"
            );
        }
    }
    true
}

/// `xmtp-ledger node` with the REST gateway, both on ephemeral loopback ports.
struct Node {
    child: Child,
    /// gRPC `IP:PORT` (stdout line 1).
    grpc: String,
    /// REST gateway `IP:PORT` (stdout line 2).
    http: String,
}

impl Node {
    fn start(db: &Path) -> Self {
        let mut child = command()
            .args([
                "node",
                "--listen",
                "127.0.0.1:0",
                "--http-listen",
                "127.0.0.1:0",
                "--db",
            ])
            .arg(db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start xmtp-ledger node");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut next = |what: &str| {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("node exited before printing its {what} address"))
                .expect("read node stdout");
            assert!(
                line.contains(':'),
                "node printed {line:?} for its {what} address"
            );
            line.trim().to_owned()
        };
        let grpc = next("gRPC");
        let http = next("HTTP");
        Self { child, grpc, http }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node and a software device (`xmtp-ledger emulator`, public test mnemonic).
struct Setup {
    node: Node,
    device: Service,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = Node::start(&dir.path().join("node.sqlite3"));
        let device = Service::emulator(&[]);
        Self {
            node,
            device,
            _dir: dir,
        }
    }

    /// `xmtp-ledger --device tcp://… --network http://<gRPC> --hd-path PATH --json ARGS`.
    fn xmtp_ledger(&self, hd_path: &str, args: &[&str]) -> Run {
        command()
            .args([
                "--device",
                &format!("tcp://{}", self.device.addr),
                "--network",
                &format!("http://{}", self.node.grpc),
                "--hd-path",
                hd_path,
                "--json",
            ])
            .args(args)
            .output()
            .expect("run xmtp-ledger")
            .into()
    }

    /// `node sdk-client.mjs` against the REST gateway; its one JSON line.
    fn sdk(&self, hd_path: &str, mode: &str, extra: bool) -> Value {
        self.sdk_with(hd_path, mode, extra, &[])
    }

    /// [`Setup::sdk`] with more environment variables (`PEER`, `CONVERSATION_ID`, `TEXT`).
    fn sdk_with(&self, hd_path: &str, mode: &str, extra: bool, vars: &[(&str, &str)]) -> Value {
        let mut command = Command::new("node");
        command
            .arg("sdk-client.mjs")
            .env("NODE_URL", format!("http://{}", self.node.http))
            .env("MNEMONIC", MNEMONIC)
            .env("HD_PATH", hd_path)
            .env("MODE", mode)
            .env("EXTRA", if extra { "1" } else { "0" })
            .envs(vars.iter().copied());
        run_node_script(
            command,
            &format!("sdk-client.mjs MODE={mode} EXTRA={extra} HD_PATH={hd_path}"),
        )
    }
}

/// Runs `command` (a `node SCRIPT` in tests/interop) that prints one JSON line with `ok`,
/// within [`SDK_TIMEOUT`]; that line, once its `ok` agrees with the exit status.
fn run_node_script(mut command: Command, what: &str) -> Value {
    command.current_dir(interop_dir()).stdin(Stdio::null());
    let (run, elapsed) = common::cli::run_within(command, SDK_TIMEOUT, what);
    let (stdout, stderr) = (&run.stdout, &run.stderr);
    eprintln!("{what}: exit {} in {elapsed:.2?}", run.code);
    let result: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{what} printed no JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    let ok = result["ok"] == Value::Bool(true);
    assert_eq!(
        ok,
        run.code == 0,
        "exit status and ok disagree: {result}\nstderr:\n{stderr}"
    );
    result
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
}

/// (a) `xmtp-ledger init` and `xmtp-ledger connect` → the SDK's network keystore
/// provider, one account each.
#[test]
fn identities_from_xmtp_ledger_init_and_connect_load_in_the_sdk() {
    if !sdk_available() {
        return;
    }
    let setup = Setup::new();
    for (hd_path, address, command) in [
        (PATH_0, ACCOUNT_0, "init"),
        (PATH_1, LEDGER_LIVE_1, "connect"),
    ] {
        let created = setup.xmtp_ledger(hd_path, &[command]);
        created.assert_code(0);
        let ours = created.json();
        assert_eq!(ours["address"], address);
        if command == "connect" {
            assert_eq!(ours["outcome"], "created");
        }

        let sdk = setup.sdk(hd_path, "load", false);
        assert_eq!(sdk["ok"], true, "SDK could not load the identity: {sdk}");
        // The SDK found and decrypted the bundle; it generated nothing.
        assert_eq!(sdk["provider"], "Network", "{sdk}");
        assert_eq!(
            sdk["providers_tried"],
            serde_json::json!(["Network"]),
            "{sdk}"
        );
        assert_eq!(sdk["created"], false, "{sdk}");
        assert_eq!(
            sdk["wallet_signature_requests"],
            serde_json::json!(["XMTP : Enable Identity"]),
            "the SDK asked for a Create Identity signature: it generated keys: {sdk}"
        );
        // Same wallet, same keys.
        assert_eq!(sdk["address"], address, "{sdk}");
        assert_eq!(sdk["wallet_address"], address, "{sdk}");
        assert_eq!(
            text(&sdk["identity_public_key"]),
            text(&ours["identity_public_key"]),
            "identity key"
        );
        assert_eq!(
            text(&sdk["pre_key_public_key"]),
            text(&ours["pre_key_public_keys"][0]),
            "pre-key"
        );
        // Our contact bundle is the one the SDK would have published itself (it compares
        // its own v2 bundle with the newest one on the contact topic), so it published
        // nothing at all: no re-stored key bundle, no contact.
        assert_eq!(
            sdk["published_topics"],
            serde_json::json!([]),
            "the SDK published after loading: {sdk}"
        );
    }
    // And an account without an identity is not loaded (nor created) by MODE=load.
    let none = setup.sdk("m/44'/60'/2'/0/0", "load", false);
    assert_eq!(none["ok"], false, "{none}");
    assert!(
        text(&none["detail"]).contains("No keystore providers available"),
        "{none}"
    );
}

/// (b) the SDK's `Client.create` → `xmtp-ledger unlock` and `verify`.
#[test]
fn identity_from_the_sdk_unlocks_and_verifies_in_xmtp_ledger() {
    if !sdk_available() {
        return;
    }
    let setup = Setup::new();
    // EXTRA also runs batch-query, query and an NDJSON subscribe round trip.
    let sdk = setup.sdk(PATH_0, "create", true);
    assert_eq!(sdk["ok"], true, "SDK could not create an identity: {sdk}");
    assert_eq!(sdk["created"], true, "{sdk}");
    assert_eq!(sdk["address"], ACCOUNT_0, "{sdk}");
    let private_store = format!("/xmtp/0/privatestore-{ACCOUNT_0}/key_bundle/proto");
    let contact = format!("/xmtp/0/contact-{ACCOUNT_0}/proto");
    assert_eq!(
        sdk["published_topics"],
        serde_json::json!([private_store, contact, contact]),
        "key bundle, then v1 and v2 contacts: {sdk}"
    );
    let extra = &sdk["extra"];
    assert_eq!(
        extra["can_message_batch"],
        serde_json::json!([true, false]),
        "{sdk}"
    );
    assert_eq!(extra["can_message_static"], true, "{sdk}");
    let round_trip = &extra["subscribe_roundtrip"];
    assert_eq!(
        round_trip["contentTopic"], round_trip["expected_topic"],
        "{sdk}"
    );
    assert_eq!(round_trip["message"], "010203", "{sdk}");

    let unlock = setup.xmtp_ledger(PATH_0, &["unlock"]);
    unlock.assert_code(0);
    let unlocked = unlock.json();
    assert_eq!(unlocked["address"], ACCOUNT_0);
    assert_eq!(
        text(&unlocked["identity_public_key"]),
        text(&sdk["identity_public_key"]),
        "identity key"
    );
    assert_eq!(
        text(&unlocked["pre_key_public_keys"][0]),
        text(&sdk["pre_key_public_key"]),
        "pre-key"
    );

    let verify = setup.xmtp_ledger(PATH_0, &["verify", ACCOUNT_0]);
    verify.assert_code(0);
    let report = verify.json();
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["wallet_address"], ACCOUNT_0, "{report}");
    assert_eq!(
        text(&report["identity_public_key"]),
        text(&sdk["identity_public_key"]),
        "identity key"
    );
    assert_eq!(
        text(&report["pre_key_public_key"]),
        text(&sdk["pre_key_public_key"]),
        "pre-key"
    );
}

/// The hex strings of a JSON array.
fn texts(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected an array, got {value}"))
        .iter()
        .map(|v| text(v).to_owned())
        .collect()
}

/// (d) `xmtp-ledger rotate-prekey` keeps every older private pre-key, so the SDK, loading the
/// rotated identity from the network, still opens invitations sealed to the old pre-keys,
/// while new invitations are sealed to the new one. A is ours (PATH_0, software device); B
/// is the SDK's own identity of another account, which writes to A.
#[test]
fn old_messages_stay_readable_across_pre_key_rotations() {
    if !sdk_available() {
        return;
    }
    let started = Instant::now();
    let setup = Setup::new();
    let init = setup.xmtp_ledger(PATH_0, &["init"]);
    init.assert_code(0);
    let created = init.json();
    assert_eq!(created["address"], ACCOUNT_0, "{created}");
    let identity = text(&created["identity_public_key"]).to_owned();
    let mut pre_keys = texts(&created["pre_key_public_keys"]);
    assert_eq!(pre_keys.len(), 1, "init makes one pre-key: {created}");

    // B's first run creates its identity (so it has a contact), then invites A.
    let sent = send_from_b(&setup, "before", "m1", &pre_keys[0]);
    assert_eq!(
        sent["created"], true,
        "B's first run generates its keys: {sent}"
    );
    sdk_reads(&setup, &identity, &pre_keys, &[("before", &["m1"])]);

    pre_keys = rotate(&setup, &identity, &pre_keys);
    assert_eq!(pre_keys.len(), 2);
    sdk_reads(&setup, &identity, &pre_keys, &[("before", &["m1"])]);
    let sent = send_from_b(&setup, "after-1", "m2", &pre_keys[0]);
    assert_eq!(
        sent["created"], false,
        "B's later runs load its keys: {sent}"
    );
    sdk_reads(
        &setup,
        &identity,
        &pre_keys,
        &[("before", &["m1"]), ("after-1", &["m2"])],
    );

    pre_keys = rotate(&setup, &identity, &pre_keys);
    assert_eq!(pre_keys.len(), 3);
    send_from_b(&setup, "after-2", "m3", &pre_keys[0]);
    sdk_reads(
        &setup,
        &identity,
        &pre_keys,
        &[
            ("before", &["m1"]),
            ("after-1", &["m2"]),
            ("after-2", &["m3"]),
        ],
    );

    // The node's newest contact for A advertises the newest pre-key.
    let verify = setup.xmtp_ledger(PATH_0, &["verify", ACCOUNT_0]);
    verify.assert_code(0);
    let report = verify.json();
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["wallet_address"], ACCOUNT_0, "{report}");
    assert_eq!(text(&report["identity_public_key"]), identity, "{report}");
    assert_eq!(
        text(&report["pre_key_public_key"]),
        pre_keys[0],
        "verify does not report the newest pre-key: {report}"
    );
    eprintln!("rotation interop test took {:.2?}", started.elapsed());
}

/// `xmtp-ledger rotate-prekey` for A: the identity key is kept and one new pre-key is put in
/// front of all of `before`. Returns the new list (newest first).
fn rotate(setup: &Setup, identity: &str, before: &[String]) -> Vec<String> {
    let run = setup.xmtp_ledger(PATH_0, &["rotate-prekey"]);
    run.assert_code(0);
    let rotated = run.json();
    assert_eq!(rotated["address"], ACCOUNT_0, "{rotated}");
    assert_eq!(rotated["hd_path"], PATH_0, "{rotated}");
    assert_eq!(rotated["outcome"], "rotated", "{rotated}");
    assert_eq!(
        text(&rotated["identity_public_key"]),
        identity,
        "rotate-prekey changed the identity key: {rotated}"
    );
    let after = texts(&rotated["pre_key_public_keys"]);
    assert_eq!(
        after.len(),
        before.len() + 1,
        "rotate-prekey must add exactly one pre-key: {rotated}"
    );
    assert_eq!(
        &after[1..],
        before,
        "rotate-prekey must keep every older pre-key, in order, behind the new one: {rotated}"
    );
    assert!(
        !before.contains(&after[0]),
        "the new pre-key is an old one: {rotated}"
    );
    after
}

/// B (the SDK, PATH_5) writes `message` to A in the v2 conversation `conversation_id`, which is
/// new, so the SDK seals a new invitation, and it must be to `expected_pre_key`.
fn send_from_b(
    setup: &Setup,
    conversation_id: &str,
    message: &str,
    expected_pre_key: &str,
) -> Value {
    let sent = setup.sdk_with(
        PATH_5,
        "send",
        false,
        &[
            ("PEER", ACCOUNT_0),
            ("CONVERSATION_ID", conversation_id),
            ("TEXT", message),
        ],
    );
    assert_eq!(sent["ok"], true, "B could not send {message:?}: {sent}");
    assert_eq!(sent["address"], ACCOUNT_5, "{sent}");
    assert_eq!(
        sent["peer_contact_version"], 2,
        "A's newest contact is v2: {sent}"
    );
    assert_eq!(
        text(&sent["peer_pre_key"]),
        expected_pre_key,
        "the SDK fetched a contact of A with another pre-key than the newest: {sent}"
    );
    assert_eq!(
        texts(&sent["invitation_recipient_pre_keys"]),
        [expected_pre_key],
        "the SDK sealed {conversation_id:?} to another pre-key of A than the newest: {sent}"
    );
    assert_eq!(sent["conversation_id"], conversation_id, "{sent}");
    assert_eq!(sent["warnings"], serde_json::json!([]), "{sent}");
    sent
}

/// A, loaded by the SDK from the network only, holds exactly `pre_keys` (newest first) and
/// reads exactly `expected` (conversation id → texts), publishing nothing.
fn sdk_reads(setup: &Setup, identity: &str, pre_keys: &[String], expected: &[(&str, &[&str])]) {
    let read = setup.sdk(PATH_0, "read", false);
    assert_eq!(read["ok"], true, "the SDK could not load A: {read}");
    assert_eq!(read["provider"], "Network", "{read}");
    assert_eq!(read["created"], false, "{read}");
    assert_eq!(
        read["wallet_signature_requests"],
        serde_json::json!(["XMTP : Enable Identity"]),
        "{read}"
    );
    assert_eq!(text(&read["identity_public_key"]), identity, "{read}");
    assert_eq!(
        text(&read["pre_key_public_key"]),
        pre_keys[0],
        "the SDK's current pre-key is not our newest: {read}"
    );
    assert_eq!(
        texts(&read["pre_key_public_keys"]),
        pre_keys,
        "the pre-keys the SDK decoded from our private store differ (bytes or order): {read}"
    );
    // The SDK compared our newest contact with the one it would publish and published
    // nothing; reading published nothing either.
    assert_eq!(
        read["published_topics"],
        serde_json::json!([]),
        "the SDK published while loading or reading A: {read}"
    );
    // It only warns when it skips an invitation or a message it cannot open.
    assert_eq!(
        read["warnings"],
        serde_json::json!([]),
        "the SDK could not open something: {read}"
    );
    let conversations = read["conversations"]
        .as_array()
        .unwrap_or_else(|| panic!("no conversations in {read}"));
    let found: Vec<(String, Vec<String>)> = conversations
        .iter()
        .map(|c| {
            assert_eq!(c["version"], "v2", "{c}");
            assert_eq!(c["peer_address"], ACCOUNT_5, "{c}");
            (
                text(&c["conversation_id"]).to_owned(),
                texts(&c["messages"]),
            )
        })
        .collect();
    let expected: Vec<(String, Vec<String>)> = expected
        .iter()
        .map(|(id, messages)| {
            (
                (*id).to_owned(),
                messages.iter().map(|m| (*m).to_owned()).collect(),
            )
        })
        .collect();
    assert_eq!(
        found,
        expected,
        "conversations and texts the SDK decrypted for A (after {} pre-key(s))",
        pre_keys.len()
    );
}

/// The committed SDK-made vectors of rotated bundles (read by tests/rotated_vectors.rs) still
/// decode and re-encode byte for byte, pre-keys in the same order, in the pinned SDK.
#[test]
fn rotated_bundle_vectors_round_trip_in_the_sdk() {
    if !sdk_available() {
        return;
    }
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/xmtp-js-rotated-bundles.json");
    let mut command = Command::new("node");
    command
        .arg("gen-rotated-vectors.mjs")
        .arg("--check")
        .arg(&file);
    let result = run_node_script(command, "gen-rotated-vectors.mjs --check");
    assert_eq!(
        result["ok"], true,
        "the SDK does not reproduce the vectors: {result}"
    );
    assert_eq!(result["sdk"], SDK_VERSION, "{result}");
    assert_eq!(result["bundles"], 2, "{result}");
}
