//! `verify ADDRESS…`: is there a valid XMTP identity for each address on the node? With
//! `--history`, every identity each address ever published.

use std::path::Path;

use serde::Serialize;

use super::args::GlobalArgs;
use super::artefact::{Report, contact_report};
use super::connect::connect;
use super::error::CliError;
use super::input::read_address_list;
use super::time::ns_rfc3339;
use super::ui::Ui;
use xmtp_ledger::identity::{Address, fingerprint};
use xmtp_ledger::network::BlockingClient;
use xmtp_ledger::session::{FoundIdentity, PublishedIdentity, find_identity, identity_history};

/// Runs `verify`; exit 0 only if every address has a valid identity.
pub fn run(
    global: &GlobalArgs,
    ui: &Ui,
    addresses: &[String],
    history: bool,
) -> Result<(), CliError> {
    let wallets = parse_addresses(addresses)?;
    // One address named on the command line keeps the one-document answer; a list
    // answers one line per address, as each is checked.
    let lines = wallets.len() != 1 || addresses.iter().any(|a| a == "-");
    let connection = connect(global, ui)?;
    let mut missing = 0;
    for wallet in &wallets {
        let valid = if history {
            verify_history(connection.client(), ui, wallet, lines)?
        } else {
            verify_one(connection.client(), ui, wallet, lines)?
        };
        if !valid {
            missing += 1;
        }
    }
    connection.shutdown()?;
    match (missing, wallets.as_slice()) {
        (0, _) => Ok(()),
        (_, [wallet]) => Err(CliError::Verification(format!(
            "no valid XMTP identity for {wallet}"
        ))),
        (missing, all) => Err(CliError::Verification(format!(
            "{missing} of {} addresses have no valid XMTP identity",
            all.len()
        ))),
    }
}

/// The addresses named, `-` standing for stdin's lines (blank lines and `#` comments
/// skipped). Any address that does not parse is a usage error, before the node is asked.
fn parse_addresses(arguments: &[String]) -> Result<Vec<Address>, CliError> {
    let mut wallets = Vec::new();
    let mut stdin_read = false;
    for argument in arguments {
        if argument != "-" {
            wallets.push(
                argument
                    .parse()
                    .map_err(|e| CliError::Usage(format!("{e}")))?,
            );
            continue;
        }
        if std::mem::replace(&mut stdin_read, true) {
            return Err(CliError::Usage("`-` (stdin) may be given once".into()));
        }
        wallets.extend(
            read_address_list(Path::new("-"))?
                .into_iter()
                .map(|(_, address)| address),
        );
    }
    if wallets.is_empty() {
        return Err(CliError::Usage("no address to verify".into()));
    }
    Ok(wallets)
}

/// One address's newest valid identity. Returns whether it has one.
fn verify_one(
    client: &BlockingClient,
    ui: &Ui,
    wallet: &Address,
    line: bool,
) -> Result<bool, CliError> {
    let found = find_identity(client, wallet)?;
    let report = report_of(wallet, &found);
    let human = || match &found.contact {
        Some((_, verified)) if line => format!(
            "{}  valid  {}  identity key {}",
            verified.wallet_address,
            fingerprint(&verified.identity_public_key),
            hex::encode(verified.identity_public_key),
        ),
        Some((_, verified)) => format!(
            "{} has a valid XMTP identity (contact bundle v{})\n  identity key   {}\n  fingerprint    {}\n  pre-key        {} (current, signed by the identity key)",
            verified.wallet_address,
            verified.version,
            hex::encode(verified.identity_public_key),
            fingerprint(&verified.identity_public_key),
            hex::encode(verified.pre_key_public_key),
        ),
        None if line => format!("{wallet}  none   {}", report.problems.join("; ")),
        None => format!(
            "{wallet} has no valid XMTP identity: {}",
            report.problems.join("; ")
        ),
    };
    answer(ui, line, &report, human);
    Ok(report.valid)
}

fn report_of(wallet: &Address, found: &FoundIdentity) -> Report {
    let problems = found.skipped.iter().map(ToString::to_string);
    match &found.contact {
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
    }
}

/// `verify --history`: one address's identities, newest first.
#[derive(Serialize)]
struct HistoryReport {
    wallet_address: String,
    /// Every identity with a valid bundle, newest first; the first is current.
    identities: Vec<HistoryEntry>,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct HistoryEntry {
    identity_public_key: String,
    identity_fingerprint: String,
    /// Newest first.
    pre_key_public_keys: Vec<String>,
    newest_ns: u64,
    oldest_ns: u64,
    contact_bundles: usize,
    current: bool,
}

impl HistoryEntry {
    fn new(identity: &PublishedIdentity, current: bool) -> Self {
        Self {
            identity_public_key: hex::encode(identity.identity_public_key),
            identity_fingerprint: fingerprint(&identity.identity_public_key),
            pre_key_public_keys: identity
                .pre_key_public_keys
                .iter()
                .map(hex::encode)
                .collect(),
            newest_ns: identity.newest_ns,
            oldest_ns: identity.oldest_ns,
            contact_bundles: identity.bundles,
            current,
        }
    }
}

/// Every identity `wallet` published. Returns whether it has a current one.
fn verify_history(
    client: &BlockingClient,
    ui: &Ui,
    wallet: &Address,
    line: bool,
) -> Result<bool, CliError> {
    let history = identity_history(client, wallet)?;
    let report = HistoryReport {
        wallet_address: wallet.to_string(),
        identities: history
            .identities
            .iter()
            .enumerate()
            .map(|(at, identity)| HistoryEntry::new(identity, at == 0))
            .collect(),
        problems: history.skipped.iter().map(ToString::to_string).collect(),
    };
    let human = || {
        let mut text = match report.identities.len() {
            0 => format!("{wallet} has published no valid XMTP identity"),
            1 => format!("{wallet} has published 1 identity"),
            n => format!("{wallet} has published {n} identities, newest first"),
        };
        for entry in &report.identities {
            text.push_str(&format!(
                "\n  {} {}  identity key {}\n      {} contact bundles, {} to {}; {} pre-keys",
                if entry.current { "current" } else { "older  " },
                entry.identity_fingerprint,
                entry.identity_public_key,
                entry.contact_bundles,
                ns_rfc3339(entry.oldest_ns),
                ns_rfc3339(entry.newest_ns),
                entry.pre_key_public_keys.len(),
            ));
        }
        for problem in &report.problems {
            text.push_str(&format!("\n  note: {problem}"));
        }
        text
    };
    answer(ui, line, &report, human);
    Ok(!report.identities.is_empty())
}

/// Prints one address's answer: a line of several, or the one document.
fn answer<T: Serialize>(ui: &Ui, line: bool, report: &T, human: impl FnOnce() -> String) {
    if line {
        ui.result_line(report, human);
    } else {
        ui.result(report, human);
    }
}
