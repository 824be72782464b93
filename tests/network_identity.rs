//! The IdentityApi client (XMTP v3) against scripted IdentityApi nodes on loopback ports:
//! what it asks, reading a whole log page by page, bounds on what a node answers, retries
//! on transient codes only, a publish never blindly repeated, the connection shared with
//! the MessageApi client, and the TLS path against a local TLS node.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::{Code, Status};

use xmtp_ledger::identity::Address;
use xmtp_ledger::network::{
    BlockingClient, Client, ClientConfig, IdentityClient, NetworkError, RetryPolicy, TlsRoots,
    UpdatePublished,
};
use xmtp_ledger::proto::identity::api::v1 as api;
use xmtp_ledger::proto::identity::associations::{IdentifierKind, IdentityUpdate};
use xmtp_ledger::proto::message_api::v1 as message_api;
use xmtp_ledger::wire::{MAX_IDENTITY_UPDATE_BYTES, MAX_INBOX_UPDATES};

use common::fake_identity::{self, FakeIdentityNode};
use common::fake_node::FakeNode;

/// The reference inbox: 0xf39F…2266 with nonce 0.
const INBOX: &str = "41ff994ea1f9462295cee1ad48c270f6fe3e6307cd9a062e9320cf43a724e348";
const OTHER_INBOX: &str = "f2dc4b90b67487658e6fc1d4759c148fac797ea24fadee18c9d511787e04ea1a";

fn config(attempts: u32) -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: attempts,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        },
        ..ClientConfig::default()
    }
}

/// An update of `INBOX` told apart from the others by its timestamp.
fn update(n: u64) -> IdentityUpdate {
    IdentityUpdate {
        actions: Vec::new(),
        client_timestamp_ns: n,
        inbox_id: INBOX.to_owned(),
    }
}

fn entry(
    sequence_id: u64,
    update: IdentityUpdate,
) -> api::get_identity_updates_response::IdentityUpdateLog {
    api::get_identity_updates_response::IdentityUpdateLog {
        sequence_id,
        server_timestamp_ns: sequence_id * 1000,
        update: Some(update),
    }
}

fn answer(
    inbox_id: &str,
    updates: Vec<api::get_identity_updates_response::IdentityUpdateLog>,
) -> api::GetIdentityUpdatesResponse {
    api::GetIdentityUpdatesResponse {
        responses: vec![api::get_identity_updates_response::Response {
            inbox_id: inbox_id.to_owned(),
            updates,
        }],
    }
}

/// A node keeping one inbox log (sequence ids 10, 20, 30, …), answering `GetIdentityUpdates`
/// `page` entries at a time, and storing what is published. `publish_fails` scripts the
/// publish attempts: each entry is taken in turn (`Some((store, status))`: store the update
/// or not, then fail with `status`); once empty, publishes succeed.
#[derive(Clone, Default)]
struct LogNode {
    log: Arc<Mutex<Vec<IdentityUpdate>>>,
    page: usize,
    publish_fails: Arc<Mutex<Vec<(bool, Status)>>>,
    publishes: Arc<AtomicUsize>,
    reads: Arc<AtomicUsize>,
    /// The status every read fails with, if any.
    reads_fail: Option<Code>,
}

impl LogNode {
    fn with_log(n: u64, page: usize) -> Self {
        Self {
            log: Arc::new(Mutex::new((1..=n).map(update).collect())),
            page,
            ..Self::default()
        }
    }

    fn fake(&self) -> FakeIdentityNode {
        let reads = self.clone();
        let publishes = self.clone();
        FakeIdentityNode {
            get_identity_updates: Arc::new(move |_, request| {
                reads.reads.fetch_add(1, Ordering::SeqCst);
                if let Some(code) = reads.reads_fail {
                    return Err(Status::new(code, "scripted read failure"));
                }
                let asked = &request.requests[0];
                let log = reads.log.lock().unwrap();
                let updates = log
                    .iter()
                    .enumerate()
                    .map(|(i, u)| entry((i as u64 + 1) * 10, u.clone()))
                    .filter(|e| e.sequence_id > asked.sequence_id)
                    .take(reads.page.max(1))
                    .collect();
                Ok(answer(&asked.inbox_id, updates))
            }),
            publish: Arc::new(move |_, request| {
                publishes.publishes.fetch_add(1, Ordering::SeqCst);
                let update = request.identity_update.expect("an update");
                let mut script = publishes.publish_fails.lock().unwrap();
                let mut log = publishes.log.lock().unwrap();
                let step = (!script.is_empty()).then(|| script.remove(0));
                match step {
                    Some((store, status)) => {
                        if store {
                            log.push(update);
                        }
                        Err(status)
                    }
                    None if log.contains(&update) => {
                        // What a node does with a replayed signature.
                        Err(Status::invalid_argument("signature already used"))
                    }
                    None => {
                        log.push(update);
                        Ok(api::PublishIdentityUpdateResponse {})
                    }
                }
            }),
            ..FakeIdentityNode::default()
        }
    }

