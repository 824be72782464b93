//! `wait`: blocks until the device and the node answer, for scripts that start them in the
//! background (`emulator &`, `node &`, Speculos, a container) and must not race them.
//!
//! What is waited for is what the command line names: `--device` and `--network`, given as
//! flags or through their variables. Naming one means "wait for this one": a job that only
//! runs a node must not wait for a USB Ledger it never meant to use. Naming neither waits
//! for both defaults, the device and node every other command would use.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::CommandFactory;
use clap::parser::ValueSource;
use serde::Serialize;

use super::args::{Cli, GlobalArgs};
use super::context::open_app;
use super::error::CliError;
use super::ui::Ui;
use xmtp_ledger::device::{
    AppConfiguration, DeviceError, DeviceErrorKind, DeviceSpec, EthApp, TcpOptions,
};
use xmtp_ledger::endpoint::{DEFAULT_LOCAL_NODE, Endpoint};
use xmtp_ledger::network::{Client, ClientConfig, NetworkError, RetryPolicy, new_runtime};

/// Time between two probes of something not ready yet: short, because a service that
/// starts in milliseconds should not cost a pipeline a second, and a probe is cheap (a
/// refused connection, or one small command).
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The most one probe may take: a device or node that accepts a connection but stays
/// silent is asked again, on a fresh connection, rather than waited on until the end.
const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// `wait --json`: what was waited for (`null` for what was not), and how long it took.
#[derive(Serialize)]
struct WaitOutput {
    device: Option<DeviceReady>,
    node: Option<NodeReady>,
    waited_ms: u64,
}

#[derive(Serialize)]
struct DeviceReady {
    /// As `--device` names it.
    spec: String,
    app: &'static str,
    app_version: String,
    waited_ms: u64,
}

#[derive(Serialize)]
struct NodeReady {
    url: String,
    waited_ms: u64,
}

/// Waits until everything named is ready, or `--timeout` has passed.
pub fn run(global: &GlobalArgs, ui: &Ui) -> Result<(), CliError> {
    let (want_device, want_node) = named_targets();
    // A value that cannot be used is a usage error now, never something to wait for.
    let device: Option<DeviceSpec> = want_device.then(|| global.device.parse()).transpose()?;
    let node = want_node.then(|| node_url(&global.network)).transpose()?;
    let timeout = Duration::from_secs(global.timeout);
    let what: Vec<String> = device
        .iter()
        .map(|spec| format!("the device {spec}"))
        .chain(node.iter().map(|url| format!("the node {url}")))
        .collect();
    ui.status(format!(
        "waiting up to {} s for {}",
        global.timeout,
        what.join(" and ")
    ));

    let started = Instant::now();
    let deadline = Deadline {
        started,
        // A `--timeout` of at most a day always fits.
        end: started + timeout,
        given_up: AtomicBool::new(false),
    };
    let (device_result, node_result) = std::thread::scope(|scope| {
        let device_thread = device
            .as_ref()
            .map(|spec| scope.spawn(|| wait_device(global, ui, spec, &deadline)));
        let node_thread = node
            .as_ref()
            .map(|url| scope.spawn(|| wait_node(ui, url, &deadline)));
        (
            device_thread.map(|t| t.join().expect("the device probe does not panic")),
            node_thread.map(|t| t.join().expect("the node probe does not panic")),
        )
    });

    let waited = |at: Instant| at.duration_since(started);
    let seconds = timeout.as_secs();
    let mut device_ready = None;
    let mut device_error = None;
    match (device, device_result) {
        (Some(spec), Some(Ok((config, at)))) => {
            device_ready = Some(DeviceReady {
                spec: spec.to_string(),
                app: "Ethereum",
                app_version: config.version.to_string(),
                waited_ms: millis(waited(at)),
            });
        }
        (Some(spec), Some(Err(error))) => {
            ui.status(format!(
                "the device {spec} was not ready within {seconds} s"
            ));
            device_error = Some(error);
        }
        _ => {}
    }
    let mut node_ready = None;
    let mut node_error = None;
    match (node, node_result) {
        (Some(url), Some(Ok(at))) => {
            node_ready = Some(NodeReady {
                url,
                waited_ms: millis(waited(at)),
            });
        }
        (Some(url), Some(Err(error))) => {
            // When the device failed too, its error is the one reported below: say here
            // why the node was not ready either.
            let why = if device_error.is_some() {
                format!(": {error}")
            } else {
                String::new()
            };
            ui.status(format!(
                "the node {url} was not ready within {seconds} s{why}"
            ));
            node_error = Some(error);
        }
        _ => {}
    }
    if let Some(error) = device_error {
        return Err(error);
    }
    if let Some(error) = node_error {
        return Err(error);
    }

    let output = WaitOutput {
        device: device_ready,
        node: node_ready,
        waited_ms: millis(started.elapsed()),
    };
    ui.result(&output, || {
        let mut lines = Vec::new();
        if let Some(device) = &output.device {
            lines.push(format!(
                "device {} ready: Ethereum app {} (after {:.1} s)",
                device.spec,
                device.app_version,
                device.waited_ms as f64 / 1000.0
            ));
        }
        if let Some(node) = &output.node {
            lines.push(format!(
                "node {} ready (after {:.1} s)",
                node.url,
                node.waited_ms as f64 / 1000.0
            ));
        }
        lines.join("\n")
    });
    Ok(())
}

