//! Command-line arguments (clap derive). Every flag a CI pipeline would set also reads
//! an `XMTP_LEDGER_*` environment variable.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Args, Parser, Subcommand, ValueEnum};

/// The exit statuses, each with the string codes of the `--json` error document that
/// share it (`error::ERROR_CODES` is the same table as data, and a test holds the two
/// together).
pub const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   usage error: bad flag, argument, variable or input file; v2 publish to a public network; the audit log cannot be written [usage, io, v2_retired, audit_log]
  2   device error [device, device_timeout, device_disconnected, device_bad_answer, path_refused]
  3   network error [unreachable, network_timeout, node_rejected, network, local_node]
  4   verification failed: no valid identity, bad signature [verification_failed, no_identity]
  5   decryption failed: wrong account or tampered bundle [decryption_failed]
  6   the account already has an identity (--force replaces it) or an inbox [exists]
  20  rejected on the device [rejected]
  21  device locked [locked]
  22  Ethereum app not open on the device [wrong_app]
  23  no device found, or no permission to open it [no_device, permission_denied]
  24  refused by the signing policy (--signing-policy) before the device was asked [policy_refused]
  130 cancelled (Ctrl-C) [cancelled]

In brackets: the \"code\" of the error document that --json prints on stdout:
  {\"error\":{\"code\":\"…\",\"exit_code\":N,\"message\":\"…\",\"hint\":\"…\"|null}}";

/// Bind an XMTP v2 messaging identity to an Ethereum account on a Ledger hardware wallet.
#[derive(Debug, Parser)]
#[command(name = "xmtp-ledger", version, about, long_about = None, after_long_help = EXIT_CODES, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags shared by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Wallet device: `hid` (first USB Ledger), `hid:SERIAL`, `tcp://HOST:PORT`
    /// (Speculos or `xmtp-ledger emulator`), or `emulator` (in-process software device;
    /// keys NOT protected by hardware).
    #[arg(long, global = true, env = "XMTP_LEDGER_DEVICE", default_value = "hid")]
    pub device: String,

    /// XMTP node: `local` (the node on this machine, started in-process on
    /// `XMTP_LEDGER_NODE_DB` if none listens), `production` or `dev` (the public XMTP
    /// networks, grpc.production.xmtp.network / grpc.dev.xmtp.network over TLS: XMTP v3
    /// only, so v2 commands that publish refuse them), or a URL such as
    /// `http://127.0.0.1:5556` or `https://node.example`.
    #[arg(
        long,
        global = true,
        env = "XMTP_LEDGER_NETWORK",
        default_value = "local"
    )]
    pub network: String,

    #[command(flatten)]
    pub account: AccountArgs,

    /// File holding the software device's BIP-39 mnemonic (with `--device emulator`).
    /// Also read from `XMTP_LEDGER_MNEMONIC` (the words themselves); its BIP-39
    /// passphrase only from `XMTP_LEDGER_PASSPHRASE`.
    #[arg(
        long,
        global = true,
        env = "XMTP_LEDGER_MNEMONIC_FILE",
        value_name = "FILE"
    )]
    pub mnemonic_file: Option<PathBuf>,

    /// Machine-readable JSON on stdout; no prompts or spinners.
    #[arg(long, global = true, env = "XMTP_LEDGER_JSON", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub json: bool,

    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, env = "XMTP_LEDGER_VERBOSE", action = ArgAction::Count)]
    pub verbose: u8,

    /// With -v, also log the HTTP/2, gRPC and TLS libraries (every frame at -vvv):
    /// for debugging a node connection; by default -v shows this tool's own logs only.
    #[arg(long, global = true, env = "XMTP_LEDGER_TRACE_NETWORK", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub trace_network: bool,

    /// Only errors on stderr.
    #[arg(short, long, global = true, env = "XMTP_LEDGER_QUIET", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub quiet: bool,

    /// Seconds to wait for the node and for device I/O that needs no user action, 1 to
    /// 86400. Waiting for a person to approve on the device is not limited by this.
    #[arg(
        long,
        global = true,
        env = "XMTP_LEDGER_TIMEOUT",
        default_value_t = 30,
        value_name = "SECONDS",
        // A deadline a day away is as good as none; much larger values overflow the
        // clock arithmetic of the timers, and 0 would fail every call at once.
        value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECONDS)
    )]
    pub timeout: u64,

    /// Append a record of every device signature (and one per run) to FILE, a
    /// hash-chained JSON-lines log (`audit verify` checks it). On by default for a real
    /// device (hid, tcp://), at `audit.jsonl` in the data directory:
    /// `XMTP_LEDGER_DATA_DIR`, else `$XDG_DATA_HOME/xmtp-ledger`, else
    /// `~/.local/share/xmtp-ledger`. With `--device emulator` only when given.
    #[arg(
        long,
        global = true,
        env = "XMTP_LEDGER_AUDIT_LOG",
        value_name = "FILE"
    )]
    pub audit_log: Option<PathBuf>,

    /// Write no audit log (overrides --audit-log and XMTP_LEDGER_AUDIT_LOG).
    #[arg(long, global = true, env = "XMTP_LEDGER_NO_AUDIT_LOG", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub no_audit_log: bool,

    /// Signing policy (TOML): the accounts and texts that may be signed, the most sign
    /// requests per run, and whether an account must first be shown with `address
    /// --confirm`. A request outside it is refused before the device is asked (exit 24).
    /// See README's Custody section. (Not `--policy`: that is `emulator`'s approval
    /// behaviour.)
    #[arg(long, global = true, env = "XMTP_LEDGER_POLICY", value_name = "FILE")]
    pub signing_policy: Option<PathBuf>,
}

