//! `node [--listen ADDR] [--http-listen ADDR] [--db FILE]`: an XMTP MessageApi node on
//! an SQLite file, over gRPC and optionally the REST gateway.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::args::NodeListen;
use super::error::CliError;
use super::ui::Ui;
use xmtp_ledger::endpoint::default_node_db_path;
use xmtp_ledger::node::{BlockingNode, NodeConfig};

/// What the node bounds, for `node --help` (the values of `NodeConfig::new`'s defaults;
/// README's Security section has the same list).
pub const BOUNDS: &str = "\
Bounds (each listener on its own; a flood on one never starves the other):
  connections           512 per listener, lowered to fit the open-file limit;
                        more are accepted and closed at once
  requests              100 at once per gRPC connection (HTTP/2 streams, subscriptions
                        included); 1 at a time per REST connection
  handshake             10 s for the HTTP/2 preface and SETTINGS (gRPC) or the whole
                        request head (REST, also between kept-alive requests)
  request head          16 KiB (HTTP 431 beyond)
  request               30 s for a gRPC unary call, body included, to be answered; 30 s
                        for a REST body to arrive
  idle                  a gRPC connection with no request open is closed after 120 s;
                        HTTP/2 pings every 30 s, 10 s to answer
  stalled writes        a client that stops reading is dropped after 30 s
  accept errors         EMFILE/ENFILE/ENOBUFS/ENOMEM back off 10 ms doubling to 1 s
  request size          8 MiB decoded (gRPC and REST), 16 MiB REST body
  envelopes             100 per publish, 1048214 bytes each, topics of 300 bytes
  sender timestamps     1 hour before to 5 minutes after the node's clock
  queries               100 topics, 100 rows per page, 50 queries per batch; 4 MiB per
                        answer, a whole batch included (a cursor continues a cut page)
  subscriptions         1000 topics; 1024 envelopes or 64 MiB kept for all subscribers
                        (a subscriber that falls behind gets ABORTED)
  auth header           8 KiB, one value; tokens at most 1 hour old";

fn parse_addr(flag: &str, value: &str) -> Result<SocketAddr, CliError> {
    value
        .parse()
        .map_err(|e| CliError::Usage(format!("bad {flag} {value:?}: {e} (expected IP:PORT)")))
}

/// Serves until SIGINT/SIGTERM. Once listening, prints the gRPC address alone on stdout
/// line 1 and, with `--http-listen`, the REST gateway's address on line 2.
pub fn run(ui: &Ui, listen: &NodeListen, db: Option<PathBuf>) -> Result<(), CliError> {
    let grpc_addr = parse_addr("--listen", &listen.listen)?;
    let http_addr = listen
        .http_listen
        .as_deref()
        .map(|value| parse_addr("--http-listen", value))
        .transpose()?;
    let db = match db {
        Some(path) => path,
        None => default_node_db_path()?,
    };
    let mut config = NodeConfig::new(db.clone());
    config.http_listen = http_addr;
    let running = BlockingNode::start(grpc_addr, config)
        .map_err(|e| CliError::Usage(format!("cannot start the node: {e}")))?;
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
    running
        .shutdown()
        .map_err(|e| CliError::Usage(format!("node stopped with an error: {e}")))?;
    ui.status("node stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use xmtp_ledger::node::{ConnectionLimits, Limits, NodeConfig};

    /// `BOUNDS` quotes the defaults: a changed default must change the help too.
    #[test]
    fn the_help_quotes_the_defaults() {
        let secs = Duration::from_secs;
        let connections = ConnectionLimits::default();
        assert_eq!(
            (
                connections.max_connections,
                connections.max_requests_per_connection,
                connections.handshake_timeout,
                connections.request_timeout,
                connections.idle_timeout,
                connections.write_stall_timeout,
                connections.keepalive_interval,
                connections.keepalive_timeout,
            ),
            (
                512,
                100,
                secs(10),
                secs(30),
                secs(120),
                secs(30),
                secs(30),
                secs(10)
            )
        );
        let limits = Limits::default();
        assert_eq!(
            (
                limits.max_request_bytes,
                limits.max_http_body_bytes,
                limits.max_envelopes_per_publish,
                limits.max_message_bytes,
                limits.max_topic_len,
                limits.sender_time_past,
                limits.sender_time_future,
            ),
            (
                8 << 20,
                16 << 20,
                100,
                1_048_214,
                300,
                secs(3600),
                secs(300)
            )
        );
        assert_eq!(
            (
                limits.max_topics_per_query,
                limits.max_page_size,
                limits.max_batch_queries,
                limits.max_response_bytes,
                limits.max_topics_per_subscription,
            ),
            (100, 100, 50, 4 << 20, 1000)
        );
        let config = NodeConfig::new("unused.sqlite3");
        assert_eq!(
            (config.subscriber_buffer, config.subscriber_buffer_bytes),
            (1024, 64 << 20)
        );
        for quoted in [
            "512 per listener",
            "16 KiB",
            "120 s",
            "1048214",
            "64 MiB",
            "8 KiB",
        ] {
            assert!(super::BOUNDS.contains(quoted), "{quoted}");
        }
    }
}
