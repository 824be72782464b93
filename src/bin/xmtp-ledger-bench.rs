//! `xmtp-ledger-bench`: the numbers in README's "Performance" section, as one Markdown table.
//!
//! ```text
//! cargo run --release --bin xmtp-ledger-bench -- [--envelopes N] [--quick]
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
//! - generation + encryption with an in-memory wallet key (what `benches/js/sdk-bench.mjs`
//!   times with the reference SDK);
//! - node publish throughput through gRPC and query latency (p50/p99, newest-first first
//!   page of 100 on one topic) with `--envelopes` rows in the database (default 1,000,000;
//!   filled directly through `node::store::Store` in large transactions);
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
use xmtp_ledger::flow::{NewIdentity, generate_identity, unlock_identity};
use xmtp_ledger::identity::{AuthToken, ContactBundle, topic};
use xmtp_ledger::network::{
    ClientConfig, Envelope, MAX_ENVELOPES_PER_PUBLISH, NodeClient, Query, auth_token_now,
};
use xmtp_ledger::node::{self, NodeConfig, RunningNode, Store};
use xmtp_ledger::signer::{LocalKeySigner, Signer};

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
/// Concurrent publishers in the concurrent publish measurement.
const CONCURRENT_CLIENTS: usize = 8;

// ----- HID framing (reference ledger-ethereum-app.md §3.2) -----------------------------------

/// Bytes in one HID report.
const HID_REPORT_BYTES: usize = 64;
/// Report header: channel (2) + tag (1) + sequence index (2).
const HID_HEADER_BYTES: usize = 5;
/// The message length prefix, in the first report only.
const HID_LENGTH_PREFIX_BYTES: usize = 2;
/// Payload bytes of the first report of a message (57).
const HID_FIRST_PAYLOAD: usize = HID_REPORT_BYTES - HID_HEADER_BYTES - HID_LENGTH_PREFIX_BYTES;
/// Payload bytes of each following report (59).
const HID_NEXT_PAYLOAD: usize = HID_REPORT_BYTES - HID_HEADER_BYTES;
/// Largest data field of one short APDU.
const APDU_MAX_DATA: usize = 255;
/// `CLA INS P1 P2 Lc`.
const APDU_HEADER_BYTES: usize = 5;
/// Status word at the end of every answer.
const SW_BYTES: usize = 2;
/// The final personal_sign answer: `v ‖ r ‖ s`.
const SIGNATURE_BYTES: usize = 65;

/// HID reports carrying one message of `len` bytes (a command APDU, or an answer with its
/// status word): the first carries the 2-byte length and 57 bytes, each next one 59.
fn hid_reports(len: usize) -> usize {
    1 + len
        .saturating_sub(HID_FIRST_PAYLOAD)
        .div_ceil(HID_NEXT_PAYLOAD)
}

/// The fewest APDUs and HID reports (commands + answers) any host can use to have the
/// Ethereum app sign a `message_len`-byte personal message with a `path_len`-byte path:
/// the stream `path ‖ u32 len ‖ message` needs `ceil(stream / 255)` short APDUs; `n` APDUs
/// carry `stream + 7n` bytes of HID messages (APDU header + length prefix each), so at
/// least `ceil((stream + 7n) / 59)` command reports (and one per APDU); every intermediate
/// answer is a bare status word (one report) and the last is the 67-byte signature answer.
fn minimum_transfer(path_len: usize, message_len: usize) -> (usize, usize) {
    let stream = path_len + 4 + message_len;
    let apdus = stream.div_ceil(APDU_MAX_DATA).max(1);
    let per_apdu_overhead = APDU_HEADER_BYTES + HID_LENGTH_PREFIX_BYTES;
    let commands = (stream + per_apdu_overhead * apdus)
        .div_ceil(HID_NEXT_PAYLOAD)
        .max(apdus);
    let answers = (apdus - 1) * hid_reports(SW_BYTES) + hid_reports(SIGNATURE_BYTES + SW_BYTES);
    (apdus, commands + answers)
}

