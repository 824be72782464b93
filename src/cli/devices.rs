//! `devices`: the Ledgers on USB and what each is doing.

use serde::Serialize;

use std::time::Duration;

use super::args::GlobalArgs;
use super::error::CliError;
use super::ui::Ui;
use xmtp_ledger::device::{AppStatus, DeviceError, DeviceErrorKind, DeviceListing, probe_devices};

#[derive(Serialize)]
struct Listed {
    model: String,
    serial: Option<String>,
    path: String,
    state: &'static str,
    app: Option<String>,
    app_version: Option<String>,
    error: Option<String>,
}

/// Lists devices; opening each one only for commands that need no user action, each
/// bounded by `--timeout`.
pub fn run(global: &GlobalArgs, ui: &Ui) -> Result<(), CliError> {
    let mut listed = Vec::new();
    for DeviceListing { info, status } in probe_devices(Duration::from_secs(global.timeout))? {
        let (state, app, app_version, error) = match status {
            AppStatus::Ethereum(config) => (
                "ready",
                Some("Ethereum".to_owned()),
                Some(config.version.to_string()),
                None,
            ),
            AppStatus::Dashboard { os_version } => ("dashboard", None, Some(os_version), None),
            AppStatus::OtherApp { name, version } => ("other-app", Some(name), Some(version), None),
            AppStatus::Locked => ("locked", None, None, None),
            AppStatus::Error(e) => ("error", None, None, Some(with_fix(&e))),
        };
        listed.push(Listed {
            model: info.model.name(),
            serial: info.serial.clone(),
            path: info.path.clone(),
            state,
            app,
            app_version,
            error,
        });
    }
    ui.result(&listed, || {
        if listed.is_empty() {
            return "no Ledger found on USB: plug it in and unlock it (on Linux, run \
                    `sudo xmtp-ledger udev install` once, then replug it)"
                .to_owned();
        }
        listed
            .iter()
            .map(|d| {
                let what = match (d.state, &d.app, &d.app_version, &d.error) {
                    ("ready", _, Some(v), _) => format!("Ethereum app {v} open"),
                    ("dashboard", _, _, _) => "dashboard: open the Ethereum app".to_owned(),
                    ("other-app", Some(name), _, _) => {
                        format!("{name} open: open the Ethereum app")
                    }
                    ("locked", _, _, _) => "locked: unlock it".to_owned(),
                    (_, _, _, Some(e)) => e.clone(),
                    _ => d.state.to_owned(),
                };
                format!(
                    "{}\tserial {}\t{}\t{what}",
                    d.model,
                    d.serial.as_deref().unwrap_or("-"),
                    d.path
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

/// A device's error, with what to do when the fix is known.
fn with_fix(error: &DeviceError) -> String {
    match error.kind() {
        DeviceErrorKind::PermissionDenied => {
            format!("{error}: run `sudo xmtp-ledger udev install`, then unplug and replug it")
        }
        DeviceErrorKind::Disconnected => format!(
            "{error}: if Ledger Live or another wallet is open, close it (it holds the device)"
        ),
        _ => error.to_string(),
    }
}
