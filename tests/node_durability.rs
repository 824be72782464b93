//! The node's durability and lifecycle: restart on the same file keeps everything
//! (cursors included), acknowledged envelopes survive `kill -9`, SIGTERM and
//! in-process shutdown are graceful even with open subscriptions.
//!
//! The process tests run this test binary again as the node (`child_node_process`),
//! so they need nothing but the library.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use xmtp_ledger::network::{Client, ClientConfig, Envelope, Query};
use xmtp_ledger::node::store::StoreQuery;
use xmtp_ledger::node::{self, NodeConfig, Store};

use common::fixtures::{envelope, token_of};

const CHILD_DB_ENV: &str = "XMTP_LEDGER_TEST_CHILD_NODE_DB";
const LISTENING: &str = "CHILD_NODE_LISTENING ";
const STOPPED: &str = "CHILD_NODE_STOPPED";

/// Not a test on its own: the node process for the tests below, which run this binary
/// with `--ignored --exact child_node_process` and the database path in the environment.
#[test]
#[ignore = "helper process for the kill -9 and SIGTERM tests; does nothing when run directly"]
fn child_node_process() {
    let Some(db) = std::env::var_os(CHILD_DB_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{LISTENING}{}", listener.local_addr().expect("addr"));
        let stop = async {
            tokio::select! {
                () = node::shutdown_signal() => {}
                // Never outlive a parent that failed to kill us.
                () = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
        };
        node::serve_with_shutdown(listener, config(db), stop)
            .await
            .expect("serve");
        println!("{STOPPED}");
    });
}

/// The nodes' configuration: defaults, except that any sender timestamp is accepted
/// (these tests date envelopes 1, 2, 3… to check order across restarts).
fn config(db: impl Into<std::path::PathBuf>) -> NodeConfig {
    let mut config = NodeConfig::new(db);
    common::node::any_sender_time(&mut config);
    config
}

struct ChildNode {
    child: Child,
    stdout: BufReader<ChildStdout>,
    addr: SocketAddr,
}

fn spawn_child_node(db: &Path) -> ChildNode {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "child_node_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB_ENV, db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child node");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    let addr = loop {
        line.clear();
        let n = stdout.read_line(&mut line).expect("read child stdout");
        assert!(n > 0, "child node exited before listening");
        // libtest prints "test child_node_process ... " before the test's own output.
        if let Some((_, addr)) = line.trim().split_once(LISTENING) {
            break addr.parse().expect("child address");
        }
    };
    ChildNode {
        child,
        stdout,
        addr,
    }
}

/// Polls without blocking the runtime, so this side's connections keep being served
/// (a blocked client would hold the node's graceful shutdown up).
async fn wait_for_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "child node did not exit within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn acknowledged_envelopes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("node.sqlite3");
    let mut node = spawn_child_node(&db);
    let client = Client::connect(&format!("http://{}", node.addr), ClientConfig::default())
        .await
        .expect("connect");
    let t = token_of(0x51);
    let topic = "/xmtp/0/m-durable/proto";
    for i in 0..20u64 {
        client
            .publish(&t, vec![envelope(topic, i + 1, &i.to_be_bytes())])
            .await
            .expect("publish");
    }
    let batch: Vec<Envelope> = (20..30u64)
        .map(|i| envelope(topic, i + 1, &i.to_be_bytes()))
        .collect();
    client.publish(&t, batch).await.expect("publish batch");

    // SIGKILL: no shutdown code runs, no checkpoint, no clean close.
    node.child.kill().expect("kill -9");
    let status = node.child.wait().expect("wait");
    assert!(!status.success());

    let store = Store::open(&db).expect("reopen after kill");
    let page = store
        .query(
            &StoreQuery {
                topics: vec![topic.into()],
                limit: 100,
                ..StoreQuery::default()
            },
            usize::MAX,
        )
        .expect("query");
    let stamps: Vec<u64> = page.envelopes.iter().map(|e| e.timestamp_ns).collect();
    assert_eq!(stamps, (1..=30).collect::<Vec<u64>>());
}