/// The longest `--timeout`: one day.
pub const MAX_TIMEOUT_SECONDS: u64 = 86_400;

/// Where `node` listens: gRPC always, the REST gateway (HTTP/JSON, for the reference
/// JavaScript SDK) only when asked.
#[derive(Debug, Args)]
pub struct NodeListen {
    /// Address to listen on (gRPC).
    #[arg(
        long,
        env = "XMTP_LEDGER_NODE_LISTEN",
        default_value = "127.0.0.1:5556"
    )]
    pub listen: String,
    /// Also serve the REST gateway (`POST /message/v1/…`, JSON) on this address, e.g.
    /// 127.0.0.1:5555. Off by default.
    #[arg(long, env = "XMTP_LEDGER_NODE_HTTP_LISTEN", value_name = "ADDR")]
    pub http_listen: Option<String>,
}

/// `emulator`'s flags.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "XMTP_LEDGER_EMULATOR_LISTEN",
        default_value = "127.0.0.1:9999"
    )]
    pub listen: String,
    /// What the emulated user does at each review.
    #[arg(long, env = "XMTP_LEDGER_EMULATOR_POLICY", value_enum, default_value_t = EmulatorPolicy::Approve)]
    pub policy: EmulatorPolicy,
    /// Reject reviews whose message contains TEXT and approve the others
    /// (repeatable), e.g. `--reject-containing "XMTP : Enable Identity"`.
    #[arg(long, value_name = "TEXT")]
    pub reject_containing: Vec<String>,
    /// What the emulated device is doing, to exercise error handling.
    #[arg(long, env = "XMTP_LEDGER_EMULATOR_STATE", value_enum, default_value_t = EmulatorState::Ready)]
    pub state: EmulatorState,
    /// The Ledger model it stands for, whose screens it shows (the `-v` screen log, `--policy
    /// ask`). The app's answers are the same on each; only the screens could differ. A
    /// `tcp://` link carries no model, so a host previews the Nano layout for it.
    #[arg(long, env = "XMTP_LEDGER_EMULATOR_MODEL", value_enum, default_value_t = EmulatorModel::Nanosp)]
    pub model: EmulatorModel,
    /// Once listening, write FILE (atomically): JSON `{"listen","device","model","pid"}`.
    /// Removed again when the emulator stops on SIGINT/SIGTERM.
    #[arg(long, env = "XMTP_LEDGER_EMULATOR_READY_FILE", value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
    /// Listen on a non-loopback address even with the public test mnemonic (anyone
    /// who reaches the port can sign as its accounts). Refused without this.
    #[arg(long, env = "XMTP_LEDGER_EMULATOR_ALLOW_REMOTE_TEST_MNEMONIC", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub allow_remote_test_mnemonic: bool,
}

