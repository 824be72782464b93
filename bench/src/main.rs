//! `xmtp-ledger-bench`: the numbers in README's "Performance" section, as one Markdown table.
//!
//! ```text
//! cargo run --release -p xmtp-ledger-bench -- [--envelopes N] [--quick]
//! ```
//!
//! Everything runs in this process against the software Ledger called in-process
//! (`LedgerSigner` over `InProcessTransport`, every review approved at once) and nodes
//! started in this process on `127.0.0.1:0`, each on a SQLite file in a fresh temp dir
//! (removed at the end):
//!
//! - `init` per identity (median), without a network and with the publish through gRPC;
//! - `unlock` (median), and with the gRPC fetch of the private store first;
//! - `verify` throughput on one core;
//! - generation + encryption with an in-memory wallet key, and the same work and the
//!   same contact bundle's verification done by the reference SDK in this run
//!   (`benches/js/sdk-bench.mjs` under `node`, or `$NODE`): "reference / ours";
//! - node publish throughput through gRPC from 1, 8 and 64 concurrent clients (each its
//!   own connection; p50/p99 per call) and query latency (p50/p99, newest-first first
//!   page of 100 on one topic) with `--envelopes` rows in the database (default 1,000,000;
//!   filled directly through `node::store::Store` in large transactions), against a node
//!   in a process of its own (this binary with `--serve-node DB`), and that node's peak
//!   RSS (`VmHWM`);
//! - XMTP v3: replay of a 256-update inbox log with real signatures, and `inbox status`
//!   of that inbox end to end against an in-process node;
//! - APDUs and HID reports per `personal_sign` of the two XMTP texts against the minimum;
//! - peak RSS (`getrusage` ru_maxrss) of the whole run and of an init-only run (one
//!   identity generated and published, as `xmtp-ledger --device emulator init` does).
//!
//! The process started by the user only launches two children of this binary and waits:
//! `--init-only`, then `--measure`, which does everything else and prints the table. On
//! Linux a process's ru_maxrss starts from the resident size of whatever spawned it (the
//! kernel carries the old address space's high-water mark across `exec`), so a run started
//! by `cargo run` would report cargo's ~70 MiB; started by this small launcher, each child
//! reports its own peak (cross-checked against `VmHWM`, which `exec` resets).
//!
//! `--quick` (10,000 envelopes, few iterations) finishes in seconds, for smoke runs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger_app::{ApprovalPolicy, SoftwareDevice};
use tokio::runtime::Runtime;
use xmtp_ledger::device::eth_app::personal_message_apdus;
use xmtp_ledger::device::{DerivationPath, EthApp, InProcessTransport, LedgerSigner};
use xmtp_ledger::flow::{
    SealedIdentity, generate_identity, identity_publications, unlock_identity,
};
use xmtp_ledger::identity::{AuthToken, ContactBundle, topic};
use xmtp_ledger::network::{
    BlockingClient, Client, ClientConfig, Envelope, MAX_ENVELOPES_PER_PUBLISH, Query,
    auth_token_now,
};
use xmtp_ledger::node::{BlockingNode, NodeConfig, Store};
use xmtp_ledger::session::{InitOptions, InitOutcome, Initialized, Session};
use xmtp_ledger::signer::{LocalKeySigner, Signer};

mod flows;
mod machine;
mod node_load;
mod options;
mod reference;
mod report;
mod rig;
mod transfer;
mod v3_log;

/// The tests' builder of signed v3 updates, shared so that the benchmark signs exactly
/// what the tests check.
#[path = "../../tests/common/v3.rs"]
#[allow(dead_code)]
mod signed_updates;

use flows::*;
use machine::*;
use node_load::*;
use options::*;
use reference::*;
use report::*;
use rig::*;
use transfer::*;
use v3_log::*;

/// Hardhat account #0: `m/44'/60'/0'/0/0` of the public test mnemonic, the account the
/// software device signs with.
const WALLET_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// Envelopes in the database for the node measurements.
const DEFAULT_ENVELOPES: u64 = 1_000_000;
/// ... with `--quick`.
const QUICK_ENVELOPES: u64 = 10_000;
/// Envelopes per topic in the fill: every topic has many full pages.
const ENVELOPES_PER_TOPIC: u64 = 1_000;
/// Rows per transaction in the fill.
const FILL_BATCH: usize = 50_000;
/// Message size in the fill and the publishes (a v2 message or contact bundle is a few
/// hundred bytes).
const MESSAGE_BYTES: usize = 256;
/// Page size of the measured query (the node's maximum).
const PAGE: u32 = 100;
/// Concurrent clients (each its own connection) in the publish measurements.
const PUBLISH_CLIENTS: [usize; 3] = [1, 8, 64];

