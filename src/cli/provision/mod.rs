//! `provision`: the XMTP identity of many accounts in one device session, recorded in a
//! manifest after every account so that a run cut off anywhere is resumed by running it
//! again. Each account is looked up on the node first: a valid identity is left alone
//! (`existing`), a private store without contacts is completed with its keys
//! (`completed`), nothing is created (`created`); an identity is replaced only for an
//! account `--force` names. With `--out DIR` everything stays offline: one directory
//! per account, which `publish` takes later, and `DIR/manifest.json`.

mod accounts;
pub(super) mod manifest;

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::args::{GlobalArgs, ProvisionArgs};
use super::connect::{check_v2_publish, connect};
use super::context::{OpenDevice, open_ethereum_app, signer_on};
use super::custody;
use super::error::{CliError, session_error};
use super::files::check_output_file;
use super::out_dir;
use super::progress::FlowProgress;
use super::time::now_rfc3339;
use super::ui::{RunBar, Ui};
use accounts::{parse_indexes, parse_paths_file};
use manifest::{AccountEntry, Failure, Manifest, Outcome};
use xmtp_ledger::device::{DerivationPath, LedgerSigner};
use xmtp_ledger::endpoint::Connection;
use xmtp_ledger::flow::generate_identity;
use xmtp_ledger::identity::fingerprint;
use xmtp_ledger::session::{InitOptions, InitOutcome, Progress, Session, read_account};
use xmtp_ledger::signer::Signer;

/// The manifest's name inside an `--out` directory.
pub const MANIFEST_IN_DIR: &str = "manifest.json";

/// Runs `provision`.
pub fn run(global: &GlobalArgs, ui: &Ui, args: &ProvisionArgs) -> Result<(), CliError> {
    let plan = plan(global, args)?;
    let forced = forced_paths(global, args)?;
    let manifest_path = manifest_path(args)?;
    // Everything that can fail without the device fails first.
    if let Some(dir) = &args.out {
        out_dir::check_writable(dir, true)?;
    } else {
        check_v2_publish(global)?;
    }
    check_output_file(&manifest_path, true)?;
    let connection = match args.out {
        Some(_) => None,
        None => Some(connect(global, ui)?),
    };
    let node = connection.as_ref().map(Connection::name);
    let mut manifest = match Manifest::load(&manifest_path)? {
        Some(manifest) if manifest.node != node => {
            return Err(CliError::Usage(format!(
                "{} records a run {}; this run {}: use another --manifest",
                manifest_path.display(),
                describe_target(manifest.node.as_deref()),
                describe_target(node.as_deref()),
            )));
        }
        Some(manifest) => manifest,
        None => Manifest::new(node.clone()),
    };

    // Every account is held to the signing policy before the device is opened.
    let custodian = custody::custodian(global, ui)?;
    for path in &plan {
        custodian.check_path(path)?;
    }
    let device = open_ethereum_app(global, ui)?;
    let mut run = Run {
        bar: None,
        global,
        ui,
        device: &device,
        connection: connection.as_ref(),
        out: args.out.as_deref(),
        total: plan.len(),
        approvals: 0,
        approvals_planned: 2 * plan
            .iter()
            .filter(|path| {
                !manifest
                    .entry(&path.to_string())
                    .is_some_and(|e| e.outcome.is_done())
            })
            .count(),
    };
    run.bar = ui.run_bar(run.approvals_planned as u64);
    let mut summary = Vec::with_capacity(plan.len());
    let mut first_failure: Option<CliError> = None;
    let mut stopped: Option<CliError> = None;
    for (index, path) in plan.iter().enumerate() {
        let hd_path = path.to_string();
        let force = forced.contains(path);
        // Done in an earlier run of this manifest, even with --force: a resumed run never
        // replaces an identity it made or replaced itself.
        if let Some(done) = manifest.entry(&hd_path).filter(|e| e.outcome.is_done()) {
            ui.status(format!(
                "account {} of {} ({hd_path}): skipped, {} in an earlier run",
                index + 1,
                plan.len(),
                outcome_name(done.outcome)
            ));
            let line = Line::new(done, true);
            line.report(ui);
            summary.push(line);
            continue;
        }
        let (entry, error) = run.account(index, path, force);
        manifest.record(&manifest_path, entry.clone())?;
        let line = Line::new(&entry, false);
        line.report(ui);
        summary.push(line);
        if let Some(error) = error {
            if stops_the_run(&error) {
                ui.warn(format!(
                    "stopping: {error} (the manifest has every account so far; run the same \
                     command again to resume)"
                ));
                stopped = Some(error);
                break;
            }
            first_failure.get_or_insert(error);
        }
    }
    // The bar goes before the summary is printed.
    drop(run);
    if let Some(connection) = connection {
        connection.shutdown()?;
    }
    if !ui.json() {
        print_summary(&summary, plan.len(), &manifest_path)?;
    }
    if let Some(error) = stopped {
        return Err(error);
    }
    match first_failure {
        None => Ok(()),
        Some(first) => {
            let failed = summary
                .iter()
                .filter(|l| l.outcome == Outcome::Failed)
                .count();
            ui.warn(format!(
                "{failed} of {} accounts failed (see {}); run the same command again to retry \
                 them, the others are skipped",
                plan.len(),
                manifest_path.display()
            ));
            Err(first)
        }
    }
}