// ----- statistics and output ---------------------------------------------------------------

/// Nearest-rank percentile (`p` in 0..=100) of unsorted samples; `None` when empty.
fn percentile(samples: &[Duration], p: f64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn median(samples: &[Duration]) -> Duration {
    percentile(samples, 50.0).unwrap_or_default()
}

/// `1.23 ms`, `456 µs`, `2.50 s`.
fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns >= 1_000_000_000 {
        format!("{:.2} s", d.as_secs_f64())
    } else if ns >= 1_000_000 {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else if ns >= 1_000 {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{ns} ns")
    }
}

/// `1,234,567`.
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate per second, rounded to 3 significant digits and grouped: `12,300/s`.
fn format_rate(count: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return "n/a".into();
    }
    let rate = count as f64 / secs;
    let rounded = if rate >= 1000.0 {
        let scale = 10f64.powi(rate.log10().floor() as i32 - 2);
        (rate / scale).round() * scale
    } else {
        rate.round()
    };
    format!("{}/s", group_thousands(rounded as u64))
}

/// `12,300 envelopes/s`.
fn format_rate_of(count: u64, elapsed: Duration, unit: &str) -> String {
    format_rate(count, elapsed).replace("/s", &format!(" {unit}/s"))
}

fn format_kib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A Markdown table; `|` in cells is escaped.
fn markdown_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| {} |",
        headers
            .iter()
            .map(|h| cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        out,
        "|{}|",
        headers
            .iter()
            .map(|_| " --- ")
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows {
        let mut cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        cells.resize(headers.len(), String::new());
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

// ----- machine -----------------------------------------------------------------------------

/// Peak resident set size of this process so far, in KiB (`getrusage(RUSAGE_SELF)`).
#[cfg(target_os = "linux")]
fn peak_rss_kib() -> Option<u64> {
    use std::ffi::{c_int, c_long};
    // `struct rusage` on Linux: two `struct timeval` (2 longs each), then 14 longs, the
    // first of which is `ru_maxrss` (KiB).
    #[repr(C)]
    struct RUsage {
        fields: [c_long; 18],
    }
    const RUSAGE_SELF: c_int = 0;
    const RU_MAXRSS: usize = 4;
    unsafe extern "C" {
        fn getrusage(who: c_int, usage: *mut RUsage) -> c_int;
    }
    let mut usage = RUsage { fields: [0; 18] };
    // SAFETY: `usage` is a valid, writable `struct rusage`-sized buffer for the call.
    let rc = unsafe { getrusage(RUSAGE_SELF, &mut usage) };
    (rc == 0).then(|| u64::try_from(usage.fields[RU_MAXRSS]).unwrap_or(0))
}

#[cfg(not(target_os = "linux"))]
fn peak_rss_kib() -> Option<u64> {
    None
}

/// The kernel's high-water mark of this process image's resident set (`VmHWM`, KiB).
/// Unlike `ru_maxrss` it starts afresh at `exec`, so a child spawned from a large parent
/// does not inherit the parent's peak.
fn vm_hwm_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// File system type and device of the mount holding `path` (from `/proc/mounts`).
fn file_system_of(path: &Path) -> String {
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else {
        return "unknown".into();
    };
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let device = fields.next()?;
            let mount_point = fields.next()?;
            let fs_type = fields.next()?;
            path.starts_with(mount_point)
                .then(|| (mount_point.len(), format!("{fs_type} on {device}")))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
        .unwrap_or_else(|| "unknown".into())
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> std::io::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "xmtp-ledger-bench-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

// ----- rig ---------------------------------------------------------------------------------

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn device() -> Arc<SoftwareDevice> {
    let device = Arc::new(SoftwareDevice::with_test_mnemonic());
    device.set_approval(ApprovalPolicy::Approve);
    device
}

fn path() -> DerivationPath {
    DerivationPath::ledger_live(0).expect("m/44'/60'/0'/0/0 is a valid path")
}

/// A signer as a fresh CLI run opens one: the address is read from the device.
fn fresh_signer(app: &EthApp) -> BenchResult<LedgerSigner> {
    Ok(LedgerSigner::connect(app.clone(), path())?)
}

fn local_wallet() -> BenchResult<LocalKeySigner> {
    Ok(LocalKeySigner::from_private_key(&hex::decode(WALLET_KEY)?)?)
}

fn runtime() -> BenchResult<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn start_node(db: &Path) -> BenchResult<(RunningNode, NodeClient)> {
    let node = node::spawn("127.0.0.1:0".parse()?, NodeConfig::new(db)).await?;
    let client = NodeClient::connect(&node.url(), ClientConfig::default()).await?;
    Ok((node, client))
}

/// The whole `init` after the device is open: address, two signatures, keys, sealing.
fn init_generate(app: &EthApp) -> BenchResult<NewIdentity> {
    Ok(generate_identity(&fresh_signer(app)?, &mut |_| {})?)
}

/// `init_generate`, then the token and the idempotent publish of the three envelopes.
fn init_publish(runtime: &Runtime, app: &EthApp, client: &NodeClient) -> BenchResult<NewIdentity> {
    let identity = init_generate(app)?;
    let token = auth_token_now(identity.bundle.identity_key())?;
    runtime.block_on(client.publish_publications(&token, &identity.publications()))?;
    Ok(identity)
}

/// Runs `f` `n` times (after `warmup` untimed runs) and returns each run's time.
fn time_each(
    warmup: usize,
    n: usize,
    mut f: impl FnMut() -> BenchResult<()>,
) -> BenchResult<Vec<Duration>> {
    for _ in 0..warmup {
        f()?;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        f()?;
        samples.push(start.elapsed());
    }
    Ok(samples)
}

/// Deterministic filler bytes (xorshift64*), distinct per `seed`.
fn filler(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn bench_topic(i: u64) -> String {
    format!("/xmtp/0/m-bench-{i:06}/proto")
}

/// Envelope `i` of the fill: topics round-robin, timestamps increasing, unique bytes.
fn fill_envelope(i: u64, topics: u64, base_ns: u64) -> Envelope {
    Envelope {
        content_topic: bench_topic(i % topics),
        timestamp_ns: base_ns + i * 1_000,
        message: filler(i, MESSAGE_BYTES),
    }
}

// ----- options -----------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Options {
    envelopes: u64,
    quick: bool,
    role: Role,
}

/// Which process of a run this is (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Started by the user: runs the two children and waits.
    Launcher,
    /// `--init-only`: one identity, then prints its peak RSS.
    InitOnly,
    /// `--measure R:H:L`: the measurements; the init-only child's ru_maxrss and VmHWM and
    /// the launcher's VmHWM (KiB) come from the launcher.
    Measure {
        init_rss_kib: u64,
        init_hwm_kib: u64,
        launcher_hwm_kib: u64,
    },
}

fn parse_measure(value: &str) -> Option<Role> {
    let mut parts = value.split(':').map(|p| p.parse::<u64>().ok());
    let role = Role::Measure {
        init_rss_kib: parts.next()??,
        init_hwm_kib: parts.next()??,
        launcher_hwm_kib: parts.next()??,
    };
    parts.next().is_none().then_some(role)
}

fn usage() -> &'static str {
    "usage: xmtp-ledger-bench [--envelopes N] [--quick]\n\
     \n\
     Prints a Markdown table of host-side costs against the in-process software Ledger and\n\
     an in-process node with N envelopes in its database (default 1,000,000; --quick: 10,000\n\
     and few iterations)."
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut envelopes = None;
    let mut quick = false;
    let mut role = Role::Launcher;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--init-only" => role = Role::InitOnly,
            "--measure" => {
                let value = it.next().ok_or("--measure needs a value")?;
                role = parse_measure(value).ok_or(format!("--measure: bad value {value}"))?;
            }
            "--envelopes" => {
                let value = it.next().ok_or("--envelopes needs a number")?;
                let n: u64 = value
                    .replace(['_', ','], "")
                    .parse()
                    .map_err(|_| format!("--envelopes: not a number: {value}"))?;
                if n == 0 {
                    return Err("--envelopes must be at least 1".into());
                }
                envelopes = Some(n);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Options {
        envelopes: envelopes.unwrap_or(if quick {
            QUICK_ENVELOPES
        } else {
            DEFAULT_ENVELOPES
        }),
        quick,
        role,
    })
}

/// Iteration counts.
struct Plan {
    init: usize,
    init_grpc: usize,
    unlock: usize,
    local: usize,
    verify_for: Duration,
    publishes: usize,
    publish_batches: usize,
    queries: usize,
}

impl Plan {
    fn for_options(options: &Options) -> Self {
        if options.quick {
            Self {
                init: 30,
                init_grpc: 20,
                unlock: 30,
                local: 50,
                verify_for: Duration::from_millis(300),
                publishes: 100,
                publish_batches: 10,
                queries: 200,
            }
        } else {
            Self {
                init: 500,
                init_grpc: 500,
                unlock: 500,
                local: 1_000,
                verify_for: Duration::from_secs(3),
                publishes: 5_000,
                publish_batches: 200,
                queries: 10_000,
            }
        }
    }
}

// ----- measurements ------------------------------------------------------------------------

/// One row: what, result, how.
type Row = Vec<String>;

fn row(what: &str, result: String, notes: String) -> Row {
    vec![what.to_owned(), result, notes]
}

fn measure_flows(plan: &Plan, rows: &mut Vec<Row>, log: &mut String) -> BenchResult<()> {
    let runtime = runtime()?;
    let device = device();
    let app = EthApp::from_transport(InProcessTransport::new(Arc::clone(&device)));

    eprintln!("init without network ({} identities) …", plan.init);
    let samples = time_each(5, plan.init, || init_generate(&app).map(drop))?;
    rows.push(row(
        "init per identity, no network (median)",
        format_duration(median(&samples)),
        format!(
            "p90 {}; address read + 2 personal_sign (verified) + keys + sealing + contact bundles; n = {}",
            format_duration(percentile(&samples, 90.0).unwrap_or_default()),
            samples.len()
        ),
    ));

    let dir = TempDir::new("init")?;
    let db = dir.path().join("node.sqlite3");
    let (node, client) = runtime.block_on(start_node(&db))?;
    eprintln!("init with gRPC publish ({} identities) …", plan.init_grpc);
    let samples = time_each(3, plan.init_grpc, || {
        init_publish(&runtime, &app, &client).map(drop)
    })?;
    rows.push(row(
        "init per identity, with gRPC publish (median)",
        format_duration(median(&samples)),
        format!(
            "p90 {}; + auth token + 3 envelopes through gRPC to an in-process node (7 RPCs, 3 SQLite commits with fsync); n = {}",
            format_duration(percentile(&samples, 90.0).unwrap_or_default()),
            samples.len()
        ),
    ));

    eprintln!("unlock ({}) …", plan.unlock);
    let identity = init_publish(&runtime, &app, &client)?;
    let encrypted = identity.encrypted_bundle.encode();
    let samples = time_each(5, plan.unlock, || {
        unlock_identity(&fresh_signer(&app)?, &encrypted, &mut |_| {})?;
        Ok(())
    })?;
    rows.push(row(
        "unlock (median)",
        format_duration(median(&samples)),
        format!(
            "address read + 1 personal_sign (verified) + decrypt + bundle check; n = {}",
            samples.len()
        ),
    ));
    let private_topic = topic::private_store_topic(&identity.wallet);
    let samples = time_each(5, plan.unlock, || {
        let envelope = runtime
            .block_on(client.newest(&private_topic))?
            .ok_or("private store is empty")?;
        unlock_identity(&fresh_signer(&app)?, &envelope.message, &mut |_| {})?;
        Ok(())
    })?;
    rows.push(row(
        "unlock incl. gRPC fetch (median)",
        format_duration(median(&samples)),
        format!(
            "newest private-store envelope over gRPC, then unlock; n = {}",
            samples.len()
        ),
    ));
    drop(client);
    runtime.block_on(node.shutdown())?;
    let _ = writeln!(
        log,
        "init/unlock node database: {} ({} bytes after {} identities)",
        file_system_of(dir.path()),
        file_size(&db),
        plan.init_grpc + 4
    );

    eprintln!("verify for {:?} …", plan.verify_for);
    let contact = identity.contact_v2().to_vec();
    let start = Instant::now();
    let mut verified = 0u64;
    while start.elapsed() < plan.verify_for {
        for _ in 0..64 {
            ContactBundle::decode(std::hint::black_box(&contact))?.verify()?;
        }
        verified += 64;
    }
    let elapsed = start.elapsed();
    rows.push(row(
        "verify throughput (one core)",
        format_rate_of(verified, elapsed, "identities"),
        format!(
            "v2 contact bundle: decode + wallet recovery from the identity key + pre-key signature check; {} per identity",
            format_duration(elapsed / u32::try_from(verified).unwrap_or(u32::MAX).max(1))
        ),
    ));

    eprintln!("generate + encrypt with a local key ({}) …", plan.local);
    let wallet = local_wallet()?;
    let samples = time_each(10, plan.local, || {
        generate_identity(&wallet, &mut |_| {})?;
        Ok(())
    })?;
    rows.push(row(
        "generate + encrypt, in-memory wallet key (median)",
        format_duration(median(&samples)),
        format!(
            "`flow::generate_identity` with `LocalKeySigner`: the work `benches/js/sdk-bench.mjs` times in the reference SDK; n = {}",
            samples.len()
        ),
    ));
    Ok(())
}

fn measure_device_transfer(rows: &mut Vec<Row>) -> BenchResult<()> {
    let device = device();
    let app = EthApp::from_transport(InProcessTransport::new(Arc::clone(&device)));
    let signer = LedgerSigner::connect(app, path())?;
    let identity = generate_identity(&signer, &mut |_| {})?;
    let texts = [
        (
            "Create Identity",
            identity
                .bundle
                .identity_key()
                .public_key()
                .create_identity_text(),
        ),
        (
            "Enable Identity",
            identity.encrypted_bundle.enable_identity_text(),
        ),
    ];
    let path_len = path().to_apdu_bytes().len();
    let mut init_apdus = 0;
    let mut init_reports = 0;
    for (name, text) in &texts {
        // As sent by the client (the address is cached, so only the signature's APDUs).
        let before = device.apdu_count();
        signer.personal_sign(text)?;
        let sent = usize::try_from(device.apdu_count() - before)?;
        // The same commands again, straight into the device, to see each answer's size.
        let commands = personal_message_apdus(&path(), text.as_bytes())?;
        let mut reports = 0;
        for command in &commands {
            let bytes = command.to_bytes();
            let answer = device.exchange(&bytes);
            reports += hid_reports(bytes.len()) + hid_reports(answer.len());
        }
        if commands.len() != sent {
            return Err(format!(
                "{name}: the client sent {sent} APDUs but the chunking function makes {}",
                commands.len()
            )
            .into());
        }
        let (min_apdus, min_reports) = minimum_transfer(path_len, text.len());
        init_apdus += sent;
        init_reports += reports;
        rows.push(row(
            &format!("personal_sign \"XMTP : {name}\" ({} bytes)", text.len()),
            format!("{sent} APDU, {reports} HID reports"),
            format!(
                "minimum {min_apdus} APDU, {min_reports} HID reports (stream {} bytes: path {path_len} + length 4 + text; 64-byte reports, 5-byte header, 2-byte length in the first)",
                path_len + 4 + text.len()
            ),
        ));
    }
    // The address read of a fresh run.
    let address = [0xE0, 0x02, 0x00, 0x00, u8::try_from(path_len)?]
        .into_iter()
        .chain(path().to_apdu_bytes())
        .collect::<Vec<u8>>();
    let answer = device.exchange(&address);
    let address_reports = hid_reports(address.len()) + hid_reports(answer.len());
    rows.push(row(
        "whole init on the device",
        format!(
            "{} APDUs, {} HID reports",
            init_apdus + 1,
            init_reports + address_reports
        ),
        format!(
            "GET ETH PUBLIC ADDRESS ({address_reports} reports) + the two signatures{}",
            if init_apdus == texts.len() {
                "; each text fits one APDU"
            } else {
                ""
            }
        ),
    ));
    Ok(())
}

/// Publishes `count` single-envelope requests from `clients` concurrent clients.
async fn publish_concurrently(
    client: &NodeClient,
    token: &AuthToken,
    clients: usize,
    count: usize,
    seed: u64,
) -> BenchResult<Duration> {
    let per_client = count / clients;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let client = client.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                let n = seed + (c * per_client + i) as u64;
                let envelope = Envelope {
                    content_topic: bench_topic(n % 97),
                    timestamp_ns: xmtp_ledger::network::now_ns(),
                    message: filler(n, MESSAGE_BYTES),
                };
                client.publish(&token, vec![envelope]).await?;
            }
            Ok::<(), xmtp_ledger::network::NetworkError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(start.elapsed())
}

