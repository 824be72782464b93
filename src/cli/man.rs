//! `man [--dir DIR]`: manual pages generated from the command-line definitions, so they
//! never drift from `--help`.

use std::path::Path;

use clap::CommandFactory;

use super::args::Cli;
use super::error::CliError;
use super::ui::{Ui, write_stdout};

/// Prints `xmtp-ledger(1)`, or with `dir` writes it and one page per subcommand
/// (`xmtp-ledger-init.1`, …) there.
pub fn run(ui: &Ui, dir: Option<&Path>) -> Result<(), CliError> {
    let command = Cli::command();
    let Some(dir) = dir else {
        return write_stdout(&render(command)?);
    };
    std::fs::create_dir_all(dir).map_err(CliError::io(format!("creating {}", dir.display())))?;
    let mut pages = vec![("xmtp-ledger.1".to_owned(), render(command.clone())?)];
    for sub in command.get_subcommands() {
        let name = format!("xmtp-ledger-{}", sub.get_name());
        pages.push((format!("{name}.1"), render_titled(sub.clone(), &name)?));
    }
    for (file, page) in &pages {
        let path = dir.join(file);
        std::fs::write(&path, page).map_err(CliError::io(format!("writing {}", path.display())))?;
    }
    ui.status(format!(
        "wrote {} manual pages to {}",
        pages.len(),
        dir.display()
    ));
    Ok(())
}

fn render(command: clap::Command) -> Result<Vec<u8>, CliError> {
    let title = command.get_name().to_owned();
    render_titled(command, &title)
}

/// The page of `command` under `title` (a subcommand's page is `xmtp-ledger-NAME`).
fn render_titled(command: clap::Command, title: &str) -> Result<Vec<u8>, CliError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .title(title.to_uppercase())
        .render(&mut page)
        .map_err(CliError::io("rendering the manual page"))?;
    Ok(page)
}
