//! `doctor`: checks what usually stops the tool on a machine (udev rules, hidraw
//! permissions, the device's state, the node, the clock), each with a status, what was
//! found, and the fix. Nothing is signed or published, and no node is started.
//!
//! Exit 0 when no check failed, else 4; the report is printed either way (with `--json`,
//! `{"checks":[{"name","status","message","fix"}],"ok"}` for a support ticket).

use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::args::GlobalArgs;
use super::context::open_app;
use super::error::CliError;
use super::ui::Ui;
use xmtp_ledger::device::access::{
    HidrawAccess, UDEV_RULES_DIRS, find_ledger_rules, hidraw_access, hidraw_nodes,
};
use xmtp_ledger::device::{
    AppStatus, DeviceError, DeviceErrorKind, DeviceListing, DeviceSpec, EthApp, HidDeviceInfo,
    TcpOptions, TcpTransport, list_devices, probe_devices,
};
use xmtp_ledger::endpoint::{DEFAULT_LOCAL_NODE, Endpoint, default_node_db_path};
use xmtp_ledger::identity::TokenPolicy;
use xmtp_ledger::network::{Client, ClientConfig, NetworkError, NodeProbe, new_runtime};

/// How long the check for a node on the local address may take: loopback answers at
/// once (the same bound the `local` endpoint uses).
const LOCAL_PROBE: Duration = Duration::from_secs(2);

/// A clock this far from the node's still works with it, but is wrong enough to say so.
const SKEW_WARNING_MS: i64 = 60_000;

const UDEV_FIX: &str = "`sudo xmtp-ledger udev install`, then unplug and replug the Ledger";
const BUSY_FIX: &str =
    "close Ledger Live, browser wallets and other wallet programs that hold the Ledger, then retry";

/// One check's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

#[derive(Serialize)]
struct Check {
    name: &'static str,
    status: Status,
    message: String,
    fix: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, message: impl Into<String>) -> Self {
        Self {
            name,
            status,
            message: message.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

#[derive(Serialize)]
struct Report {
    checks: Vec<Check>,
    ok: bool,
}

/// What the node check found, for the clock check after it.
enum NodeFound {
    /// It answered.
    Answered(NodeProbe),
    /// `local` with nothing listening: commands would start a node in-process.
    InProcess,
    /// Not reachable (or not a node).
    Failed,
}

/// Runs every check and prints the report; fails (exit 4) if a check failed.
pub fn run(global: &GlobalArgs, ui: &Ui) -> Result<(), CliError> {
    // Values that cannot be used at all are usage errors, as for every command.
    let spec: DeviceSpec = global.device.parse()?;
    let endpoint: Endpoint = global.network.parse()?;
    let timeout = Duration::from_secs(global.timeout);

    let mut checks = Vec::new();
    match &spec {
        DeviceSpec::Hid | DeviceSpec::HidSerial(_) => {
            let serial = match &spec {
                DeviceSpec::HidSerial(serial) => Some(serial.as_str()),
                _ => None,
            };
            ui.detail("checking the udev rules and the Ledgers on USB …");
            checks.push(udev_rules());
            let listed = list_devices();
            checks.push(hidraw(&listed, serial));
            checks.push(usb_device(&listed, serial, timeout));
        }
        DeviceSpec::Tcp(address) => {
            checks.extend(usb_not_used(&spec));
            ui.detail(format!("checking the device at {address} …"));
            checks.push(tcp_device(address, timeout));
        }
        DeviceSpec::Emulator => {
            checks.extend(usb_not_used(&spec));
            checks.push(software_device(global, ui));
        }
    }
    ui.detail("checking the node …");
    let (node, found) = node(&endpoint, timeout)?;
    checks.push(node);
    checks.push(clock(&found));

    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.name)
        .collect();
    let report = Report {
        ok: failed.is_empty(),
        checks,
    };
    ui.result(&report, || human(&report));
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Verification(format!(
            "{} of {} checks failed: {}",
            failed.len(),
            report.checks.len(),
            failed.join(", ")
        )))
    }
}

