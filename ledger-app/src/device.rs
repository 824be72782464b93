//! The software device: configuration, runtime settings, faults, and the APDU dispatcher.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::apdu::{
    CLA_ETH, CLA_OS, Command, INS_GET_APP_CONFIGURATION, INS_GET_PUBLIC_KEY, INS_OS_QUIT_APP,
    INS_SIGN_PERSONAL_MESSAGE,
};
use crate::cmd::personal_sign::{MessageInProgress, heap};
use crate::cmd::{AppExit, Reply, Ui, app_config, get_address, not_implemented, os, personal_sign};
use crate::io::{IoBuffer, Sender};
use crate::keys::Seed;
use crate::{ApprovalPolicy, DerivationPath, Error, Model, Screen, screen, sw};

/// The public Hardhat/Foundry test mnemonic: its keys are known to everyone.
pub const TEST_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Speculos' default seed mnemonic (also ragger's `SPECULOS_MNEMONIC`).
pub const SPECULOS_MNEMONIC: &str = "glory promote mansion idle axis finger extra february uncover one trip resource lawn turtle enact monster seven myth punch hobby comfort wild raise skin";

/// The name the Ethereum app reports to GET APP AND VERSION.
pub const ETHEREUM_APP_NAME: &str = "Ethereum";

/// An app version `MAJOR.MINOR.PATCH`, as GET APP CONFIGURATION reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppVersion {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Patch version.
    pub patch: u8,
}

impl AppVersion {
    /// The version this device reports unless configured otherwise: 1.22.0, the release the
    /// observed answers in the design notes come from.
    pub const DEFAULT: Self = Self::new(1, 22, 0);

    /// A version from its parts.
    pub const fn new(major: u8, minor: u8, patch: u8) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }
}

impl Default for AppVersion {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for AppVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for AppVersion {
    type Err = Error;

    /// Parses `1.22.0`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidVersion(s.to_owned());
        let mut parts = s
            .trim()
            .split('.')
            .map(|p| p.parse::<u8>().map_err(|_| invalid()));
        let version = Self::new(
            parts.next().ok_or_else(invalid)??,
            parts.next().ok_or_else(invalid)??,
            parts.next().ok_or_else(invalid)??,
        );
        if parts.next().is_some() {
            return Err(invalid());
        }
        Ok(version)
    }
}

/// What is running on the (unlocked) device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RunningApp {
    /// The Ethereum app is open: the normal case.
    #[default]
    Ethereum,
    /// No app open. `B0 01` answers `BOLOS`; Ethereum-class (`0xE0`) commands answer `0x6D02`
    /// (unknown APDU), any other class `0x6E01`.
    Dashboard,
    /// Another app is open. `B0 01` answers `name`/`version`; Ethereum-class commands answer
    /// `eth_sw` (`0x6E00` for an app with another class, `0x6D00` for one that shares class
    /// `0xE0`); other classes `0x6E00`.
    Other {
        /// The app's name, e.g. `Bitcoin`.
        name: String,
        /// The app's version, e.g. `2.2.3`.
        version: String,
        /// What it answers to `0xE0`-class commands.
        eth_sw: u16,
    },
}

impl RunningApp {
    /// Another app with its own class byte: Ethereum commands answer `0x6E00`.
    pub fn other(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::Other {
            name: name.into(),
            version: version.into(),
            eth_sw: sw::INVALID_CLA,
        }
    }
}

/// When the device drops the connection instead of answering (fault injection).
///
/// A dropped exchange is processed by the device (state changes, signatures are made and
/// remembered) but its answer is never delivered: the TCP server closes the socket, and
/// [`SoftwareDevice::exchange_checked`] returns [`NoAnswer::Dropped`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DropConnection {
    /// Always answer (the default).
    #[default]
    Never,
    /// Drop the answer to the next APDU, then go back to `Never`.
    NextApdu,
    /// Drop the next answer that carries a signature, then go back to `Never`.
    NextSignature,
    /// Drop every answer (an unplugged device).
    Always,
}

