//! The device layer's one error type, and the translation of Ledger status words into it.
//!
//! Every status word a Ledger can answer lands in a typed variant whose message tells a person
//! what to do next; a status word we have no name for is kept as a number
//! ([`DeviceError::Status`]), never dropped. The raw status word stays available through
//! [`DeviceError::status_word`] for logs and bug reports.

use std::time::Duration;

use crate::identity::Address;

use super::path::PathError;

/// Status word of a successful command (`SWO_SUCCESS`).
pub const SW_OK: u16 = 0x9000;

/// Named status words (Ledger SDK `SWO_*` names where there is one; reference §2.1).
pub mod sw {
    /// `SWO_CONDITIONS_NOT_SATISFIED`: the user rejected the request on the device.
    pub const CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
    /// OS-level refusal by the user (e.g. an "open app?" prompt).
    pub const USER_REFUSED_ON_DEVICE: u16 = 0x5501;
    /// `SWO_SEC_PIN_15`: the device is locked (current firmware, any APDU).
    pub const LOCKED_DEVICE: u16 = 0x5515;
    /// Locked device on older firmware (an exception surfaced as `0x68xx`; summa-tx/coins#87).
    pub const LEGACY_LOCKED_DEVICE: u16 = 0x6804;
    /// Locked older Nano X (MetaMask/metamask-extension#17606).
    pub const LOCKED_DEVICE_NANO_X: u16 = 0x6B0C;
    /// `SWO_SECURITY_CONDITION_NOT_SATISFIED`: "dongle locked" on older firmware (ledgerjs).
    pub const SECURITY_CONDITION_NOT_SATISFIED: u16 = 0x6982;
    /// Third-party heuristic "locked, or no Ethereum app" code.
    pub const LOCKED_OR_NO_APP: u16 = 0x650F;
    /// `SWO_INVALID_INS`: unknown instruction (another, or a too old, app).
    pub const INVALID_INS: u16 = 0x6D00;
    /// `SWO_INVALID_CLA`: unknown class (another app is open).
    pub const INVALID_CLA: u16 = 0x6E00;
    /// Dashboard answer to an unsupported class: no app is open.
    pub const DASHBOARD_CLA_NOT_SUPPORTED: u16 = 0x6E01;
    /// Dashboard/OS answer to an unknown command: no app is open.
    pub const DASHBOARD_UNKNOWN_APDU: u16 = 0x6D02;
    /// Third-party heuristic "app not open / not selected" code.
    pub const APP_NOT_OPEN: u16 = 0x6511;
    /// Derivation refused by the OS (path outside the open app's allowed prefixes): the OS's
    /// `SWO_PAR_VAL_15` (`0x4215`) mapped by the app to `0x6800 | (0x4215 & 0x7FF)`. Recorded
    /// from the Ethereum app 1.22.0 for `m/44'`, `m/44'/1'/…`, `m/44'/60/…` (`ethapp-apdus.json`).
    pub const FORBIDDEN_DERIVATION_PATH: u16 = 0x6A15;
    /// Derivation refused by the OS (a path without any hardened component): `SWO_PAR_VAL_12`
    /// (`0x4212`) mapped the same way. Recorded from the Ethereum app 1.22.0 for
    /// `m/12381/3600/0/0`.
    pub const UNHARDENED_DERIVATION_PATH: u16 = 0x6A12;
    /// `SWO_INCORRECT_DATA`: malformed path, length, or out-of-sequence chunk.
    pub const INCORRECT_DATA: u16 = 0x6A80;
    /// `SWO_INSUFFICIENT_MEMORY`: the message does not fit in the app's heap.
    pub const INSUFFICIENT_MEMORY: u16 = 0x6A84;
    /// `SWO_WRONG_DATA_LENGTH`: APDU length inconsistent with Lc.
    pub const WRONG_DATA_LENGTH: u16 = 0x6A87;
    /// ISO "wrong length".
    pub const WRONG_LENGTH: u16 = 0x6700;
    /// `SWO_WRONG_P1_P2`.
    pub const WRONG_P1_P2: u16 = 0x6B00;
    /// `SWO_COMMAND_NOT_ALLOWED`: a personal message was started while another was in progress.
    pub const COMMAND_NOT_ALLOWED: u16 = 0x6980;
    /// Device not onboarded (no seed yet).
    pub const NOT_ONBOARDED: u16 = 0x6D07;
    /// Device not onboarded (other firmware).
    pub const NOT_ONBOARDED_2: u16 = 0x6611;
    /// Device in recovery mode.
    pub const RECOVERY_MODE: u16 = 0x662F;
}

