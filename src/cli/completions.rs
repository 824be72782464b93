//! `completions SHELL`: shell completion scripts.

use clap::CommandFactory;

use super::args::Cli;
use super::error::CliError;
use super::ui::write_stdout;

/// Writes the completion script for `shell` to stdout.
pub fn run(shell: clap_complete::Shell) -> Result<(), CliError> {
    // clap_complete panics when its writer fails (e.g. `| head -1` closed the pipe):
    // generate into memory, then write the way every other output is written.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "xmtp-ledger", &mut script);
    write_stdout(&script)
}