/// Fault injection settings, all off by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Wait this long before delivering each answer (after processing the APDU).
    pub delay: Option<Duration>,
    /// Drop the connection instead of answering.
    pub drop: DropConnection,
    /// Flip the last byte of every signature answered (s changes, v/r unchanged), so it no
    /// longer recovers to the device's address.
    pub corrupt_signature: bool,
    /// Answer each signature request with the signature the device made the time before (a
    /// stale reply); the first signature of the device's life is answered normally.
    pub stale_signature: bool,
}

/// Returned by [`SoftwareDevice::exchange_checked`] when an APDU gets no answer. A transport
/// should report a disconnected device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoAnswer {
    /// A [`DropConnection`] fault swallowed the answer.
    #[error("the device dropped the connection without answering")]
    Dropped,
    /// The Ethereum app exited without answering, as the official app does when the person
    /// approves a message it then cannot sign (a derivation path the OS refuses); the device
    /// shows its dashboard until the app is opened again: by hand on a real device, here with
    /// [`SoftwareDevice::set_running_app`], or at once with [`DeviceConfig::reopen_after_exit`]
    /// (as `xmtp-ledger emulator` runs it: the person who would open it again is emulated too).
    #[error(
        "the Ethereum app exited without answering (it cannot sign at a derivation path the \
         device refuses); the device shows its dashboard"
    )]
    AppExited,
    /// An empty APDU: the device waits for the next one without answering. Over TCP the
    /// connection stays open.
    #[error("the device does not answer an empty APDU")]
    EmptyApdu,
}

impl NoAnswer {
    /// Whether the link to the device ends with this exchange (a dropped connection, or the app
    /// gone as Speculos ends with it); an empty APDU leaves it open.
    pub fn closes_connection(self) -> bool {
        !matches!(self, Self::EmptyApdu)
    }
}

/// A function told about every screen the device shows, in order (the binary prints them).
pub type ScreenListener = dyn Fn(&Screen) + Send + Sync;

/// How to build a [`SoftwareDevice`]. The mnemonic and passphrase are zeroized on drop and
/// never shown by `Debug`.
#[derive(Clone)]
pub struct DeviceConfig {
    mnemonic: Zeroizing<String>,
    passphrase: Zeroizing<String>,
    /// Version reported by GET APP CONFIGURATION and GET APP AND VERSION (default 1.22.0).
    pub app_version: AppVersion,
    /// Whether the user enabled blind signing (flag `0x01` of the configuration; default off).
    pub blind_signing: bool,
    /// Heap available for personal messages (default 16 KiB; see
    /// [`crate::heap`]).
    pub heap_size: usize,
    /// How reviews are answered (default [`ApprovalPolicy::Approve`]).
    pub approval: ApprovalPolicy,
    /// Start locked (default false).
    pub locked: bool,
    /// What is open (default the Ethereum app).
    pub running_app: RunningApp,
    /// The Ledger model it stands for (default the Nano S Plus; both models show the same
    /// screens, see [`crate::model`]).
    pub model: Model,
    /// Whether the Ethereum app is opened again at once after it exits (default false: the
    /// device stays on its dashboard, as a real one does until someone opens the app; see
    /// [`NoAnswer::AppExited`]).
    pub reopen_after_exit: bool,
}

impl DeviceConfig {
    /// A configuration with `mnemonic` (English BIP-39, checked by [`SoftwareDevice::new`]), no
    /// passphrase and every other setting at its default.
    pub fn new(mnemonic: impl Into<String>) -> Self {
        Self {
            mnemonic: Zeroizing::new(mnemonic.into()),
            passphrase: Zeroizing::new(String::new()),
            app_version: AppVersion::DEFAULT,
            blind_signing: false,
            heap_size: heap::DEFAULT_HEAP_SIZE,
            approval: ApprovalPolicy::Approve,
            locked: false,
            running_app: RunningApp::Ethereum,
            model: Model::default(),
            reopen_after_exit: false,
        }
    }

    /// The public test mnemonic [`TEST_MNEMONIC`] (address `0xf39F…2266` at `m/44'/60'/0'/0/0`).
    pub fn test_mnemonic() -> Self {
        Self::new(TEST_MNEMONIC)
    }

    /// Sets the BIP-39 passphrase ("25th word").
    pub fn with_passphrase(mut self, passphrase: impl Into<String>) -> Self {
        self.passphrase = Zeroizing::new(passphrase.into());
        self
    }