fn measure_node(
    options: &Options,
    plan: &Plan,
    rows: &mut Vec<Row>,
    log: &mut String,
) -> BenchResult<()> {
    let dir = TempDir::new("node")?;
    let db = dir.path().join("node.sqlite3");
    let topics = options.envelopes.div_ceil(ENVELOPES_PER_TOPIC).max(1);
    let base_ns = xmtp_ledger::network::now_ns() - options.envelopes * 1_000 - 1_000_000_000;

    eprintln!(
        "filling {} envelopes into {} …",
        group_thousands(options.envelopes),
        db.display()
    );
    let start = Instant::now();
    {
        let store = Store::open(&db)?;
        let mut next = 0u64;
        while next < options.envelopes {
            let end = (next + FILL_BATCH as u64).min(options.envelopes);
            let batch: Vec<Envelope> = (next..end)
                .map(|i| fill_envelope(i, topics, base_ns))
                .collect();
            let inserted = store.insert(&batch)?;
            if inserted != batch.len() {
                return Err(format!("fill: {inserted} of {} rows were new", batch.len()).into());
            }
            next = end;
        }
    }
    let fill = start.elapsed();
    let wal = dir.path().join("node.sqlite3-wal");
    let _ = writeln!(
        log,
        "fill: {} envelopes ({MESSAGE_BYTES}-byte messages) on {} topics in transactions of {} rows through `node::store::Store`: {} ({}); database {:.0} MiB + WAL {:.0} MiB on {}",
        group_thousands(options.envelopes),
        group_thousands(topics),
        group_thousands(FILL_BATCH as u64),
        format_duration(fill),
        format_rate(options.envelopes, fill),
        file_size(&db) as f64 / 1_048_576.0,
        file_size(&wal) as f64 / 1_048_576.0,
        file_system_of(dir.path()),
    );
    rows.push(row(
        "database fill (not through gRPC)",
        format_duration(fill),
        format!(
            "{} envelopes of {MESSAGE_BYTES} bytes on {} topics, {} rows per transaction, `Store::insert`",
            group_thousands(options.envelopes),
            group_thousands(topics),
            group_thousands(FILL_BATCH as u64)
        ),
    ));

    let runtime = runtime()?;
    let (node, client) = runtime.block_on(start_node(&db))?;
    let wallet = local_wallet()?;
    let identity = generate_identity(&wallet, &mut |_| {})?;
    let token = auth_token_now(identity.bundle.identity_key())?;
    let mut seed = options.envelopes + 1;

    eprintln!("publishing {} single envelopes …", plan.publishes);
    let start = Instant::now();
    for i in 0..plan.publishes as u64 {
        let n = seed + i;
        let envelope = Envelope {
            content_topic: bench_topic(n % topics),
            timestamp_ns: xmtp_ledger::network::now_ns(),
            message: filler(n, MESSAGE_BYTES),
        };
        runtime.block_on(client.publish(&token, vec![envelope]))?;
    }
    let elapsed = start.elapsed();
    seed += plan.publishes as u64;
    rows.push(row(
        "node publish, 1 envelope per call (as init sends them)",
        format_rate_of(plan.publishes as u64, elapsed, "envelopes"),
        format!(
            "one client, sequential; each call is token check + 1 SQLite commit with fsync; {} per call; n = {}",
            format_duration(elapsed / u32::try_from(plan.publishes).unwrap_or(u32::MAX)),
            plan.publishes
        ),
    ));

    eprintln!(
        "publishing {} envelopes from {CONCURRENT_CLIENTS} clients …",
        plan.publishes
    );
    let elapsed = runtime.block_on(publish_concurrently(
        &client,
        &token,
        CONCURRENT_CLIENTS,
        plan.publishes,
        seed,
    ))?;
    seed += plan.publishes as u64;
    let concurrent_count = (plan.publishes / CONCURRENT_CLIENTS * CONCURRENT_CLIENTS) as u64;
    rows.push(row(
        &format!("node publish, 1 envelope per call, {CONCURRENT_CLIENTS} concurrent calls"),
        format_rate_of(concurrent_count, elapsed, "envelopes"),
        format!("{CONCURRENT_CLIENTS} tasks on one HTTP/2 connection; n = {concurrent_count}"),
    ));

    eprintln!(
        "publishing {} batches of {MAX_ENVELOPES_PER_PUBLISH} …",
        plan.publish_batches
    );
    let start = Instant::now();
    for b in 0..plan.publish_batches as u64 {
        let envelopes: Vec<Envelope> = (0..MAX_ENVELOPES_PER_PUBLISH as u64)
            .map(|i| {
                let n = seed + b * MAX_ENVELOPES_PER_PUBLISH as u64 + i;
                Envelope {
                    content_topic: bench_topic(n % topics),
                    timestamp_ns: xmtp_ledger::network::now_ns(),
                    message: filler(n, MESSAGE_BYTES),
                }
            })
            .collect();
        runtime.block_on(client.publish(&token, envelopes))?;
    }
    let elapsed = start.elapsed();
    let batched = (plan.publish_batches * MAX_ENVELOPES_PER_PUBLISH) as u64;
    rows.push(row(
        &format!("node publish, {MAX_ENVELOPES_PER_PUBLISH} envelopes per call"),
        format_rate_of(batched, elapsed, "envelopes"),
        format!(
            "one client, sequential, the most one Publish may carry; 1 commit per call; n = {batched}"
        ),
    ));

    eprintln!("querying {} pages …", plan.queries);
    let mut rng = seed;
    let mut next_topic = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        bench_topic(rng % topics)
    };
    // Every topic holds at least this many rows, so every page should be this full.
    let expected = usize::try_from(u64::from(PAGE).min(options.envelopes / topics))?;
    let query_once = |topic: String| -> BenchResult<Duration> {
        let start = Instant::now();
        let page = runtime.block_on(client.query(&Query::topic(topic).limit(PAGE)))?;
        let elapsed = start.elapsed();
        if page.envelopes.len() < expected {
            return Err(format!("query returned {} rows", page.envelopes.len()).into());
        }
        Ok(elapsed)
    };
    for _ in 0..plan.queries / 10 {
        query_once(next_topic())?;
    }
    let mut samples = Vec::with_capacity(plan.queries);
    for _ in 0..plan.queries {
        samples.push(query_once(next_topic())?);
    }
    let stored = file_size(&db);
    rows.push(row(
        &format!("node query, newest first, page 1 of {PAGE}, one topic"),
        format!(
            "p50 {} / p99 {}",
            format_duration(percentile(&samples, 50.0).unwrap_or_default()),
            format_duration(percentile(&samples, 99.0).unwrap_or_default())
        ),
        format!(
            "through gRPC, {} envelopes in the database ({:.0} MiB), a random topic of {} each time; n = {}",
            group_thousands(options.envelopes),
            stored as f64 / 1_048_576.0,
            group_thousands(topics),
            samples.len()
        ),
    ));
    drop(client);
    runtime.block_on(node.shutdown())?;
    Ok(())
}