/// Which of the device and the node the command line names (flag or variable); both
/// when it names neither.
fn named_targets() -> (bool, bool) {
    // The parsed `GlobalArgs` cannot tell a default from a value given: clap's matches
    // can, so the (already valid) command line is parsed once more for them.
    let Ok(matches) = Cli::command().try_get_matches_from(std::env::args_os()) else {
        return (true, true);
    };
    let named = |id: &str| {
        let given = |m: &clap::ArgMatches| {
            matches!(
                m.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        };
        given(&matches) || matches.subcommand_matches("wait").is_some_and(given)
    };
    match (named("device"), named("network")) {
        (false, false) => (true, true),
        named => named,
    }
}

/// The URL to probe for `--network`: `local` is the node `xmtp-ledger node` serves by
/// default. Waiting never starts one in-process: the point is to wait for a service.
fn node_url(network: &str) -> Result<String, CliError> {
    Ok(match network.parse::<Endpoint>()? {
        Endpoint::Local => format!("http://{DEFAULT_LOCAL_NODE}"),
        Endpoint::Public(network) => network.url().to_owned(),
        Endpoint::Url(url) => url,
    })
}

/// When the wait ends, shared by the probing threads; `given_up` stops them all once one
/// has failed in a way that waiting cannot fix.
struct Deadline {
    started: Instant,
    end: Instant,
    given_up: AtomicBool,
}

impl Deadline {
    /// How long the next probe may take, or `None` when the time is up.
    fn next_probe(&self) -> Option<Duration> {
        if self.given_up.load(Ordering::Relaxed) {
            return None;
        }
        let left = self.end.saturating_duration_since(Instant::now());
        (!left.is_zero()).then(|| left.min(PROBE_LIMIT))
    }

    /// Sleeps until the next probe, never past the end.
    fn pause(&self) {
        let left = self.end.saturating_duration_since(Instant::now());
        std::thread::sleep(left.min(POLL_INTERVAL));
    }
}

/// Probes the device until the Ethereum app answers; returns its configuration and when
/// it did, or the last reason it was not ready.
fn wait_device(
    global: &GlobalArgs,
    ui: &Ui,
    spec: &DeviceSpec,
    deadline: &Deadline,
) -> Result<(AppConfiguration, Instant), CliError> {
    if *spec == DeviceSpec::Emulator {
        // In this process: ready as soon as it exists (with the same loud warning every
        // command gives about it).
        let config = open_app(global, ui)?.ensure_ethereum_app()?;
        return Ok((config, Instant::now()));
    }
    let mut last: Option<DeviceError> = None;
    while let Some(limit) = deadline.next_probe() {
        match probe_device(spec, limit) {
            Ok(config) => return Ok((config, Instant::now())),
            Err(error) if gives_up_device(&error) => {
                deadline.given_up.store(true, Ordering::Relaxed);
                return Err(error.into());
            }
            Err(error) => {
                note(
                    ui,
                    "device",
                    &error.to_string(),
                    last.as_ref().map(|e| e.to_string()),
                );
                last = Some(error);
            }
        }
        deadline.pause();
    }
    Err(last
        .unwrap_or(DeviceError::Timeout {
            after: deadline.started.elapsed(),
        })
        .into())
}

/// One probe: open the device, and ask the Ethereum app for its configuration (a command
/// the app answers by itself, without disturbing anything). Each probe opens the device
/// afresh, as a command would, so a device plugged in or started meanwhile is found.
fn probe_device(spec: &DeviceSpec, limit: Duration) -> Result<AppConfiguration, DeviceError> {
    let transport = spec.open(TcpOptions {
        connect_timeout: limit,
        read_timeout: None,
    })?;
    EthApp::new(transport)
        .with_timeout(limit)
        .ensure_ethereum_app()
}

/// Failures that waiting cannot fix: no USB HID on this system at all, or a request the
/// device refuses whatever its state.
fn gives_up_device(error: &DeviceError) -> bool {
    matches!(error, DeviceError::HidUnavailable { .. })
        || error.kind() == DeviceErrorKind::InvalidRequest
}

/// Probes the node until a MessageApi query answers; returns when it did, or the last
/// reason it did not.
fn wait_node(ui: &Ui, url: &str, deadline: &Deadline) -> Result<Instant, CliError> {
    let runtime = new_runtime()?;
    let mut last: Option<NetworkError> = None;
    while let Some(limit) = deadline.next_probe() {
        let config = ClientConfig {
            timeout: limit,
            connect_timeout: limit,
            total_timeout: Some(limit),
            // The wait itself is the retry loop.
            retry: RetryPolicy::none(),
            ..ClientConfig::default()
        };
        let probed = runtime.block_on(async {
            let client = Client::connect(url, config).await?;
            client.probe().await
        });
        match probed {
            Ok(_) => return Ok(Instant::now()),
            Err(error) if gives_up_node(&error) => {
                deadline.given_up.store(true, Ordering::Relaxed);
                return Err(error.into());
            }
            Err(error) => {
                note(
                    ui,
                    "node",
                    &error.to_string(),
                    last.as_ref().map(|e| e.to_string()),
                );
                last = Some(error);
            }
        }
        deadline.pause();
    }
    Err(last
        .unwrap_or(NetworkError::Timeout {
            url: url.to_owned(),
            call: "query",
            timeout: deadline.started.elapsed(),
            attempts: 0,
        })
        .into())
}

/// Failures that waiting cannot fix: the URL itself, TLS set-up, the runtime.
fn gives_up_node(error: &NetworkError) -> bool {
    matches!(
        error,
        NetworkError::InvalidUrl { .. }
            | NetworkError::InsecurePlaintext { .. }
            | NetworkError::Tls { .. }
            | NetworkError::Runtime(_)
    )
}

/// With `-v`, why `what` is not ready yet: once per new reason, not ten times a second.
fn note(ui: &Ui, what: &str, reason: &str, previous: Option<String>) {
    if previous.as_deref() != Some(reason) {
        ui.detail(format!("{what} not ready yet: {reason}"));
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
