//! `publish DIR`: publish what `init --out DIR` wrote. The device opens the private
//! bundle once (1 signature) so that the contacts can be checked against it and the
//! publish can be authenticated with a fresh token.

use std::path::Path;

use super::args::GlobalArgs;
use super::connect::{check_v2_publish, connect};
use super::context::{OpenDevice, chosen_derivation_path, open_ethereum_app, signer_on};
use super::custody;
use super::error::{CliError, session_error};
use super::identity_output::IdentityOutput;
use super::out_dir;
use super::progress::FlowProgress;
use super::provision::manifest::{Failure, Manifest, Outcome};
use super::provision::{MANIFEST_IN_DIR, account_dir, stops_the_run};
use super::ui::Ui;
use xmtp_ledger::device::{DerivationPath, DeviceError};
use xmtp_ledger::endpoint::Connection;
use xmtp_ledger::identity::Address;
use xmtp_ledger::session::{
    PreparedIdentity, PublishOptions, Session, SessionError, TopicOutcome, check_prepared_fits,
};
use xmtp_ledger::signer::Signer;

/// An `init --out` directory, read and checked without the device or the node.
struct PreparedDir {
    prepared: PreparedIdentity,
    wallet: Address,
    path: DerivationPath,
}

/// Runs `publish`. Everything that can be checked is checked before the device is asked:
/// the files decode and their contacts verify for the account `identity.json` names, the
/// account flags (if any) name that same account, and the node holds no other identity
/// for it (unless `force`). A directory `provision --out` wrote is published account by
/// account in one device session.
pub fn run(global: &GlobalArgs, ui: &Ui, dir: &Path, force: bool) -> Result<(), CliError> {
    check_v2_publish(global)?;
    if is_provisioned(dir) {
        return run_provisioned(global, ui, dir, force);
    }
    let ready = read_prepared(dir)?;
    if let Some(chosen) = chosen_derivation_path(global)?
        && chosen != ready.path
    {
        return Err(CliError::Usage(format!(
            "{} was prepared for {} at {}, but the account flags name {chosen}: \
             drop them (publish reads the account from identity.json)",
            dir.display(),
            ready.wallet,
            ready.path
        )));
    }
    ui.status(format!(
        "account {} ({}), from {}",
        ready.wallet,
        ready.path,
        dir.join(out_dir::IDENTITY_JSON).display()
    ));
    custody::custodian(global, ui)?.check_path(&ready.path)?;
    let connection = connect(global, ui)?;
    let options = PublishOptions { force };
    check_prepared_fits(connection.client(), &ready.wallet, &ready.prepared, options)
        .map_err(|e| session_error(e, &connection))?;
    let device = open_ethereum_app(global, ui)?;
    let (output, published) = publish_dir(global, ui, &device, &connection, dir, &ready, options)?;
    FlowProgress::new(ui)
        .with_node(connection.name())
        .finish(connection, &published)?;
    ui.result(&output, || output.human("XMTP identity published"));
    Ok(())
}

/// Reads `dir` and checks its contacts against the account its `identity.json` names.
fn read_prepared(dir: &Path) -> Result<PreparedDir, CliError> {
    let prepared = out_dir::read(dir)?;
    let description = out_dir::read_description(dir)?;
    let wallet: Address = description.address.parse().map_err(|e| {
        CliError::Usage(format!(
            "{}: bad address in identity.json: {e}",
            dir.display()
        ))
    })?;
    let path: DerivationPath = description.hd_path.parse().map_err(|e| {
        CliError::Usage(format!(
            "{}: bad hd_path in identity.json: {e}",
            dir.display()
        ))
    })?;
    prepared
        .verify_offline(&wallet)
        .map_err(|e| mismatch(dir, e))?;
    Ok(PreparedDir {
        prepared,
        wallet,
        path,
    })
}

fn mismatch(dir: &Path, e: SessionError<DeviceError>) -> CliError {
    match e {
        SessionError::PreparedMismatch => CliError::Verification(format!(
            "the contact bundles in {} do not match its private store: refusing to publish",
            dir.display()
        )),
        SessionError::PreparedWallet { expected, found } => CliError::Verification(format!(
            "the contact bundles in {} were signed by {found}, but its identity.json names \
             {expected}: refusing to publish",
            dir.display()
        )),
        SessionError::Flow(e) => e.into(),
        other => CliError::Verification(other.to_string()),
    }
}

/// Publishes one checked directory with the device's signer at its path (1 approval).
fn publish_dir(
    global: &GlobalArgs,
    ui: &Ui,
    device: &OpenDevice,
    connection: &Connection,
    dir: &Path,
    ready: &PreparedDir,
    options: PublishOptions,
) -> Result<(IdentityOutput, Vec<TopicOutcome>), CliError> {
    let signer = signer_on(global, device, ui, ready.path.clone())?;
    if signer.address() != ready.wallet {
        return Err(CliError::Verification(format!(
            "the device's account at {} is {}, but {} was prepared for {}: is this the \
             device (and passphrase) that made it?",
            signer.path(),
            signer.address(),
            dir.display(),
            ready.wallet
        )));
    }
    let session = Session::new(&signer, connection.client());
    let mut progress = FlowProgress::new(ui).with_node(connection.name());
    let published = session
        .publish_prepared(&ready.prepared, options, &mut |e| progress.on(e))
        .map_err(|e| match e {
            e @ (SessionError::PreparedMismatch | SessionError::PreparedWallet { .. }) => {
                mismatch(dir, e)
            }
            other => session_error(other, connection),
        })?;
    progress.done();
    let output = IdentityOutput::new(&ready.wallet, signer.path().to_string(), &published.bundle);
    Ok((output, published.published))
}

