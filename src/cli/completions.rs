//! `completions SHELL`: shell completion scripts.

use clap::CommandFactory;

use super::args::Cli;

/// Writes the completion script for `shell` to stdout.
pub fn run(shell: clap_complete::Shell) {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "xmtp-ledger",
        &mut std::io::stdout(),
    );
}
