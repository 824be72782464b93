//! One error type for the CLI, mapped to the documented exit codes and to messages a
//! person can act on.

use std::process::ExitCode;

use xmtp_ledger::custody::AuditError;
use xmtp_ledger::device::{DeviceError, DeviceErrorKind};
use xmtp_ledger::endpoint::{Connection, EndpointError};
use xmtp_ledger::flow::FlowError;
use xmtp_ledger::identity::IdentityError;
use xmtp_ledger::keystore::KeystoreError;
use xmtp_ledger::network::NetworkError;
use xmtp_ledger::session::{ContactKey, SessionError};

/// What went wrong, grouped by the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags, arguments or input (exit 1).
    #[error("{0}")]
    Usage(String),
    /// The wallet device failed or refused (exit 2 or 20–23).
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The wallet device failed or refused, in words that say which request it was
    /// (exit and code as `source`'s).
    #[error("{message}")]
    DeviceAt {
        /// What the device answered.
        source: DeviceError,
        /// The whole message.
        message: String,
    },
    /// The node failed or refused (exit 3).
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The `--network local` node could not be found or started (exit 3).
    #[error(transparent)]
    Endpoint(EndpointError),
    /// Something that must verify did not (exit 4).
    #[error("{0}")]
    Verification(String),
    /// Decryption failed (exit 5).
    #[error("{0}")]
    Decryption(String),
    /// The account has no identity on the node (exit 4, as verification fails).
    #[error("{0}")]
    NoIdentity(String),
    /// The account already has an identity and replacing it was not asked for (exit 6).
    #[error("{0}")]
    Exists(String),
    /// The audit log could not be opened, read or written (exit 1).
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// A local file could not be read or written (exit 1).
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl CliError {
    /// An I/O error with what we were doing.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    /// What the person can do about it, where the library's message cannot know (it
    /// does not know the flags and variables of this command line).
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Device(DeviceError::NotFound { .. }) => Some(
                "on Linux, if it is plugged in: `sudo xmtp-ledger udev install`, then replug it; \
                 or pick another device with --device (XMTP_LEDGER_DEVICE)",
            ),
            Self::Device(DeviceError::PermissionDenied { .. }) => Some(
                "install the udev rules with `sudo xmtp-ledger udev install`, then unplug and \
                 replug the device",
            ),
            Self::Device(DeviceError::Unreachable { .. }) => Some(
                "start `xmtp-ledger emulator --listen HOST:PORT` or Speculos there, or check \
                 --device (XMTP_LEDGER_DEVICE)",
            ),
            Self::Device(DeviceError::HidUnavailable { .. }) => {
                Some("use --device tcp://HOST:PORT for an emulator or Speculos")
            }
            Self::Endpoint(EndpointError::NotANode { .. }) => {
                Some("stop what listens there, or pass --network URL")
            }
            Self::Endpoint(EndpointError::NoDataDir) => {
                Some("set XMTP_LEDGER_NODE_DB (or XDG_DATA_HOME or HOME), or pass --network URL")
            }
            Self::Device(DeviceError::PolicyRefused { .. }) => Some(
                "the request is outside the policy that --signing-policy (XMTP_LEDGER_POLICY) names: \
                 change the request, or have the policy changed",
            ),
            Self::Device(DeviceError::NotRecorded { .. }) | Self::Audit(_) => Some(
                "fix the audit log (see `xmtp-ledger audit verify FILE`), point --audit-log at \
                 another file, or pass --no-audit-log",
            ),
            Self::Endpoint(EndpointError::V2Retired { .. }) => Some(
                "use --network local (the node this tool ships) or the URL of a node you run;                  the public networks take XMTP v3 inboxes only",
            ),
            _ => None,
        }
    }

    /// The documented exit code (see `--help`).
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// The exit code as a number, for the `--json` error document.
    pub fn code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Io { .. } | Self::Audit(_) => 1,
            // A `--device` or `--network` value that is not understood is a usage error.
            Self::Device(DeviceError::InvalidSpec { .. }) => 1,
            // So is a plain-text URL to a remote host: the fix is on the command line.
            Self::Network(NetworkError::InvalidUrl { .. })
            | Self::Network(NetworkError::InsecurePlaintext { .. }) => 1,
            // And a v2 command pointed at a public network: nothing was sent anywhere.
            Self::Endpoint(EndpointError::V2Retired { .. }) => 1,
            Self::Device(e) | Self::DeviceAt { source: e, .. } => match e.kind() {
                DeviceErrorKind::Rejected => 20,
                DeviceErrorKind::Locked => 21,
                DeviceErrorKind::WrongApp => 22,
                DeviceErrorKind::NotFound | DeviceErrorKind::PermissionDenied => 23,
                DeviceErrorKind::PolicyRefused => 24,
                DeviceErrorKind::NotRecorded => 1,
                _ => 2,
            },
            Self::Network(_) | Self::Endpoint(_) => 3,
            Self::Verification(_) | Self::NoIdentity(_) => 4,
            Self::Decryption(_) => 5,
            Self::Exists(_) => 6,
        }
    }

    /// The stable string code of the `--json` error document: what a script matches on
    /// (several codes share an exit status; see README for the table).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Usage(_) => "usage",
            Self::Io { .. } => "io",
            Self::Audit(_) => "audit_log",
            Self::Device(DeviceError::InvalidSpec { .. }) => "usage",
            Self::Device(e) | Self::DeviceAt { source: e, .. } => e.code(),
            Self::Network(e) => network_name(e),
            Self::Endpoint(EndpointError::Network(e)) => network_name(e),
            Self::Endpoint(EndpointError::V2Retired { .. }) => "v2_retired",
            Self::Endpoint(_) => "local_node",
            Self::Verification(_) => "verification_failed",
            Self::NoIdentity(_) => "no_identity",
            Self::Decryption(_) => "decryption_failed",
            Self::Exists(_) => "exists",
        }
    }
}