/// kill -9 while many clients publish at once: the group commit answers each publish
/// only after its commit, so every acknowledged envelope is in the file afterwards (and
/// every envelope in the file was published: no torn or foreign rows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_envelopes_survive_kill_9_under_concurrent_publishers() {
    use std::sync::{Arc, Mutex};

    const CLIENTS: usize = 16;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("node.sqlite3");
    let mut node = spawn_child_node(&db);
    let url = format!("http://{}", node.addr);
    let acknowledged = Arc::new(Mutex::new(Vec::<Envelope>::new()));
    let mut publishers = Vec::new();
    for c in 0..CLIENTS {
        // Each client on its own connection, as separate users are.
        let client = Client::connect(&url, common::node::fast_config())
            .await
            .expect("connect");
        let acknowledged = acknowledged.clone();
        publishers.push(tokio::spawn(async move {
            let t = token_of(0x51);
            let topic = format!("/xmtp/0/m-load-{c:02}/proto");
            for i in 0u64.. {
                let sent = vec![
                    envelope(&topic, i + 1, format!("{c}/{i}/a").as_bytes()),
                    envelope(&topic, i + 1, format!("{c}/{i}/b").as_bytes()),
                ];
                match client.publish(&t, sent.clone()).await {
                    Ok(()) => acknowledged.lock().expect("lock").extend(sent),
                    // The node is gone: this publish was not acknowledged.
                    Err(_) => return i,
                }
            }
            unreachable!()
        }));
    }
    // Let the publishers get going, well past the first commits.
    let deadline = Instant::now() + Duration::from_secs(10);
    while acknowledged.lock().expect("lock").len() < 400 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    node.child.kill().expect("kill -9");
    assert!(!node.child.wait().expect("wait").success());
    for publisher in publishers {
        publisher.await.expect("publisher");
    }
    let acknowledged = std::mem::take(&mut *acknowledged.lock().expect("lock"));
    assert!(
        acknowledged.len() >= 400,
        "only {} acknowledged",
        acknowledged.len()
    );

    let store = Store::open(&db).expect("reopen after kill");
    let topics: Vec<String> = (0..CLIENTS)
        .map(|c| format!("/xmtp/0/m-load-{c:02}/proto"))
        .collect();
    let mut stored = std::collections::HashSet::new();
    for topic in &topics {
        let mut after = None;
        loop {
            let page = store
                .query(
                    &StoreQuery {
                        topics: vec![topic.clone()],
                        limit: 100,
                        after: after.clone(),
                        ..StoreQuery::default()
                    },
                    usize::MAX,
                )
                .expect("query");
            stored.extend(
                page.envelopes
                    .iter()
                    .map(|e| (e.content_topic.clone(), e.message.clone())),
            );
            match page.last {
                Some(last) if page.envelopes.len() == 100 => {
                    after = Some((last.sender_time_ns, last.digest));
                }
                _ => break,
            }
        }
    }
    let missing: Vec<&Envelope> = acknowledged
        .iter()
        .filter(|e| !stored.contains(&(e.content_topic.clone(), e.message.clone())))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged envelopes lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    // Each publish is all or nothing, even one cut off by the kill.
    for (topic, message) in &stored {
        let text = String::from_utf8(message.clone()).expect("ours");
        let (stem, half) = text.rsplit_once('/').expect("c/i/half");
        let other = format!("{stem}/{}", if half == "a" { "b" } else { "a" });
        assert!(
            stored.contains(&(topic.clone(), other.into_bytes())),
            "half a publish: {text}"
        );
    }
}

#[tokio::test]
async fn acknowledged_identity_updates_and_key_packages_survive_kill_9() {
    use xmtp_ledger::proto::identity::api::v1::PublishIdentityUpdateRequest;
    use xmtp_ledger::proto::identity::api::v1::identity_api_client::IdentityApiClient;
    use xmtp_ledger::proto::mls::api::v1::mls_api_client::MlsApiClient;
    use xmtp_ledger::proto::mls::api::v1::{KeyPackageUpload, UploadKeyPackageRequest};
    use xmtp_ledger::signer::Signer;

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("node.sqlite3");
    let mut node = spawn_child_node(&db);
    let url = format!("http://{}", node.addr);
    let owner = common::v3::wallet(7);
    let key = common::v3::installation(7);
    let create = common::v3::create_with_installation(&owner, 0, &key, xmtp_ledger::wire::now_ns());
    IdentityApiClient::connect(url.clone())
        .await
        .expect("connect")
        .publish_identity_update(PublishIdentityUpdateRequest {
            identity_update: Some(create.clone()),
        })
        .await
        .expect("publish");
    // Version, suite, init key, encryption key, the installation key, then opaque rest.
    let mut kp = vec![0, 1, 0, 1, 1, 1, 1, 2, 32];
    kp.extend_from_slice(&key.verifying_key().to_bytes());
    kp.extend_from_slice(b"rest");
    MlsApiClient::connect(url)
        .await
        .expect("connect")
        .upload_key_package(UploadKeyPackageRequest {
            key_package: Some(KeyPackageUpload {
                key_package_tls_serialized: kp.clone(),
            }),
            is_inbox_id_credential: true,
        })
        .await
        .expect("upload");

    node.child.kill().expect("kill -9");
    assert!(!node.child.wait().expect("wait").success());

    let store = Store::open(&db).expect("reopen after kill");
    let log = store
        .identity_updates(&[(create.inbox_id.clone(), 0)], usize::MAX)
        .expect("read");
    assert_eq!(log[0].len(), 1);
    assert_eq!(log[0][0].update, create);
    assert_eq!(
        store
            .inbox_ids(&[owner.address().to_lower_hex()])
            .expect("ids"),
        [Some(create.inbox_id.clone())]
    );
    assert_eq!(
        store
            .key_packages(&[key.verifying_key().to_bytes().to_vec()], usize::MAX)
            .expect("key packages"),
        [Some(kp)]
    );
}

