//! `node [--listen ADDR] [--http-listen ADDR] [--db FILE] [--ready-file FILE]`: an XMTP
//! MessageApi node on an SQLite file, over gRPC and optionally the REST gateway.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::args::NodeListen;
use super::error::CliError;
use super::ready_file::{self, ReadyFile, reachable};
use super::ui::Ui;
use xmtp_ledger::endpoint::default_node_db_path;
use xmtp_ledger::node::{BlockingNode, NodeConfig};

fn parse_addr(flag: &str, value: &str) -> Result<SocketAddr, CliError> {
    value
        .parse()
        .map_err(|e| CliError::Usage(format!("bad {flag} {value:?}: {e} (expected IP:PORT)")))
}

/// `--ready-file`'s document.
#[derive(Serialize)]
struct Ready {
    /// The gRPC address it listens on.
    grpc: SocketAddr,
    /// The REST gateway's, if enabled.
    http: Option<SocketAddr>,
    /// What `--network` takes to reach it from this machine.
    url: String,
    pid: u32,
}

/// Serves until SIGINT/SIGTERM. Once listening, writes `--ready-file` and prints the gRPC
/// address alone on stdout line 1 and, with `--http-listen`, the REST gateway's address
/// on line 2.
pub fn run(
    ui: &Ui,
    listen: &NodeListen,
    db: Option<PathBuf>,
    ready_path: Option<&Path>,
) -> Result<(), CliError> {
    let grpc_addr = parse_addr("--listen", &listen.listen)?;
    let http_addr = listen
        .http_listen
        .as_deref()
        .map(|value| parse_addr("--http-listen", value))
        .transpose()?;
    ready_file::check(ready_path)?;
    let db = match db {
        Some(path) => path,
        None => default_node_db_path()?,
    };
    let mut config = NodeConfig::new(db.clone());
    config.http_listen = http_addr;
    let running = BlockingNode::start(grpc_addr, config)
        .map_err(|e| CliError::Usage(format!("cannot start the node: {e}")))?;
    let ready = ready_path
        .map(|path| {
            ReadyFile::write(
                path,
                &Ready {
                    grpc: running.local_addr(),
                    http: running.http_addr(),
                    url: format!("http://{}", reachable(running.local_addr())),
                    pid: std::process::id(),
                },
            )
        })
        .transpose()?;
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", running.local_addr());
        if let Some(http) = running.http_addr() {
            let _ = writeln!(stdout, "{http}");
        }
        let _ = stdout.flush();
    }
    let rest = running
        .http_addr()
        .map(|addr| format!(", REST gateway on http://{addr}"))
        .unwrap_or_default();
    ui.status(format!(
        "XMTP node listening on {} (gRPC){rest} (database {}); Ctrl-C to stop",
        running.local_addr(),
        db.display()
    ));
    running.wait_for_shutdown_signal();
    // Stopping: no new client should read the address while in-flight calls finish.
    drop(ready);
    running
        .shutdown()
        .map_err(|e| CliError::Usage(format!("node stopped with an error: {e}")))?;
    ui.status("node stopped");
    Ok(())
}