/// One line per check (`FAIL` stands out), and its fix on the next.
fn human(report: &Report) -> String {
    let mut lines = Vec::new();
    for check in &report.checks {
        let status = match check.status {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        };
        lines.push(format!("{status:<5} {:<14} {}", check.name, check.message));
        if let Some(fix) = &check.fix {
            lines.push(format!("{:20} fix: {fix}", ""));
        }
    }
    lines.join("\n")
}

/// With a TCP or in-process device, USB is not involved: say so rather than leave the
/// checks out, so a report shows what was not looked at.
fn usb_not_used(spec: &DeviceSpec) -> [Check; 2] {
    let message = format!("not needed with --device {spec}");
    [
        Check::new("udev-rules", Status::Skip, message.clone()),
        Check::new("hidraw-access", Status::Skip, message),
    ]
}

/// A udev rules file that grants access to the Ledger vendor id (Linux only).
fn udev_rules() -> Check {
    const NAME: &str = "udev-rules";
    if !cfg!(target_os = "linux") {
        return Check::new(NAME, Status::Skip, "udev rules are Linux's");
    }
    let found = find_ledger_rules(&UDEV_RULES_DIRS);
    let granting: Vec<String> = found
        .iter()
        .filter(|rules| rules.grants_access)
        .map(|rules| rules.path.display().to_string())
        .collect();
    if !granting.is_empty() {
        return Check::new(
            NAME,
            Status::Ok,
            format!(
                "{} grants users access to Ledger devices",
                granting.join(", ")
            ),
        );
    }
    if let Some(rules) = found.first() {
        return Check::new(
            NAME,
            Status::Warn,
            format!(
                "{} names the Ledger vendor id (2c97) but grants no access to it",
                rules.path.display()
            ),
        )
        .fix(UDEV_FIX);
    }
    Check::new(
        NAME,
        Status::Fail,
        format!(
            "no udev rule for Ledger devices (vendor 2c97) in {}: without one, only root may \
             open a Ledger",
            UDEV_RULES_DIRS.join(", ")
        ),
    )
    .fix(UDEV_FIX)
}

/// The Ledgers `--device` may pick: the one with the serial asked for, or all.
fn chosen<'a>(
    listed: &'a [HidDeviceInfo],
    serial: Option<&str>,
) -> impl Iterator<Item = &'a HidDeviceInfo> {
    listed
        .iter()
        .filter(move |info| serial.is_none_or(|s| info.serial.as_deref() == Some(s)))
}

/// Each Ledger's hidraw node opens read-write (Linux only): the cause behind "permission
/// denied" and "busy", before anything is sent to the device.
fn hidraw(listed: &Result<Vec<HidDeviceInfo>, DeviceError>, serial: Option<&str>) -> Check {
    const NAME: &str = "hidraw-access";
    if !cfg!(target_os = "linux") {
        return Check::new(NAME, Status::Skip, "hidraw is Linux's");
    }
    let listed = match listed {
        Ok(listed) => listed,
        Err(e) => return Check::new(NAME, Status::Skip, format!("cannot list USB devices: {e}")),
    };
    let devices: Vec<&HidDeviceInfo> = chosen(listed, serial).collect();
    if devices.is_empty() {
        return Check::new(NAME, Status::Skip, "no Ledger on USB to open");
    }
    let mut opened = Vec::new();
    let mut worst: Option<Check> = None;
    for info in devices {
        let path = Path::new(&info.path);
        let problem = match hidraw_access(path) {
            HidrawAccess::ReadWrite => {
                opened.push(info.path.clone());
                continue;
            }
            HidrawAccess::PermissionDenied(e) => Check::new(
                NAME,
                Status::Fail,
                format!(
                    "{} ({}): permission denied ({e}): this user may not open it",
                    info.path, info.model
                ),
            )
            .fix(UDEV_FIX),
            HidrawAccess::Busy(e) => Check::new(
                NAME,
                Status::Fail,
                format!(
                    "{} ({}): held by another program ({e})",
                    info.path, info.model
                ),
            )
            .fix(BUSY_FIX),
            HidrawAccess::Failed(e) => Check::new(
                NAME,
                Status::Fail,
                format!("{} ({}): cannot open it: {e}", info.path, info.model),
            )
            .fix("unplug and replug the Ledger, then run doctor again"),
        };
        worst.get_or_insert(problem);
    }
    worst.unwrap_or_else(|| {
        Check::new(
            NAME,
            Status::Ok,
            format!("{} opens read-write", opened.join(", ")),
        )
    })
}

