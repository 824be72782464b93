//! `node [--listen ADDR] [--db FILE]`: an XMTP MessageApi node on an SQLite file.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::error::CliError;
use super::node_access;
use super::ui::Ui;
use xmtp_ledger::network::default_node_db_path;
use xmtp_ledger::node::{self, NodeConfig};

/// Serves until SIGINT/SIGTERM. Prints the bound address alone on stdout once listening.
pub fn run(ui: &Ui, listen: &str, db: Option<PathBuf>) -> Result<(), CliError> {
    let listen: SocketAddr = listen
        .parse()
        .map_err(|e| CliError::Usage(format!("bad --listen {listen:?}: {e} (expected IP:PORT)")))?;
    let db = match db {
        Some(path) => path,
        None => default_node_db_path()?,
    };
    let runtime = node_access::runtime()?;
    runtime.block_on(async {
        let running = node::spawn(listen, NodeConfig::new(db.clone()))
            .await
            .map_err(|e| CliError::Usage(format!("cannot start the node: {e}")))?;
        {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{}", running.local_addr());
            let _ = stdout.flush();
        }
        ui.status(format!(
            "XMTP node listening on {} (database {}); Ctrl-C to stop",
            running.local_addr(),
            db.display()
        ));
        node::shutdown_signal().await;
        running
            .shutdown()
            .await
            .map_err(|e| CliError::Usage(format!("node stopped with an error: {e}")))?;
        ui.status("node stopped");
        Ok(())
    })
}