/// The init-only child: one identity generated on the in-process device and published to
/// an in-process node, as `xmtp-ledger --device emulator init` does; prints its peak RSS.
fn init_only() -> BenchResult<()> {
    let dir = TempDir::new("init-only")?;
    let (node, client) = start_blocking_node(&dir.path().join("node.sqlite3"))?;
    let app = EthApp::from_transport(InProcessTransport::new(device()));
    init_publish(&app, &client, 0)?;
    drop(client);
    node.shutdown()?;
    println!("peak_rss_kib={}", peak_rss_kib().unwrap_or(0));
    println!("vm_hwm_kib={}", vm_hwm_kib().unwrap_or(0));
    // What the resident set is made of at the end, which is near the peak: the heap and
    // stacks (anonymous) against the pages of the executable and libraries (file).
    println!("rss_anon_kib={}", status_kib("RssAnon").unwrap_or(0));
    println!("rss_file_kib={}", status_kib("RssFile").unwrap_or(0));
    Ok(())
}

/// Runs this binary with `--init-only`; returns its memory figures.
fn init_only_peak_rss() -> BenchResult<InitMemory> {
    let output = Command::new(std::env::current_exe()?)
        .arg("--init-only")
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "init-only run failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = |key: &str| -> Option<u64> {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse().ok())
    };
    Ok(InitMemory {
        rss_kib: value("peak_rss_kib=").ok_or("init-only run printed no peak RSS")?,
        hwm_kib: value("vm_hwm_kib=").unwrap_or(0),
        anon_kib: value("rss_anon_kib=").unwrap_or(0),
        file_kib: value("rss_file_kib=").unwrap_or(0),
    })
}

/// The launcher: the init-only child, then the measuring child (its output is ours).
fn launch(options: &Options) -> BenchResult<()> {
    eprintln!("init-only run in a child process …");
    let init = init_only_peak_rss()?;
    let launcher_hwm = vm_hwm_kib().unwrap_or(0);
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("--envelopes")
        .arg(options.envelopes.to_string())
        .arg("--measure")
        .arg(format!(
            "{}:{}:{}:{}:{launcher_hwm}",
            init.rss_kib, init.hwm_kib, init.anon_kib, init.file_kib
        ));
    if options.quick {
        command.arg("--quick");
    }
    let status = command.status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the measuring run failed ({status})").into())
    }
}

fn measure(options: &Options, init: InitMemory, launcher_hwm: u64) -> BenchResult<()> {
    let plan = Plan::for_options(options);
    let started = Instant::now();
    let load_before = load_average();
    let mut rows = Vec::new();
    let mut log = String::new();

    let own = measure_flows(&plan, &mut rows, &mut log)?;
    measure_reference(&plan, &own, &mut rows);
    measure_v3_log(&plan, &mut rows, &mut log)?;
    measure_device_transfer(&mut rows)?;
    measure_node(options, &plan, &mut rows, &mut log)?;

    rows.push(row(
        "peak RSS, init-only run",
        format_kib(init.rss_kib),
        format!(
            "`getrusage` ru_maxrss of a process that generates one identity on the in-process device and publishes it to an in-process node, as `xmtp-ledger --device emulator init` does (VmHWM {}; at the end {} of heap and stacks, {} of executable and library pages)",
            format_kib(init.hwm_kib),
            format_kib(init.anon_kib),
            format_kib(init.file_kib)
        ),
    ));
    rows.push(row(
        "peak RSS, whole benchmark run",
        format_kib(peak_rss_kib().unwrap_or(0)),
        format!(
            "`getrusage` ru_maxrss of the process that ran everything above (VmHWM {}; SQLite page cache included; database fill in batches of {} envelopes). Both processes were started by a launcher of {}",
            format_kib(vm_hwm_kib().unwrap_or(0)),
            group_thousands(FILL_BATCH as u64),
            format_kib(launcher_hwm)
        ),
    ));

    let table = markdown_table(&["Measurement", "Result", "Notes"], &rows);
    println!("{table}");
    println!(
        "Machine: {} × {}; load average {} at start, {} at end; {} in total{}.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        load_before,
        load_average(),
        format_duration(started.elapsed()),
        if options.quick { " (--quick)" } else { "" }
    );
    print!("{log}");
    Ok(())
}

