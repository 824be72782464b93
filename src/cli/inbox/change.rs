//! `inbox revoke …` and `inbox change-recovery ADDRESS`: signed by the Ledger as the
//! inbox's recovery address.

use serde::Serialize;

use super::super::args::{GlobalArgs, RevokeArgs};
use super::super::connect::connect;
use super::super::context::open_signer;
use super::super::error::CliError;
use super::super::progress::FlowProgress;
use super::super::ui::Ui;
use super::error::inbox_error;
use super::output::{InboxState, member_text, published_note};
use super::{parse_address, parse_inbox_id};
use xmtp_ledger::session::inbox::{ChangedInbox, InboxError, InboxSession, RevokeTargets};

#[derive(Serialize)]
struct ChangeOutput {
    /// `changed`, or `unchanged` when there was nothing to do.
    outcome: &'static str,
    /// What the update named (revoked members, or the new recovery address).
    members: Vec<String>,
    #[serde(flatten)]
    state: Option<InboxState>,
}

/// Parses `--installation`/`--keep` ids: 64 hex digits each.
fn installation_ids(ids: &[String], flag: &str) -> Result<Vec<[u8; 32]>, CliError> {
    ids.iter()
        .map(|id| {
            let mut key = [0u8; 32];
            let digits = id.strip_prefix("0x").unwrap_or(id);
            hex::decode_to_slice(digits, &mut key).map_err(|_| {
                CliError::Usage(format!(
                    "{flag} {id:?}: an installation id is 64 hex digits (see `xmtp-ledger inbox status`)"
                ))
            })?;
            Ok(key)
        })
        .collect()
}

/// Revokes installations or an address (one approval for the whole batch).
pub fn revoke(global: &GlobalArgs, ui: &Ui, args: &RevokeArgs) -> Result<(), CliError> {
    let targets = if let Some(address) = &args.address {
        RevokeTargets::Address(parse_address(address)?)
    } else if args.all_installations {
        RevokeTargets::AllInstallationsBut(installation_ids(&args.keep, "--keep")?)
    } else {
        RevokeTargets::Installations(installation_ids(&args.installation, "--installation")?)
    };
    let inbox_id = args.inbox_id.as_deref().map(parse_inbox_id).transpose()?;
    run_change(global, ui, |session, progress| {
        session.revoke(inbox_id.as_ref(), &targets, progress)
    })
}

/// Makes ADDRESS the recovery address (one approval).
pub fn change_recovery(
    global: &GlobalArgs,
    ui: &Ui,
    address: &str,
    inbox_id: Option<&str>,
) -> Result<(), CliError> {
    let new_recovery = parse_address(address)?;
    let inbox_id = inbox_id.map(parse_inbox_id).transpose()?;
    run_change(global, ui, |session, progress| {
        session.change_recovery(inbox_id.as_ref(), new_recovery, progress)
    })
}

/// Opens the device and the node, runs `change`, and prints the inbox after it. Nothing
/// to do (everything already revoked) is a success that changed nothing.
fn run_change(
    global: &GlobalArgs,
    ui: &Ui,
    change: impl FnOnce(
        &InboxSession<&xmtp_ledger::device::LedgerSigner>,
        &mut dyn FnMut(xmtp_ledger::session::Progress<'_>),
    ) -> Result<ChangedInbox, InboxError<xmtp_ledger::device::DeviceError>>,
) -> Result<(), CliError> {
    let signer = open_signer(global, ui)?;
    let connection = connect(global, ui)?;
    let mut progress = FlowProgress::new(ui).with_node(connection.name());
    let session = InboxSession::new(&signer, connection.client().identity());
    let changed = change(&session, &mut |e| progress.on(e));
    if changed.is_ok() {
        // Only now is the pending approval known to be given (and its signature good).
        progress.done();
    }
    let node = connection.name();
    let changed = match changed {
        Err(InboxError::NothingToDo(why)) => {
            connection.shutdown()?;
            ui.status(format!("nothing to do: {why}"));
            let output = ChangeOutput {
                outcome: "unchanged",
                members: Vec::new(),
                state: None,
            };
            ui.result(&output, || format!("unchanged: {why}"));
            return Ok(());
        }
        other => other.map_err(|e| inbox_error(e, Some(&connection))),
    };
    connection.shutdown()?;
    let changed = changed?;
    ui.status(format!("✔ {} ({node})", published_note(changed.published)));
    let output = ChangeOutput {
        outcome: "changed",
        members: changed.members.iter().map(member_text).collect(),
        state: Some(InboxState::new(&changed.after)),
    };
    ui.result(&output, || {
        format!(
            "inbox updated ({} named)\n{}",
            output.members.join(", "),
            output
                .state
                .as_ref()
                .map(InboxState::human)
                .unwrap_or_default()
        )
    });
    Ok(())
}