/// The Ledger on USB `--device` picks: seen, unlocked, the Ethereum app open.
fn usb_device(
    listed: &Result<Vec<HidDeviceInfo>, DeviceError>,
    serial: Option<&str>,
    timeout: Duration,
) -> Check {
    const NAME: &str = "device";
    if let Err(e) = listed {
        return Check::new(NAME, Status::Fail, e.to_string()).fix(
            "USB HID needs hidraw (in a container, pass the USB device through); or use \
             --device tcp://HOST:PORT for an emulator or Speculos",
        );
    }
    // Asking each device what it runs needs only commands it answers by itself.
    let probed: Vec<DeviceListing> = match probe_devices(timeout) {
        Ok(probed) => probed,
        Err(e) => return Check::new(NAME, Status::Fail, e.to_string()),
    };
    let count = probed.len();
    let Some(listing) = probed
        .into_iter()
        .find(|l| serial.is_none_or(|s| l.info.serial.as_deref() == Some(s)))
    else {
        let what = match serial {
            Some(serial) if count > 0 => format!(
                "no Ledger with serial number {serial:?} on USB ({count} other Ledger(s) are)"
            ),
            Some(serial) => format!("no Ledger with serial number {serial:?} on USB"),
            None => "no Ledger found on USB".to_owned(),
        };
        let nodes = if cfg!(target_os = "linux") && hidraw_nodes().is_empty() {
            " (this system has no /dev/hidraw* nodes at all: no HID device is visible to it)"
        } else {
            ""
        };
        return Check::new(NAME, Status::Fail, format!("{what}{nodes}")).fix(
            "plug the Ledger in, unlock it and open the Ethereum app; on Linux install the \
             udev rules (`sudo xmtp-ledger udev install`) and replug it; in a container or VM, \
             pass the USB device through; or use --device tcp://HOST:PORT for an emulator",
        );
    };
    let info = &listing.info;
    let which = format!(
        "{}{} at {}{}",
        info.model,
        info.serial
            .as_deref()
            .map(|s| format!(" (serial {s})"))
            .unwrap_or_default(),
        info.path,
        if count > 1 && serial.is_none() {
            format!(", the first of {count} Ledgers on USB (pick one with --device hid:SERIAL)")
        } else {
            String::new()
        }
    );
    app_check(&which, listing.status)
}

/// The emulator or Speculos at `address`.
fn tcp_device(address: &str, timeout: Duration) -> Check {
    let which = format!("the device at tcp://{address}");
    let options = TcpOptions {
        connect_timeout: timeout,
        read_timeout: None,
    };
    match TcpTransport::connect_with(address, options) {
        Ok(transport) => app_check(
            &which,
            EthApp::from_transport(transport)
                .with_timeout(timeout)
                .status(),
        ),
        Err(e) => Check::new("device", Status::Fail, e.to_string()).fix(format!(
            "start `xmtp-ledger emulator --listen {address}` or Speculos there, or check \
             --device (XMTP_LEDGER_DEVICE)"
        )),
    }
}

/// The in-process software device: it always answers, and it is not a hardware wallet.
fn software_device(global: &GlobalArgs, ui: &Ui) -> Check {
    match open_app(global, ui).map(|app| app.status()) {
        Ok(AppStatus::Ethereum(config)) => Check::new(
            "device",
            Status::Warn,
            format!(
                "the in-process software device (Ethereum app {}): its keys are NOT \
                 protected by hardware",
                config.version
            ),
        )
        .fix("use a Ledger (--device hid) for a real identity"),
        Ok(other) => app_check("the in-process software device", other),
        Err(e) => Check::new("device", Status::Fail, e.to_string()),
    }
}