    fn publishes(&self) -> usize {
        self.publishes.load(Ordering::SeqCst)
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

async fn connect(node: FakeIdentityNode, attempts: u32) -> IdentityClient {
    let (url, _task) = fake_identity::serve(node, None).await;
    IdentityClient::connect(&url, config(attempts))
        .await
        .expect("connect")
}

#[tokio::test]
async fn inbox_ids_are_asked_as_libxmtp_asks_and_answered_in_order() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = seen.clone();
    let node = FakeIdentityNode {
        get_inbox_ids: Arc::new(move |_, request: api::GetInboxIdsRequest| {
            recorded.lock().unwrap().push(request.clone());
            // Answered in reverse order, one of them unknown, as a node may.
            let responses = request
                .requests
                .iter()
                .rev()
                .map(|asked| api::get_inbox_ids_response::Response {
                    identifier: asked.identifier.clone(),
                    inbox_id: asked.identifier.ends_with("2266").then(|| INBOX.to_owned()),
                    identifier_kind: IdentifierKind::Ethereum.into(),
                })
                .collect();
            Ok(api::GetInboxIdsResponse { responses })
        }),
        ..FakeIdentityNode::default()
    };
    let client = connect(node, 1).await;
    let known: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        .parse()
        .unwrap();
    let unknown: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        .parse()
        .unwrap();
    let found = client
        .get_inbox_ids(&[known, unknown])
        .await
        .expect("lookup");
    assert_eq!(found, [(known, Some(INBOX.to_owned())), (unknown, None)]);
    // An address asked twice is answered in both places.
    let twice = client.get_inbox_ids(&[known, known]).await.expect("twice");
    assert_eq!(twice, vec![(known, Some(INBOX.to_owned())); 2]);

    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    let identifiers: Vec<(&str, i32)> = requests[0]
        .requests
        .iter()
        .map(|r| (r.identifier.as_str(), r.identifier_kind))
        .collect();
    let ethereum = i32::from(IdentifierKind::Ethereum);
    assert_eq!(
        identifiers,
        [
            ("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", ethereum),
            ("0x70997970c51812dc3a010c7d01b50e0d17dc79c8", ethereum),
        ]
    );
    // Nothing asked, nothing sent.
    assert!(client.get_inbox_ids(&[]).await.expect("empty").is_empty());
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn inbox_id_answers_that_break_the_protocol_are_refused() {
    let address: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        .parse()
        .unwrap();
    let response = |identifier: &str, inbox_id: Option<&str>, kind: IdentifierKind| {
        api::get_inbox_ids_response::Response {
            identifier: identifier.to_owned(),
            inbox_id: inbox_id.map(str::to_owned),
            identifier_kind: kind.into(),
        }
    };
    let asked = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
    let cases: Vec<(&str, Vec<api::get_inbox_ids_response::Response>)> = vec![
        ("no answer", vec![]),
        (
            "not asked",
            vec![response(
                "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                None,
                IdentifierKind::Ethereum,
            )],
        ),
        (
            "not an inbox id",
            vec![response(asked, Some("../../etc"), IdentifierKind::Ethereum)],
        ),
        (
            "passkey kind",
            vec![response(asked, Some(INBOX), IdentifierKind::Passkey)],
        ),
        (
            "two different answers",
            vec![
                response(asked, Some(INBOX), IdentifierKind::Ethereum),
                response(asked, Some(OTHER_INBOX), IdentifierKind::Ethereum),
            ],
        ),
    ];
    for (case, responses) in cases {
        let node = FakeIdentityNode {
            get_inbox_ids: Arc::new(move |_, _| {
                Ok(api::GetInboxIdsResponse {
                    responses: responses.clone(),
                })
            }),
            ..FakeIdentityNode::default()
        };
        let client = connect(node, 1).await;
        let err = client.get_inbox_ids(&[address]).await.expect_err(case);
        assert!(
            matches!(err, NetworkError::Protocol { .. }),
            "{case}: {err}"
        );
    }
    // An answer with the identifier in another case, or of unspecified kind (libxmtp reads
    // it as Ethereum), is the same answer.
    let node = FakeIdentityNode {
        get_inbox_ids: Arc::new(|_, _| {
            Ok(api::GetInboxIdsResponse {
                responses: vec![api::get_inbox_ids_response::Response {
                    identifier: "0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266".into(),
                    inbox_id: Some(INBOX.into()),
                    identifier_kind: IdentifierKind::Unspecified.into(),
                }],
            })
        }),
        ..FakeIdentityNode::default()
    };
    let found = connect(node, 1).await.get_inbox_ids(&[address]).await;
    assert_eq!(found.expect("lookup"), [(address, Some(INBOX.to_owned()))]);
}

#[tokio::test]
async fn the_whole_log_is_read_page_by_page() {
    // 25 updates, 4 to a page: 7 pages, then an empty answer that ends the walk.
    let log = LogNode::with_log(25, 4);
    let client = connect(log.fake(), 1).await;
    let updates = client.get_identity_updates(INBOX, 0).await.expect("log");
    assert_eq!(updates.len(), 25);
    assert_eq!(log.reads(), 8);
    for (i, logged) in updates.iter().enumerate() {
        assert_eq!(logged.sequence_id, (i as u64 + 1) * 10);
        assert_eq!(logged.server_timestamp_ns, logged.sequence_id * 1000);
        assert_eq!(logged.update, update(i as u64 + 1));
    }
    // After a sequence id: only what follows it.
    let rest = client.get_identity_updates(INBOX, 200).await.expect("rest");
    let ids: Vec<u64> = rest.iter().map(|u| u.sequence_id).collect();
    assert_eq!(ids, [210, 220, 230, 240, 250]);
    // An inbox without updates.
    let empty = connect(LogNode::with_log(0, 4).fake(), 1).await;
    assert!(
        empty
            .get_identity_updates(INBOX, 0)
            .await
            .expect("empty")
            .is_empty()
    );
    // A full log, all at once as the reference node answers, is still accepted.
    let full = LogNode::with_log(MAX_INBOX_UPDATES as u64, usize::MAX);
    let client = connect(full.fake(), 1).await;
    let updates = client
        .get_identity_updates(INBOX, 0)
        .await
        .expect("full log");
    assert_eq!(updates.len(), MAX_INBOX_UPDATES);
    assert_eq!(full.reads(), 2);
}

#[tokio::test]
async fn a_log_longer_than_any_valid_one_is_refused() {
    for page in [usize::MAX, 100] {
        let log = LogNode::with_log(MAX_INBOX_UPDATES as u64 + 1, page);
        let client = connect(log.fake(), 1).await;
        let err = client
            .get_identity_updates(INBOX, 0)
            .await
            .expect_err("too long");
        assert!(
            matches!(err, NetworkError::InboxLogTooLong { limit, .. } if limit == MAX_INBOX_UPDATES),
            "{err}"
        );
    }
}

/// Nodes that would keep us asking forever, or answer about something else: a typed
/// error after a bounded number of calls, never a hang or a panic.
#[tokio::test]
async fn hostile_log_answers_end_in_a_protocol_error() {
    type Script = Box<dyn Fn(u64) -> api::GetIdentityUpdatesResponse + Send + Sync>;
    let cases: Vec<(&str, Script)> = vec![
        // The same page whatever is asked: sequence ids stop increasing on the 2nd call.
        (
            "same page forever",
            Box::new(|_| answer(INBOX, vec![entry(1, update(1)), entry(2, update(2))])),
        ),
        (
            "decreasing ids",
            Box::new(|_| answer(INBOX, vec![entry(5, update(1)), entry(4, update(2))])),
        ),
        (
            "an id not after the one asked",
            Box::new(|after| answer(INBOX, vec![entry(after, update(1))])),
        ),
        (
            "another inbox",
            Box::new(|_| answer(OTHER_INBOX, vec![entry(1, update(1))])),
        ),
        (
            "no answer",
            Box::new(|_| api::GetIdentityUpdatesResponse { responses: vec![] }),
        ),
        (
            "two answers",
            Box::new(|_| {
                let mut two = answer(INBOX, vec![]);
                two.responses.push(two.responses[0].clone());
                two
            }),
        ),
        (
            "an entry without its update",
            Box::new(|_| {
                answer(
                    INBOX,
                    vec![api::get_identity_updates_response::IdentityUpdateLog {
                        sequence_id: 1,
                        server_timestamp_ns: 1,
                        update: None,
                    }],
                )
            }),
        ),
    ];
    for (case, script) in cases {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let node = FakeIdentityNode {
            get_identity_updates: Arc::new(move |_, request: api::GetIdentityUpdatesRequest| {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(script(request.requests[0].sequence_id))
            }),
            ..FakeIdentityNode::default()
        };
        let client = connect(node, 3).await;
        let err = client.get_identity_updates(INBOX, 0).await.expect_err(case);
        assert!(
            matches!(err, NetworkError::Protocol { .. }),
            "{case}: {err}"
        );
        assert!(calls.load(Ordering::SeqCst) <= 2, "{case}");
    }
    // An inbox id that is not one is refused before anything is sent.
    let client = connect(FakeIdentityNode::default(), 1).await;
    for bad in ["", "xyz", &INBOX.to_uppercase()] {
        let err = client.get_identity_updates(bad, 0).await.expect_err(bad);
        assert!(matches!(err, NetworkError::InvalidRequest { .. }), "{err}");
    }
}

#[tokio::test]
async fn an_answer_larger_than_the_response_bound_is_refused() {
    // One update of ~200 KiB against a client that accepts 64 KiB answers.
    let node = FakeIdentityNode {
        get_identity_updates: Arc::new(|_, _| {
            let mut big = update(1);
            big.inbox_id = "x".repeat(200 * 1024);
            Ok(answer(INBOX, vec![entry(1, big)]))
        }),
        ..FakeIdentityNode::default()
    };
    let (url, _task) = fake_identity::serve(node, None).await;
    let client = IdentityClient::connect(
        &url,
        ClientConfig {
            max_response_bytes: 64 * 1024,
            ..config(3)
        },
    )
    .await
    .expect("connect");
    let err = client
        .get_identity_updates(INBOX, 0)
        .await
        .expect_err("too large");
    assert!(
        matches!(&err, NetworkError::Rejected { attempts: 1, .. }),
        "not retried: {err}"
    );
}

#[tokio::test]
async fn reads_are_retried_on_transient_codes_only() {
    for (code, attempts) in [
        (Code::Unavailable, 3),
        (Code::ResourceExhausted, 3),
        (Code::InvalidArgument, 1),
        (Code::Unimplemented, 1),
        (Code::PermissionDenied, 1),
    ] {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let node = FakeIdentityNode {
            get_inbox_ids: Arc::new(move |_, _| {
                counted.fetch_add(1, Ordering::SeqCst);
                Err(Status::new(code, "scripted"))
            }),
            ..FakeIdentityNode::default()
        };
        let client = connect(node, 3).await;
        let address: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .unwrap();
        let err = client.get_inbox_ids(&[address]).await.expect_err("fails");
        assert_eq!(err.code(), Some(code), "{err}");
        assert_eq!(calls.load(Ordering::SeqCst), attempts, "{code:?}");
    }
    // Two transient failures, then the answer.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let node = FakeIdentityNode {
        get_identity_updates: Arc::new(move |_, request: api::GetIdentityUpdatesRequest| {
            if counted.fetch_add(1, Ordering::SeqCst) < 2 {
                return Err(Status::unavailable("restarting"));
            }
            let after = request.requests[0].sequence_id;
            Ok(answer(
                INBOX,
                if after == 0 {
                    vec![entry(1, update(1))]
                } else {
                    vec![]
                },
            ))
        }),
        ..FakeIdentityNode::default()
    };
    let client = connect(node, 3).await;
    assert_eq!(
        client
            .get_identity_updates(INBOX, 0)
            .await
            .expect("log")
            .len(),
        1
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_publish_refused_by_the_node_is_neither_repeated_nor_read_back() {
    for code in [
        Code::InvalidArgument,
        Code::PermissionDenied,
        Code::Unknown,
        Code::Internal,
        Code::FailedPrecondition,
    ] {
        let log = LogNode {
            publish_fails: Arc::new(Mutex::new(vec![(false, Status::new(code, "refused"))])),
            ..LogNode::default()
        };
        let client = connect(log.fake(), 5).await;
        let err = client
            .publish_identity_update(update(1))
            .await
            .expect_err("refused");
        assert!(
            matches!(&err, NetworkError::Rejected { code: c, attempts: 1, .. } if *c == code),
            "{err}"
        );
        assert_eq!((log.publishes(), log.reads()), (1, 0), "{code:?}");
    }
}

#[tokio::test]
async fn a_publish_is_accepted_once() {
    let log = LogNode::default();
    let client = connect(log.fake(), 5).await;
    let outcome = client.publish_identity_update(update(7)).await;
    assert_eq!(outcome.expect("publish"), UpdatePublished::Accepted);
    assert_eq!((log.publishes(), log.reads()), (1, 0));
    assert_eq!(*log.log.lock().unwrap(), [update(7)]);
}

/// The node stored the update but its answer was lost: the client reads the log instead
/// of sending it again (which the node would refuse as a replayed signature).
#[tokio::test]
async fn a_publish_of_unknown_outcome_is_read_back_before_any_repeat() {
    let log = LogNode {
        page: 100,
        publish_fails: Arc::new(Mutex::new(vec![(true, Status::unavailable("lost answer"))])),
        ..LogNode::default()
    };
    let client = connect(log.fake(), 5).await;
    let outcome = client.publish_identity_update(update(7)).await;
    assert_eq!(outcome.expect("publish"), UpdatePublished::FoundInLog);
    assert_eq!(log.publishes(), 1, "not sent again");
    assert_eq!(*log.log.lock().unwrap(), [update(7)]);

    // Not stored: read back, then sent again, once.
    let log = LogNode {
        page: 100,
        publish_fails: Arc::new(Mutex::new(vec![(false, Status::unavailable("down"))])),
        ..LogNode::default()
    };
    let client = connect(log.fake(), 5).await;
    let outcome = client.publish_identity_update(update(7)).await;
    assert_eq!(outcome.expect("publish"), UpdatePublished::Accepted);
    assert_eq!(log.publishes(), 2);
    assert_eq!(
        log.reads(),
        1,
        "one read (the log is empty: one empty answer)"
    );
    assert_eq!(*log.log.lock().unwrap(), [update(7)]);

    // The lost attempt lands at the node after the read-back: the repeat is refused as a
    // replay, and the read-back after that refusal finds the update.
    let log = LogNode {
        page: 100,
        publish_fails: Arc::new(Mutex::new(vec![
            (false, Status::unavailable("lost answer")),
            (true, Status::invalid_argument("signature already used")),
        ])),
        ..LogNode::default()
    };
    let client = connect(log.fake(), 5).await;
    let outcome = client.publish_identity_update(update(7)).await;
    assert_eq!(outcome.expect("publish"), UpdatePublished::FoundInLog);
    // Reads: the empty log (one call), then the log of one (its page, and the empty end).
    assert_eq!((log.publishes(), log.reads()), (2, 3));

    // No retries allowed: the one failed attempt is still read back.
    let log = LogNode {
        page: 100,
        publish_fails: Arc::new(Mutex::new(vec![(
            true,
            Status::deadline_exceeded("slow store"),
        )])),
        ..LogNode::default()
    };
    let client = connect(log.fake(), 1).await;
    let outcome = client.publish_identity_update(update(7)).await;
    assert_eq!(outcome.expect("publish"), UpdatePublished::FoundInLog);
    assert_eq!(log.publishes(), 1);

    // Not stored and no retries: the failure, after the read-back said so.
    let log = LogNode {
        page: 100,
        publish_fails: Arc::new(Mutex::new(vec![(false, Status::unavailable("down"))])),
        ..LogNode::default()
    };
    let client = connect(log.fake(), 1).await;
    let err = client
        .publish_identity_update(update(7))
        .await
        .expect_err("not stored");
    assert_eq!(err.code(), Some(Code::Unavailable), "{err}");
    assert_eq!((log.publishes(), log.reads()), (1, 1));
}

#[tokio::test]
async fn a_publish_whose_outcome_cannot_be_told_says_so() {
    let log = LogNode {
        page: 100,
        publish_fails: Arc::new(Mutex::new(vec![(true, Status::unavailable("lost answer"))])),
        reads_fail: Some(Code::Internal),
        ..LogNode::default()
    };
    let client = connect(log.fake(), 5).await;
    let err = client
        .publish_identity_update(update(7))
        .await
        .expect_err("unconfirmed");
    assert!(
        matches!(&err, NetworkError::Unconfirmed { inbox_id, .. } if inbox_id == INBOX),
        "{err}"
    );
    assert!(
        err.to_string().contains("may or may not have stored"),
        "{err}"
    );
    assert_eq!(log.publishes(), 1, "never sent again blind");
}

#[tokio::test]
async fn a_publish_that_breaks_a_limit_is_not_sent() {
    let log = LogNode::default();
    let client = connect(log.fake(), 1).await;
    let mut no_inbox = update(1);
    no_inbox.inbox_id = String::new();
    let mut huge = update(1);
    huge.actions = vec![Default::default(); MAX_IDENTITY_UPDATE_BYTES / 2 + 1];
    for bad in [no_inbox, huge] {
        let err = client
            .publish_identity_update(bad)
            .await
            .expect_err("invalid");
        assert!(matches!(err, NetworkError::InvalidRequest { .. }), "{err}");
    }
    assert_eq!((log.publishes(), log.reads()), (0, 0));
}

/// `Client::identity` talks to the IdentityApi of the MessageApi client's node, on its
/// connection; the blocking forms do the same.
#[test]
fn the_identity_client_shares_the_message_api_clients_node_and_blocks_too() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let queries = Arc::new(AtomicUsize::new(0));
    let counted = queries.clone();
    let message_api = FakeNode {
        publish: Arc::new(|_, _| Err(Status::unimplemented("fake"))),
        query: Arc::new(move |_, _| {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(message_api::QueryResponse::default())
        }),
        batch_query: Arc::new(|_, _| Err(Status::unimplemented("fake"))),
    };
    let log = LogNode::with_log(3, 2);
    let (url, _task) = runtime.block_on(fake_identity::serve(log.fake(), Some(message_api)));

    let client = BlockingClient::connect(&url, config(1)).expect("connect");
    client
        .query(&xmtp_ledger::network::Query::topic("/xmtp/0/m-x/proto"))
        .expect("query");
    let identity = client.identity();
    assert_eq!(identity.url(), client.url());
    let updates = identity.get_identity_updates(INBOX, 0).expect("log");
    assert_eq!(updates.len(), 3);
    assert_eq!(
        identity
            .publish_identity_update(update(9))
            .expect("publish"),
        UpdatePublished::Accepted
    );
    assert_eq!(
        identity
            .get_identity_updates(INBOX, 30)
            .expect("rest")
            .len(),
        1
    );
    assert_eq!(queries.load(Ordering::SeqCst), 1);
    // The async one, from the async MessageApi client.
    let async_identity: IdentityClient = client.as_async().identity();
    let all = client.block_on(async_identity.get_identity_updates(INBOX, 0));
    assert_eq!(all.expect("log").len(), 4);
    // And on its own connection.
    let own =
        xmtp_ledger::network::BlockingIdentityClient::connect(&url, config(1)).expect("connect");
    assert_eq!(own.get_identity_updates(INBOX, 0).expect("log").len(), 4);
    drop(runtime);
}

/// A self-signed certificate for `localhost` and 127.0.0.1, and its key, in PEM.
fn self_signed() -> (String, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate");
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

/// The `https://` path (how `production` and `dev` are reached) against a local TLS node:
/// a client that trusts the node's certificate talks to it over TLS; the default trust
/// (the public webpki roots, what the public networks need) refuses a self-signed node.
#[tokio::test]
async fn the_tls_path_works_against_a_local_tls_node_and_checks_its_certificate() {
    let (cert, key) = self_signed();
    let log = LogNode::with_log(2, 100);
    let (url, _task) = fake_identity::serve_tls(log.fake(), &cert, &key).await;
    assert!(url.starts_with("https://localhost:"), "{url}");

    let trusting = ClientConfig {
        tls_roots: TlsRoots::Pem(cert.as_bytes().into()),
        ..config(1)
    };
    let client = IdentityClient::connect(&url, trusting.clone())
        .await
        .expect("TLS connect");
    assert_eq!(client.url(), url);
    let updates = client
        .get_identity_updates(INBOX, 0)
        .await
        .expect("over TLS");
    assert_eq!(updates.len(), 2);
    let published = client.publish_identity_update(update(3)).await;
    assert_eq!(
        published.expect("publish over TLS"),
        UpdatePublished::Accepted
    );

    // The MessageApi client takes the same path (the node has no MessageApi: the call
    // reaches it over TLS and is refused as unimplemented, not as a TLS failure).
    let message_client = Client::connect(&url, trusting).await.expect("TLS connect");
    let err = message_client
        .query(&xmtp_ledger::network::Query::topic("/xmtp/0/m-x/proto"))
        .await
        .expect_err("no MessageApi here");
    assert_eq!(err.code(), Some(Code::Unimplemented), "{err}");

    // The public roots do not vouch for a self-signed certificate: the handshake fails,
    // and the error names the node.
    let err = IdentityClient::connect(&url, config(1))
        .await
        .expect_err("untrusted certificate");
    assert!(matches!(err, NetworkError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
}
