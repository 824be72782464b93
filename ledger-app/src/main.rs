//! `ledger-app`: a software Ledger Ethereum app on a Speculos-compatible APDU TCP port.
//!
//! The mnemonic comes from `--mnemonic-file FILE` or the `XMTP_LEDGER_MNEMONIC` environment
//! variable, never from the command line (argv is visible to every user of the machine); the
//! default is the public test mnemonic, announced loudly on stderr. Once listening, the bound
//! address (`IP:PORT`) is printed alone on one line of stdout; screens and notes go to stderr.
//!
//! Control lines on stdin, when stdin is not a terminal (a test harness's pipe; a terminal is
//! left to `--policy ask`, which reads `/dev/tty`): `lock`, `unlock`, `approve`, `reject`, `ask`,
//! `dashboard`, `ethereum`, `quit`. End of input just stops reading.

use std::io::{BufRead, IsTerminal, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, ValueEnum};
use ledger_app::{
    AppVersion, ApprovalPolicy, DeviceConfig, Error, RunningApp, SoftwareDevice, TEST_MNEMONIC,
};
use zeroize::Zeroizing;

/// Environment variable holding the BIP-39 mnemonic.
const MNEMONIC_ENV: &str = "XMTP_LEDGER_MNEMONIC";
/// Environment variable holding the optional BIP-39 passphrase.
const PASSPHRASE_ENV: &str = "XMTP_LEDGER_PASSPHRASE";
/// A mnemonic file larger than this is not a mnemonic file.
const MAX_MNEMONIC_FILE: u64 = 4096;

/// Serve a software Ledger device running the Ethereum app (APDUs, status words and signatures
/// of the real app ≥ 1.20) on a Speculos-compatible raw APDU TCP port.
///
/// Keys are held in ordinary process memory: NOT protected by hardware. The mnemonic is read
/// from --mnemonic-file or XMTP_LEDGER_MNEMONIC (passphrase: XMTP_LEDGER_PASSPHRASE), never from
/// the command line; without either, the PUBLIC test mnemonic is used.
#[derive(Debug, Parser)]
#[command(name = "ledger-app", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port. The bound IP:PORT is printed on stdout.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9999")]
    listen: String,

    /// How reviews (message signing, address display) are answered; `ask` prompts on the
    /// controlling terminal (/dev/tty).
    #[arg(long, value_enum, default_value_t = Policy::Approve)]
    policy: Policy,

    /// Start locked: every APDU answers 0x5515 until `unlock` is read on stdin.
    #[arg(long)]
    locked: bool,

    /// Read the BIP-39 mnemonic from FILE (takes precedence over XMTP_LEDGER_MNEMONIC).
    #[arg(long, value_name = "FILE")]
    mnemonic_file: Option<PathBuf>,

    /// Ethereum app version to report (GET APP CONFIGURATION, GET APP AND VERSION).
    #[arg(long, value_name = "MAJOR.MINOR.PATCH", default_value = "1.22.0")]
    app_version: AppVersion,

    /// Heap available for personal messages, in bytes (the app's is 16 KiB); longer messages
    /// are refused with 0x6A84.
    #[arg(long, value_name = "BYTES", default_value_t = ledger_app::heap::DEFAULT_HEAP_SIZE)]
    heap_size: usize,
}

/// Approval policy names on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Policy {
    /// Approve every review.
    Approve,
    /// Reject every review (0x6985).
    Reject,
    /// Ask y/n on the controlling terminal.
    Ask,
}

