//! `report`: the state on the node of every account a provision manifest (or a list of
//! addresses) names, without the device: is its identity there, whole, and still the one
//! the manifest recorded?

use std::path::Path;

use serde::Serialize;

use super::args::GlobalArgs;
use super::connect::connect;
use super::error::CliError;
use super::input::read_address_list;
use super::provision::manifest::Manifest;
use super::time::ns_rfc3339;
use super::ui::{Ui, write_stdout};
use xmtp_ledger::identity::{Address, fingerprint};
use xmtp_ledger::network::BlockingClient;
use xmtp_ledger::session::read_account;

/// What the node holds for an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Nothing on either topic.
    None,
    /// A valid contact bundle and a private store.
    Valid,
    /// Contact envelopes, none of them a valid bundle of the account, and no private store.
    Invalid,
    /// A private store without a valid contact bundle, or the other way round: a run that
    /// stopped between publishes (`init` or `provision` completes the first).
    HalfPublished,
}

/// One account of the report.
#[derive(Debug, Serialize)]
struct Row {
    /// The account's label: its manifest index, or its line in the list.
    account: String,
    hd_path: Option<String>,
    address: String,
    state: State,
    identity_public_key: Option<String>,
    fingerprint: Option<String>,
    /// Sender time of the newest valid contact bundle (RFC 3339).
    published_at: Option<String>,
    /// Whether the node's identity differs from the one the manifest recorded (`null`
    /// without a manifest, or when it recorded none).
    differs_from_manifest: Option<bool>,
}

impl Row {
    fn is_good(&self) -> bool {
        self.state == State::Valid && self.differs_from_manifest != Some(true)
    }
}

/// Runs `report`; exit 0 only if every account is valid and, with a manifest, still has
/// the identity it recorded.
pub fn run(
    global: &GlobalArgs,
    ui: &Ui,
    manifest: Option<&Path>,
    addresses: Option<&Path>,
) -> Result<(), CliError> {
    let accounts = match (manifest, addresses) {
        (Some(path), None) => from_manifest(path)?,
        (None, Some(path)) => from_list(path)?,
        _ => {
            return Err(CliError::Usage(
                "report takes --manifest FILE or --addresses FILE".into(),
            ));
        }
    };
    let connection = connect(global, ui)?;
    let mut rows = Vec::with_capacity(accounts.len());
    for account in accounts {
        let row = row(connection.client(), account)?;
        if ui.json() {
            ui.result_line(&row, String::new);
        }
        rows.push(row);
    }
    connection.shutdown()?;
    if !ui.json() {
        write_stdout(table(&rows).as_bytes())?;
    }
    let bad = rows.iter().filter(|row| !row.is_good()).count();
    if bad == 0 {
        Ok(())
    } else {
        Err(CliError::Verification(format!(
            "{bad} of {} accounts are not valid or not the identity recorded",
            rows.len()
        )))
    }
}

/// An account to report on.
struct Account {
    label: String,
    hd_path: Option<String>,
    address: Address,
    recorded: Option<String>,
}

fn from_manifest(path: &Path) -> Result<Vec<Account>, CliError> {
    let manifest = Manifest::load(path)?
        .ok_or_else(|| CliError::Usage(format!("{}: no such manifest", path.display())))?;
    manifest
        .accounts
        .iter()
        .filter_map(|entry| {
            let address = entry.address.as_ref()?;
            Some(
                address
                    .parse()
                    .map(|address| Account {
                        label: entry.index.to_string(),
                        hd_path: Some(entry.hd_path.clone()),
                        address,
                        recorded: entry.identity_public_key.clone(),
                    })
                    .map_err(|e| {
                        CliError::Usage(format!(
                            "{}: account {}: bad address: {e}",
                            path.display(),
                            entry.index
                        ))
                    }),
            )
        })
        .collect()
}

fn from_list(path: &Path) -> Result<Vec<Account>, CliError> {
    let accounts: Vec<Account> = read_address_list(path)?
        .into_iter()
        .map(|(line, address)| Account {
            label: format!("line {line}"),
            hd_path: None,
            address,
            recorded: None,
        })
        .collect();
    if accounts.is_empty() {
        return Err(CliError::Usage(format!(
            "{} names no address",
            path.display()
        )));
    }
    Ok(accounts)
}

fn row(client: &BlockingClient, account: Account) -> Result<Row, CliError> {
    let (private_store, found) = read_account(client, &account.address)?;
    let stored = private_store.is_some();
    let identity = found.contact.as_ref().map(|(_, v)| v.identity_public_key);
    let state = match (identity.is_some(), stored, found.skipped.is_empty()) {
        (true, true, _) => State::Valid,
        (true, false, _) | (false, true, _) => State::HalfPublished,
        (false, false, false) => State::Invalid,
        (false, false, true) => State::None,
    };
    let identity_public_key = identity.map(hex::encode);
    let differs_from_manifest = account
        .recorded
        .as_ref()
        .map(|recorded| identity_public_key.as_ref() != Some(recorded));
    Ok(Row {
        account: account.label,
        hd_path: account.hd_path,
        address: account.address.to_string(),
        state,
        fingerprint: identity.map(|key| fingerprint(&key)),
        identity_public_key,
        published_at: found.published_ns.map(ns_rfc3339),
        differs_from_manifest,
    })
}

fn table(rows: &[Row]) -> String {
    let mut text = format!(
        "{:<9} {:<42}  {:<14} {:<39}  {:<20}  {}\n",
        "account", "address", "state", "fingerprint", "published", "manifest"
    );
    for row in rows {
        let state = match row.state {
            State::None => "none",
            State::Valid => "valid",
            State::Invalid => "invalid",
            State::HalfPublished => "half-published",
        };
        let manifest = match row.differs_from_manifest {
            None => "-",
            Some(false) => "same",
            Some(true) => "DIFFERS",
        };
        text.push_str(&format!(
            "{:<9} {:<42}  {:<14} {:<39}  {:<20}  {manifest}\n",
            row.account,
            row.address,
            state,
            row.fingerprint.as_deref().unwrap_or("-"),
            row.published_at.as_deref().unwrap_or("-"),
        ));
    }
    let count = |state| rows.iter().filter(|r| r.state == state).count();
    let differs = rows
        .iter()
        .filter(|r| r.differs_from_manifest == Some(true))
        .count();
    text.push_str(&format!(
        "\n{} accounts: {} valid, {} half-published, {} invalid, {} none; {differs} differ from the manifest\n",
        rows.len(),
        count(State::Valid),
        count(State::HalfPublished),
        count(State::Invalid),
        count(State::None),
    ));
    text
}
