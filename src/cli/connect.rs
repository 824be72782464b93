//! Reaching the node named by `--network` (see [`xmtp_ledger::endpoint`]).

use std::time::Duration;

use super::args::GlobalArgs;
use super::error::CliError;
use super::ui::Ui;
use xmtp_ledger::endpoint::{self, Connection, Endpoint};
use xmtp_ledger::network::ClientConfig;

/// For a v2 command that publishes: refuses a `--network` that names a public XMTP network
/// (they have refused v2 publishes since June 2025), before the device is asked anything.
pub fn check_v2_publish(global: &GlobalArgs) -> Result<(), CliError> {
    let target: Endpoint = global.network.parse()?;
    target.check_v2_publish()?;
    Ok(())
}

/// Connects to `--network`, starting the local node in-process if needed.
pub fn connect(global: &GlobalArgs, ui: &Ui) -> Result<Connection, CliError> {
    let target: Endpoint = global.network.parse()?;
    // --timeout bounds each node operation as a whole, retries and backoff included.
    let timeout = Duration::from_secs(global.timeout);
    let config = ClientConfig {
        timeout,
        total_timeout: Some(timeout),
        connect_timeout: timeout.min(Duration::from_secs(30)),
        ..ClientConfig::default()
    };
    let connection = endpoint::connect(&target, config)?;
    if target == Endpoint::Local {
        // `local` decides between two nodes: say which, every time.
        if connection.in_process_node().is_some() {
            ui.status(format!(
                "--network local: nothing listens on {}, so using {} in this process \
                 (it stops when this command ends)",
                endpoint::DEFAULT_LOCAL_NODE,
                connection.name()
            ));
        } else {
            ui.status(format!(
                "--network local: using the node listening on {}",
                endpoint::DEFAULT_LOCAL_NODE
            ));
        }
    }
    ui.detail(format!("using {}", connection.describe()));
    Ok(connection)
}