/// The accounts, in order.
fn plan(global: &GlobalArgs, args: &ProvisionArgs) -> Result<Vec<DerivationPath>, CliError> {
    let usage = |e: String| CliError::Usage(e);
    let sources = [
        args.accounts.is_some(),
        global.account.legacy.is_some(),
        args.hd_paths_file.is_some(),
    ];
    if sources.iter().filter(|s| **s).count() != 1
        || global.account.account.is_some()
        || global.account.hd_path.is_some()
    {
        return Err(usage(
            "provision takes exactly one of --accounts, --legacy or --hd-paths-file".into(),
        ));
    }
    if let Some(spec) = &args.accounts {
        return parse_indexes(spec)
            .map_err(|e| usage(format!("--accounts: {e}")))?
            .into_iter()
            .map(|i| DerivationPath::ledger_live(i).map_err(|e| usage(format!("--accounts: {e}"))))
            .collect();
    }
    if let Some(spec) = &global.account.legacy {
        return parse_indexes(spec)
            .map_err(|e| usage(format!("--legacy: {e}")))?
            .into_iter()
            .map(|i| DerivationPath::legacy(i).map_err(|e| usage(format!("--legacy: {e}"))))
            .collect();
    }
    let Some(file) = args.hd_paths_file.as_deref() else {
        return Err(usage(
            "provision needs --accounts, --legacy or --hd-paths-file".into(),
        ));
    };
    let bytes = super::files::read_small_regular_file(file, 4 * 1024 * 1024)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| usage(format!("{} is not UTF-8 text", file.display())))?;
    parse_paths_file(&text)
}

/// The accounts `--force` names, in the notation of the selection: indexes for
/// `--accounts` and `--legacy`, paths for `--hd-paths-file`.
fn forced_paths(
    global: &GlobalArgs,
    args: &ProvisionArgs,
) -> Result<Vec<DerivationPath>, CliError> {
    let Some(spec) = &args.force else {
        return Ok(Vec::new());
    };
    let usage = |e: String| CliError::Usage(format!("--force: {e}"));
    if args.hd_paths_file.is_some() {
        return spec
            .split(',')
            .map(|p| p.trim().parse().map_err(|e| usage(format!("{e}"))))
            .collect();
    }
    let make = if global.account.legacy.is_some() {
        DerivationPath::legacy
    } else {
        DerivationPath::ledger_live
    };
    parse_indexes(spec)
        .map_err(usage)?
        .into_iter()
        .map(|i| make(i).map_err(|e| usage(format!("{e}"))))
        .collect()
}

fn manifest_path(args: &ProvisionArgs) -> Result<PathBuf, CliError> {
    match (&args.manifest, &args.out) {
        (Some(path), _) => Ok(path.clone()),
        (None, Some(dir)) => Ok(dir.join(MANIFEST_IN_DIR)),
        (None, None) => Err(CliError::Usage(
            "provision needs --manifest FILE (or --out DIR, which keeps it in DIR): it is \
             what a second run resumes from"
                .into(),
        )),
    }
}

fn describe_target(node: Option<&str>) -> String {
    match node {
        Some(node) => format!("against {node}"),
        None => "offline (--out)".into(),
    }
}

