//! The client's publishing against a real node: idempotent publication of an identity
//! (a re-run sends nothing, an interrupted run resumes without duplicates), publishing only
//! when the newest envelope differs (whatever the clocks say), and reading the newest one.

mod common;

use xmtp_ledger::identity::topic;
use xmtp_ledger::network::{NetworkError, PublishOutcome, Query, now_ns};

use common::fixtures::{envelope, identity, messages, token};
use common::node::harness;

const HOUR_NS: u64 = 3_600_000_000_000;

#[tokio::test]
async fn idempotent_publication_of_a_new_identity() {
    let h = harness().await;
    let id = identity(0x1f);
    let t = token(&id);
    let publications = id.publications();

    let outcomes = h
        .client
        .publish_publications(&t, &publications)
        .await
        .expect("first run");
    assert_eq!(outcomes, [PublishOutcome::Published; 3]);
    // A re-run sends nothing.
    let outcomes = h
        .client
        .publish_publications(&t, &publications)
        .await
        .expect("re-run");
    assert_eq!(outcomes, [PublishOutcome::AlreadyNewest; 3]);

    let contact = topic::contact_topic(&id.wallet);
    let stored = h
        .client
        .query_all(Query::topic(&contact).ascending(), 10)
        .await
        .expect("contacts");
    assert_eq!(
        messages(&stored),
        [id.contact_v1().to_vec(), id.contact_v2().to_vec()]
    );
    let private = h
        .client
        .query_all(Query::topic(topic::private_store_topic(&id.wallet)), 10)
        .await
        .expect("private");
    assert_eq!(private.len(), 1);
}

#[tokio::test]
async fn interrupted_publication_resumes_without_duplicates() {
    let h = harness().await;
    let id = identity(0x21);
    let t = token(&id);
    let publications = id.publications();
    // The first run died after the private store and the v1 contact.
    h.client
        .publish_publications(&t, &publications[..2])
        .await
        .expect("partial run");
    let outcomes = h
        .client
        .publish_publications(&t, &publications)
        .await
        .expect("resume");
    assert_eq!(
        outcomes,
        [
            PublishOutcome::AlreadyNewest,
            PublishOutcome::Published,
            PublishOutcome::Published
        ]
    );
    let contact = topic::contact_topic(&id.wallet);
    let stored = h
        .client
        .query_all(Query::topic(&contact), 10)
        .await
        .expect("contacts");
    // Newest first: v2 on top, v1 stored once.
    assert_eq!(
        messages(&stored),
        [id.contact_v2().to_vec(), id.contact_v1().to_vec()]
    );
}

#[tokio::test]
async fn publish_if_newest_differs_follows_a_small_skew_is_not_pinned_by_a_far_one_and_reports_shadowing()
 {
    let h = harness().await;
    let id = identity(0x22);
    let t = token(&id);
    let topic = "/xmtp/0/m-newest/proto";

    // An earlier envelope dated a minute ahead (a slightly fast clock) does not hide the
    // new one: the new one is dated after it.
    let soon = now_ns() + 60 * 1_000_000_000;
    h.client
        .publish(&t, vec![envelope(topic, soon, b"a minute ahead")])
        .await
        .expect("publish");
    let outcome = h
        .client
        .publish_if_newest_differs(&t, topic, b"current")
        .await
        .expect("publish");
    assert_eq!(outcome, PublishOutcome::Published);
    let newest = h.client.newest(topic).await.expect("newest").expect("some");
    assert_eq!(newest.message, b"current");
    assert!(newest.timestamp_ns > soon);

    // Same bytes again: nothing sent.
    let outcome = h
        .client
        .publish_if_newest_differs(&t, topic, b"current")
        .await
        .expect("again");
    assert_eq!(outcome, PublishOutcome::AlreadyNewest);
    assert_eq!(
        h.client
            .query_all(Query::topic(topic), 10)
            .await
            .expect("all")
            .len(),
        2
    );

    // Re-publishing an older message: the node keeps the old copy (dedup), so it cannot
    // become the newest; the client says so instead of claiming success.
    let err = h
        .client
        .publish_if_newest_differs(&t, topic, b"a minute ahead")
        .await
        .expect_err("shadowed");
    assert!(matches!(err, NetworkError::Superseded { .. }), "{err}");

    // An envelope dated a day ahead (a badly skewed or hostile sender) does not drag our
    // timestamps a day into the future: ours is dated now, cannot be the newest, and the
    // client reports the topic as superseded.
    let far_topic = "/xmtp/0/m-far/proto";
    let tomorrow = now_ns() + 24 * HOUR_NS;
    h.client
        .publish(&t, vec![envelope(far_topic, tomorrow, b"from tomorrow")])
        .await
        .expect("publish");
    let err = h
        .client
        .publish_if_newest_differs(&t, far_topic, b"current")
        .await
        .expect_err("superseded by the far one");
    assert!(matches!(err, NetworkError::Superseded { .. }), "{err}");
    let ours = h
        .client
        .query_all(Query::topic(far_topic), 10)
        .await
        .expect("all")
        .into_iter()
        .find(|e| e.message == b"current")
        .expect("ours was stored");
    assert!(
        ours.timestamp_ns < tomorrow,
        "dated now, not after the far-future envelope"
    );
}

#[tokio::test]
async fn newest_skips_empty_messages() {
    let h = harness().await;
    let id = identity(0x23);
    let topic = "/xmtp/0/m-empty/proto";
    h.client
        .publish(
            &token(&id),
            vec![envelope(topic, 1, b"real"), envelope(topic, 2, b"")],
        )
        .await
        .expect("publish");
    let newest = h.client.newest(topic).await.expect("newest");
    assert_eq!(newest.map(|e| e.message), Some(b"real".to_vec()));
    assert_eq!(
        h.client
            .newest("/xmtp/0/m-nothing/proto")
            .await
            .expect("newest"),
        None
    );
}
