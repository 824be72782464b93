//! The `xmtp-ledger` command line: one module per subcommand, results on stdout,
//! progress and device prompts on stderr, documented exit codes.

mod address;
pub mod args;
mod artefact;
mod audit;
mod cancel;
mod completions;
mod connect;
mod connect_identity;
mod context;
mod custody;
mod devices;
mod doctor;
mod emulator;
pub mod error;
mod files;
mod identity_output;
mod inbox;
mod init;
mod input;
mod inspect;
mod inspect_own;
mod keystore_file;
mod man;
mod node;
mod out_dir;
mod progress;
mod provision;
mod publish;
mod ready_file;
mod report;
mod rotate_prekey;
mod time;
mod udev;
mod ui;
mod unlock;
mod verify;
mod wait;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use args::{Cli, Command, UdevAction};
use error::CliError;
use ui::Ui;

/// Parses the command line, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let cli = match parsed {
        Ok((mut cli, matches)) => match args::resolve_overrides(&mut cli, &matches) {
            Ok(()) => {
                custody::start(command_name(&matches));
                cli
            }
            Err(message) => return usage_error(&message, None),
        },
        Err(e) if e.use_stderr() => return clap_error(&e),
        Err(e) => {
            // Help and version are not errors. A subcommand's help shows the global flags
            // that matter to it only.
            let long = !std::env::args_os().any(|a| a == "-h");
            match (e.kind(), help_subject()) {
                (clap::error::ErrorKind::DisplayHelp, Some(name)) => {
                    match args::focused_help(&name, long) {
                        Some(help) => print!("{help}"),
                        None => {
                            let _ = e.print();
                        }
                    }
                }
                _ => {
                    let _ = e.print();
                }
            }
            return ExitCode::SUCCESS;
        }
    };
    let ui = Ui::new(cli.global.json, cli.global.quiet, cli.global.verbose);
    init_logging(
        cli.global.verbose,
        cli.global.quiet,
        cli.global.trace_network,
    );
    if !matches!(cli.command, Command::Node { .. } | Command::Emulator(_)) {
        // The services stop gracefully on Ctrl-C themselves; everything else stops at once.
        cancel::exit_on_ctrl_c(&ui);
    }
    let result = run(&cli, &ui);
    // The run record goes in the audit log (if the run opened a signer) before anything
    // else is said: how the command ended is part of what it did.
    match &result {
        Ok(()) => custody::finish(0, None),
        Err(e) => custody::finish(e.code(), Some(e.name())),
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut message = e.to_string();
            // A device failure says where the command stood: which approval, what was
            // already given, and that nothing was published.
            if let CliError::Device(_) = e
                && let Some(summary) = ui.steps_summary()
            {
                message = format!("{message} (at {summary})");
            }
            ui.error(&ui::Failure {
                code: e.name(),
                exit_code: e.code(),
                message: &message,
                hint: e.hint(),
            });
            e.exit_code()
        }
    }
}

/// The subcommand as typed, nested ones included (`init`, `inbox create`).
fn command_name(matches: &clap::ArgMatches) -> String {
    let mut names = Vec::new();
    let mut level = matches;
    while let Some((name, sub)) = level.subcommand() {
        names.push(name);
        level = sub;
    }
    names.join(" ")
}

/// Logs go to stderr: warnings by default; `-v` info, `-vv` debug, `-vvv` trace for this
/// tool's own crates, while the network libraries (h2, hyper, tonic, tower, rustls) stay at
/// warnings unless `--trace-network` (their frames drown everything else). `RUST_LOG`
/// overrides. The library never logs secrets at any level.
fn init_logging(verbose: u8, quiet: bool, trace_network: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let others = if trace_network { level } else { "warn" };
    let directives = format!("{others},xmtp_ledger={level},ledger_app={level}");
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directives));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}

