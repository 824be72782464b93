//! `emulator`: the software Ledger (Ethereum app) on a Speculos-compatible TCP port, for
//! CI pipelines and trying the tool without hardware. Keys are NOT protected by hardware.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use ledger_app::screen::reviewed_message;
use ledger_app::tcp::TcpServer;
use ledger_app::{ApprovalPolicy, RunningApp, Screen, SoftwareDevice};
use serde::Serialize;

use super::args::{EmulatorPolicy, EmulatorState, GlobalArgs};
use super::context::emulator_config;
use super::error::CliError;
use super::ready_file::{self, ReadyFile, reachable};
use super::ui::Ui;

/// `--ready-file`'s document.
#[derive(Serialize)]
struct Ready {
    /// The address it listens on.
    listen: SocketAddr,
    /// What `--device` takes to reach it from this machine.
    device: String,
    pid: u32,
}

/// Serves until SIGINT/SIGTERM. Once listening, writes `--ready-file` and prints the bound
/// address alone on stdout.
pub fn run(
    global: &GlobalArgs,
    ui: &Ui,
    listen: &str,
    policy: EmulatorPolicy,
    reject_containing: &[String],
    state: EmulatorState,
    ready_path: Option<&Path>,
) -> Result<(), CliError> {
    ready_file::check(ready_path)?;
    let config = emulator_config(global, ui)?;
    let device = Arc::new(
        SoftwareDevice::new(config)
            .map_err(|e| CliError::Usage(format!("software device: {e}")))?,
    );
    device.set_approval(approval(policy, reject_containing.to_vec()));
    match state {
        EmulatorState::Ready => {}
        EmulatorState::Locked => device.set_locked(true),
        EmulatorState::Dashboard => device.set_running_app(RunningApp::Dashboard),
        EmulatorState::OtherApp => device.set_running_app(RunningApp::other("Bitcoin", "2.2.3")),
    }
    let quiet = ui.clone();
    device.set_screen_listener(Some(Arc::new(move |screen: &Screen| {
        quiet.detail(format!("[screen] {}: {}", screen.title, screen.text));
    })));

    let server = TcpServer::spawn(device, listen)
        .map_err(|e| CliError::Usage(format!("cannot listen on {listen}: {e}")))?;
    let ready = ready_path
        .map(|path| {
            ReadyFile::write(
                path,
                &Ready {
                    listen: server.local_addr(),
                    device: format!("tcp://{}", reachable(server.local_addr())),
                    pid: std::process::id(),
                },
            )
        })
        .transpose()?;
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", server.local_addr());
        let _ = stdout.flush();
    }
    ui.status(format!(
        "software Ledger listening on {} (use --device tcp://{}); Ctrl-C to stop",
        server.local_addr(),
        server.local_addr()
    ));
    wait_for_shutdown_signal()?;
    // Stopping: no new client should read the address.
    drop(ready);
    let _ = server.shutdown();
    ui.status("software Ledger stopped");
    Ok(())
}

/// The emulated person's decision at each review. `reject_containing` rejects reviews
/// whose message contains any of the given texts (so a pipeline can exercise a rejection
/// at one particular prompt) and approves the rest.
fn approval(policy: EmulatorPolicy, reject_containing: Vec<String>) -> ApprovalPolicy {
    if !reject_containing.is_empty() {
        return ApprovalPolicy::ask(move |screens: &[Screen]| {
            let message = reviewed_message(screens).unwrap_or_default();
            !reject_containing
                .iter()
                .any(|needle| message.contains(needle.as_str()))
        });
    }
    match policy {
        EmulatorPolicy::Approve => ApprovalPolicy::Approve,
        EmulatorPolicy::Reject => ApprovalPolicy::Reject,
        EmulatorPolicy::Ask => ApprovalPolicy::ask_on_tty(),
    }
}

fn wait_for_shutdown_signal() -> Result<(), CliError> {
    xmtp_ledger::signal::wait_for_shutdown_signal()
        .map_err(CliError::io("starting the signal handler"))
}