/// Which account of the device: one of `--account`, `--hd-path`, `--legacy` (see
/// [`resolve_overrides`] for how typed flags and variables combine).
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// Ledger Live account index: m/44'/60'/N'/0/0 (the default is account 0).
    #[arg(long, global = true, env = "XMTP_LEDGER_ACCOUNT", value_name = "N")]
    pub account: Option<u32>,

    /// Full BIP-32 path, e.g. m/44'/60'/5'/0/0 (hardened with ' or h).
    #[arg(long, global = true, env = "XMTP_LEDGER_HD_PATH", value_name = "PATH")]
    pub hd_path: Option<String>,

    /// Legacy (Ledger Chrome app / MEW) index: m/44'/60'/0'/N (`provision` also takes
    /// ranges and lists: 0..9, 3,7,12).
    #[arg(long, global = true, env = "XMTP_LEDGER_LEGACY", value_name = "N")]
    pub legacy: Option<String>,
}

/// `provision`'s flags. The accounts come from exactly one of `--accounts`, the global
/// `--legacy` (which takes ranges and lists here) or `--hd-paths-file`.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// Ledger Live account indexes (m/44'/60'/N'/0/0): ranges (inclusive) and lists,
    /// e.g. 0..49 or 3,7,12.
    #[arg(long, value_name = "SPEC")]
    pub accounts: Option<String>,
    /// Derivation paths from FILE, one per line (`#` comments allowed).
    #[arg(long, value_name = "FILE")]
    pub hd_paths_file: Option<PathBuf>,
    /// The manifest (JSON), written atomically after every account; a run given an
    /// existing one resumes it, skipping every account it records as done.
    #[arg(long, value_name = "FILE", env = "XMTP_LEDGER_MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// Stay offline: write each account's identity into DIR/account-NNNNN (as `init --out`
    /// does) and the manifest to DIR/manifest.json; `publish DIR` publishes them later.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace the identity of these accounts (indexes as in --accounts or --legacy;
    /// paths with --hd-paths-file). No other account's identity is ever replaced, and an
    /// account the manifest already records as done is skipped, so a resumed run never
    /// replaces an identity twice (use a new manifest to replace it again).
    #[arg(long, value_name = "SPEC")]
    pub force: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List Ledger devices on USB: model, serial, open app, locked or not.
    Devices,
    /// Print the account's address (with --json, also its path and public key).
    Address {
        /// Also show the address on the device so you can check it there.
        #[arg(long)]
        confirm: bool,
    },
    /// Create the account's XMTP identity, or retrieve it if the node has one: the
    /// node decides (2 device signatures to create, 1 to retrieve or complete; one more
    /// with --keystore). Never replaces an identity: that is `init --force`.
    Connect {
        /// Also save the keys to FILE (0600), encrypted under a fresh device signature.
        #[arg(long, value_name = "FILE")]
        keystore: Option<PathBuf>,
        /// Replace an existing --keystore FILE.
        #[arg(long, requires = "keystore")]
        force: bool,
    },
    /// Create an XMTP identity for the account and publish it (2 device signatures).
    Init {
        /// Replace an identity already on the node.
        #[arg(long, env = "XMTP_LEDGER_FORCE", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
        force: bool,
        /// Write what would be published to DIR instead of publishing it
        /// (publish it later with `xmtp-ledger publish DIR`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Retrieve and decrypt the account's identity (1 device signature).
    Unlock {
        /// Decrypt this encrypted bundle (hex, base64 or raw) instead of fetching it
        /// (offline: nothing is fetched or published).
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
        /// With --from-file: also look the account up on the node (read only) and warn if
        /// the identity in FILE is not the newest one there (an old backup, or a re-key).
        #[arg(long, requires = "from_file")]
        check_node: bool,
        /// Save the keys to FILE (0600), encrypted under a fresh device signature.
        #[arg(long, value_name = "FILE")]
        keystore: Option<PathBuf>,
        /// Replace an existing --keystore FILE.
        #[arg(long, requires = "keystore")]
        force: bool,
    },
    /// Give the identity a new pre-key, keeping every older private one so earlier
    /// messages stay readable (2 device signatures: open the stored keys, seal them
    /// again). Re-run after an interruption: it completes the rotation (1 signature).
    RotatePrekey,
    /// Create the XMTP identity of many accounts in one device session (custody): each
    /// account is looked up first and left alone if it has one, completed if a run left it
    /// half published, created otherwise; a manifest records every account as it ends,
    /// and running the same command again resumes. Exit 0 only if every account ended
    /// created, existing or completed.
    Provision(ProvisionArgs),
    /// Without the device: what the node holds for every account of a provision manifest
    /// (or a list of addresses), as a table (one JSON line each with --json): state
    /// (none, valid, invalid, half-published), fingerprint, when published, and whether
    /// the identity differs from the one the manifest recorded. Exit 4 unless every
    /// account is valid and unchanged.
    Report {
        /// A manifest `provision` wrote.
        #[arg(
            long,
            value_name = "FILE",
            conflicts_with = "addresses",
            required_unless_present = "addresses"
        )]
        manifest: Option<PathBuf>,
        /// Addresses, one per line (`#` comments allowed), or `-` for stdin.
        #[arg(long, value_name = "FILE")]
        addresses: Option<PathBuf>,
    },
    /// Check that each ADDRESS has a valid XMTP identity on the node (exit 4 unless every
    /// one does). One address prints one document; several, or `-`, one line each (one
    /// JSON line per address with --json, then an error line if any has none).
    Verify {
        /// Wallet addresses (0x…); `-` reads them from stdin, one per line (blank lines and
        /// lines starting with `#` are skipped).
        #[arg(required = true, value_name = "ADDRESS")]
        addresses: Vec<String>,
        /// List every identity each address ever published, newest first, with its
        /// pre-keys and when its contact bundles were published (the whole contact topic
        /// is read, up to 10,000 envelopes).
        #[arg(long)]
        history: bool,
    },
    /// Decode and check a contact bundle, signed key, (encrypted) private key bundle or
    /// auth token given as hex, base64 or raw bytes; or this tool's own files: an
    /// `identity.json`, a keystore, or the directory `init --out` wrote.
    Inspect {
        /// The file or directory to read, or `-` for stdin.
        input: PathBuf,
        /// Fail (exit 4) unless what is inspected names this wallet.
        #[arg(long, value_name = "ADDRESS")]
        expect_address: Option<String>,
    },
    /// The account's XMTP v3 inbox: its id, its verified state, creating it, revoking
    /// apps or addresses, changing its recovery address, and signing for a libxmtp app.
    Inbox {
        #[command(subcommand)]
        command: InboxCommand,
    },
    /// Publish what `init --out DIR` wrote.
    Publish {
        /// The directory written by `init --out`.
        dir: PathBuf,
        /// Replace an identity already on the node.
        #[arg(long, env = "XMTP_LEDGER_FORCE", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
        force: bool,
    },
    /// Run an XMTP node on an embedded SQLite file: v2's MessageApi (gRPC, and
    /// optionally the REST gateway) and, on the same gRPC port, v3's IdentityApi and the
    /// key-package calls of MlsApi.
    ///
    /// v3: identity updates are checked against the inbox's whole log (every rule, every
    /// signature) before they are stored, and refused INVALID_ARGUMENT naming the rule;
    /// an inbox log holds at most 256 updates (then FAILED_PRECONDITION "inbox log is
    /// full"); addresses map to inboxes as creates, adds and revokes say. MLS key
    /// packages are kept as opaque bytes under their installation key, not validated
    /// (the clients that fetch them do). MLS messaging (groups, welcomes, commits) and
    /// smart-contract wallet signatures are not served: UNIMPLEMENTED.
    #[command(after_long_help = NODE_BOUNDS)]
    Node {
        #[command(flatten)]
        listen: NodeListen,
        /// SQLite database file (default: under the user's data directory).
        #[arg(long, env = "XMTP_LEDGER_NODE_DB", value_name = "FILE")]
        db: Option<PathBuf>,
        /// Once listening, write FILE (atomically): JSON `{"grpc","http","url","pid"}`.
        /// Removed again when the node stops on SIGINT/SIGTERM.
        #[arg(long, env = "XMTP_LEDGER_NODE_READY_FILE", value_name = "FILE")]
        ready_file: Option<PathBuf>,
    },
    /// Run the software Ledger (Ethereum app) on a TCP port, Speculos-compatible.
    /// Keys are NOT protected by hardware.
    Emulator(EmulatorArgs),
    /// Wait until the device and the node answer, for scripts that start them in the
    /// background. Waits for what --device and --network name (on the command line or
    /// in XMTP_LEDGER_DEVICE / XMTP_LEDGER_NETWORK); if neither is named, for both
    /// defaults. --timeout bounds the whole wait.
    #[command(after_long_help = WAIT_HELP)]
    Wait,
    /// Check what usually stops the tool on this machine (udev rules, hidraw permissions,
    /// the device, the node, the clock) and say how to fix it. Exit 0 if no check failed,
    /// else 4.
    #[command(after_long_help = DOCTOR_HELP)]
    Doctor,
    /// Linux udev rules that let your user open a Ledger over USB.
    Udev {
        #[command(subcommand)]
        action: UdevAction,
    },
    /// The audit log of device signatures: check its chain, or seal it on the device.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page, or write every page (one per subcommand) to DIR.
    Man {
        /// Write `xmtp-ledger.1` and `xmtp-ledger-COMMAND.1` here instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `inbox …`.
#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Print the inbox id of the device account (or --address) for a nonce; offline.
    Id {
        /// The nonce the id is derived with. libxmtp's mobile SDKs use 0, its Node and
        /// browser SDKs 1: an app looks up an existing inbox before it uses either.
        #[arg(long, env = "XMTP_LEDGER_INBOX_NONCE", default_value_t = 0)]
        nonce: u64,
        /// This address instead of the device account's (no device needed).
        #[arg(long, value_name = "ADDRESS")]
        address: Option<String>,
    },
    /// Fetch an inbox's whole log from the node, verify every update, and show its
    /// recovery address, addresses and installations, and how close it is to the limits
    /// (10 installations, 256 updates). Exit 4 when there is no inbox or the log does not
    /// verify.
    Status {
        /// The address whose inbox to show (default: the device account's).
        #[arg(conflicts_with = "inbox_id")]
        address: Option<String>,
        /// The inbox id instead of an address.
        #[arg(long, value_name = "ID")]
        inbox_id: Option<String>,
    },
    /// Create the device account's inbox (1 approval). Refused (exit 6) when the account
    /// already belongs to an inbox.
    Create {
        /// The nonce the inbox id is derived with (see `inbox id --help`).
        #[arg(long, env = "XMTP_LEDGER_INBOX_NONCE", default_value_t = 0)]
        nonce: u64,
        /// Create it with the account's XMTP v2 identity instead (1 approval, to open the
        /// v2 keys on the node): nonce 0 only, and once, ever, per wallet.
        #[arg(long)]
        from_v2: bool,
    },
    /// Revoke installations or an address, signed by the device account as the inbox's
    /// recovery address (1 approval for the whole batch).
    Revoke(RevokeArgs),
    /// Make ADDRESS the inbox's recovery address, signed by the current one (1 approval).
    ChangeRecovery {
        /// The new recovery address.
        address: String,
        /// The inbox (default: the device account's).
        #[arg(long, value_name = "ID")]
        inbox_id: Option<String>,
    },
    /// Sign an "XMTP : Authenticate to inbox" text that a libxmtp app produced: it is
    /// parsed strictly (anything else is refused, exit 1), its actions shown, signed on
    /// the device, verified, and printed as 0x… alone on stdout.
    Sign {
        /// The text, or - for stdin.
        #[arg(long, value_name = "FILE", default_value = "-")]
        text_file: PathBuf,
    },
}