/// A failure that ends the run rather than the account: the device or the node is
/// gone or refuses everything, so the next account would fail the same way.
pub(super) fn stops_the_run(error: &CliError) -> bool {
    // Rejected (20): the person said no to this account; verification (4), decryption
    // (5) and exists (6) are about this account's keys or what the node holds for it.
    !matches!(error.code(), 4 | 5 | 6 | 20)
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Created => "created",
        Outcome::Existing => "existing",
        Outcome::Completed => "completed",
        Outcome::Failed => "failed",
    }
}

/// What one account needs from the run.
struct Run<'a> {
    /// On a terminal: approvals against the plan, and which account.
    bar: Option<RunBar>,
    global: &'a GlobalArgs,
    ui: &'a Ui,
    device: &'a OpenDevice,
    connection: Option<&'a Connection>,
    out: Option<&'a Path>,
    total: usize,
    approvals: usize,
    /// Two per account not done yet (one for an account that only needs completing, so
    /// the count may end below it).
    approvals_planned: usize,
}

/// How an account ended: its identity key, and what was replaced.
struct Done {
    outcome: Outcome,
    identity_public_key: [u8; 65],
    replaced: Option<[u8; 65]>,
}

impl Run<'_> {
    /// Provisions one account; the entry is what the manifest records, the error what
    /// made it fail.
    fn account(
        &mut self,
        index: usize,
        path: &DerivationPath,
        force: bool,
    ) -> (AccountEntry, Option<CliError>) {
        let (planned, total) = (self.approvals_planned, self.total);
        let progress = |approvals: usize| {
            format!(
                "approvals {approvals}/{planned}, account {} of {total} ({path})",
                index + 1
            )
        };
        match &self.bar {
            Some(bar) => bar.show(self.approvals as u64, progress(self.approvals)),
            None => self.ui.status(progress(self.approvals)),
        }
        let before = self.approvals;
        let mut address = None;
        let result =
            signer_on(self.global, self.device, self.ui, path.clone()).and_then(|signer| {
                address = Some(signer.address().to_string());
                match (self.out, self.connection) {
                    (Some(dir), _) => self.offline(&signer, &dir.join(account_dir(index))),
                    (None, Some(connection)) => self.online(&signer, connection, force),
                    (None, None) => Err(CliError::Usage("no node and no --out directory".into())),
                }
            });
        let (outcome, identity, replaced, error) = match result {
            Ok(done) => (
                done.outcome,
                Some(done.identity_public_key),
                done.replaced,
                None,
            ),
            Err(error) => (Outcome::Failed, None, None, Some(error)),
        };
        if let Some(bar) = &self.bar {
            bar.show(
                self.approvals as u64,
                format!("{}: {}", progress(self.approvals), outcome_name(outcome)),
            );
        }
        let entry = AccountEntry {
            index,
            hd_path: path.to_string(),
            address,
            identity_public_key: identity.map(hex::encode),
            fingerprint: identity.map(|key| fingerprint(&key)),
            outcome,
            replaced_identity_public_key: replaced.map(hex::encode),
            approvals: self.approvals - before,
            time: now_rfc3339(),
            error: error.as_ref().map(Failure::of),
        };
        (entry, error)
    }

    fn online(
        &mut self,
        signer: &LedgerSigner,
        connection: &Connection,
        force: bool,
    ) -> Result<Done, CliError> {
        let wallet = signer.address();
        let client = connection.client();
        let (private_store, found) = read_account(client, &wallet)?;
        let stored = private_store.is_some();
        let current = found.contact.as_ref().map(|(_, v)| v.identity_public_key);
        match (current, stored, force) {
            (Some(identity_public_key), true, false) => {
                return Ok(Done {
                    outcome: Outcome::Existing,
                    identity_public_key,
                    replaced: None,
                });
            }
            (Some(_), false, false) => {
                return Err(CliError::Verification(format!(
                    "{wallet} has a valid contact bundle but no private store on the node: its \
                     keys cannot be completed; `--force` with this account replaces the identity"
                )));
            }
            _ => {}
        }
        let session = Session::new(signer, client);
        let mut progress = FlowProgress::new(self.ui).with_node(connection.name());
        let approvals = &mut self.approvals;
        let initialized = session
            .init(InitOptions { force }, &mut |event| {
                if matches!(event, Progress::Signature(_)) {
                    *approvals += 1;
                }
                progress.on(event)
            })
            .map_err(|e| session_error(e, connection))?;
        progress.done();
        let outcome = match initialized.outcome {
            InitOutcome::Completed => Outcome::Completed,
            InitOutcome::Created | InitOutcome::Replaced => Outcome::Created,
        };
        Ok(Done {
            outcome,
            identity_public_key: *initialized.bundle.identity_key().public_key().point(),
            replaced: current.filter(|_| initialized.outcome == InitOutcome::Replaced),
        })
    }

    fn offline(&mut self, signer: &LedgerSigner, dir: &Path) -> Result<Done, CliError> {
        let mut progress = FlowProgress::new(self.ui);
        let approvals = &mut self.approvals;
        let identity = generate_identity(signer, &mut |prompt| {
            *approvals += 1;
            progress.announce(prompt)
        })?;
        progress.done();
        // A directory left by a run cut off before the manifest said `created` holds
        // keys nobody recorded or published: it is replaced.
        out_dir::write(dir, &identity, &signer.path().to_string(), true)?;
        Ok(Done {
            outcome: Outcome::Created,
            identity_public_key: *identity.bundle.identity_key().public_key().point(),
            replaced: None,
        })
    }
}