/// What the device says it is doing, as a check.
fn app_check(which: &str, status: AppStatus) -> Check {
    const NAME: &str = "device";
    const OPEN_ETHEREUM: &str = "open the Ethereum app on the device";
    match status {
        AppStatus::Ethereum(config) => Check::new(
            NAME,
            Status::Ok,
            format!("{which}: unlocked, Ethereum app {} open", config.version),
        ),
        AppStatus::Locked => Check::new(NAME, Status::Fail, format!("{which} is locked"))
            .fix("unlock it with your PIN, then open the Ethereum app"),
        AppStatus::Dashboard { os_version } => Check::new(
            NAME,
            Status::Fail,
            format!("{which}: no app is open (dashboard, OS {os_version})"),
        )
        .fix(OPEN_ETHEREUM),
        AppStatus::OtherApp { name, version } => Check::new(
            NAME,
            Status::Fail,
            format!("{which}: the {name} app {version} is open, not Ethereum"),
        )
        .fix(format!("close the {name} app and {OPEN_ETHEREUM}")),
        AppStatus::Error(e) => {
            let fix = match e.kind() {
                DeviceErrorKind::PermissionDenied => UDEV_FIX,
                DeviceErrorKind::Locked => "unlock it with your PIN, then open the Ethereum app",
                DeviceErrorKind::WrongApp => OPEN_ETHEREUM,
                DeviceErrorKind::Disconnected => BUSY_FIX,
                _ => {
                    "check the device's screen, unplug and replug it (or restart the emulator), \
                     then run doctor again"
                }
            };
            Check::new(NAME, Status::Fail, format!("{which}: {e}")).fix(fix)
        }
    }
}

/// Whether the node `--network` names answers. `local` with nothing listening is fine
/// (commands start a node in-process) and is said so; no node is started here.
fn node(endpoint: &Endpoint, timeout: Duration) -> Result<(Check, NodeFound), CliError> {
    const NAME: &str = "node";
    let url = match endpoint {
        Endpoint::Url(url) => url.clone(),
        Endpoint::Public(network) => network.url().to_owned(),
        Endpoint::Local => {
            if TcpStream::connect_timeout(&DEFAULT_LOCAL_NODE, timeout.min(LOCAL_PROBE)).is_err() {
                return Ok(match default_node_db_path() {
                    Ok(db) => (
                        Check::new(
                            NAME,
                            Status::Ok,
                            format!(
                                "--network local: no node listens on {DEFAULT_LOCAL_NODE}, so \
                                 commands start one in their own process, on {}",
                                db.display()
                            ),
                        ),
                        NodeFound::InProcess,
                    ),
                    Err(e) => (
                        Check::new(
                            NAME,
                            Status::Fail,
                            format!(
                                "--network local: no node listens on {DEFAULT_LOCAL_NODE}, and \
                                 {e}"
                            ),
                        )
                        .fix(
                            "set XMTP_LEDGER_NODE_DB (or XDG_DATA_HOME or HOME), or pass \
                             --network URL",
                        ),
                        NodeFound::Failed,
                    ),
                });
            }
            format!("http://{DEFAULT_LOCAL_NODE}")
        }
    };
    // As every command connects: --timeout bounds each operation, retries included.
    let config = ClientConfig {
        timeout,
        total_timeout: Some(timeout),
        connect_timeout: timeout.min(Duration::from_secs(30)),
        ..ClientConfig::default()
    };
    let runtime = new_runtime()?;
    let probed = runtime.block_on(async {
        let client = Client::connect(&url, config).await?;
        client.probe().await
    });
    Ok(match probed {
        Ok(probe) => (
            Check::new(
                NAME,
                Status::Ok,
                format!(
                    "node {url} answers (a query in {} ms)",
                    probe.round_trip().as_millis()
                ),
            ),
            NodeFound::Answered(probe),
        ),
        Err(e) => {
            let fix = match (&e, endpoint) {
                (NetworkError::InsecurePlaintext { .. }, _) => {
                    "use https:// for a node on another machine".to_owned()
                }
                (_, Endpoint::Local) => format!(
                    "something listens on {DEFAULT_LOCAL_NODE} but is not an XMTP node: stop \
                     it, or pass --network URL"
                ),
                _ if is_loopback_url(&url) => format!(
                    "start `xmtp-ledger node --listen {}` there, or check --network \
                     (XMTP_LEDGER_NETWORK)",
                    url.split_once("://").map_or(url.as_str(), |(_, rest)| rest)
                ),
                _ => "check --network (XMTP_LEDGER_NETWORK), this machine's connection and \
                      any proxy or firewall between it and the node"
                    .to_owned(),
            };
            (
                Check::new(NAME, Status::Fail, e.to_string()).fix(fix),
                NodeFound::Failed,
            )
        }
    })
}

