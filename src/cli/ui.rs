//! What the CLI tells a person: results on stdout (human text or `--json`), progress
//! and device prompts on stderr, a spinner only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use xmtp_ledger::device::LedgerModel;

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
    /// Colour the warning and error labels (a terminal, `NO_COLOR` unset, not `TERM=dumb`).
    color: bool,
    /// A result document is on stdout (shared by clones: the Ctrl-C thread holds one).
    result_printed: Arc<AtomicBool>,
    /// The approvals asked for and given so far (shared with the Ctrl-C thread).
    steps: Arc<Mutex<Steps>>,
    /// While a long run shows its progress bar ([`Ui::run_bar`]), every stderr line and
    /// device spinner goes through it, so the bar stays at the bottom, whole.
    bars: Arc<Mutex<Option<MultiProgress>>>,
}

/// Where a command stands with the person: what it asked the device to sign, what was
/// approved, whether publishing began. A failure or a Ctrl-C says it, so nobody has to
/// guess whether something was signed or published.
#[derive(Debug, Default)]
struct Steps {
    /// The account that signs, as `ADDRESS (PATH)`.
    account: Option<String>,
    /// The device's model, when its link says it (not over `tcp://`).
    model: Option<LedgerModel>,
    /// The approval being waited for: (step, total, header).
    asking: Option<(usize, usize, &'static str)>,
    /// Headers of the approvals given, in order.
    approved: Vec<&'static str>,
    /// Publishing started (every approval was in).
    publishing: bool,
}

impl Ui {
    /// From `--json`, `-q` and `-v`.
    pub fn new(json: bool, quiet: bool, verbose: u8) -> Self {
        Self {
            json,
            quiet,
            verbose,
            stderr_is_terminal: std::io::stderr().is_terminal(),
            color: std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb"),
            result_printed: Arc::new(AtomicBool::new(false)),
            steps: Arc::new(Mutex::new(Steps::default())),
            bars: Arc::new(Mutex::new(None)),
        }
    }