/// The init-only child: one identity generated on the in-process device and published to
/// an in-process node, as `xmtp-ledger --device emulator init` does; prints its peak RSS.
fn init_only() -> BenchResult<()> {
    let runtime = runtime()?;
    let dir = TempDir::new("init-only")?;
    let (node, client) = runtime.block_on(start_node(&dir.path().join("node.sqlite3")))?;
    let app = EthApp::from_transport(InProcessTransport::new(device()));
    init_publish(&runtime, &app, &client)?;
    drop(client);
    runtime.block_on(node.shutdown())?;
    println!("peak_rss_kib={}", peak_rss_kib().unwrap_or(0));
    println!("vm_hwm_kib={}", vm_hwm_kib().unwrap_or(0));
    Ok(())
}

/// Runs this binary with `--init-only`; returns its `ru_maxrss` and `VmHWM` (KiB).
fn init_only_peak_rss() -> BenchResult<(u64, u64)> {
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
    let rusage = value("peak_rss_kib=").ok_or("init-only run printed no peak RSS")?;
    Ok((rusage, value("vm_hwm_kib=").unwrap_or(0)))
}

/// The launcher: the init-only child, then the measuring child (its output is ours).
fn launch(options: &Options) -> BenchResult<()> {
    eprintln!("init-only run in a child process …");
    let (init_rss, init_hwm) = init_only_peak_rss()?;
    let launcher_hwm = vm_hwm_kib().unwrap_or(0);
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("--envelopes")
        .arg(options.envelopes.to_string())
        .arg("--measure")
        .arg(format!("{init_rss}:{init_hwm}:{launcher_hwm}"));
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

fn measure(options: &Options, init_rss: u64, init_hwm: u64, launcher_hwm: u64) -> BenchResult<()> {
    let plan = Plan::for_options(options);
    let started = Instant::now();
    let load_before = load_average();
    let mut rows = Vec::new();
    let mut log = String::new();

    measure_flows(&plan, &mut rows, &mut log)?;
    measure_device_transfer(&mut rows)?;
    measure_node(options, &plan, &mut rows, &mut log)?;

    rows.push(row(
        "peak RSS, init-only run",
        format_kib(init_rss),
        format!(
            "`getrusage` ru_maxrss of a process that generates one identity on the in-process device and publishes it to an in-process node, as `xmtp-ledger --device emulator init` does (VmHWM {})",
            format_kib(init_hwm)
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
            init_rss_kib,
            init_hwm_kib,
            launcher_hwm_kib,
        } => measure(options, init_rss_kib, init_hwm_kib, launcher_hwm_kib),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
            parse_args(&args("--measure 1:2:3 --quick")).map(|o| o.role),
            Ok(Role::Measure {
                init_rss_kib: 1,
                init_hwm_kib: 2,
                launcher_hwm_kib: 3
            })
        );
        assert_eq!(
            parse_args(&args("--init-only")).map(|o| o.role),
            Ok(Role::InitOnly)
        );
        assert!(parse_args(&args("--measure 1:2")).is_err());
        assert!(parse_args(&args("--measure 1:2:3:4")).is_err());
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
    fn filler_is_deterministic_and_distinct() {
        assert_eq!(filler(1, 256), filler(1, 256));
        assert_ne!(filler(1, 256), filler(2, 256));
        assert_eq!(filler(3, 13).len(), 13);
        let e = fill_envelope(1_001, 1_000, 5);
        assert_eq!(e.content_topic, "/xmtp/0/m-bench-000001/proto");
        assert_eq!(e.timestamp_ns, 5 + 1_001_000);
    }
}
