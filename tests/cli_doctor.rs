//! `doctor`: every check a status, a message and, when something is wrong, the fix; exit 0
//! when nothing failed, else 4; `--json` is `{"checks":[{"name","status","message","fix"}],
//! "ok"}`. Run against the software device over TCP, a node, ports where nothing listens,
//! a node whose clock is off, and this machine's (absent) USB Ledger.

mod common;

use std::pin::Pin;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use common::cli::{Run, Service, Setup, command};
use common::fake_node;
use futures_util::Stream;
use tonic::{Request, Response, Status};
use xmtp_ledger::proto::message_api::v1 as api;
use xmtp_ledger::proto::message_api::v1::message_api_server::MessageApi;

const CHECKS: [&str; 5] = ["udev-rules", "hidraw-access", "device", "node", "clock"];

fn doctor(args: &[&str]) -> Run {
    let mut cli = command();
    cli.args(args).arg("doctor");
    cli.output().expect("run xmtp-ledger").into()
}

/// The report: the one JSON document on stdout (a failing doctor's report is its only
/// document: no error document follows it).
fn report(run: &Run) -> serde_json::Value {
    run.json()
}

/// Checks the report's schema and returns its checks by name.
fn checks(report: &serde_json::Value) -> Vec<(String, String, String, Option<String>)> {
    let mut fields: Vec<_> = report.as_object().expect("object").keys().collect();
    fields.sort();
    assert_eq!(fields, ["checks", "ok"], "{report}");
    let checks: Vec<_> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|check| {
            let mut fields: Vec<_> = check.as_object().expect("check").keys().collect();
            fields.sort();
            assert_eq!(fields, ["fix", "message", "name", "status"], "{check}");
            let status = check["status"].as_str().expect("status").to_owned();
            assert!(
                ["ok", "warn", "fail", "skip"].contains(&status.as_str()),
                "{check}"
            );
            let message = check["message"].as_str().expect("message").to_owned();
            assert!(!message.is_empty(), "{check}");
            let fix = check["fix"].as_str().map(str::to_owned);
            assert!(fix.is_some() || check["fix"].is_null(), "{check}");
            // Whatever failed says how to fix it.
            assert!(
                status != "fail" || fix.is_some(),
                "a failure without a fix: {check}"
            );
            (
                check["name"].as_str().expect("name").to_owned(),
                status,
                message,
                fix,
            )
        })
        .collect();
    let names: Vec<&str> = checks.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, CHECKS, "{report}");
    let failed = checks.iter().any(|c| c.1 == "fail");
    assert_eq!(report["ok"], !failed, "{report}");
    checks
}

fn check<'a>(
    checks: &'a [(String, String, String, Option<String>)],
    name: &str,
) -> (&'a str, &'a str, &'a str) {
    let (_, status, message, fix) = checks
        .iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no {name} check"));
    (status, message, fix.as_deref().unwrap_or(""))
}