/// `inbox revoke`'s targets: exactly one of `--installation`, `--all-installations`,
/// `--address`.
#[derive(Debug, Args)]
#[group(skip)]
#[command(group = clap::ArgGroup::new("targets").required(true).multiple(false))]
pub struct RevokeArgs {
    /// An installation id to revoke (64 hex digits, as `inbox status` shows; repeatable).
    #[arg(long, value_name = "ID", group = "targets")]
    pub installation: Vec<String>,
    /// Revoke every installation (but those given with --keep).
    #[arg(long, group = "targets")]
    pub all_installations: bool,
    /// With --all-installations: an installation to keep (repeatable).
    #[arg(long, value_name = "ID", requires = "all_installations")]
    pub keep: Vec<String>,
    /// Unlink this address from the inbox; the installations it added go with it.
    #[arg(long, value_name = "ADDRESS", group = "targets")]
    pub address: Option<String>,
    /// The inbox (default: the device account's; a recovery address need not be a member).
    #[arg(long, value_name = "ID")]
    pub inbox_id: Option<String>,
}

/// `audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check an audit log: every line must name the SHA-256 of the line before it, and
    /// every seal must be its account's signature of the chain head it names. Exit 0 if
    /// intact, else 4 naming the first line that breaks it and why.
    Verify {
        /// The log.
        file: PathBuf,
    },
    /// Append the chain head (the SHA-256 of the last line, and the line count) signed on
    /// the device (1 approval), so the log can be shown complete up to that line.
    Seal {
        /// The log (default: the one --audit-log names, or the data directory's).
        file: Option<PathBuf>,
    },
}

