//! XMTP v3 identity logs: [`AssociationState::replay`] of a full inbox log (256 updates,
//! the node's cap) whose every signature is real, and `inbox status` end to end against
//! an in-process node.

use xmtp_ledger::proto::identity::associations::IdentityUpdate;
use xmtp_ledger::session::inbox::address_status;
use xmtp_ledger::v3::{AssociationState, MAX_INBOX_UPDATES, MAX_INSTALLATIONS_PER_INBOX};

use crate::signed_updates::{
    Act, By, create_with_installation, inbox_of, installation, installation_id, update, wallet,
};
use crate::*;

/// A full log like a busy account's: created with one installation, as libxmtp's
/// `Client.create` does, then apps granted until the inbox holds as many as libxmtp
/// allows, then the oldest revoked and a new one granted in turn. Returns the owner, the
/// updates and how many signatures a replay checks (a grant carries the wallet's and the
/// new installation's, a revoke the wallet's).
pub(crate) fn busy_inbox_log() -> (LocalKeySigner, Vec<IdentityUpdate>, usize) {
    let owner = wallet(1);
    let inbox = inbox_of(&owner, 0);
    let start_ns = xmtp_ledger::network::now_ns() - 1_000 * 1_000_000_000;
    let keys: Vec<_> = (0..=u8::MAX).map(installation).collect();
    let mut live = std::collections::VecDeque::from([0usize]);
    let mut updates = vec![create_with_installation(&owner, 0, &keys[0], start_ns)];
    let mut signatures = 3;
    let mut next_key = 1;
    while updates.len() < MAX_INBOX_UPDATES {
        let time_ns = start_ns + updates.len() as u64 * 1_000_000_000;
        let grant = live.len() < MAX_INSTALLATIONS_PER_INBOX - 1 || updates.len() % 2 == 0;
        let act = if grant {
            let key = &keys[next_key];
            live.push_back(next_key);
            next_key += 1;
            signatures += 2;
            Act::Add {
                member: installation_id(key),
                existing: By::Wallet(&owner),
                new: By::Installation(key),
            }
        } else {
            let oldest = live.pop_front().expect("an installation to revoke");
            signatures += 1;
            Act::Revoke {
                member: installation_id(&keys[oldest]),
                by: By::Wallet(&owner),
            }
        };
        updates.push(update(&inbox, time_ns, vec![act]));
    }
    (owner, updates, signatures)
}

pub(crate) fn measure_v3_log(
    plan: &Plan,
    rows: &mut Vec<Row>,
    log: &mut String,
) -> BenchResult<()> {
    eprintln!("building a {MAX_INBOX_UPDATES}-update inbox log …");
    let (owner, updates, signatures) = busy_inbox_log();
    let state = AssociationState::replay(&updates)?;
    let bytes: usize = updates.iter().map(prost::Message::encoded_len).sum();

    eprintln!("replaying it ({}) …", plan.v3_replays);
    let samples = time_each(3, plan.v3_replays, || {
        AssociationState::replay(std::hint::black_box(&updates))?;
        Ok(())
    })?;
    rows.push(row(
        "v3 inbox log replay, 256 updates (median)",
        format_duration(median(&samples)),
        format!(
            "p99 {}; `v3::AssociationState::replay` on one core of the node's largest log ({} bytes): created with an installation, then grants and revokes in turn, {} signatures checked (EIP-191 recoveries and Ed25519ph), {} installations at the end; n = {}",
            format_duration(percentile(&samples, 99.0).unwrap_or_default()),
            group_thousands(bytes as u64),
            signatures,
            state.installations().len(),
            samples.len()
        ),
    ));

    let dir = TempDir::new("v3")?;
    let (node, client) = start_blocking_node(&dir.path().join("node.sqlite3"))?;
    let identity = client.identity();
    eprintln!("publishing it to a node …");
    let start = Instant::now();
    let mut last = Duration::ZERO;
    for update in &updates {
        let one = Instant::now();
        identity.publish_identity_update(update.clone())?;
        last = one.elapsed();
    }
    let published_in = start.elapsed();
    let _ = writeln!(
        log,
        "v3 log: {} updates published one by one in {} (the node replays the stored log before each; the 256th took {})",
        updates.len(),
        format_duration(published_in),
        format_duration(last)
    );

    eprintln!("inbox status of the owner ({}) …", plan.v3_statuses);
    let samples = time_each(3, plan.v3_statuses, || {
        let status = address_status::<std::convert::Infallible>(&identity, &owner.address())?;
        if status.log.len() != updates.len() {
            return Err(format!("the node returned {} updates", status.log.len()).into());
        }
        Ok(())
    })?;
    rows.push(row(
        "v3 `inbox status`, 256-update inbox (median)",
        format_duration(median(&samples)),
        format!(
            "p99 {}; `session::inbox::address_status` as the CLI runs it against an in-process node: GetInboxIds + GetIdentityUpdates (the whole log) through gRPC + replay; n = {}",
            format_duration(percentile(&samples, 99.0).unwrap_or_default()),
            samples.len()
        ),
    ));
    drop(identity);
    drop(client);
    node.shutdown()?;
    Ok(())
}
