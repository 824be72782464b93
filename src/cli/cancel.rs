//! Ctrl-C: the command stops at once with exit status 130, saying so on one line.
//!
//! Most of the time a command is blocked in device I/O that cannot be interrupted (a read
//! waiting for the person to approve on the Ledger), so the signal is not turned into an
//! error that unwinds through the flow: it ends the process from a thread of its own. That
//! is safe because nothing is published while a signature is awaited (the session layer
//! publishes only once every signature is in and verified), and an interrupted publish is
//! completed with the same keys by the next `init`.

use super::ui::Ui;

/// Exit status of a command ended by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_CANCELLED: u8 = 130;

/// Makes SIGINT end the process: "cancelled" on stderr (a JSON error document with
/// `--json`), exit status 130. If the handler cannot be installed, the failure is logged and
/// SIGINT keeps its default action (the process still ends, reported by the shell as 130).
pub fn exit_on_ctrl_c(ui: &Ui) {
    let ui = ui.clone();
    if let Err(e) = spawn_listener(ui) {
        tracing::warn!(error = %e, "cannot listen for Ctrl-C");
    }
}

/// Registers for SIGINT before returning (so a Ctrl-C right after start-up is caught too),
/// then waits for it on a thread with a small runtime of its own.
fn spawn_listener(ui: Ui) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    #[cfg(unix)]
    let mut interrupt = {
        let _context = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?
    };
    std::thread::Builder::new()
        .name("ctrl-c".into())
        .spawn(move || {
            #[cfg(unix)]
            let received = runtime.block_on(interrupt.recv()).is_some();
            #[cfg(not(unix))]
            let received = runtime.block_on(tokio::signal::ctrl_c()).is_ok();
            if received {
                // A request the device was still showing is recorded as cancelled.
                super::custody::finish(EXIT_CANCELLED, Some("cancelled"));
                ui.cancelled(EXIT_CANCELLED);
                std::process::exit(i32::from(EXIT_CANCELLED));
            }
        })?;
    Ok(())
}