/// `udev print` / `udev install`.
#[derive(Debug, Subcommand)]
pub enum UdevAction {
    /// Print the rules.
    Print,
    /// Install the rules into /etc/udev/rules.d and reload udev (needs root).
    Install {
        /// Directory to install into.
        #[arg(long, default_value = "/etc/udev/rules.d")]
        dir: PathBuf,
    },
}

/// The emulated device's state.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EmulatorState {
    /// Unlocked, Ethereum app open.
    Ready,
    /// Locked: every command answers 0x5515.
    Locked,
    /// On the dashboard: no app open.
    Dashboard,
    /// Another app (Bitcoin) open.
    OtherApp,
}

/// `emulator --model`: the Ledger model the software device stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmulatorModel {
    /// Nano S Plus: every screen as recorded from the official Ethereum app 1.22.0.
    Nanosp,
    /// Nano X: the Nano S Plus screens. Not recorded on a Nano X: the SDK builds both
    /// with one 128x64 screen, font and layout code (named in ledger-app's `model.rs`).
    Nanox,
    /// Refused: a touch screen whose review pages are not modelled (no recording).
    Stax,
    /// Refused: a touch screen whose review pages are not modelled (no recording).
    Flex,
}

impl EmulatorModel {
    /// The name `--model` takes (and Speculos's `--model`).
    pub fn id(self) -> &'static str {
        match self {
            Self::Nanosp => "nanosp",
            Self::Nanox => "nanox",
            Self::Stax => "stax",
            Self::Flex => "flex",
        }
    }
}

