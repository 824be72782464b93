//! `emulator`: the software Ledger (Ethereum app) on a Speculos-compatible TCP port, for
//! CI pipelines and trying the tool without hardware. Keys are NOT protected by hardware.
//!
//! `--model` picks the Ledger it stands for: a Nano S Plus (recorded) or a Nano X (the same
//! layout, from the SDK's sources: `ledger_app::model`); Stax and Flex are refused, their
//! touch pages not being modelled. When the app exits (approving a message at a path the OS
//! refuses), the connection closes and the emulated person opens the app again at once.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use ledger_app::screen::reviewed_message;
use ledger_app::tcp::TcpServer;
use ledger_app::{ApprovalPolicy, Model, ModelError, RunningApp, Screen, SoftwareDevice};
use serde::Serialize;

use super::args::{EmulatorArgs, EmulatorPolicy, EmulatorState, GlobalArgs};
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
    /// The model it stands for (`--model`): `nanosp` or `nanox`.
    model: &'static str,
    pid: u32,
}

/// Serves until SIGINT/SIGTERM. Once listening, writes `--ready-file` and prints the bound
/// address alone on stdout.
pub fn run(global: &GlobalArgs, ui: &Ui, args: &EmulatorArgs) -> Result<(), CliError> {
    let listen = args.listen.as_str();
    let ready_path = args.ready_file.as_deref();
    ready_file::check(ready_path)?;
    let model: Model =
        args.model.id().parse().map_err(|e: ModelError| {
            CliError::Usage(format!("--model {}: {e}", args.model.id()))
        })?;
    let mut config = emulator_config(global, ui)?;
    if config.is_public_test_key() && !args.allow_remote_test_mnemonic {
        refuse_remote(listen)?;
    }
    config.model = model;
    // When the app exits (approving a message at a path the OS refuses), a real device shows
    // its dashboard until the person opens the Ethereum app again; the emulated person does
    // that at once, so the next connection finds the app open rather than a device that
    // stays on its dashboard until the emulator is restarted.
    config.reopen_after_exit = true;
    let device = Arc::new(
        SoftwareDevice::new(config)
            .map_err(|e| CliError::Usage(format!("software device: {e}")))?,
    );
    device.set_approval(approval(args.policy, args.reject_containing.clone()));
    match args.state {
        EmulatorState::Ready => {}
        EmulatorState::Locked => device.set_locked(true),
        EmulatorState::Dashboard => device.set_running_app(RunningApp::Dashboard),
        EmulatorState::OtherApp => device.set_running_app(RunningApp::other("Bitcoin", "2.2.3")),
    }
    let quiet = ui.clone();
    // One log line per screen: its title and the lines under it exactly as the device draws
    // them, ` | ` between them (`Screen`'s `Display`).
    device.set_screen_listener(Some(Arc::new(move |screen: &Screen| {
        quiet.detail(format!("[screen] {screen}"));
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
                    model: model.id(),
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
        "software Ledger ({model}) listening on {} (use --device tcp://{}); Ctrl-C to stop",
        server.local_addr(),
        reachable(server.local_addr())
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

/// Refuses a `listen` address other machines can reach: with the public test mnemonic
/// anyone who reaches the port could sign as its accounts. An address that does not
/// resolve is left for the bind to report.
fn refuse_remote(listen: &str) -> Result<(), CliError> {
    use std::net::ToSocketAddrs;
    let Ok(addresses) = listen.to_socket_addrs() else {
        return Ok(());
    };
    if let Some(open) = addresses.into_iter().find(|a| !a.ip().is_loopback()) {
        return Err(CliError::Usage(format!(
            "refusing to serve the PUBLIC test mnemonic on {open}, which other machines can \
             reach: anyone could sign as its accounts. Listen on 127.0.0.1, give your own \
             mnemonic (--mnemonic-file or XMTP_LEDGER_MNEMONIC), or pass \
             --allow-remote-test-mnemonic"
        )));
    }
    Ok(())
}