    /// Whether this configuration uses the public [`TEST_MNEMONIC`] without a passphrase.
    pub fn is_public_test_key(&self) -> bool {
        self.passphrase.is_empty()
            && self
                .mnemonic
                .split_whitespace()
                .eq(TEST_MNEMONIC.split_whitespace())
    }
}

impl fmt::Debug for DeviceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceConfig")
            .field("mnemonic", &"<redacted>")
            .field("passphrase", &"<redacted>")
            .field("app_version", &self.app_version)
            .field("blind_signing", &self.blind_signing)
            .field("heap_size", &self.heap_size)
            .field("approval", &self.approval)
            .field("locked", &self.locked)
            .field("running_app", &self.running_app)
            .field("model", &self.model)
            .field("reopen_after_exit", &self.reopen_after_exit)
            .finish()
    }
}

/// Runtime settings, changeable while exchanges run.
struct Settings {
    app_version: AppVersion,
    blind_signing: bool,
    heap_size: usize,
    approval: ApprovalPolicy,
    locked: bool,
    running_app: RunningApp,
    reopen_after_exit: bool,
    faults: Faults,
    listener: Option<Arc<ScreenListener>>,
    /// Set when the device was locked, unlocked or switched apps: the next exchange starts
    /// from a clean app context. (A flag rather than clearing the session directly, so that
    /// these setters never wait for, or deadlock with, an exchange in progress.)
    reset_pending: bool,
    /// Set when an app was opened: the next exchange starts it afresh, with a zeroed I/O
    /// buffer (same reason for a flag).
    app_started: bool,
}

/// The settings the Ethereum app's commands read, copied for one exchange.
struct AppSettings {
    version: AppVersion,
    blind_signing: bool,
    heap_size: usize,
    approval: ApprovalPolicy,
}

/// The app context: what survives between APDUs.
#[derive(Default)]
struct Session {
    message: Option<MessageInProgress>,
    /// The Ethereum app's I/O buffer (see [`crate::io`]).
    io: IoBuffer,
    /// The last signature made, for the stale-signature fault.
    last_signature: Option<Zeroizing<[u8; 65]>>,
}

/// A software Ledger device running the Ethereum app (≥ 1.20 semantics).
///
/// Answers APDUs byte for byte like the real app (same data layouts, same status words for the
/// same mistakes, same RFC 6979 low-S signatures), shows its review screens in a queryable log,
/// lets a policy press the buttons, and injects faults on demand. All methods take `&self`:
/// share it with `Arc` between the test, the TCP server and the host's transport. Exchanges are
/// serialized, like on a real device.
pub struct SoftwareDevice {
    seed: Seed,
    model: Model,
    /// Held for the whole of an exchange: one command at a time.
    session: Mutex<Session>,
    settings: Mutex<Settings>,
    screens: Mutex<VecDeque<Screen>>,
    apdus: Mutex<VecDeque<Vec<u8>>>,
    apdu_count: AtomicU64,
}

/// Most screens kept in the screen log (the oldest are forgotten first), so that a long-running
/// emulator does not grow without bound.
pub const SCREEN_LOG_CAP: usize = 100_000;
/// Most APDUs kept in the APDU log (the count keeps counting).
pub const APDU_LOG_CAP: usize = 100_000;

fn push_capped<T>(log: &mut VecDeque<T>, item: T, cap: usize) {
    if log.len() >= cap {
        log.pop_front();
    }
    log.push_back(item);
}