impl Policy {
    fn approval(self) -> ApprovalPolicy {
        match self {
            Self::Approve => ApprovalPolicy::Approve,
            Self::Reject => ApprovalPolicy::Reject,
            Self::Ask => ApprovalPolicy::ask_on_tty(),
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut message = format!("ledger-app: error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Error> {
    let mnemonic = load_mnemonic(args.mnemonic_file.as_deref())?;
    let passphrase = Zeroizing::new(std::env::var(PASSPHRASE_ENV).unwrap_or_default());
    let mut config = match &mnemonic {
        Some(words) => DeviceConfig::new(words.as_str()),
        None => DeviceConfig::new(TEST_MNEMONIC),
    }
    .with_passphrase(passphrase.as_str());
    config.app_version = args.app_version;
    config.heap_size = args.heap_size;
    config.approval = args.policy.approval();
    config.locked = args.locked;

    if config.is_public_test_key() {
        eprintln!(
            "ledger-app: WARNING: using the PUBLIC test mnemonic \"{TEST_MNEMONIC}\".\n\
             ledger-app: WARNING: anyone can sign with these keys; never send funds or real \
             identities to them.\n\
             ledger-app: set {MNEMONIC_ENV} or --mnemonic-file to use your own mnemonic."
        );
    }
    eprintln!(
        "ledger-app: software device: keys are in process memory, NOT protected by hardware."
    );

    let device = Arc::new(SoftwareDevice::new(config)?);
    device.set_screen_listener(Some(Arc::new(|screen: &ledger_app::Screen| {
        eprintln!("ledger-app: [screen] {screen}");
    })));

    let listener = TcpListener::bind(&args.listen).map_err(|source| Error::Tcp {
        context: format!("cannot listen on {}", args.listen),
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| Error::Tcp {
        context: "cannot read the bound address".into(),
        source,
    })?;

    let shutdown = Arc::new(AtomicBool::new(false));
    // On a terminal, stdin is the same device `--policy ask` reads its y/n from: a control
    // thread would steal the answers.
    if !std::io::stdin().is_terminal() {
        spawn_control(Arc::clone(&device), Arc::clone(&shutdown));
    }

    eprintln!(
        "ledger-app: Ethereum app {} listening on {addr} (policy {:?}{})",
        args.app_version,
        args.policy,
        if args.locked { ", locked" } else { "" }
    );
    // Tests wait for this line: the address alone, flushed, once the socket is bound.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{addr}");
    let _ = stdout.flush();
    drop(stdout);

    ledger_app::tcp::serve(listener, device, shutdown)
}

/// The mnemonic from `--mnemonic-file`, else from the environment, else `None` (test key).
fn load_mnemonic(file: Option<&Path>) -> Result<Option<Zeroizing<String>>, Error> {
    if let Some(path) = file {
        let file_error = |source| Error::MnemonicFile {
            path: path.to_owned(),
            source,
        };
        let len = std::fs::metadata(path).map_err(file_error)?.len();
        if len > MAX_MNEMONIC_FILE {
            return Err(file_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{len} bytes is too large for a mnemonic file"),
            )));
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(file_error)?);
        return Ok(Some(normalize(&text)));
    }
    match std::env::var(MNEMONIC_ENV) {
        Ok(value) => {
            let value = Zeroizing::new(value);
            Ok(Some(normalize(&value)).filter(|words| !words.is_empty()))
        }
        Err(_) => Ok(None),
    }
}

/// Joins the words with single spaces (files end with newlines; people paste extra spaces).
fn normalize(text: &str) -> Zeroizing<String> {
    Zeroizing::new(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Reads control lines from stdin on a background thread.
fn spawn_control(device: Arc<SoftwareDevice>, shutdown: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match line.trim() {
                "" => {}
                "lock" => device.set_locked(true),
                "unlock" => device.set_locked(false),
                "approve" => device.set_approval(ApprovalPolicy::Approve),
                "reject" => device.set_approval(ApprovalPolicy::Reject),
                "ask" => device.set_approval(ApprovalPolicy::ask_on_tty()),
                "dashboard" => device.set_running_app(RunningApp::Dashboard),
                "ethereum" => device.set_running_app(RunningApp::Ethereum),
                "quit" => {
                    shutdown.store(true, Ordering::SeqCst);
                    break;
                }
                other => {
                    eprintln!(
                        "ledger-app: unknown control command {other:?} (lock, unlock, approve, \
                         reject, ask, dashboard, ethereum, quit)"
                    );
                    continue;
                }
            }
            eprintln!("ledger-app: {}", line.trim());
        }
    });
}