#[tokio::test]
async fn sigterm_stops_the_node_gracefully_with_a_subscriber_attached() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("node.sqlite3");
    let mut node = spawn_child_node(&db);
    let client = Client::connect(&format!("http://{}", node.addr), ClientConfig::default())
        .await
        .expect("connect");
    let topic = "/xmtp/0/m-term/proto";
    client
        .publish(&token_of(0x51), vec![envelope(topic, 1, b"kept")])
        .await
        .expect("publish");
    let mut subscription = client.subscribe([topic]).await.expect("subscribe");

    let status = Command::new("kill")
        .args(["-TERM", &node.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    // The open subscription must not hold the shutdown up: the node ends it and exits
    // well before its 5 s grace period would force connections closed.
    let started = Instant::now();
    let exit = wait_for_exit(&mut node.child, Duration::from_secs(10)).await;
    assert!(exit.success(), "graceful exit, got {exit:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut node.stdout, &mut rest).expect("stdout");
    assert!(
        rest.contains(STOPPED),
        "serve_with_shutdown returned: {rest:?}"
    );
    let ended = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("subscription ends");
    assert!(!matches!(ended, Ok(Some(_))), "{ended:?}");

    let store = Store::open(&db).expect("reopen");
    assert_eq!(store.count().expect("count"), 1);
}

#[tokio::test]
async fn restart_on_the_same_file_keeps_envelopes_and_cursors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("node.sqlite3");
    let topic = "/xmtp/0/m-restart/proto";
    let all: Vec<Envelope> = (0..15u8)
        .map(|i| envelope(topic, 100 + u64::from(i), &[i]))
        .collect();

    let first = node::spawn("127.0.0.1:0".parse().expect("addr"), config(&db))
        .await
        .expect("node");
    let client = Client::connect(&first.url(), ClientConfig::default())
        .await
        .expect("connect");
    client
        .publish(&token_of(0x51), all.clone())
        .await
        .expect("publish");
    let page1 = client
        .query(&Query::topic(topic).limit(5))
        .await
        .expect("page 1");
    let expected_page2 = client
        .query(&Query::topic(topic).limit(5).after(page1.next.clone()))
        .await
        .expect("page 2");
    first.shutdown().await.expect("shutdown");

    let second = node::spawn("127.0.0.1:0".parse().expect("addr"), config(&db))
        .await
        .expect("node again");
    let client = Client::connect(&second.url(), ClientConfig::default())
        .await
        .expect("connect");
    // A cursor from before the restart still continues where it left off.
    let page2 = client
        .query(&Query::topic(topic).limit(5).after(page1.next.clone()))
        .await
        .expect("page 2 after restart");
    assert_eq!(page2, expected_page2);
    let everything = client
        .query_all(Query::topic(topic).ascending(), 100)
        .await
        .expect("all");
    assert_eq!(everything, all);
    // Dedup also holds across restarts.
    client
        .publish(&token_of(0x51), all.clone())
        .await
        .expect("publish again");
    assert_eq!(
        client
            .query_all(Query::topic(topic), 100)
            .await
            .expect("all")
            .len(),
        15
    );
    second.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn in_process_shutdown_ends_subscriptions_and_frees_the_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = common::node::spawn_loopback(dir.path().join("node.sqlite3")).await;
    let addr = running.local_addr();
    let client = Client::connect(&running.url(), ClientConfig::default())
        .await
        .expect("connect");
    let mut subscription = client
        .subscribe(["/xmtp/0/m-x/proto"])
        .await
        .expect("subscribe");
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), running.shutdown())
        .await
        .expect("shutdown does not hang")
        .expect("shutdown");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let ended = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("subscription ends");
    assert!(!matches!(ended, Ok(Some(_))), "{ended:?}");
    // Nothing listens any more.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn an_unusable_database_path_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A regular file where a directory is needed.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").expect("write");
    let err = node::spawn(
        "127.0.0.1:0".parse().expect("addr"),
        NodeConfig::new(blocker.join("node.sqlite3")),
    )
    .await
    .expect_err("cannot create the directory");
    assert!(
        err.to_string().contains(&blocker.display().to_string()),
        "{err}"
    );
}