fn run(cli: &Cli, ui: &Ui) -> Result<(), CliError> {
    let global = &cli.global;
    match &cli.command {
        Command::Devices => devices::run(global, ui),
        Command::Address { confirm } => address::run(global, ui, *confirm),
        Command::Connect { keystore, force } => {
            connect_identity::run(global, ui, keystore.as_deref(), *force)
        }
        Command::Init { force, out } => init::run(global, ui, *force, out.as_deref()),
        Command::Unlock {
            from_file,
            check_node,
            keystore,
            force,
        } => unlock::run(
            global,
            ui,
            from_file.as_deref().map(|file| (file, *check_node)),
            keystore.as_deref(),
            *force,
        ),
        Command::RotatePrekey => rotate_prekey::run(global, ui),
        Command::Provision(args) => provision::run(global, ui, args),
        Command::Report {
            manifest,
            addresses,
        } => report::run(global, ui, manifest.as_deref(), addresses.as_deref()),
        Command::Verify { addresses, history } => verify::run(global, ui, addresses, *history),
        Command::Inspect {
            input,
            expect_address,
        } => inspect::run(ui, input, expect_address.as_deref()),
        Command::Inbox { command } => inbox::run(global, ui, command),
        Command::Publish { dir, force } => publish::run(global, ui, dir, *force),
        Command::Node {
            listen,
            db,
            ready_file,
        } => node::run(ui, listen, db.clone(), ready_file.as_deref()),
        Command::Emulator(args) => emulator::run(global, ui, args),
        Command::Wait => wait::run(global, ui),
        Command::Doctor => doctor::run(global, ui),
        Command::Udev { action } => match action {
            UdevAction::Print => udev::print(),
            UdevAction::Install { dir } => udev::install(ui, dir),
        },
        Command::Audit { command } => audit::run(global, ui, command),
        Command::Completions { shell } => completions::run(*shell),
        Command::Man { dir } => man::run(ui, dir.as_deref()),
    }
}

/// A command line clap refused: its own text on stderr, or with `--json` (typed, or
/// `XMTP_LEDGER_JSON` set true) the `usage` error document on stdout. Exit 1.
fn clap_error(error: &clap::Error) -> ExitCode {
    if !json_requested() {
        let _ = error.print();
        return ExitCode::from(1);
    }
    let text = error.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let message = lines
        .next()
        .unwrap_or("bad command line")
        .trim_start_matches("error: ")
        .to_owned();
    let tip = lines
        .find_map(|l| l.strip_prefix("tip: "))
        .map(str::to_owned);
    usage_error(
        &message,
        tip.as_deref().or(Some("see `xmtp-ledger --help`")),
    )
}

/// Reports a usage error found before the command line was fully understood.
fn usage_error(message: &str, hint: Option<&str>) -> ExitCode {
    let ui = Ui::new(json_requested(), false, 0);
    ui.error(&ui::Failure {
        code: "usage",
        exit_code: 1,
        message,
        hint,
    });
    ExitCode::from(1)
}

/// Whether `--json` was asked for, read without clap (for errors clap itself reports).
fn json_requested() -> bool {
    std::env::args_os().skip(1).any(|arg| arg == "--json")
        || std::env::var("XMTP_LEDGER_JSON").is_ok_and(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "y" | "on" | "t"
            )
        })
}

/// The subcommand whose help was asked for: `xmtp-ledger [FLAGS] NAME … --help`, or
/// `xmtp-ledger help NAME`. `None` when the help is the top level's, or a nested
/// subcommand's (`udev install --help`): clap's own help is right for those.
fn help_subject() -> Option<String> {
    let command = Cli::command();
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let position = words
        .iter()
        .position(|w| w == "help" || command.find_subcommand(w).is_some())?;
    let (name, rest) = if words[position] == "help" {
        (words.get(position + 1)?, &words[position + 2..])
    } else {
        (&words[position], &words[position + 1..])
    };
    let sub = command.find_subcommand(name)?;
    if rest.iter().any(|w| sub.find_subcommand(w).is_some()) {
        return None;
    }
    Some(name.clone())
}