#[test]
fn the_software_device_over_tcp_and_a_node_are_all_ok() {
    let setup = Setup::new();
    let run = setup.run(&["--json", "doctor"]);
    run.assert_code(0);
    let json = run.json();
    let checks = checks(&json);
    assert_eq!(json["ok"], true);
    for usb in ["udev-rules", "hidraw-access"] {
        let (status, message, _) = check(&checks, usb);
        assert_eq!(status, "skip", "{usb}: {message}");
        assert!(message.contains(&setup.device_flag()), "{message}");
    }
    let (status, message, _) = check(&checks, "device");
    assert_eq!(status, "ok", "{message}");
    assert!(message.contains("Ethereum app 1."), "{message}");
    let (status, message, _) = check(&checks, "node");
    assert_eq!(status, "ok", "{message}");
    assert!(message.contains(&setup.network_flag()), "{message}");
    // The node runs on this machine: the same clock, measured as such.
    let (status, message, _) = check(&checks, "clock");
    assert_eq!(status, "ok", "{message}");
    assert!(message.contains(" ± "), "{message}");

    let run = setup.run(&["doctor"]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    for (line, (name, status)) in lines
        .iter()
        .zip(CHECKS.iter().zip(["skip", "skip", "ok", "ok", "ok"]))
    {
        assert!(line.starts_with(status), "{line}");
        assert!(line.contains(name), "{line}");
    }
}

#[test]
fn nothing_listening_fails_with_the_fix() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .to_string();
    let device = format!("tcp://{dead}");
    let network = format!("http://{dead}");
    let run = doctor(&["--json", "--device", &device, "--network", &network]);
    run.assert_code(4);
    let json = report(&run);
    let checks = checks(&json);
    assert_eq!(json["ok"], false);
    let (status, message, fix) = check(&checks, "device");
    assert_eq!(status, "fail");
    assert!(
        message.contains(&format!("cannot reach a device at {dead}")),
        "{message}"
    );
    assert!(
        fix.contains(&format!("xmtp-ledger emulator --listen {dead}")),
        "{fix}"
    );
    let (status, message, fix) = check(&checks, "node");
    assert_eq!(status, "fail");
    assert!(
        message.contains(&format!("{network} is unreachable")),
        "{message}"
    );
    assert!(
        fix.contains(&format!("xmtp-ledger node --listen {dead}")),
        "{fix}"
    );
    let (status, _, _) = check(&checks, "clock");
    assert_eq!(status, "skip");

    let run = doctor(&["--device", &device, "--network", &network]);
    run.assert_code(4);
    assert!(run.stdout.contains("FAIL  device"), "{}", run.stdout);
    assert!(run.stdout.contains("FAIL  node"), "{}", run.stdout);
    assert!(
        run.stdout.contains("fix: start `xmtp-ledger emulator"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("2 of 5 checks failed: device, node"),
        "{}",
        run.stderr
    );
}

#[test]
fn device_states_fail_with_what_to_do_on_the_device() {
    let dir = tempfile::tempdir().unwrap();
    let node = Service::node(&dir.path().join("node.sqlite3"));
    let network = format!("http://{}", node.addr);
    for (state, says, fix) in [
        ("locked", "is locked", "unlock it with your PIN"),
        ("dashboard", "no app is open", "open the Ethereum app"),
        ("other-app", "the Bitcoin app", "close the Bitcoin app"),
    ] {
        let device = Service::emulator(&["--state", state]);
        let spec = format!("tcp://{}", device.addr);
        let run = doctor(&["--json", "--device", &spec, "--network", &network]);
        run.assert_code(4);
        let checks = checks(&report(&run));
        let (status, message, got_fix) = check(&checks, "device");
        assert_eq!(status, "fail", "{state}: {message}");
        assert!(message.contains(says), "{state}: {message}");
        assert!(got_fix.contains(fix), "{state}: {got_fix}");
        // Only the device is wrong.
        assert_eq!(check(&checks, "node").0, "ok", "{state}");
    }
}

#[test]
fn no_ledger_on_usb_is_reported_with_the_fix_not_a_crash() {
    // This machine has no Ledger plugged in (and most likely no hidraw at all).
    let dir = tempfile::tempdir().unwrap();
    let node = Service::node(&dir.path().join("node.sqlite3"));
    let network = format!("http://{}", node.addr);
    let run = doctor(&["--json", "--network", &network]);
    run.assert_code(4);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!run.stderr.contains("SOFTWARE DEVICE"), "{}", run.stderr);
    let checks = checks(&report(&run));

    let (status, message, fix) = check(&checks, "device");
    assert_eq!(status, "fail", "{message}");
    assert!(message.starts_with("no Ledger found on USB"), "{message}");
    assert!(fix.contains("plug the Ledger in"), "{fix}");
    assert!(fix.contains("udev install"), "{fix}");
    let no_hidraw = std::fs::read_dir("/dev")
        .unwrap()
        .filter_map(Result::ok)
        .all(|e| !e.file_name().to_string_lossy().starts_with("hidraw"));
    if no_hidraw {
        assert!(message.contains("no /dev/hidraw* nodes"), "{message}");
    }
    let (status, message, _) = check(&checks, "hidraw-access");
    assert_eq!(status, "skip", "{message}");
    assert!(message.contains("no Ledger on USB"), "{message}");

    // The udev check reads the real rules directories: compare with what is there.
    let (status, message, fix) = check(&checks, "udev-rules");
    let any_ledger_rule = [
        "/etc/udev/rules.d",
        "/run/udev/rules.d",
        "/usr/local/lib/udev/rules.d",
        "/usr/lib/udev/rules.d",
        "/lib/udev/rules.d",
    ]
    .iter()
    .filter_map(|dir| std::fs::read_dir(dir).ok())
    .flatten()
    .filter_map(Result::ok)
    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
    .any(|text| text.to_ascii_lowercase().contains("2c97"));
    if any_ledger_rule {
        assert_ne!(status, "skip", "{message}");
    } else {
        assert_eq!(status, "fail", "{message}");
        assert!(
            message.contains("no udev rule for Ledger devices"),
            "{message}"
        );
    }
    if status != "ok" {
        assert!(fix.contains("sudo xmtp-ledger udev install"), "{fix}");
    }

    // The node is fine: only the USB side is reported.
    assert_eq!(check(&checks, "node").0, "ok");
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.1 == "fail")
        .map(|c| c.0.as_str())
        .collect();
    let expected = if status == "fail" {
        vec!["udev-rules", "device"]
    } else {
        vec!["device"]
    };
    assert_eq!(failed, expected);
    assert_eq!(report(&run)["ok"], false);
    // A person is told which checks failed.
    let human = doctor(&["--network", &network]);
    assert_eq!(human.code, 4, "{}", human.stderr);
    assert!(
        human
            .stderr
            .contains(&format!("checks failed: {}", expected.join(", "))),
        "{}",
        human.stderr
    );
}