impl fmt::Debug for SoftwareDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings = lock(&self.settings);
        f.debug_struct("SoftwareDevice")
            .field("seed", &self.seed)
            .field("model", &self.model)
            .field("app_version", &settings.app_version)
            .field("locked", &settings.locked)
            .field("running_app", &settings.running_app)
            .field("approval", &settings.approval)
            .field("faults", &settings.faults)
            .field("apdu_count", &self.apdu_count())
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, ignoring poisoning: a panicking approval callback in one test must not turn
/// every later call into a panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SoftwareDevice {
    /// Builds a device: derives the BIP-39 seed (2048 PBKDF2 rounds) from the configuration.
    ///
    /// Fails with [`Error::InvalidMnemonic`] for a phrase that is not valid English BIP-39.
    pub fn new(config: DeviceConfig) -> Result<Self, Error> {
        let seed = Seed::from_mnemonic(&config.mnemonic, &config.passphrase)?;
        Ok(Self {
            seed,
            model: config.model,
            session: Mutex::new(Session::default()),
            settings: Mutex::new(Settings {
                app_version: config.app_version,
                blind_signing: config.blind_signing,
                heap_size: config.heap_size,
                approval: config.approval.clone(),
                locked: config.locked,
                running_app: config.running_app.clone(),
                reopen_after_exit: config.reopen_after_exit,
                faults: Faults::default(),
                listener: None,
                reset_pending: false,
                app_started: false,
            }),
            screens: Mutex::new(VecDeque::new()),
            apdus: Mutex::new(VecDeque::new()),
            apdu_count: AtomicU64::new(0),
        })
    }

    /// A device with the public [`TEST_MNEMONIC`] and default settings.
    pub fn with_test_mnemonic() -> Self {
        match Self::new(DeviceConfig::test_mnemonic()) {
            Ok(device) => device,
            // The constant is a valid phrase (checked by the known-answer tests).
            Err(e) => unreachable!("the public test mnemonic is valid BIP-39: {e}"),
        }
    }

    /// Sends one APDU and returns the answer: data followed by the 2-byte big-endian status
    /// word. This is the device's only input.
    ///
    /// If the APDU gets no answer ([`NoAnswer`]) this returns an empty vector (no status word),
    /// which a transport must treat as a broken link; use [`Self::exchange_checked`] to see why.
    pub fn exchange(&self, apdu: &[u8]) -> Vec<u8> {
        self.exchange_checked(apdu).unwrap_or_default()
    }

    /// Like [`Self::exchange`], but says why an APDU got no answer.
    pub fn exchange_checked(&self, apdu: &[u8]) -> Result<Vec<u8>, NoAnswer> {
        let mut session = lock(&self.session);
        self.apdu_count.fetch_add(1, Ordering::SeqCst);
        push_capped(&mut lock(&self.apdus), apdu.to_vec(), APDU_LOG_CAP);

        // The SDK's I/O loop waits on until an APDU has at least one byte (`io_exchange` loops
        // while the received length is 0), and Speculos drops a zero-length frame: no answer,
        // and nothing changes. Recorded from app 1.22.0 (`ethapp-apdus.json`,
        // `empty_frame_then_config`).
        if apdu.is_empty() {
            return Err(NoAnswer::EmptyApdu);
        }
        let Ok(mut reply) = self.dispatch(apdu, &mut session) else {
            // The app is gone: the device is back on its dashboard, with nothing in progress.
            session.message = None;
            let reopen = {
                let mut settings = lock(&self.settings);
                settings.running_app = RunningApp::Dashboard;
                settings.reopen_after_exit
            };
            if reopen {
                // Someone opens it again from the dashboard: a fresh app, on its home screen.
                self.set_running_app(RunningApp::Ethereum);
                self.show(screen::home());
            }
            return Err(NoAnswer::AppExited);
        };

        let faults = lock(&self.settings).faults.clone();
        if reply.is_signature {
            let genuine = Zeroizing::new(reply.data.clone());
            if faults.stale_signature
                && let Some(previous) = &session.last_signature
            {
                zeroize::Zeroize::zeroize(&mut reply.data);
                reply.data = previous.to_vec();
            }
            if let Ok(made) = <[u8; 65]>::try_from(genuine.as_slice()) {
                session.last_signature = Some(Zeroizing::new(made));
            }
            if faults.corrupt_signature
                && let Some(last) = reply.data.last_mut()
            {
                *last ^= 0xFF;
            }
        }

        if let Some(delay) = faults.delay {
            std::thread::sleep(delay);
        }

        let dropped = {
            let mut settings = lock(&self.settings);
            match settings.faults.drop {
                DropConnection::Never => false,
                DropConnection::Always => true,
                DropConnection::NextApdu => {
                    settings.faults.drop = DropConnection::Never;
                    true
                }
                DropConnection::NextSignature if reply.is_signature => {
                    settings.faults.drop = DropConnection::Never;
                    true
                }
                DropConnection::NextSignature => false,
            }
        };
        if dropped {
            // The signature bytes may be a secret to the host (XMTP's Enable Identity
            // signature encrypts its keys): wipe the undelivered copy.
            zeroize::Zeroize::zeroize(&mut reply.data);
            return Err(NoAnswer::Dropped);
        }
        Ok(reply.into_answer())
    }

    fn dispatch(&self, apdu: &[u8], session: &mut Session) -> Result<Reply, AppExit> {
        let (locked, running_app, app) = {
            let mut s = lock(&self.settings);
            if std::mem::take(&mut s.reset_pending) {
                session.message = None;
            }
            if std::mem::take(&mut s.app_started) {
                session.io = IoBuffer::default();
            }
            let app = AppSettings {
                version: s.app_version,
                blind_signing: s.blind_signing,
                heap_size: s.heap_size,
                approval: s.approval.clone(),
            };
            (s.locked, s.running_app.clone(), app)
        };
        // The OS answers the lock screen's status word to anything, before any parsing
        // (`os_io_legacy.c io_legacy_apdu_rx`), into the open app's I/O buffer.
        if locked {
            let reply = Reply::status(sw::LOCKED_DEVICE);
            if running_app == RunningApp::Ethereum {
                session.io.send(&reply, Sender::Os);
            }
            return Ok(reply);
        }
        let (name, version, eth_sw) = match &running_app {
            RunningApp::Ethereum => return self.ethereum_app(apdu, session, &app),
            RunningApp::Dashboard => {
                return Ok(match Command::parse(apdu) {
                    Some(cmd) => os::dashboard(&cmd),
                    None => Reply::status(sw::WRONG_DATA_LENGTH),
                });
            }
            RunningApp::Other {
                name,
                version,
                eth_sw,
            } => (name, version, *eth_sw),
        };
        let Some(cmd) = Command::parse(apdu) else {
            return Ok(Reply::status(sw::WRONG_DATA_LENGTH));
        };
        if cmd.cla == CLA_OS && cmd.ins == INS_OS_QUIT_APP {
            lock(&self.settings).running_app = RunningApp::Dashboard;
            return Ok(Reply::status(sw::SUCCESS));
        }
        Ok(os::other_app(&cmd, name, version, eth_sw))
    }

    /// The Ethereum app with the SDK around it: the OS's own commands, then the app's main loop
    /// (`app-ethereum src/main.c app_main`): length check, dispatch, and a reset of the app
    /// context after any error status.
    fn ethereum_app(
        &self,
        apdu: &[u8],
        session: &mut Session,
        app: &AppSettings,
    ) -> Result<Reply, AppExit> {
        if let Some(command) = os::default_apdu(apdu) {
            let reply = match command {
                os::DefaultApdu::AppAndVersion => {
                    os::app_and_version(ETHEREUM_APP_NAME, &app.version.to_string())
                }
                os::DefaultApdu::QuitApp => {
                    lock(&self.settings).running_app = RunningApp::Dashboard;
                    session.message = None;
                    Reply::status(sw::SUCCESS)
                }
                os::DefaultApdu::Refused(status) => Reply::status(status),
            };
            session.io.send(&reply, Sender::Os);
            return Ok(reply);
        }

        session.io.receive(apdu);
        let reply = match Command::parse(apdu) {
            Some(cmd) => {
                let reply = self.ethereum_command(&cmd, session, app)?;
                let sender = if reply.after_review {
                    Sender::Review
                } else {
                    Sender::MainLoop
                };
                session.io.send(&reply, sender);
                reply
            }
            None => session.io.wrong_length(),
        };
        if reply.sw != sw::SUCCESS {
            // `reset_app_context` in the main loop.
            session.message = None;
        }
        Ok(reply)
    }

    /// The app's `handleApdu`: one well-formed command to its handler.
    fn ethereum_command(
        &self,
        cmd: &Command<'_>,
        session: &mut Session,
        app: &AppSettings,
    ) -> Result<Reply, AppExit> {
        let ui = DeviceUi {
            device: self,
            approval: app.approval.clone(),
        };
        Ok(match (cmd.cla, cmd.ins) {
            (CLA_ETH, INS_GET_APP_CONFIGURATION) => {
                app_config::handle(app.version, app.blind_signing)
            }
            (CLA_ETH, INS_GET_PUBLIC_KEY) => {
                // The handler resets the app context before anything else.
                session.message = None;
                get_address::handle(cmd, &self.seed, &ui)
            }
            (CLA_ETH, INS_SIGN_PERSONAL_MESSAGE) => {
                personal_sign::handle(cmd, &mut session.message, &self.seed, app.heap_size, &ui)?
            }
            // Instructions of the app this device does not implement answer what the app
            // answers to data it cannot use; any other instruction is unknown to the app too.
            (CLA_ETH, _) => {
                not_implemented::handle(cmd).unwrap_or_else(|| Reply::status(sw::INVALID_INS))
            }
            _ => Reply::status(sw::INVALID_CLA),
        })
    }

    fn show(&self, screen: Screen) {
        let listener = lock(&self.settings).listener.clone();
        if let Some(listener) = listener {
            listener(&screen);
        }
        push_capped(&mut lock(&self.screens), screen, SCREEN_LOG_CAP);
    }

    // ----- settings -------------------------------------------------------------------------

    /// Sets how reviews are answered, from the next review on.
    pub fn set_approval(&self, approval: ApprovalPolicy) {
        lock(&self.settings).approval = approval;
    }

    /// The current approval policy.
    pub fn approval(&self) -> ApprovalPolicy {
        lock(&self.settings).approval.clone()
    }

    /// Locks (PIN screen: every APDU answers `0x5515`) or unlocks the device. Either way the app
    /// context is reset, like a device that went through its lock screen.
    pub fn set_locked(&self, locked: bool) {
        let mut settings = lock(&self.settings);
        settings.locked = locked;
        settings.reset_pending = true;
    }

    /// Whether the device is locked.
    pub fn is_locked(&self) -> bool {
        lock(&self.settings).locked
    }

    /// Opens an app (or the dashboard); the Ethereum app starts afresh.
    pub fn set_running_app(&self, app: RunningApp) {
        let mut settings = lock(&self.settings);
        settings.running_app = app;
        settings.reset_pending = true;
        settings.app_started = true;
    }

    /// What is running.
    pub fn running_app(&self) -> RunningApp {
        lock(&self.settings).running_app.clone()
    }

    /// The Ledger model this device stands for (set by [`DeviceConfig::model`]).
    pub fn model(&self) -> Model {
        self.model
    }

    /// Sets the version reported by the configuration and app-and-version commands.
    pub fn set_app_version(&self, version: AppVersion) {
        lock(&self.settings).app_version = version;
    }

    /// Sets the blind-signing flag reported by GET APP CONFIGURATION.
    pub fn set_blind_signing(&self, enabled: bool) {
        lock(&self.settings).blind_signing = enabled;
    }

    /// Sets the heap available for personal messages (see
    /// [`crate::heap`]); applies to messages started afterwards.
    pub fn set_heap_size(&self, bytes: usize) {
        lock(&self.settings).heap_size = bytes;
    }

    /// The longest personal message the device accepts with its current heap, for messages
    /// shown as text (`as_text`) or as hex.
    pub fn max_message_len(&self, as_text: bool) -> usize {
        heap::max_message_len(lock(&self.settings).heap_size, as_text)
    }

    // ----- faults ---------------------------------------------------------------------------

    /// Replaces all fault settings.
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.settings).faults = faults;
    }

    /// The current fault settings (a one-shot drop that fired is back to `Never`).
    pub fn faults(&self) -> Faults {
        lock(&self.settings).faults.clone()
    }

    /// Turns every fault off.
    pub fn clear_faults(&self) {
        self.set_faults(Faults::default());
    }

    /// Delays every answer (None: no delay).
    pub fn set_delay(&self, delay: Option<Duration>) {
        lock(&self.settings).faults.delay = delay;
    }

    /// Sets when the connection is dropped instead of answering.
    pub fn set_drop(&self, drop: DropConnection) {
        lock(&self.settings).faults.drop = drop;
    }

    /// Corrupts (or stops corrupting) every signature answered.
    pub fn set_corrupt_signature(&self, on: bool) {
        lock(&self.settings).faults.corrupt_signature = on;
    }

    /// Answers (or stops answering) each signature request with the previous signature.
    pub fn set_stale_signature(&self, on: bool) {
        lock(&self.settings).faults.stale_signature = on;
    }

    // ----- observation ----------------------------------------------------------------------

    /// How many APDUs the device has received (dropped ones and refused ones included).
    pub fn apdu_count(&self) -> u64 {
        self.apdu_count.load(Ordering::SeqCst)
    }

    /// Every APDU received, in order (the last [`APDU_LOG_CAP`]).
    pub fn apdu_log(&self) -> Vec<Vec<u8>> {
        lock(&self.apdus).iter().cloned().collect()
    }

    /// Clears the APDU count and log.
    pub fn reset_apdu_log(&self) {
        let mut apdus = lock(&self.apdus);
        apdus.clear();
        self.apdu_count.store(0, Ordering::SeqCst);
    }

    /// Every screen shown so far, in order (the last [`SCREEN_LOG_CAP`]; see [`crate::screen`]
    /// for what is shown).
    pub fn screens(&self) -> Vec<Screen> {
        lock(&self.screens).iter().cloned().collect()
    }

    /// Returns the screens shown so far and clears the log.
    pub fn take_screens(&self) -> Vec<Screen> {
        std::mem::take(&mut *lock(&self.screens)).into()
    }

    /// Calls `listener` for every screen from now on (None: stop).
    pub fn set_screen_listener(&self, listener: Option<Arc<ScreenListener>>) {
        lock(&self.settings).listener = listener;
    }

    // ----- direct key access (no APDU, not counted) -----------------------------------------

    /// The `0x`-prefixed EIP-55 address at `path`, computed directly (no APDU, no path
    /// restriction): what the device would answer for an allowed path.
    pub fn address(&self, path: &DerivationPath) -> Result<String, Error> {
        Ok(format!("0x{}", self.seed.derive(path)?.address_eip55()))
    }

    /// The 65-byte uncompressed public key at `path`, computed directly.
    pub fn public_key(&self, path: &DerivationPath) -> Result<[u8; 65], Error> {
        Ok(self.seed.derive(path)?.public_key_uncompressed())
    }

    /// The `personal_sign` signature of `message` at `path` in device order `v || r || s`,
    /// computed directly: no APDU, no review, no fault, no path restriction. What an approved
    /// SIGN ETH PERSONAL MESSAGE answers, for tests to compare against.
    pub fn sign_personal_message(
        &self,
        path: &DerivationPath,
        message: &[u8],
    ) -> Result<[u8; 65], Error> {
        self.seed
            .derive(path)?
            .sign_digest(&crate::keys::personal_message_digest(message))
    }
}

