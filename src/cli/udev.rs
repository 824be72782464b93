//! `udev print|install`: the Linux rules that let a user open a Ledger over USB.

use std::path::Path;
use std::process::Command;

use super::error::CliError;
use super::ui::{Ui, write_stdout};
use xmtp_ledger::device::UDEV_RULES;

const RULES_FILE: &str = "20-hw1.rules";

/// Prints the rules.
pub fn print() -> Result<(), CliError> {
    write_stdout(UDEV_RULES.as_bytes())
}

/// Writes the rules into `dir` and asks udev to reload them.
pub fn install(ui: &Ui, dir: &Path) -> Result<(), CliError> {
    let target = dir.join(RULES_FILE);
    std::fs::write(&target, UDEV_RULES).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
            " (run it with sudo)"
        } else {
            ""
        };
        CliError::Io {
            context: format!("writing {}{hint}", target.display()),
            source: e,
        }
    })?;
    ui.status(format!("wrote {}", target.display()));
    for args in [&["control", "--reload-rules"][..], &["trigger"][..]] {
        match Command::new("udevadm").args(args).status() {
            Ok(status) if status.success() => {}
            Ok(status) => ui.warn(format!("udevadm {} exited with {status}", args.join(" "))),
            Err(e) => ui.warn(format!("could not run udevadm {}: {e}", args.join(" "))),
        }
    }
    ui.status("unplug and replug the Ledger for the new rules to apply");
    Ok(())
}