/// The emulated user's answer to reviews.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EmulatorPolicy {
    /// Approve everything.
    Approve,
    /// Reject everything.
    Reject,
    /// Ask on this terminal.
    Ask,
}

/// What `wait` waits for and how it ends, for `wait --help`.
pub const WAIT_HELP: &str = "\
Ready means:
  device  tcp://HOST:PORT or hid[:SERIAL]: the Ethereum app answers GET APP
          CONFIGURATION (a locked device, the dashboard or another app is not ready);
          emulator: at once (in-process, nothing to wait for)
  node    a URL: a MessageApi Query answers; local: a node answers on
          127.0.0.1:5556 (wait never starts one in-process)
Each is probed every 100 ms until it is ready or --timeout has passed. Nothing is
signed or published, and a real device is never replaced by the software one.

Exit status: 0 once everything waited for is ready; otherwise the code of the last
reason it was not: the device's (2, 21 locked, 22 app not open, 23 not found or
unreachable) if the device was not ready, else 3 for the node.";

/// What `doctor` checks, for `doctor --help`.
pub const DOCTOR_HELP: &str = "\
Checks, each ok, warn, fail or skip, with what was found and the fix:
  udev-rules     a rules file in /etc/udev/rules.d, /run/udev/rules.d or
                 /{usr/,usr/local/,}lib/udev/rules.d grants access to vendor 2c97
  hidraw-access  each Ledger's /dev/hidraw* node opens read-write (permission
                 denied: the udev rules; busy: another program holds it)
  device         the Ledger --device picks is there, unlocked, the Ethereum app open
                 (with --device tcp://HOST:PORT: that device; the USB checks are skipped)
  node           the --network node answers a query (local: a node on
                 127.0.0.1:5556, or none, and commands start one; doctor never does)
  clock          this machine's clock against the Date header of the node's answer,
                 with its uncertainty (skipped when it cannot be measured)
Nothing is signed or published. Exit status: 0 if no check failed, else 4;
--json prints {\"checks\":[{\"name\",\"status\",\"message\",\"fix\"}],\"ok\"}.";

/// What the node bounds, for `node --help` (the values of `NodeConfig::new`'s defaults;
/// README's Security section has the same list).
pub const NODE_BOUNDS: &str = "\
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
  auth header           8 KiB, one value; tokens at most 1 hour old
  v3 identity           256 updates per inbox log, 64 KiB per update; 100 inboxes per
                        GetIdentityUpdates, 1000 identifiers (256 bytes each) per
                        GetInboxIds; 20 MiB per answer (RESOURCE_EXHAUSTED beyond)
  v3 key packages       64 KiB each; 2500 installation keys per FetchKeyPackages";

/// The global flags each subcommand uses, beyond `--json`, `-v` and `-q` (which all
/// take): the others stay accepted everywhere (a CI job exports them once for every
/// step) but are left out of that subcommand's help.
const USES: &[(&str, &[&str])] = &[
    ("devices", &["timeout"]),
    ("address", &[DEVICE, ACCOUNT, "timeout"]),
    ("connect", &[DEVICE, ACCOUNT, NETWORK, "timeout"]),
    ("init", &[DEVICE, ACCOUNT, NETWORK, "timeout"]),
    ("unlock", &[DEVICE, ACCOUNT, NETWORK, "timeout"]),
    ("rotate-prekey", &[DEVICE, ACCOUNT, NETWORK, "timeout"]),
    ("publish", &[DEVICE, ACCOUNT, NETWORK, "timeout"]),
    ("provision", &[DEVICE, ACCOUNT, NETWORK, "timeout"]),
    ("report", &[NETWORK, "timeout"]),
    ("verify", &[NETWORK, "timeout"]),
    ("inbox", &[DEVICE, ACCOUNT, NETWORK, "timeout"]),
    ("inspect", &[]),
    ("node", &[]),
    ("emulator", &["mnemonic_file"]),
    ("wait", &[DEVICE, NETWORK, "timeout"]),
    ("doctor", &[DEVICE, NETWORK, "timeout"]),
    ("audit", &[DEVICE, ACCOUNT, "timeout"]),
    ("udev", &[]),
    ("completions", &[]),
    ("man", &[]),
];
const DEVICE: &str = "device";
const ACCOUNT: &str = "account";
const NETWORK: &str = "network";

/// Global flags by what they are about: a subcommand that uses one of a group shows all.
fn expand(uses: &[&str]) -> Vec<&'static str> {
    let mut ids = Vec::new();
    for group in uses {
        match *group {
            DEVICE => ids.extend([
                "device",
                "mnemonic_file",
                "audit_log",
                "no_audit_log",
                "signing_policy",
            ]),
            ACCOUNT => ids.extend(["account", "hd_path", "legacy"]),
            NETWORK => ids.extend(["network", "trace_network"]),
            "timeout" => ids.push("timeout"),
            "mnemonic_file" => ids.push("mnemonic_file"),
            _ => {}
        }
    }
    ids
}

/// The help of subcommand `name` (`long` for `--help`, short for `-h`), showing only the
/// global flags it uses (see [`USES`]); `None` for a name that is not a subcommand.
///
/// Only for display: the flags stay defined (and accepted) everywhere, so the command that
/// parses is [`Cli`]'s own, untouched.
pub fn focused_help(name: &str, long: bool) -> Option<String> {
    use clap::CommandFactory;
    let mut command = Cli::command();
    // Propagates the global flags into each subcommand, so they can be hidden there.
    command.build();
    const SCOPED: [&str; 11] = [
        "device",
        "mnemonic_file",
        "audit_log",
        "no_audit_log",
        "signing_policy",
        "account",
        "hd_path",
        "legacy",
        "network",
        "trace_network",
        "timeout",
    ];
    let uses = USES
        .iter()
        .find(|(sub, _)| *sub == name)
        .map(|(_, uses)| *uses)?;
    let shown = expand(uses);
    let sub = command.find_subcommand_mut(name)?;
    let mut focused = std::mem::take(sub);
    for id in SCOPED.iter().filter(|id| !shown.contains(id)) {
        focused = focused.mut_arg(*id, |arg| arg.hide(true));
    }
    let help = if long {
        focused.render_long_help()
    } else {
        focused.render_help()
    };
    // Styled as clap styles its own help: only for a terminal.
    Some(if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        help.ansi().to_string()
    } else {
        help.to_string()
    })
}