fn is_loopback_url(url: &str) -> bool {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    // `[::1]:5556` and `127.0.0.1:5556`: the host is what comes before the last colon.
    let host = host.rsplit_once(':').map_or(host, |(host, _)| host);
    xmtp_ledger::network::is_loopback_host(host.trim_matches(['[', ']']))
}

/// This machine's clock against the node's, from the `Date` header of the node's answer.
/// Envelopes and publish tokens are dated with this machine's clock, and a node following
/// the reference refuses tokens more than 5 minutes in its future or an hour in its past.
fn clock(found: &NodeFound) -> Check {
    const NAME: &str = "clock";
    let probe = match found {
        NodeFound::Answered(probe) => probe,
        NodeFound::InProcess => {
            return Check::new(
                NAME,
                Status::Skip,
                "no node is running to compare with; a node started in-process uses this \
                 machine's clock",
            );
        }
        NodeFound::Failed => {
            return Check::new(
                NAME,
                Status::Skip,
                "the node did not answer: nothing to compare with",
            );
        }
    };
    let Some(offset) = probe.clock_offset() else {
        return Check::new(
            NAME,
            Status::Skip,
            "the node's answer has no Date header, and MessageApi has no call that tells the \
             node's time (an envelope's timestamp is its sender's clock): not measurable \
             without publishing",
        );
    };
    let policy = TokenPolicy::default();
    let future_ms = i64::try_from(policy.max_future_skew.as_millis()).unwrap_or(i64::MAX);
    let past_ms = i64::try_from(policy.max_age.as_millis()).unwrap_or(i64::MAX);
    let seconds = |ms: i64| format!("{:.1} s", ms.unsigned_abs() as f64 / 1000.0);
    let measured = format!(
        "node minus local {}{} ± {}, from the Date header of its answer",
        if offset.offset_ms < 0 { "-" } else { "+" },
        seconds(offset.offset_ms),
        seconds(i64::try_from(offset.uncertainty_ms).unwrap_or(i64::MAX)),
    );
    const FIX: &str = "set this machine's clock right (e.g. `sudo timedatectl set-ntp true`); if \
                       it is right, the node's clock is wrong: tell its operator";
    // Negative: this machine is ahead of the node.
    if offset.max_ms() < -future_ms {
        return Check::new(
            NAME,
            Status::Fail,
            format!(
                "this machine's clock is more than {} ahead of the node's ({measured}): the \
                 node refuses what it publishes as dated in the future",
                seconds(future_ms)
            ),
        )
        .fix(FIX);
    }
    if offset.min_ms() > past_ms {
        return Check::new(
            NAME,
            Status::Fail,
            format!(
                "this machine's clock is more than {} behind the node's ({measured}): the node \
                 refuses what it publishes as too old",
                seconds(past_ms)
            ),
        )
        .fix(FIX);
    }
    if offset.min_ms() > SKEW_WARNING_MS || offset.max_ms() < -SKEW_WARNING_MS {
        let way = if offset.offset_ms < 0 {
            "ahead of"
        } else {
            "behind"
        };
        return Check::new(
            NAME,
            Status::Warn,
            format!(
                "this machine's clock is {} {way} the node's ({measured}): publishing still \
                 works, but messages are ordered by their senders' clocks",
                seconds(offset.offset_ms)
            ),
        )
        .fix(FIX);
    }
    Check::new(
        NAME,
        Status::Ok,
        format!("this machine's clock agrees with the node's ({measured})"),
    )
}