#[test]
fn local_with_no_node_running_is_said_and_none_is_started() {
    if std::net::TcpStream::connect("127.0.0.1:5556").is_ok() {
        eprintln!("something listens on 127.0.0.1:5556 here: nothing to check");
        return;
    }
    let device = Service::emulator(&[]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("node.sqlite3");
    let mut cli = command();
    cli.args([
        "--json",
        "--device",
        &format!("tcp://{}", device.addr),
        "--network",
        "local",
        "doctor",
    ])
    .env("XMTP_LEDGER_NODE_DB", &db);
    let run: Run = cli.output().unwrap().into();
    run.assert_code(0);
    let checks = checks(&run.json());
    let (status, message, _) = check(&checks, "node");
    assert_eq!(status, "ok", "{message}");
    assert!(
        message.contains("no node listens on 127.0.0.1:5556"),
        "{message}"
    );
    assert!(message.contains(&db.display().to_string()), "{message}");
    let (status, _, _) = check(&checks, "clock");
    assert_eq!(status, "skip");
    assert!(!db.exists(), "doctor started a node");
    assert!(std::net::TcpStream::connect("127.0.0.1:5556").is_err());
}

/// A node whose every answer carries a `Date` header `offset` away from this machine's
/// clock (negative: behind it).
struct SkewedNode {
    offset_secs: i64,
}

type Envelopes = Pin<Box<dyn Stream<Item = Result<api::Envelope, Status>> + Send>>;

#[tonic::async_trait]
impl MessageApi for SkewedNode {
    async fn publish(
        &self,
        _: Request<api::PublishRequest>,
    ) -> Result<Response<api::PublishResponse>, Status> {
        Err(Status::unimplemented("skewed"))
    }
    type SubscribeStream = Envelopes;
    async fn subscribe(
        &self,
        _: Request<api::SubscribeRequest>,
    ) -> Result<Response<Envelopes>, Status> {
        Err(Status::unimplemented("skewed"))
    }
    type Subscribe2Stream = Envelopes;
    async fn subscribe2(
        &self,
        _: Request<tonic::Streaming<api::SubscribeRequest>>,
    ) -> Result<Response<Envelopes>, Status> {
        Err(Status::unimplemented("skewed"))
    }
    type SubscribeAllStream = Envelopes;
    async fn subscribe_all(
        &self,
        _: Request<api::SubscribeAllRequest>,
    ) -> Result<Response<Envelopes>, Status> {
        Err(Status::unimplemented("skewed"))
    }
    async fn query(
        &self,
        _: Request<api::QueryRequest>,
    ) -> Result<Response<api::QueryResponse>, Status> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let mut response = Response::new(api::QueryResponse::default());
        response
            .metadata_mut()
            .insert("date", http_date(now + self.offset_secs).parse().unwrap());
        Ok(response)
    }
    async fn batch_query(
        &self,
        _: Request<api::BatchQueryRequest>,
    ) -> Result<Response<api::BatchQueryResponse>, Status> {
        Err(Status::unimplemented("skewed"))
    }
}

/// IMF-fixdate of `seconds` since the epoch.
fn http_date(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let time = seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

#[test]
fn the_clock_is_measured_against_the_date_the_node_sends() {
    assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let device = Service::emulator(&[]);
    let spec = format!("tcp://{}", device.addr);
    for (offset_secs, status, says) in [
        (0, "ok", "agrees with the node's"),
        // The node is 10 minutes ahead: this machine is behind, within what nodes accept.
        (600, "warn", "behind the node's"),
        // This machine is 10 minutes ahead: the node refuses its tokens and envelopes.
        (-600, "fail", "ahead of the node's"),
        // Two hours behind: older than any token a node accepts.
        (7200, "fail", "behind the node's"),
    ] {
        let (url, task) = runtime.block_on(fake_node::serve(SkewedNode { offset_secs }));
        let run = doctor(&["--json", "--device", &spec, "--network", &url]);
        task.abort();
        let checks = checks(&report(&run));
        assert_eq!(check(&checks, "node").0, "ok", "{offset_secs}");
        let (got, message, fix) = check(&checks, "clock");
        assert_eq!(got, status, "{offset_secs}: {message}");
        assert!(message.contains(says), "{offset_secs}: {message}");
        // The measured offset, within the header's second and the round trip.
        let measured: f64 = message
            .split_once("node minus local ")
            .and_then(|(_, rest)| rest.split_once(" s"))
            .and_then(|(number, _)| number.trim_start_matches('+').parse().ok())
            .unwrap_or_else(|| panic!("no offset in {message}"));
        assert!(
            (measured - offset_secs as f64).abs() <= 2.0,
            "{offset_secs}: {message}"
        );
        assert_eq!(
            run.code,
            if status == "fail" { 4 } else { 0 },
            "{}",
            run.stderr
        );
        if status != "ok" {
            assert!(fix.contains("timedatectl"), "{fix}");
        }
    }
}

#[test]
fn doctor_help_names_every_check_and_the_exit_status() {
    let output = Command::new(common::cli::binary())
        .args(["doctor", "--help"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for name in CHECKS {
        assert!(help.contains(name), "{name}:\n{help}");
    }
    assert!(help.contains("0 if no check failed, else 4"), "{help}");
}
