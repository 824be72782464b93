//! What the CLI tells a person: results on stdout (human text or `--json`), progress
//! and device prompts on stderr, a spinner only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// A failure as reported to the person or script.
#[derive(Clone, Copy, Debug)]
pub struct Failure<'a> {
    /// The stable string code (`rejected`, `exists`, `usage`, …).
    pub code: &'a str,
    /// The process exit status.
    pub exit_code: u8,
    /// What went wrong.
    pub message: &'a str,
    /// What to do about it.
    pub hint: Option<&'a str>,
}

/// Output settings from the global flags.
#[derive(Clone, Debug)]
pub struct Ui {
    json: bool,
    quiet: bool,
    verbose: u8,
    stderr_is_terminal: bool,
    /// A result document is on stdout (shared by clones: the Ctrl-C thread holds one).
    result_printed: Arc<AtomicBool>,
}

impl Ui {
    /// From `--json`, `-q` and `-v`.
    pub fn new(json: bool, quiet: bool, verbose: u8) -> Self {
        Self {
            json,
            quiet,
            verbose,
            stderr_is_terminal: std::io::stderr().is_terminal(),
            result_printed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A progress line on stderr (hidden by `-q`).
    pub fn status(&self, message: impl AsRef<str>) {
        if !self.quiet {
            to_stderr(message.as_ref());
        }
    }

    /// Detail on stderr shown with `-v`.
    pub fn detail(&self, message: impl AsRef<str>) {
        if self.verbose > 0 && !self.quiet {
            to_stderr(message.as_ref());
        }
    }

    /// A warning on stderr; shown even with `-q` because it concerns safety.
    pub fn warn(&self, message: impl AsRef<str>) {
        to_stderr(&format!("warning: {}", message.as_ref()));
    }

    /// Tells the person what to check and approve on the device, and spins while the
    /// device waits (only on a terminal, never with `--json`). Drop the guard when the
    /// device has answered.
    pub fn device_prompt(&self, message: impl AsRef<str>) -> PromptGuard {
        let message = message.as_ref();
        if self.quiet {
            return PromptGuard(None);
        }
        if self.stderr_is_terminal && !self.json {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            spinner.set_message(message.to_owned());
            spinner.enable_steady_tick(Duration::from_millis(120));
            PromptGuard(Some(spinner))
        } else {
            to_stderr(message);
            PromptGuard(None)
        }
    }

    /// Reports a failure: `error: MESSAGE` and a `hint:` line on stderr, or with `--json`
    /// one JSON document on stdout, `{"error":{"code","exit_code","message","hint"}}`, where
    /// `code` is a stable string a script can match on and `hint` is `null` when there is
    /// none. Shown even with `-q`.
    ///
    /// A command whose result is a report that can say "not valid" (`verify`, `inspect`)
    /// prints it and then fails: with `--json` that report is the one document, and the
    /// error adds nothing to stdout.
    pub fn error(&self, failure: &Failure<'_>) {
        if self.json && self.result_printed.load(Ordering::SeqCst) {
            return;
        }
        if self.json {
            let document = serde_json::json!({
                "error": {
                    "code": failure.code,
                    "exit_code": failure.exit_code,
                    "message": failure.message,
                    "hint": failure.hint,
                }
            });
            to_stdout(&document.to_string());
        } else {
            match failure.hint {
                Some(hint) => to_stderr(&format!("error: {}\nhint: {hint}", failure.message)),
                None => to_stderr(&format!("error: {}", failure.message)),
            }
        }
    }

    /// Reports Ctrl-C: `cancelled` (after clearing a spinner's line), or with `--json` the
    /// error document with code `cancelled`.
    pub fn cancelled(&self, exit_code: u8) {
        if self.json {
            self.error(&Failure {
                code: "cancelled",
                exit_code,
                message: "cancelled",
                hint: None,
            });
        } else if self.stderr_is_terminal {
            // Return to the start of the spinner's line and clear it.
            to_stderr("\r\x1b[2Kcancelled");
        } else {
            to_stderr("cancelled");
        }
    }

    /// Prints the result: `value` as one JSON document with `--json`, else `human`.
    pub fn result<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        let mut stdout = std::io::stdout().lock();
        let text = if self.json {
            serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        } else {
            human()
        };
        // A closed stdout (e.g. `| head`) is not worth a panic.
        let _ = writeln!(stdout, "{text}");
        self.result_printed.store(true, Ordering::SeqCst);
    }
}

/// Writes one line to stderr. Unlike `eprintln!`, a stderr that cannot be written (a pipe
/// whose reader went away) is not worth a panic: there is nowhere left to report to, and the
/// exit code still says how the command ended.
fn to_stderr(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// One line on stdout, for the `--json` error document: the process is ending with the
/// error's own exit status, so a write failure has nowhere better to go.
fn to_stdout(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

/// Writes `bytes` to stdout. A reader that went away (`| head -1`) is not an error: the
/// output is simply no longer wanted, and the command ends quietly (exit 0), as `cat`
/// or ripgrep do; any other write error is one.
pub fn write_stdout(bytes: &[u8]) -> Result<(), super::error::CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(super::error::CliError::Io {
            context: "writing to standard output".into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Keeps a device prompt's spinner alive; clears it on drop.
pub struct PromptGuard(Option<ProgressBar>);

impl Drop for PromptGuard {
    fn drop(&mut self) {
        if let Some(spinner) = self.0.take() {
            spinner.finish_and_clear();
        }
    }
}