/// The string code of a network failure (exit 3).
fn network_name(error: &NetworkError) -> &'static str {
    match error {
        NetworkError::InvalidUrl { .. } | NetworkError::InsecurePlaintext { .. } => "usage",
        NetworkError::Unreachable { .. } | NetworkError::Tls { .. } => "unreachable",
        NetworkError::Timeout { .. } => "network_timeout",
        NetworkError::Rejected { .. } => "node_rejected",
        _ => "network",
    }
}

impl From<FlowError<DeviceError>> for CliError {
    fn from(error: FlowError<DeviceError>) -> Self {
        match error {
            FlowError::Signer(e) => Self::Device(e),
            FlowError::BadWalletSignature { purpose, source } => Self::Verification(format!(
                "the device's {} signature does not verify ({source}); nothing was used or \
                 published: reconnect the device and retry",
                purpose.header()
            )),
            FlowError::Keystore(e) => keystore_error(e),
            FlowError::Identity(e) => Self::Verification(format!("invalid identity: {e}")),
            FlowError::WrongWallet { expected, found } => Self::Verification(format!(
                "the stored identity belongs to {found}, not to this account {expected}"
            )),
        }
    }
}

/// A session's failure, in the words of the commands (`connection` says which node).
pub fn session_error(mut error: SessionError<DeviceError>, connection: &Connection) -> CliError {
    // The node as the person reaches it, never the port of a node that ends with us.
    if let SessionError::AlreadyExists { node, .. }
    | SessionError::NoIdentity { node, .. }
    | SessionError::InvalidContact { node, .. }
    | SessionError::ContactWithoutStore { node, .. }
    | SessionError::ContactMismatch { node, .. } = &mut error
    {
        *node = connection.name();
    }
    match error {
        SessionError::Flow(e) => e.into(),
        SessionError::Network(e) => e.into(),
        SessionError::AlreadyExists { wallet, node } => CliError::Exists(format!(
            "{wallet} already has an XMTP identity on {node}: use `xmtp-ledger unlock` to \
             retrieve it, or add --force to replace it (others will then see the new keys)"
        )),
        SessionError::NoIdentity { wallet, node } => CliError::NoIdentity(format!(
            "no XMTP identity for {wallet} on {node}: create one with `xmtp-ledger init`"
        )),
        SessionError::InvalidContact { ref wallet, .. } => CliError::Verification(format!(
            "{error}: nothing was created over it; inspect it with `xmtp-ledger verify \
             {wallet}`, or replace it with `xmtp-ledger init --force` (others will then see \
             the new keys)"
        )),
        SessionError::ContactWithoutStore { .. } => CliError::Verification(format!(
            "{error}: its keys are not on this node; point --network at the node that holds \
             them, or replace the identity with `xmtp-ledger init --force`"
        )),
        SessionError::ContactMismatch {
            key: ContactKey::PreKey,
            ..
        } => CliError::Verification(format!(
            "{error}: nothing was published; messages sealed to that pre-key cannot be read \
             with this store. If another node holds a newer private store, point --network \
             at it; otherwise replace the identity with `xmtp-ledger init --force` (others \
             will then see the new keys)"
        )),
        SessionError::ContactMismatch {
            key: ContactKey::IdentityKey,
            ..
        } => CliError::Verification(format!(
            "{error}: nothing was published; replace the identity with `xmtp-ledger init \
             --force` (others will then see the new keys)"
        )),
        SessionError::PreparedWallet { .. } => {
            CliError::Verification(format!("{error}: refusing to publish"))
        }
        SessionError::PreparedMismatch => {
            CliError::Verification(format!("{error}: refusing to publish"))
        }
    }
}

