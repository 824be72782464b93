//! An inbox failure in the words of the commands.

use xmtp_ledger::device::DeviceError;
use xmtp_ledger::endpoint::Connection;
use xmtp_ledger::session::inbox::InboxError;

use super::super::error::CliError;
use super::output::member_text;

/// Maps `error` to an exit code and a message a person can act on; `connection` names the
/// node as the person reaches it.
pub fn inbox_error(error: InboxError<DeviceError>, connection: Option<&Connection>) -> CliError {
    let node = connection.map(Connection::name);
    let at = |reported: &str| node.clone().unwrap_or_else(|| reported.to_owned());
    match error {
        InboxError::Flow(e) => e.into(),
        InboxError::Network(e) => e.into(),
        InboxError::Text(e) => CliError::Usage(format!(
            "refused: the Ledger signs only XMTP 'Authenticate to inbox' texts here, and this \
             is not one ({e}); nothing was sent to the device"
        )),
        InboxError::NotOwner { owner, account } => CliError::Usage(format!(
            "refused: the text creates an inbox owned by {owner}, but the device account is \
             {account}; pick that account (--account, --hd-path, --legacy) or check the app"
        )),
        InboxError::Exists {
            address,
            inbox_id,
            node: reported,
        } => CliError::Exists(format!(
            "{address} already has an XMTP inbox on {}: {inbox_id}; see it with `xmtp-ledger \
             inbox status`, or choose another --nonce for a new one",
            at(&reported)
        )),
        InboxError::NoInbox {
            subject,
            node: reported,
        } => CliError::NoIdentity(format!(
            "no XMTP inbox for {subject} on {}: create one with `xmtp-ledger inbox create`",
            at(&reported)
        )),
        InboxError::NoV2Identity {
            address,
            node: reported,
        } => CliError::NoIdentity(format!(
            "no XMTP v2 identity for {address} on {}: --from-v2 creates the inbox with one \
             (made by `xmtp-ledger init`); without it, `xmtp-ledger inbox create` takes one \
             wallet signature",
            at(&reported)
        )),
        InboxError::InvalidLog {
            inbox_id,
            node: reported,
            error,
        } => CliError::Verification(format!(
            "the log of inbox {inbox_id} on {} does not verify ({error}): its state cannot be \
             trusted, and nothing was signed",
            at(&reported)
        )),
        e @ InboxError::NotListed { .. } => {
            CliError::Verification(format!("{e}: the node's answer cannot be trusted"))
        }
        InboxError::NotRecovery {
            inbox_id,
            recovery,
            account,
        } => CliError::Usage(format!(
            "only the recovery address {} may do this for inbox {inbox_id}, and the device \
             account is {account}: run this with the recovery address's account (--account, \
             --hd-path, --legacy); nothing was signed",
            member_text(&recovery)
        )),
        e @ (InboxError::NotMembers { .. } | InboxError::NothingToDo(_)) => {
            CliError::Usage(format!("{e}; see `xmtp-ledger inbox status`"))
        }
        e @ InboxError::WouldBeRefused(_) => CliError::Verification(e.to_string()),
    }
}