/// Everything that can go wrong talking to a Ledger, one variant per thing a user or caller
/// would handle differently. Messages say what happened and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    // ---- finding and opening the device -------------------------------------------------
    /// No Ledger (or none with the requested serial number) is connected.
    #[error("{}", not_found_message(.serial.as_deref()))]
    NotFound {
        /// The serial number that was asked for, if any.
        serial: Option<String>,
    },

    /// Nothing answers at a TCP device address (emulator or Speculos not running).
    #[error("cannot reach a device at {address} ({detail}): no emulator or Speculos answers there")]
    Unreachable {
        /// The address tried.
        address: String,
        /// What the OS said.
        detail: String,
    },

    /// The operating system refused access to the device node (Linux: udev rules missing).
    #[error(
        "permission denied opening the Ledger at {path} ({detail}): on Linux, the udev rules \
         that give users access to Ledger devices are missing"
    )]
    PermissionDenied {
        /// Device path (e.g. `/dev/hidraw3`).
        path: String,
        /// What the OS said.
        detail: String,
    },

    /// The HID layer itself is unavailable (no hidraw/udev in a container, or init failure).
    #[error("USB HID is not available on this system ({detail})")]
    HidUnavailable {
        /// What hidapi said.
        detail: String,
    },

    /// Another program is talking to the device at the same time (answers interleave).
    #[error(
        "the Ledger is in use by another program ({detail}): close Ledger Live, browser wallets \
         and other wallet tools, then retry"
    )]
    Busy {
        /// What went wrong on the wire.
        detail: String,
    },

    /// The device was unplugged or the connection (USB or TCP) dropped.
    #[error(
        "lost the connection to the Ledger ({detail}): reconnect it, unlock it, open the Ethereum app and retry"
    )]
    Disconnected {
        /// What the OS or socket said.
        detail: String,
    },

    /// The device did not answer in time.
    #[error(
        "the Ledger did not answer within {} s: check the device screen; reconnect it and retry",
        .after.as_secs_f32()
    )]
    Timeout {
        /// How long we waited.
        after: Duration,
    },

    /// An I/O error that is not one of the above.
    #[error("I/O error talking to the Ledger while {context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A HID error that is not one of the above.
    #[error("USB HID error talking to the Ledger: {detail}")]
    Hid {
        /// What hidapi or the framing said.
        detail: String,
    },

    // ---- status words ---------------------------------------------------------------------
    /// The user rejected the request on the device (`0x6985`, or `0x5501` from the OS).
    #[error("rejected on the Ledger (status {status:#06X}): nothing was signed")]
    Rejected {
        /// The status word.
        status: u16,
    },

    /// The device is locked (`0x5515`; older firmware `0x6804`, `0x6B0C`, `0x6982`).
    #[error(
        "the Ledger is locked (status {status:#06X}): unlock it with your PIN, open the Ethereum app and retry"
    )]
    Locked {
        /// The status word.
        status: u16,
    },

    /// The Ethereum app is not the one running: dashboard or another app (`0x6E00`, `0x6E01`,
    /// `0x6D00`, `0x6D02`, `0x6511`), or `B0 01` named another app.
    #[error("{}", wrong_app_message(*.status, .open_app.as_deref()))]
    WrongApp {
        /// The status word (`0x9000` when the app was identified by name).
        status: u16,
        /// The name of the app that is open, when the device told us (`BOLOS` = dashboard).
        open_app: Option<String>,
    },

    /// The Ethereum app refuses to derive the path: `0x6A15` (outside the prefixes it is
    /// installed with, `m/44'/60'`, `m/45'` and `m/12381/3600`), `0x6A12` (no hardened
    /// component), or `0x6A80` in answer to GET ETH PUBLIC ADDRESS for a well-formed path, which
    /// is all that command carries (how a device whose OS reports the refusal as bad data
    /// answers).
    #[error(
        "the Ethereum app refuses this derivation path (status {status:#06X}): it derives keys \
         only under m/44'/60'/ (or m/45'/), on paths with at least one hardened component; \
         check the path, and that the Ethereum app itself is open"
    )]
    PathRefused {
        /// The status word.
        status: u16,
    },

    /// The app refused the data (`0x6A80`): bad path, bad length, or out-of-sequence chunk.
    #[error(
        "the Ethereum app refused the data (status {status:#06X}): check the derivation path; \
         if the device was busy with another request, retry"
    )]
    InvalidData {
        /// The status word.
        status: u16,
    },

    /// The app answered that the APDU length is wrong (`0x6A87`, `0x6700`): a host bug.
    #[error(
        "the Ethereum app refused the command length (status {status:#06X}): this is a bug in xmtp-ledger, please report it"
    )]
    WrongLength {
        /// The status word.
        status: u16,
    },

    /// The app refused P1/P2 (`0x6B00`): the app is too old for this command.
    #[error(
        "the Ethereum app refused the command parameters (status {status:#06X}): update the Ethereum app with Ledger Live"
    )]
    WrongParameters {
        /// The status word.
        status: u16,
    },

    /// The message does not fit in the app's memory (`0x6A84`).
    #[error(
        "the message is too long for the Ledger's memory (status {status:#06X}): sign a shorter message (a few KB at most)"
    )]
    OutOfMemory {
        /// The status word.
        status: u16,
    },

    /// A new message was started while another was being received (`0x6980`); the app reset.
    #[error(
        "the Ledger was in the middle of another message (status {status:#06X}) and has reset: retry"
    )]
    CommandNotAllowed {
        /// The status word.
        status: u16,
    },

    /// The device is not set up or is in recovery mode (`0x6D07`, `0x6611`, `0x662F`).
    #[error(
        "the Ledger is not ready (status {status:#06X}): finish its setup or leave recovery mode with Ledger Live"
    )]
    NotReady {
        /// The status word.
        status: u16,
    },

    /// Any other status word, kept as a number.
    #[error("{}", unknown_status_message(*.status))]
    Status {
        /// The status word.
        status: u16,
    },

    // ---- answers that do not check out ----------------------------------------------------
    /// The answer bytes do not have the shape the command defines (length, prefix, encoding).
    #[error(
        "unexpected answer from the Ledger: {what}; make sure the Ethereum app is open and up to date"
    )]
    Malformed {
        /// What was wrong.
        what: String,
    },

    /// The device returned an address that is not the one of the public key it returned.
    #[error(
        "the Ledger returned address {reported}, but its public key belongs to {derived}: refusing to use it"
    )]
    AddressMismatch {
        /// The address text the device sent.
        reported: String,
        /// The address derived from the public key it sent.
        derived: Address,
    },

    /// The device now reports another address for a path than it did earlier in this session
    /// (another device plugged in, or another passphrase entered).
    #[error(
        "the Ledger now reports {now} for this account but {before} was in use: was another \
         device plugged in or another passphrase entered? Restart the operation"
    )]
    AccountChanged {
        /// The address in use so far.
        before: Address,
        /// The address the device reports now.
        now: Address,
    },

    // ---- bad requests (caught before anything is sent) ------------------------------------
    /// A derivation path that cannot be used.
    #[error(transparent)]
    InvalidPath(#[from] PathError),

    /// A command whose data does not fit in one APDU (more than 255 bytes): a host bug.
    #[error("APDU data of {len} bytes exceeds 255: this is a bug in xmtp-ledger, please report it")]
    CommandTooLong {
        /// The data length.
        len: usize,
    },

    /// A message longer than the Ethereum app can sign.
    #[error("the message is {len} bytes; the Ethereum app signs at most {max}")]
    MessageTooLong {
        /// The message length.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// A device specification string (`--device`) that is not understood.
    #[error(
        "invalid device {spec:?}: {reason} (expected hid, hid:SERIAL, tcp://HOST:PORT or emulator)"
    )]
    InvalidSpec {
        /// What was given.
        spec: String,
        /// Why it was refused.
        reason: String,
    },

    // ---- the host's own guard (caught before, or right after, the device) -----------------
    /// The host's signing policy refused the request: the device was not asked.
    #[error("refused by the signing policy: {reason}")]
    PolicyRefused {
        /// Which rule refused it, in words.
        reason: String,
    },

    /// The host could not record the request in its audit log. Before the device was
    /// asked, nothing was sent; after, the signature was discarded, so nothing unrecorded
    /// is ever used.
    #[error("the audit log cannot record this signature ({reason}): nothing signed was used")]
    NotRecorded {
        /// What went wrong with the log.
        reason: String,
    },
}