/// Whether `dir` is what `provision --out` wrote: a manifest and no identity of its own.
fn is_provisioned(dir: &Path) -> bool {
    dir.join(MANIFEST_IN_DIR).is_file() && !dir.join(out_dir::IDENTITY_JSON).exists()
}

/// One account of a provisioned directory, as `publish --json` prints it.
#[derive(serde::Serialize)]
struct AccountLine<'a> {
    index: usize,
    hd_path: &'a str,
    address: Option<&'a str>,
    /// `published`, or `failed` with `error`.
    outcome: &'static str,
    error: Option<Failure>,
}

/// `publish DIR` of a `provision --out` directory: every account the manifest records as
/// created, in one device session and one connection (1 approval each). An account that
/// fails for its own reasons (rejected, does not verify, another identity on the node)
/// does not stop the others; a device or node that stops answering does. Running it
/// again is safe: what is already on the node is not sent twice.
fn run_provisioned(global: &GlobalArgs, ui: &Ui, dir: &Path, force: bool) -> Result<(), CliError> {
    if chosen_derivation_path(global)?.is_some() {
        return Err(CliError::Usage(format!(
            "{} holds many accounts, each named in its manifest: drop the account flags",
            dir.display()
        )));
    }
    let manifest_path = dir.join(MANIFEST_IN_DIR);
    let manifest = Manifest::load(&manifest_path)?
        .ok_or_else(|| CliError::Usage(format!("{} is not a manifest", manifest_path.display())))?;
    if manifest.node.is_some() {
        return Err(CliError::Usage(format!(
            "{} records a run against a node: there is nothing in {} to publish",
            manifest_path.display(),
            dir.display()
        )));
    }
    let entries: Vec<_> = manifest
        .accounts
        .iter()
        .filter(|entry| entry.outcome == Outcome::Created)
        .collect();
    if entries.is_empty() {
        return Err(CliError::Usage(format!(
            "{} records no account created: nothing to publish",
            manifest_path.display()
        )));
    }
    // Every directory is read and checked before the device or the node is asked.
    let accounts = entries
        .iter()
        .map(|entry| {
            let account = dir.join(account_dir(entry.index));
            let ready = read_prepared(&account)?;
            if ready.path.to_string() != entry.hd_path {
                return Err(CliError::Verification(format!(
                    "{} holds {} but the manifest names {} for it",
                    account.display(),
                    ready.path,
                    entry.hd_path
                )));
            }
            Ok((account, ready))
        })
        .collect::<Result<Vec<_>, CliError>>()?;

    let custodian = custody::custodian(global, ui)?;
    for (_, ready) in &accounts {
        custodian.check_path(&ready.path)?;
    }
    let connection = connect(global, ui)?;
    let device = open_ethereum_app(global, ui)?;
    let options = PublishOptions { force };
    let mut published_all = Vec::new();
    let mut first_failure = None;
    let mut failed = 0;
    for (at, (entry, (account, ready))) in entries.iter().zip(&accounts).enumerate() {
        ui.status(format!(
            "account {} of {} ({}, {}), from {}",
            at + 1,
            accounts.len(),
            ready.wallet,
            ready.path,
            account.display()
        ));
        let result =
            check_prepared_fits(connection.client(), &ready.wallet, &ready.prepared, options)
                .map_err(|e| session_error(e, &connection))
                .and_then(|()| {
                    publish_dir(global, ui, &device, &connection, account, ready, options)
                });
        let error = match result {
            Ok((_, published)) => {
                published_all.extend(published);
                None
            }
            Err(error) => Some(error),
        };
        let line = AccountLine {
            index: entry.index,
            hd_path: &entry.hd_path,
            address: entry.address.as_deref(),
            outcome: if error.is_some() {
                "failed"
            } else {
                "published"
            },
            error: error.as_ref().map(Failure::of),
        };
        if ui.json() {
            ui.result_line(&line, String::new);
        } else {
            ui.status(format!(
                "{:>5}  {:<22} {}  {}",
                line.index,
                line.hd_path,
                ready.wallet,
                match &line.error {
                    Some(e) => format!("failed ({}): {}", e.code, e.message),
                    None => "published".into(),
                }
            ));
        }
        if let Some(error) = error {
            failed += 1;
            if stops_the_run(&error) {
                connection.shutdown()?;
                return Err(error);
            }
            first_failure.get_or_insert(error);
        }
    }
    FlowProgress::new(ui)
        .with_node(connection.name())
        .finish(connection, &published_all)?;
    match first_failure {
        None => {
            if !ui.json() {
                super::ui::write_stdout(
                    format!(
                        "{} accounts from {} published\n",
                        accounts.len(),
                        dir.display()
                    )
                    .as_bytes(),
                )?;
            }
            Ok(())
        }
        Some(first) => {
            ui.warn(format!(
                "{failed} of {} accounts failed; run the same command again to retry them",
                accounts.len()
            ));
            Err(first)
        }
    }
}