/// Settings that exclude each other, by argument id and variable: one account choice, and
/// `-v` or `-q`.
const EXCLUSIVE: [&[(&str, &str)]; 2] = [
    &[
        ("account", "XMTP_LEDGER_ACCOUNT"),
        ("hd_path", "XMTP_LEDGER_HD_PATH"),
        ("legacy", "XMTP_LEDGER_LEGACY"),
    ],
    &[
        ("verbose", "XMTP_LEDGER_VERBOSE"),
        ("quiet", "XMTP_LEDGER_QUIET"),
    ],
];

/// Combines typed flags with `XMTP_LEDGER_*` variables: a flag typed on the command line
/// wins over a conflicting variable (an exported `XMTP_LEDGER_ACCOUNT` and a typed
/// `--hd-path` mean the typed path), so a CI job's defaults never block a one-off
/// override. Two conflicting flags typed together, or two conflicting variables with
/// no flag typed, are a usage error naming them.
pub fn resolve_overrides(cli: &mut Cli, matches: &ArgMatches) -> Result<(), String> {
    // Global flags are recorded at the level they were typed and copied to the others,
    // where a default or a variable may stand for them: typed anywhere means typed.
    let levels = levels(matches);
    let source = |id: &str| {
        let sources: Vec<ValueSource> = levels.iter().filter_map(|m| m.value_source(id)).collect();
        [ValueSource::CommandLine, ValueSource::EnvVariable]
            .into_iter()
            .find(|wanted| sources.contains(wanted))
    };
    for group in EXCLUSIVE {
        let typed: Vec<&str> = group
            .iter()
            .filter(|(id, _)| source(id) == Some(ValueSource::CommandLine))
            .map(|(id, _)| *id)
            .collect();
        let from_env: Vec<&(&str, &str)> = group
            .iter()
            .filter(|(id, _)| source(id) == Some(ValueSource::EnvVariable))
            .collect();
        match (typed.len(), from_env.len()) {
            (2.., _) => {
                return Err(format!(
                    "{} cannot be used together",
                    typed
                        .iter()
                        .map(|id| format!("--{}", id.replace('_', "-")))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
            }
            (1, _) => {
                for (id, _) in from_env {
                    clear(cli, id);
                }
            }
            (0, 2..) => {
                return Err(format!(
                    "{} are set together: they pick the same thing, unset all but one",
                    from_env
                        .iter()
                        .map(|(_, var)| *var)
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The matches of the command and of each subcommand down to the one that runs.
fn levels(matches: &ArgMatches) -> Vec<&ArgMatches> {
    let mut levels = vec![matches];
    while let Some((_, sub)) = levels[levels.len() - 1].subcommand() {
        levels.push(sub);
    }
    levels
}

/// Forgets a setting that came from a variable, because a typed flag overrides it.
fn clear(cli: &mut Cli, id: &str) {
    let global = &mut cli.global;
    match id {
        "account" => global.account.account = None,
        "hd_path" => global.account.hd_path = None,
        "legacy" => global.account.legacy = None,
        "verbose" => global.verbose = 0,
        "quiet" => global.quiet = false,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    /// Every subcommand says which global flags its help shows.
    #[test]
    fn every_subcommand_has_its_help_flags() {
        use clap::CommandFactory;
        for sub in super::Cli::command().get_subcommands() {
            assert!(
                super::USES.iter().any(|(name, _)| *name == sub.get_name()),
                "{} is not in USES",
                sub.get_name()
            );
        }
    }

    use std::time::Duration;

    use xmtp_ledger::node::{ConnectionLimits, Limits, NodeConfig};

    /// `NODE_BOUNDS` quotes the defaults: a changed default must change the help too.
    #[test]
    fn the_node_help_quotes_the_defaults() {
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
        assert_eq!(limits.max_v3_response_bytes, 20 << 20);
        assert_eq!(
            (
                xmtp_ledger::wire::MAX_INBOX_UPDATES,
                xmtp_ledger::wire::MAX_IDENTITY_UPDATE_BYTES,
                xmtp_ledger::wire::MAX_IDENTITY_UPDATE_REQUESTS,
                xmtp_ledger::wire::MAX_INBOX_ID_REQUESTS,
                xmtp_ledger::wire::MAX_IDENTIFIER_LEN,
                xmtp_ledger::wire::MAX_KEY_PACKAGE_BYTES,
                xmtp_ledger::wire::MAX_KEY_PACKAGE_FETCH,
            ),
            (256, 64 << 10, 100, 1000, 256, 64 << 10, 2500)
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
            "256 updates per inbox log",
            "2500 installation keys",
        ] {
            assert!(super::NODE_BOUNDS.contains(quoted), "{quoted}");
        }
    }
}