/// Coarse classes of [`DeviceError`], for exit codes and retry decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceErrorKind {
    /// No device, or no device with that serial.
    NotFound,
    /// Access refused by the OS (udev rules).
    PermissionDenied,
    /// Device locked.
    Locked,
    /// Ethereum app not open (dashboard or another app).
    WrongApp,
    /// User pressed reject.
    Rejected,
    /// Unplugged, dropped connection, in use by another program.
    Disconnected,
    /// No answer in time.
    Timeout,
    /// The device answered something that does not check out (malformed, wrong address,
    /// bad signature). Never retry silently.
    BadAnswer,
    /// The request itself is not acceptable (bad path, a path the app refuses, too long, bad
    /// data, out of memory).
    InvalidRequest,
    /// Anything else (unknown status word, I/O, HID unavailable).
    Other,
    /// The host's signing policy refused the request before the device was asked.
    PolicyRefused,
    /// The host's audit log could not record the request.
    NotRecorded,
}

impl DeviceError {
    /// Maps a non-success status word to its typed error. `0x9000` is not an error; passing it
    /// yields [`DeviceError::Status`] so a caller bug never turns into a silent success.
    pub fn from_status(status: u16) -> Self {
        match status {
            sw::CONDITIONS_NOT_SATISFIED | sw::USER_REFUSED_ON_DEVICE => Self::Rejected { status },
            sw::LOCKED_DEVICE
            | sw::LEGACY_LOCKED_DEVICE
            | sw::LOCKED_DEVICE_NANO_X
            | sw::SECURITY_CONDITION_NOT_SATISFIED
            | sw::LOCKED_OR_NO_APP => Self::Locked { status },
            sw::INVALID_INS
            | sw::INVALID_CLA
            | sw::DASHBOARD_CLA_NOT_SUPPORTED
            | sw::DASHBOARD_UNKNOWN_APDU
            | sw::APP_NOT_OPEN => Self::WrongApp {
                status,
                open_app: None,
            },
            sw::FORBIDDEN_DERIVATION_PATH | sw::UNHARDENED_DERIVATION_PATH => {
                Self::PathRefused { status }
            }
            sw::INCORRECT_DATA => Self::InvalidData { status },
            sw::WRONG_DATA_LENGTH | sw::WRONG_LENGTH => Self::WrongLength { status },
            sw::WRONG_P1_P2 => Self::WrongParameters { status },
            sw::INSUFFICIENT_MEMORY => Self::OutOfMemory { status },
            sw::COMMAND_NOT_ALLOWED => Self::CommandNotAllowed { status },
            sw::NOT_ONBOARDED | sw::NOT_ONBOARDED_2 | sw::RECOVERY_MODE => {
                Self::NotReady { status }
            }
            _ => Self::Status { status },
        }
    }