impl From<EndpointError> for CliError {
    fn from(error: EndpointError) -> Self {
        match error {
            EndpointError::Network(e) => e.into(),
            other => CliError::Endpoint(other),
        }
    }
}

/// Decryption failures get exit 5, malformed bundles exit 4.
pub fn keystore_error(error: KeystoreError) -> CliError {
    match error {
        KeystoreError::WrongKeyOrTampered => CliError::Decryption(
            "cannot decrypt the private key bundle: it was encrypted for another account or \
             was altered (check --account / --hd-path / --legacy and the device passphrase)"
                .into(),
        ),
        other => CliError::Verification(format!("bad encrypted bundle: {other}")),
    }
}

impl From<IdentityError> for CliError {
    fn from(error: IdentityError) -> Self {
        Self::Verification(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string code of the `--json` error document, with its exit status (the table in
    /// `--help` and README): whatever [`CliError::name`] returns is here.
    const ERROR_CODES: &[(u8, &str)] = &[
        (1, "usage"),
        (1, "io"),
        (1, "v2_retired"),
        (1, "audit_log"),
        (2, "device"),
        (2, "device_timeout"),
        (2, "device_disconnected"),
        (2, "device_bad_answer"),
        (2, "path_refused"),
        (3, "unreachable"),
        (3, "network_timeout"),
        (3, "node_rejected"),
        (3, "network"),
        (3, "local_node"),
        (4, "verification_failed"),
        (4, "no_identity"),
        (5, "decryption_failed"),
        (6, "exists"),
        (20, "rejected"),
        (21, "locked"),
        (22, "wrong_app"),
        (23, "no_device"),
        (23, "permission_denied"),
        (24, "policy_refused"),
        (130, "cancelled"),
    ];

    /// Each code is on its exit status's line of `--help`, and each error's code and exit
    /// status are a pair of the table.
    #[test]
    fn error_codes_match_the_help_table_and_the_errors() {
        for (exit, name) in ERROR_CODES {
            let line = super::super::args::EXIT_CODES
                .lines()
                .find(|line| line.trim_start().starts_with(&format!("{exit} ")))
                .unwrap_or_else(|| panic!("no --help line for exit {exit}"));
            assert!(
                line.contains(&format!("[{name}"))
                    || line.contains(&format!(" {name}]"))
                    || line.contains(&format!(" {name},")),
                "{name} is not on {line:?}"
            );
        }
        let errors = [
            CliError::Usage("x".into()),
            CliError::Exists("x".into()),
            CliError::Verification("x".into()),
            CliError::NoIdentity("x".into()),
            CliError::DeviceAt {
                source: DeviceError::from_status(0x6985),
                message: "x".into(),
            },
            CliError::Decryption("x".into()),
            CliError::Device(DeviceError::from_status(0x6985)),
            CliError::Device(DeviceError::from_status(0x5515)),
            CliError::Device(DeviceError::from_status(0x6e00)),
            CliError::Device(DeviceError::from_status(0x6a15)),
            CliError::Device(DeviceError::PolicyRefused { reason: "x".into() }),
            CliError::Device(DeviceError::NotRecorded { reason: "x".into() }),
            CliError::Audit(AuditError::NotAFile { path: "x".into() }),
            CliError::Network(NetworkError::InsecurePlaintext { url: "x".into() }),
            CliError::Network(NetworkError::Runtime(std::io::Error::other("x"))),
            CliError::Endpoint(EndpointError::NoDataDir),
            CliError::Endpoint(EndpointError::V2Retired {
                network: xmtp_ledger::endpoint::PublicNetwork::Production,
            }),
            CliError::Io {
                context: "x".into(),
                source: std::io::Error::other("x"),
            },
        ];
        for error in errors {
            assert!(
                ERROR_CODES.contains(&(error.code(), error.name())),
                "{error:?} maps to ({}, {}), not in the table",
                error.code(),
                error.name()
            );
        }
    }
}