    /// A progress bar of `length` steps at the bottom of a terminal for a run over many
    /// accounts (`None` without a terminal, with `-q` or `--json`: the status lines say the
    /// same). Lines and spinners print above it until the [`RunBar`] is dropped.
    pub fn run_bar(&self, length: u64) -> Option<RunBar> {
        if self.quiet || self.json || !self.stderr_is_terminal {
            return None;
        }
        let multi = MultiProgress::new();
        let bar = multi.add(ProgressBar::new(length));
        bar.set_style(
            ProgressStyle::with_template("[{bar:30}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        *self.bars.lock().unwrap_or_else(PoisonError::into_inner) = Some(multi);
        Some(RunBar {
            bar,
            bars: Arc::clone(&self.bars),
        })
    }

    /// One line on stderr, above the run bar when there is one.
    fn line(&self, line: &str) {
        let bars = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
        match bars.as_ref() {
            Some(multi) if multi.println(line).is_ok() => {}
            _ => to_stderr(line),
        }
    }

    /// Whether results go out as JSON (`--json`).
    pub fn json(&self) -> bool {
        self.json
    }

    /// A progress line on stderr (hidden by `-q`).
    pub fn status(&self, message: impl AsRef<str>) {
        if !self.quiet {
            self.line(message.as_ref());
        }
    }

    /// Detail on stderr shown with `-v`.
    pub fn detail(&self, message: impl AsRef<str>) {
        if self.verbose > 0 && !self.quiet {
            self.line(message.as_ref());
        }
    }

    /// A warning on stderr (yellow on a terminal); `-q` hides it, as it hides everything
    /// but errors.
    pub fn warn(&self, message: impl AsRef<str>) {
        if !self.quiet {
            self.line(&format!(
                "{}: {}",
                self.paint("warning", AnsiColor::Yellow),
                message.as_ref()
            ));
        }
    }

    /// `label` in bold `color` when colour is on.
    fn paint(&self, label: &str, color: AnsiColor) -> String {
        if self.color {
            let style = Style::new().bold().fg_color(Some(color.into()));
            format!("{style}{label}{style:#}")
        } else {
            label.to_owned()
        }
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
            // Above the run bar, when one is shown.
            let bars = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
            let spinner = match bars.as_ref() {
                Some(multi) => multi.insert_from_back(1, spinner),
                None => spinner,
            };
            spinner.enable_steady_tick(Duration::from_millis(120));
            PromptGuard(Some(spinner))
        } else {
            self.line(message);
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
            let error = self.paint("error", AnsiColor::Red);
            match failure.hint {
                Some(hint) => to_stderr(&format!("{error}: {}\nhint: {hint}", failure.message)),
                None => to_stderr(&format!("{error}: {}", failure.message)),
            }
        }
    }

    /// Reports Ctrl-C: `cancelled` (after clearing a spinner's line), or with `--json` the
    /// error document with code `cancelled`.
    pub fn cancelled(&self, exit_code: u8) {
        let message = match self.steps_summary() {
            Some(summary) => format!("cancelled while waiting for {summary}"),
            None => "cancelled".to_owned(),
        };
        if self.json {
            self.error(&Failure {
                code: "cancelled",
                exit_code,
                message: &message,
                hint: None,
            });
        } else if self.stderr_is_terminal {
            // Return to the start of the spinner's line and clear it.
            to_stderr(&format!("\r\x1b[2K{message}"));
        } else {
            to_stderr(&message);
        }
    }

    /// Records which account the device signs with (`ADDRESS (PATH)`).
    pub fn set_account(&self, account: String) {
        self.with_steps(|steps| steps.account = Some(account));
    }

    /// The account the device signs with, once known.
    pub fn account(&self) -> Option<String> {
        self.with_steps(|steps| steps.account.clone())
    }

    /// Records the device's model (`None`: its link does not say it), which the preview of
    /// each review lays its pages out for.
    pub fn set_device_model(&self, model: Option<LedgerModel>) {
        self.with_steps(|steps| steps.model = model);
    }

    /// The device's model, if it was recorded and its link says it.
    pub fn device_model(&self) -> Option<LedgerModel> {
        self.with_steps(|steps| steps.model)
    }

    /// Records that approval `step` of `total` (`header`) is being asked for.
    pub fn asking(&self, step: usize, total: usize, header: &'static str) {
        self.with_steps(|steps| steps.asking = Some((step, total, header)));
    }

    /// Records that the approval being asked for was given, and says so in a line that
    /// stays in the scrollback.
    pub fn approved(&self) {
        let given = self.with_steps(|steps| {
            let (step, total, header) = steps.asking.take()?;
            steps.approved.push(header);
            Some((step, total, header))
        });
        if let Some((step, total, header)) = given {
            self.status(format!("✔ approved {step} of {total}: {header}"));
        }
    }

    /// Records that publishing started.
    pub fn publishing(&self) {
        self.with_steps(|steps| steps.publishing = true);
    }

    /// What was and was not signed or published, for a message about a failure or a
    /// Ctrl-C; `None` when nothing was asked of the device yet.
    pub fn steps_summary(&self) -> Option<String> {
        self.with_steps(|steps| {
            if steps.publishing {
                return Some(
                    "every approval was given and publishing had started: run the same \
                     command again to complete it with the same keys"
                        .to_owned(),
                );
            }
            let (step, total, header) = steps.asking?;
            let given = match steps.approved.as_slice() {
                [] => String::new(),
                [one] => format!(", after 1 approval given ({one})"),
                headers => format!(
                    ", after {} approvals given ({})",
                    headers.len(),
                    headers.join(", ")
                ),
            };
            Some(format!(
                "approval {step} of {total} ('{header}'){given}; nothing was published"
            ))
        })
    }

    fn with_steps<T>(&self, f: impl FnOnce(&mut Steps) -> T) -> T {
        // A panic elsewhere must not hide what was signed: use the state as it is.
        f(&mut self.steps.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Prints one result of several: `value` as one compact JSON line with `--json`, else
    /// `human`. Unlike [`Ui::result`] it leaves room for an error after it, which with
    /// `--json` comes as a last line, so a reader of the lines learns how the run ended.
    pub fn result_line<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        let text = if self.json {
            serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        } else {
            human()
        };
        to_stdout(&text);
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

/// The progress bar of a run over many accounts ([`Ui::run_bar`]); clears it on drop.
pub struct RunBar {
    bar: ProgressBar,
    bars: Arc<Mutex<Option<MultiProgress>>>,
}

impl RunBar {
    /// Moves the bar to `position` of its length and shows `message` beside it.
    pub fn show(&self, position: u64, message: String) {
        self.bar.set_position(position);
        self.bar.set_message(message);
    }
}

impl Drop for RunBar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        *self.bars.lock().unwrap_or_else(PoisonError::into_inner) = None;
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