    /// The status word behind this error, if it came from one.
    pub fn status_word(&self) -> Option<u16> {
        match self {
            Self::Rejected { status }
            | Self::Locked { status }
            | Self::PathRefused { status }
            | Self::InvalidData { status }
            | Self::WrongLength { status }
            | Self::WrongParameters { status }
            | Self::OutOfMemory { status }
            | Self::CommandNotAllowed { status }
            | Self::NotReady { status }
            | Self::Status { status } => Some(*status),
            Self::WrongApp { status, .. } if *status != SW_OK => Some(*status),
            _ => None,
        }
    }

    /// The coarse class of this error.
    pub fn kind(&self) -> DeviceErrorKind {
        match self {
            Self::NotFound { .. } | Self::Unreachable { .. } => DeviceErrorKind::NotFound,
            Self::PermissionDenied { .. } => DeviceErrorKind::PermissionDenied,
            Self::Locked { .. } => DeviceErrorKind::Locked,
            Self::WrongApp { .. } => DeviceErrorKind::WrongApp,
            Self::Rejected { .. } => DeviceErrorKind::Rejected,
            Self::Busy { .. } | Self::Disconnected { .. } => DeviceErrorKind::Disconnected,
            Self::Timeout { .. } => DeviceErrorKind::Timeout,
            Self::Malformed { .. } | Self::AddressMismatch { .. } | Self::AccountChanged { .. } => {
                DeviceErrorKind::BadAnswer
            }
            Self::InvalidPath(_)
            | Self::CommandTooLong { .. }
            | Self::MessageTooLong { .. }
            | Self::InvalidSpec { .. }
            | Self::PathRefused { .. }
            | Self::InvalidData { .. }
            | Self::WrongLength { .. }
            | Self::WrongParameters { .. }
            | Self::OutOfMemory { .. }
            | Self::CommandNotAllowed { .. } => DeviceErrorKind::InvalidRequest,
            Self::HidUnavailable { .. }
            | Self::Io { .. }
            | Self::Hid { .. }
            | Self::NotReady { .. }
            | Self::Status { .. } => DeviceErrorKind::Other,
            Self::PolicyRefused { .. } => DeviceErrorKind::PolicyRefused,
            Self::NotRecorded { .. } => DeviceErrorKind::NotRecorded,
        }
    }

