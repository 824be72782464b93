//! The `xmtp-ledger` command line: one module per subcommand, results on stdout,
//! progress and device prompts on stderr, documented exit codes.

mod address;
pub mod args;
mod cancel;
mod completions;
mod connect;
mod connect_identity;
mod context;
mod devices;
mod doctor;
mod emulator;
pub mod error;
mod files;
mod identity_output;
mod init;
mod input;
mod inspect;
mod keystore_file;
mod node;
mod out_dir;
mod progress;
mod publish;
mod ready_file;
mod rotate_prekey;
mod udev;
mod ui;
mod unlock;
mod verify;
mod wait;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, UdevAction};
use error::CliError;
use ui::Ui;

/// Parses the command line, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors; every usage error is exit 1.
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let ui = Ui::new(cli.global.json, cli.global.quiet, cli.global.verbose);
    init_logging(cli.global.verbose, cli.global.quiet);
    if !matches!(cli.command, Command::Node { .. } | Command::Emulator { .. }) {
        // The services stop gracefully on Ctrl-C themselves; everything else stops at once.
        cancel::exit_on_ctrl_c(&ui);
    }
    match run(&cli, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ui.error(&e.to_string(), e.hint(), e.code());
            e.exit_code()
        }
    }
}

/// Library logs go to stderr: warnings by default, `-v` info, `-vv` debug, `-vvv` trace
/// (`RUST_LOG` overrides). The library never logs secrets at any level.
fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
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
            keystore,
            force,
        } => unlock::run(
            global,
            ui,
            from_file.as_deref(),
            keystore.as_deref(),
            *force,
        ),
        Command::RotatePrekey => rotate_prekey::run(global, ui),
        Command::Verify { address } => verify::run(global, ui, address),
        Command::Inspect { input } => inspect::run(ui, input),
        Command::Publish { dir, force } => publish::run(global, ui, dir, *force),
        Command::Node {
            listen,
            db,
            ready_file,
        } => node::run(ui, listen, db.clone(), ready_file.as_deref()),
        Command::Emulator {
            listen,
            policy,
            reject_containing,
            state,
            ready_file,
        } => emulator::run(
            global,
            ui,
            listen,
            *policy,
            reject_containing,
            *state,
            ready_file.as_deref(),
        ),
        Command::Wait => wait::run(global, ui),
        Command::Doctor => doctor::run(global, ui),
        Command::Udev { action } => match action {
            UdevAction::Print => udev::print(),
            UdevAction::Install { dir } => udev::install(ui, dir),
        },
        Command::Completions { shell } => completions::run(*shell),
    }
}
