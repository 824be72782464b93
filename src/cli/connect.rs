//! Reaching the node named by `--network` (see [`xmtp_ledger::endpoint`]).

use std::time::Duration;

use super::args::GlobalArgs;
use super::error::CliError;
use super::ui::Ui;
use xmtp_ledger::endpoint::{self, Connection, Endpoint};
use xmtp_ledger::network::ClientConfig;

/// Connects to `--network`, starting the local node in-process if needed.
pub fn connect(global: &GlobalArgs, ui: &Ui) -> Result<Connection, CliError> {
    let target: Endpoint = global.network.parse()?;
    let config = ClientConfig {
        timeout: Duration::from_secs(global.timeout.max(1)),
        connect_timeout: Duration::from_secs(global.timeout.clamp(1, 30)),
        ..ClientConfig::default()
    };
    let connection = endpoint::connect(&target, config)?;
    ui.detail(format!("using {}", connection.describe()));
    Ok(connection)
}