    /// The stable name of this error for machines: the `code` of the CLI's `--json` error
    /// document and the decision of an audit-log record.
    pub fn code(&self) -> &'static str {
        if let Self::PathRefused { .. } = self {
            return "path_refused";
        }
        match self.kind() {
            DeviceErrorKind::Rejected => "rejected",
            DeviceErrorKind::Locked => "locked",
            DeviceErrorKind::WrongApp => "wrong_app",
            DeviceErrorKind::NotFound => "no_device",
            DeviceErrorKind::PermissionDenied => "permission_denied",
            DeviceErrorKind::Disconnected => "device_disconnected",
            DeviceErrorKind::Timeout => "device_timeout",
            DeviceErrorKind::BadAnswer => "device_bad_answer",
            DeviceErrorKind::PolicyRefused => "policy_refused",
            DeviceErrorKind::NotRecorded => "audit_log",
            DeviceErrorKind::InvalidRequest | DeviceErrorKind::Other => "device",
        }
    }

    /// Shorthand for a [`DeviceError::Malformed`].
    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        Self::Malformed { what: what.into() }
    }
}

/// The Ledger SDK / ledger-live name of a status word, for messages and logs.
pub fn status_word_name(status: u16) -> Option<&'static str> {
    Some(match status {
        SW_OK => "success",
        sw::CONDITIONS_NOT_SATISFIED => "conditions not satisfied (rejected by user)",
        sw::USER_REFUSED_ON_DEVICE => "user refused on device",
        sw::LOCKED_DEVICE => "locked device",
        sw::LEGACY_LOCKED_DEVICE | sw::LOCKED_DEVICE_NANO_X => "locked device (older firmware)",
        sw::SECURITY_CONDITION_NOT_SATISFIED => "security condition not satisfied",
        sw::LOCKED_OR_NO_APP => "locked, or no Ethereum app",
        sw::INVALID_INS => "instruction not supported",
        sw::INVALID_CLA => "class not supported",
        sw::DASHBOARD_CLA_NOT_SUPPORTED => "class not supported by the dashboard",
        sw::DASHBOARD_UNKNOWN_APDU => "unknown APDU",
        sw::APP_NOT_OPEN => "app not open",
        sw::FORBIDDEN_DERIVATION_PATH => "derivation path forbidden",
        sw::UNHARDENED_DERIVATION_PATH => "derivation path without a hardened component",
        sw::INCORRECT_DATA => "incorrect data",
        sw::INSUFFICIENT_MEMORY => "insufficient memory",
        sw::WRONG_DATA_LENGTH => "wrong data length",
        sw::WRONG_LENGTH => "wrong length",
        sw::WRONG_P1_P2 => "wrong P1/P2",
        sw::COMMAND_NOT_ALLOWED => "command not allowed",
        sw::NOT_ONBOARDED | sw::NOT_ONBOARDED_2 => "device not onboarded",
        sw::RECOVERY_MODE => "device in recovery mode",
        0x6A88 => "referenced data not found",
        0x6A00 => "parameter error",
        0x6984 => "plugin not installed",
        0x911C => "command code not supported",
        0x5123 => "app not found",
        0x6800..=0x68FF => "internal error in the app",
        0x6F00..=0x6FFF => "technical problem in the app",
        _ => return None,
    })
}

fn not_found_message(serial: Option<&str>) -> String {
    let what = match serial {
        Some(serial) => format!("no Ledger with serial number {serial:?} found over USB"),
        None => "no Ledger found over USB".to_owned(),
    };
    format!(
        "{what}: plug it in and unlock it (on Linux, a plugged-in Ledger is invisible without \
         its udev rules)"
    )
}

fn wrong_app_message(status: u16, open_app: Option<&str>) -> String {
    let dashboard = matches!(open_app, Some("BOLOS") | Some("OLOS\0"))
        || matches!(
            status,
            sw::DASHBOARD_CLA_NOT_SUPPORTED | sw::DASHBOARD_UNKNOWN_APDU
        );
    let cause = match open_app {
        _ if dashboard => "no app is open on the Ledger (it shows the dashboard)".to_owned(),
        Some(name) => format!("the {name:?} app is open on the Ledger, not Ethereum"),
        None => "the Ethereum app is not open on the Ledger (or it is too old)".to_owned(),
    };
    if status == SW_OK {
        format!("{cause}: open the Ethereum app and retry")
    } else {
        format!("{cause} (status {status:#06X}): open the Ethereum app and retry")
    }
}

fn unknown_status_message(status: u16) -> String {
    match status_word_name(status) {
        Some(name) => format!(
            "the Ledger answered status {status:#06X} ({name}): make sure the Ethereum app is open and up to date"
        ),
        None => format!(
            "the Ledger answered unknown status {status:#06X}: make sure the Ethereum app is open and up to date"
        ),
    }
}