/// The screen and buttons during one exchange.
struct DeviceUi<'a> {
    device: &'a SoftwareDevice,
    approval: ApprovalPolicy,
}

impl Ui for DeviceUi<'_> {
    fn review(&self, screens: Vec<Screen>) -> bool {
        for screen in &screens {
            self.device.show(screen.clone());
        }
        self.approval.decide(&screens)
    }

    fn status(&self, screen: Screen) {
        self.device.show(screen);
        // Every status screen of the app hands over to its home screen (`ui_idle`).
        self.device.show(crate::screen::home());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_version_parses_and_prints() {
        assert_eq!("1.22.0".parse::<AppVersion>().unwrap(), AppVersion::DEFAULT);
        assert_eq!(AppVersion::new(1, 9, 19).to_string(), "1.9.19");
        for bad in ["1.22", "1.22.0.1", "1.256.0", "a.b.c", ""] {
            assert!(bad.parse::<AppVersion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn config_debug_redacts_the_mnemonic() {
        let config = DeviceConfig::test_mnemonic().with_passphrase("hunter2");
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("junk") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(!config.is_public_test_key());
        assert!(DeviceConfig::test_mnemonic().is_public_test_key());
    }

    #[test]
    fn device_debug_shows_no_secret() {
        let device = SoftwareDevice::with_test_mnemonic();
        let shown = format!("{device:?}");
        assert!(
            shown.contains("<redacted>") && !shown.contains("junk"),
            "{shown}"
        );
    }
}