fn run(options: &Options) -> BenchResult<()> {
    match options.role {
        Role::Launcher => launch(options),
        Role::InitOnly => init_only(),
        Role::Measure {
            init,
            launcher_hwm_kib,
        } => measure(options, init, launcher_hwm_kib),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The node child of the node measurements (not an option users pass).
    if let [flag, db] = args.as_slice()
        && flag == SERVE_NODE
    {
        return match serve_node(Path::new(db)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("xmtp-ledger-bench node: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let options = match parse_args(&args) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("xmtp-ledger-bench: {message}\n");
            }
            eprintln!("{}", usage());
            return ExitCode::from(if message.is_empty() { 0 } else { 2 });
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xmtp-ledger-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).rev().map(ms).collect();
        assert_eq!(percentile(&samples, 50.0), Some(ms(50)));
        assert_eq!(percentile(&samples, 99.0), Some(ms(99)));
        assert_eq!(percentile(&samples, 100.0), Some(ms(100)));
        assert_eq!(percentile(&samples, 0.0), Some(ms(1)));
        assert_eq!(percentile(&[ms(7)], 99.0), Some(ms(7)));
        assert_eq!(percentile(&[ms(3), ms(1), ms(2)], 50.0), Some(ms(2)));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(median(&[]), Duration::ZERO);
    }

    #[test]
    fn hid_report_counts_follow_the_reference_framing() {
        // Reference §3.2: GET APP CONFIGURATION (5 bytes) fits one report, a 260-byte
        // command needs 5, the largest Ethereum answer (139 + 2 SW) needs 3.
        assert_eq!(hid_reports(5), 1);
        assert_eq!(hid_reports(260), 5);
        assert_eq!(hid_reports(141), 3);
        // Boundaries: 57 bytes fill the first report, then 59 per report.
        assert_eq!(hid_reports(0), 1);
        assert_eq!(hid_reports(57), 1);
        assert_eq!(hid_reports(58), 2);
        assert_eq!(hid_reports(57 + 59), 2);
        assert_eq!(hid_reports(57 + 59 + 1), 3);
        // A bare status word and the signature answer.
        assert_eq!(hid_reports(2), 1);
        assert_eq!(hid_reports(67), 2);
    }

    #[test]
    fn minimum_transfer_counts() {
        // m/44'/60'/0'/0/0 is 21 bytes. Empty message: one APDU of 25 data bytes
        // (30 bytes: 1 report) + the signature answer (2 reports).
        assert_eq!(minimum_transfer(21, 0), (1, 3));
        // A 132-byte Enable Identity text: 161 data bytes, 166-byte APDU: 3 reports + 2.
        assert_eq!(minimum_transfer(21, 132), (1, 5));
        // 230 bytes fill one APDU exactly (255 data bytes, 260 bytes: 5 reports) + 2.
        assert_eq!(minimum_transfer(21, 230), (1, 7));
        // 231 bytes need a second APDU, answered by a bare status word.
        let (apdus, reports) = minimum_transfer(21, 231);
        assert_eq!(apdus, 2);
        // Commands: 256 stream bytes + 2 × 7 overhead = 270 → 5 reports; answers 1 + 2.
        assert_eq!(reports, 5 + 1 + 2);
    }

    #[test]
    fn chunked_apdus_meet_the_minimum() {
        let path = DerivationPath::ledger_live(0).expect("path");
        let path_len = path.to_apdu_bytes().len();
        for len in [0usize, 132, 230, 231, 485, 486, 4000] {
            let message = vec![b'z'; len];
            let commands = personal_message_apdus(&path, &message).expect("apdus");
            let (min_apdus, min_reports) = minimum_transfer(path_len, len);
            assert_eq!(commands.len(), min_apdus, "{len}");
            let command_reports: usize = commands
                .iter()
                .map(|c| hid_reports(c.to_bytes().len()))
                .sum();
            let answer_reports = (commands.len() - 1) * hid_reports(2) + hid_reports(67);
            // Full 255-byte chunks may cost at most one report per APDU above the bound.
            let actual = command_reports + answer_reports;
            assert!(actual >= min_reports, "{len}: {actual} < {min_reports}");
            assert!(actual <= min_reports + commands.len(), "{len}: {actual}");
        }
    }

    #[test]
    fn markdown_table_layout() {
        let table = markdown_table(
            &["A", "B"],
            &[vec!["x".into(), "1 | 2".into()], vec!["only one".into()]],
        );
        assert_eq!(
            table,
            "| A | B |\n| --- | --- |\n| x | 1 \\| 2 |\n| only one |  |\n"
        );
    }

    #[test]
    fn number_formatting() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
        assert_eq!(format_rate(12_345, Duration::from_secs(1)), "12,300/s");
        assert_eq!(format_rate(500, Duration::from_secs(2)), "250/s");
        assert_eq!(format_rate(1, Duration::ZERO), "n/a");
        assert_eq!(
            format_rate_of(1_500, Duration::from_secs(1), "envelopes"),
            "1,500 envelopes/s"
        );
        assert_eq!(format_duration(Duration::from_nanos(999)), "999 ns");
        assert_eq!(format_duration(Duration::from_micros(1_500)), "1.50 ms");
        assert_eq!(format_duration(Duration::from_nanos(2_500)), "2.5 µs");
        assert_eq!(format_duration(Duration::from_millis(2_500)), "2.50 s");
        assert_eq!(format_kib(2048), "2.0 MiB");
    }

    #[test]
    fn arguments() {
        let args = |s: &str| -> Vec<String> { s.split_whitespace().map(String::from).collect() };
        assert_eq!(
            parse_args(&args("")),
            Ok(Options {
                envelopes: DEFAULT_ENVELOPES,
                quick: false,
                role: Role::Launcher
            })
        );
        assert_eq!(
            parse_args(&args("--measure 1:2:3:4:5 --quick")).map(|o| o.role),
            Ok(Role::Measure {
                init: InitMemory {
                    rss_kib: 1,
                    hwm_kib: 2,
                    anon_kib: 3,
                    file_kib: 4
                },
                launcher_hwm_kib: 5
            })
        );
        assert_eq!(
            parse_args(&args("--init-only")).map(|o| o.role),
            Ok(Role::InitOnly)
        );
        assert!(parse_args(&args("--measure 1:2:3:4")).is_err());
        assert!(parse_args(&args("--measure 1:2:3:4:5:6")).is_err());
        assert!(parse_args(&args("--measure a:2:3")).is_err());
        assert_eq!(
            parse_args(&args("--quick")).map(|o| o.envelopes),
            Ok(QUICK_ENVELOPES)
        );
        assert_eq!(
            parse_args(&args("--quick --envelopes 1_000")).map(|o| (o.quick, o.envelopes)),
            Ok((true, 1_000))
        );
        assert!(parse_args(&args("--envelopes")).is_err());
        assert!(parse_args(&args("--envelopes 0")).is_err());
        assert!(parse_args(&args("--envelopes x")).is_err());
        assert!(parse_args(&args("--bogus")).is_err());
        assert_eq!(parse_args(&args("--help")), Err(String::new()));
    }

    #[test]
    fn reference_output_is_read_by_key() {
        let stdout = "@xmtp/xmtp-js 13.0.4, ethers 6.17.0, …\n\
                      median_ms=3.5900\np90_ms=4.1100\niterations=300\n\
                      verify_us=3579.453\nverify_per_s=279.4\nverified=288\n\
                      sdk_version=13.0.4\nnode_version=v20.20.2\n";
        let figures = parse_reference_output(stdout).expect("parses");
        assert_eq!(figures.generate_median, Duration::from_micros(3_590));
        assert_eq!(figures.generate_p90, Duration::from_micros(4_110));
        assert_eq!(figures.iterations, 300);
        assert_eq!(figures.verify_each, Duration::from_nanos(3_579_453));
        assert_eq!(figures.verified, 288);
        assert_eq!(figures.sdk_version, "13.0.4");
        assert_eq!(figures.node_version, "v20.20.2");
        // A key that is only a prefix of another is not taken for it.
        assert!(parse_reference_output("median_ms_x=1\n").is_err());
        let missing = stdout.replace("verified=288\n", "");
        assert!(
            parse_reference_output(&missing)
                .unwrap_err()
                .contains("verified")
        );
        let negative = stdout.replace("median_ms=3.5900", "median_ms=-1");
        assert!(parse_reference_output(&negative).is_err());
        assert_eq!(format_ratio(ms(36), ms(3)), "12.0×");
        assert_eq!(format_ratio(ms(1), Duration::ZERO), "n/a");
    }

    #[test]
    fn filler_is_deterministic_and_distinct() {
        assert_eq!(filler(1, 256), filler(1, 256));
        assert_ne!(filler(1, 256), filler(2, 256));
        assert_eq!(filler(3, 13).len(), 13);
        let e = fill_envelope(1_001, 1_000, 5);
        assert_eq!(e.content_topic, "/xmtp/0/m-bench-000001/proto");
        assert_eq!(e.timestamp_ns, 5 + 1_001_000);
    }
}
