//! `verify ADDRESS`: is there a valid XMTP identity for ADDRESS on the node?

use super::args::GlobalArgs;
use super::artefact::{Report, contact_report};
use super::connect::connect;
use super::error::CliError;
use super::ui::Ui;
use xmtp_ledger::identity::{Address, fingerprint};
use xmtp_ledger::session::find_identity;

/// Runs `verify`; exit 0 only for a valid identity.
pub fn run(global: &GlobalArgs, ui: &Ui, address: &str) -> Result<(), CliError> {
    let wallet: Address = address
        .parse()
        .map_err(|e| CliError::Usage(format!("{e}")))?;
    let connection = connect(global, ui)?;
    let found = find_identity(connection.client(), &wallet)?;
    connection.shutdown()?;
    let problems = found.skipped.iter().map(ToString::to_string);

    let report = match &found.contact {
        Some((contact, _)) => {
            let mut report = contact_report(contact);
            report.problems.extend(problems);
            report
        }
        None => Report {
            kind: "contact_bundle",
            valid: false,
            wallet_address: Some(wallet.to_string()),
            identity_public_key: None,
            identity_fingerprint: None,
            pre_key_public_key: None,
            pre_key_public_keys: None,
            problems: std::iter::once(format!("no valid contact bundle for {wallet} on the node"))
                .chain(problems)
                .collect(),
            notes: Vec::new(),
        },
    };
    ui.result(&report, || match &found.contact {
        Some((_, verified)) => format!(
            "{} has a valid XMTP identity (contact bundle v{})\n  identity key   {}\n  fingerprint    {}\n  pre-key        {} (current, signed by the identity key)",
            verified.wallet_address,
            verified.version,
            hex::encode(verified.identity_public_key),
            fingerprint(&verified.identity_public_key),
            hex::encode(verified.pre_key_public_key),
        ),
        None => format!("{wallet} has no valid XMTP identity: {}", report.problems.join("; ")),
    });
    if report.valid {
        Ok(())
    } else {
        Err(CliError::Verification(format!(
            "no valid XMTP identity for {wallet}"
        )))
    }
}
