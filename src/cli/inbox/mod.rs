//! `inbox …`: the account's XMTP v3 inbox. Thin over [`xmtp_ledger::session::inbox`]: it
//! reads the flags, opens the device and the node, and prints what happened.

mod change;
mod create;
mod error;
mod id;
mod output;
mod sign;
mod status;

use super::args::{GlobalArgs, InboxCommand};
use super::error::CliError;
use super::ui::Ui;

/// Runs one `inbox` subcommand.
pub fn run(global: &GlobalArgs, ui: &Ui, command: &InboxCommand) -> Result<(), CliError> {
    match command {
        InboxCommand::Id { nonce, address } => id::run(global, ui, *nonce, address.as_deref()),
        InboxCommand::Status { address, inbox_id } => {
            status::run(global, ui, address.as_deref(), inbox_id.as_deref())
        }
        InboxCommand::Create { nonce, from_v2 } => create::run(global, ui, *nonce, *from_v2),
        InboxCommand::Revoke(targets) => change::revoke(global, ui, targets),
        InboxCommand::ChangeRecovery { address, inbox_id } => {
            change::change_recovery(global, ui, address, inbox_id.as_deref())
        }
        InboxCommand::Sign { text_file } => sign::run(global, ui, text_file),
    }
}

/// Parses an address argument.
fn parse_address(text: &str) -> Result<xmtp_ledger::identity::Address, CliError> {
    text.parse().map_err(|e| CliError::Usage(format!("{e}")))
}

/// Parses an `--inbox-id` argument.
fn parse_inbox_id(text: &str) -> Result<xmtp_ledger::v3::InboxId, CliError> {
    text.parse()
        .map_err(|e| CliError::Usage(format!("--inbox-id: {e}")))
}