/// The subdirectory of account `index` in an `--out` directory.
pub fn account_dir(index: usize) -> String {
    format!("account-{index:05}")
}

/// One line of the output per account (a JSON line with `--json`).
#[derive(Serialize)]
struct Line {
    index: usize,
    hd_path: String,
    address: Option<String>,
    outcome: Outcome,
    /// Done by an earlier run: nothing was asked of the device for it.
    skipped: bool,
    identity_public_key: Option<String>,
    fingerprint: Option<String>,
    approvals: usize,
    error: Option<Failure>,
}

impl Line {
    fn new(entry: &AccountEntry, skipped: bool) -> Self {
        Self {
            index: entry.index,
            hd_path: entry.hd_path.clone(),
            address: entry.address.clone(),
            outcome: entry.outcome,
            skipped,
            identity_public_key: entry.identity_public_key.clone(),
            fingerprint: entry.fingerprint.clone(),
            approvals: if skipped { 0 } else { entry.approvals },
            error: entry.error.clone(),
        }
    }

    /// A JSON line on stdout with `--json`; otherwise a progress line on stderr (the
    /// table at the end is the human result).
    fn report(&self, ui: &Ui) {
        if ui.json() {
            ui.result_line(self, String::new);
        } else {
            ui.status(self.human());
        }
    }

    fn human(&self) -> String {
        let what = match (&self.error, self.skipped) {
            (Some(error), _) => format!("failed ({}): {}", error.code, error.message),
            (None, true) => format!("{} (skipped: an earlier run)", outcome_name(self.outcome)),
            (None, false) => outcome_name(self.outcome).to_owned(),
        };
        format!(
            "{:>5}  {:<22} {}  {what}",
            self.index,
            self.hd_path,
            self.address.as_deref().unwrap_or("-"),
        )
    }
}

/// The table at the end of a human run, on stdout.
fn print_summary(lines: &[Line], planned: usize, manifest: &Path) -> Result<(), CliError> {
    let count = |outcome| lines.iter().filter(|l| l.outcome == outcome).count();
    let skipped = lines.iter().filter(|l| l.skipped).count();
    let approvals: usize = lines.iter().map(|l| l.approvals).sum();
    let mut text = format!(
        "\n{:>5}  {:<22} {:<42}  {:<9}  fingerprint\n",
        "index", "path", "address", "outcome"
    );
    for line in lines {
        text.push_str(&format!(
            "{:>5}  {:<22} {:<42}  {:<9}  {}\n",
            line.index,
            line.hd_path,
            line.address.as_deref().unwrap_or("-"),
            outcome_name(line.outcome),
            line.fingerprint.as_deref().unwrap_or("-"),
        ));
    }
    text.push_str(&format!(
        "\n{} of {planned} accounts: {} created, {} existing, {} completed, {} failed; {skipped} \
         skipped as done earlier; {approvals} approvals; manifest {}",
        lines.len(),
        count(Outcome::Created),
        count(Outcome::Existing),
        count(Outcome::Completed),
        count(Outcome::Failed),
        manifest.display()
    ));
    text.push('\n');
    super::ui::write_stdout(text.as_bytes())
}
