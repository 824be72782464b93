//! USB HID transport to a real Ledger, over hidapi (hidraw backend on Linux, so the usage page
//! is known and errors carry the OS's reason), with the Ledger report framing of [`framing`].
//!
//! The APDU interface is HID interface 0 with usage page `0xFFA0`; a U2F/FIDO interface
//! (usage page `0xF1D0`) never answers APDUs, so it is filtered out. I/O is blocking: a command
//! that needs the user's approval keeps the call waiting for as long as the user takes, and
//! [`Transport::exchange_within`] bounds the others by reading each report with a timeout.
//!
//! Open each device once per process and share the transport (`Arc`): hidapi handles to the
//! same device opened twice interfere (ruabmbua/hidapi-rs#81).

pub mod framing;

use std::fmt;
use std::io;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hidapi::{HidApi, HidDevice, HidError};
use zeroize::Zeroize;

use super::error::DeviceError;
use super::eth_app::{AppStatus, EthApp};
pub use super::model::LedgerModel;
use super::transport::{ApduAnswer, ApduCommand, Transport};
use framing::{AnswerAssembler, FramingError, REPORT_SIZE, request_reports};

/// USB vendor id of every current Ledger device.
pub const LEDGER_VENDOR_ID: u16 = 0x2C97;
/// HID usage page of the APDU interface.
pub const LEDGER_USAGE_PAGE: u16 = 0xFFA0;

/// A Ledger APDU interface found on USB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HidDeviceInfo {
    /// Model from the product id.
    pub model: LedgerModel,
    /// USB product id.
    pub product_id: u16,
    /// USB serial number, if the device reports one (`hid:SERIAL` selects by it).
    pub serial: Option<String>,
    /// OS device path (e.g. `/dev/hidraw3` on Linux).
    pub path: String,
    /// USB product string.
    pub product: Option<String>,
}

/// True for the HID interface that carries APDUs: Ledger vendor id, and usage page `0xFFA0`,
/// or (backends that cannot read usage pages report 0) interface number 0.
pub fn is_apdu_interface(vendor_id: u16, usage_page: u16, interface_number: i32) -> bool {
    vendor_id == LEDGER_VENDOR_ID
        && (usage_page == LEDGER_USAGE_PAGE || (usage_page == 0 && interface_number == 0))
}

fn hid_api() -> Result<HidApi, DeviceError> {
    // Created per call, never a process-global that panics on failure (foundry-rs/foundry#14491);
    // a fresh context also sees devices plugged in since the last call.
    HidApi::new().map_err(|e| DeviceError::HidUnavailable {
        detail: e.to_string(),
    })
}

fn ledger_interfaces(api: &HidApi) -> impl Iterator<Item = &hidapi::DeviceInfo> {
    api.device_list()
        .filter(|d| is_apdu_interface(d.vendor_id(), d.usage_page(), d.interface_number()))
}

fn info_of(device: &hidapi::DeviceInfo) -> HidDeviceInfo {
    HidDeviceInfo {
        model: LedgerModel::from_product_id(device.product_id()),
        product_id: device.product_id(),
        serial: device
            .serial_number()
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        path: device.path().to_string_lossy().into_owned(),
        product: device.product_string().map(str::to_owned),
    }
}

/// Lists the Ledger devices on USB (one entry per device: its APDU interface). Listing needs
/// no permission on the device node, so a device shows up here even when opening it would be
/// refused.
pub fn list_devices() -> Result<Vec<HidDeviceInfo>, DeviceError> {
    let api = hid_api()?;
    let mut devices: Vec<HidDeviceInfo> = ledger_interfaces(&api).map(info_of).collect();
    // Some backends list a device once per top-level collection; the path identifies it.
    devices.dedup_by(|a, b| a.path == b.path);
    Ok(devices)
}

/// One Ledger on USB and what it is doing, for a `devices` listing.
#[derive(Debug)]
pub struct DeviceListing {
    /// Model, serial number, path.
    pub info: HidDeviceInfo,
    /// Open app and version, locked, or why it could not be asked (e.g. permission denied).
    pub status: AppStatus,
}

/// Lists the Ledgers on USB and asks each which app is open (only commands that need no user
/// action: `B0 01` and GET APP CONFIGURATION, each given at most `timeout`). A device that
/// cannot be opened, or does not answer in time, is listed with [`AppStatus::Error`] (e.g.
/// [`DeviceError::PermissionDenied`], [`DeviceError::Timeout`]) rather than failing the list.
pub fn probe_devices(timeout: Duration) -> Result<Vec<DeviceListing>, DeviceError> {
    Ok(list_devices()?
        .into_iter()
        .map(|info| {
            let status = match HidTransport::open(&info) {
                Ok(transport) => EthApp::from_transport(transport)
                    .with_timeout(timeout)
                    .status(),
                Err(error) => AppStatus::Error(error),
            };
            DeviceListing { info, status }
        })
        .collect())
}

/// A Ledger over USB HID.
pub struct HidTransport {
    /// `None` once an exchange failed halfway: the device may still send that exchange's
    /// answer, which would be read as the answer to the next command.
    device: Mutex<Option<HidDevice>>,
    info: HidDeviceInfo,
}

impl fmt::Debug for HidTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HidTransport")
            .field("info", &self.info)
            .finish()
    }
}

impl HidTransport {
    /// Opens the first Ledger found.
    pub fn open_first() -> Result<Self, DeviceError> {
        Self::open_matching(None)
    }

    /// Opens the Ledger with USB serial number `serial` (as in `--device hid:SERIAL`).
    pub fn open_serial(serial: &str) -> Result<Self, DeviceError> {
        Self::open_matching(Some(serial))
    }

    /// Opens a device from [`list_devices`].
    pub fn open(info: &HidDeviceInfo) -> Result<Self, DeviceError> {
        let api = hid_api()?;
        let device = ledger_interfaces(&api)
            .find(|d| d.path().to_string_lossy() == info.path)
            .ok_or_else(|| DeviceError::NotFound {
                serial: info.serial.clone(),
            })?;
        Self::open_device(&api, device)
    }

    fn open_matching(serial: Option<&str>) -> Result<Self, DeviceError> {
        let api = hid_api()?;
        let device = ledger_interfaces(&api)
            .find(|d| serial.is_none_or(|s| d.serial_number() == Some(s)))
            .ok_or_else(|| DeviceError::NotFound {
                serial: serial.map(str::to_owned),
            })?;
        Self::open_device(&api, device)
    }

    fn open_device(api: &HidApi, device: &hidapi::DeviceInfo) -> Result<Self, DeviceError> {
        let info = info_of(device);
        let handle = device
            .open_device(api)
            .map_err(|e| map_hid_error(&e, &info.path))?;
        // Reads wait (up to their timeout) rather than return nothing at once.
        handle
            .set_blocking_mode(true)
            .map_err(|e| map_hid_error(&e, &info.path))?;
        tracing::debug!(model = %info.model, path = %info.path, "opened Ledger over USB HID");
        Ok(Self {
            device: Mutex::new(Some(handle)),
            info,
        })
    }

    /// What was opened.
    pub fn info(&self) -> &HidDeviceInfo {
        &self.info
    }

    /// One exchange; with `limit`, the whole answer (every report of it) must arrive within it.
    fn exchange_bounded(
        &self,
        command: &ApduCommand,
        limit: Option<Duration>,
    ) -> Result<ApduAnswer, DeviceError> {
        // The guarded handle is only ever taken out whole, so a panic leaves nothing half done.
        let mut guard = self.device.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(device) = guard.as_ref() else {
            return Err(DeviceError::Disconnected {
                detail: format!(
                    "an earlier exchange with the Ledger at {} failed and its answer may still \
                     arrive; unplug and replug it",
                    self.info.path
                ),
            });
        };
        // An instant too far away to represent is no deadline at all.
        let deadline = limit.and_then(|limit| Instant::now().checked_add(limit));
        let result = self.exchange_on(device, command, deadline, limit);
        if result.is_err() {
            // Out of step with the device: never read from this handle again.
            *guard = None;
        }
        result
    }

    fn exchange_on(
        &self,
        device: &HidDevice,
        command: &ApduCommand,
        deadline: Option<Instant>,
        limit: Option<Duration>,
    ) -> Result<ApduAnswer, DeviceError> {
        for mut report in request_reports(&command.to_bytes()) {
            let written = device.write(&report);
            // The reports of a personal_sign chunk hold the message.
            report.zeroize();
            if written.map_err(|e| map_hid_error(&e, &self.info.path))? < report.len() {
                return Err(DeviceError::Disconnected {
                    detail: "the Ledger took only part of a HID report".into(),
                });
            }
        }
        let mut assembler = AnswerAssembler::default();
        let mut report = [0u8; REPORT_SIZE];
        loop {
            let timeout_ms = match deadline {
                None => -1,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(DeviceError::Timeout {
                            after: limit.unwrap_or_default(),
                        });
                    }
                    // Rounded up, so the last read never times out a moment early.
                    i32::try_from(left.as_millis().saturating_add(1)).unwrap_or(i32::MAX)
                }
            };
            let read = device
                .read_timeout(&mut report, timeout_ms)
                .map_err(|e| map_hid_error(&e, &self.info.path));
            let read = match read {
                Ok(read) => read,
                Err(error) => {
                    report.zeroize();
                    return Err(error);
                }
            };
            if read == 0 {
                // hidapi's timeout: loop to see whether the deadline has passed.
                continue;
            }
            let pushed = assembler.push(&report[..read]);
            report.zeroize();
            match pushed {
                Ok(Some(mut raw)) => {
                    let answer = ApduAnswer::from_bytes(&raw);
                    raw.zeroize();
                    return answer;
                }
                Ok(None) => {}
                Err(error) => return Err(map_framing_error(error)),
            }
        }
    }
}

impl Transport for HidTransport {
    fn exchange(&self, command: &ApduCommand) -> Result<ApduAnswer, DeviceError> {
        self.exchange_bounded(command, None)
    }

    /// Reads the answer's reports with a timeout, so that the whole answer must arrive within
    /// `limit`; after a timeout the handle is dropped, since the late answer may still arrive.
    fn exchange_within(
        &self,
        command: &ApduCommand,
        limit: Duration,
    ) -> Result<ApduAnswer, DeviceError> {
        self.exchange_bounded(command, Some(limit))
    }

    /// The model the USB product id names.
    fn model(&self) -> Option<LedgerModel> {
        Some(self.info.model)
    }
}

/// A report that does not continue the answer.
fn map_framing_error(error: FramingError) -> DeviceError {
    match error {
        // Reports from another conversation (another program reading the same hidraw node).
        FramingError::Channel(_) | FramingError::Tag(_) | FramingError::Sequence { .. } => {
            DeviceError::Busy {
                detail: format!("HID framing: {error}"),
            }
        }
        FramingError::Short { .. } => DeviceError::malformed(error.to_string()),
    }
}

/// hidapi reports OS errors as text (`strerror`), so the text is what there is to classify.
pub(crate) fn map_hid_error(error: &HidError, path: &str) -> DeviceError {
    match error {
        HidError::InitializationError => DeviceError::HidUnavailable {
            detail: error.to_string(),
        },
        HidError::IoError { error } => {
            map_io_error(io::Error::new(error.kind(), error.to_string()), path)
        }
        HidError::IncompleteSendError { .. } => DeviceError::Disconnected {
            detail: error.to_string(),
        },
        HidError::HidApiError { message } => map_hid_message(message, path),
        other => DeviceError::Hid {
            detail: other.to_string(),
        },
    }
}

fn map_hid_message(message: &str, path: &str) -> DeviceError {
    let lower = message.to_ascii_lowercase();
    if lower.contains("permission denied") || lower.contains("operation not permitted") {
        DeviceError::PermissionDenied {
            path: path.to_owned(),
            detail: message.to_owned(),
        }
    } else if lower.contains("device disconnected")
        || lower.contains("no such device")
        || lower.contains("no such file")
        || lower.contains("broken pipe")
        || lower.contains("transport endpoint")
        || lower.contains("input/output error")
    {
        DeviceError::Disconnected {
            detail: message.to_owned(),
        }
    } else if lower.contains("resource busy") {
        DeviceError::Busy {
            detail: message.to_owned(),
        }
    } else {
        DeviceError::Hid {
            detail: message.to_owned(),
        }
    }
}

fn map_io_error(error: io::Error, path: &str) -> DeviceError {
    match error.kind() {
        io::ErrorKind::PermissionDenied => DeviceError::PermissionDenied {
            path: path.to_owned(),
            detail: error.to_string(),
        },
        io::ErrorKind::NotFound
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::NotConnected => DeviceError::Disconnected {
            detail: error.to_string(),
        },
        _ => DeviceError::Io {
            context: format!("talking to {path}"),
            source: error,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::DeviceErrorKind;

    #[test]
    fn only_the_apdu_interface_is_selected() {
        assert!(is_apdu_interface(0x2C97, 0xFFA0, 0));
        // libusb-style backends report usage page 0: fall back to interface 0.
        assert!(is_apdu_interface(0x2C97, 0, 0));
        // The U2F interface never answers APDUs (first APDU would hang).
        assert!(!is_apdu_interface(0x2C97, 0xF1D0, 1));
        assert!(!is_apdu_interface(0x2C97, 0, 1));
        assert!(!is_apdu_interface(0x2581, 0xFFA0, 0));
    }

    #[test]
    fn permission_errors_name_the_path_and_the_udev_rules() {
        let error = map_hid_error(
            &HidError::HidApiError {
                message: "Failed to open a device with path '/dev/hidraw3': Permission denied"
                    .into(),
            },
            "/dev/hidraw3",
        );
        assert_eq!(error.kind(), DeviceErrorKind::PermissionDenied);
        let text = error.to_string();
        assert!(text.contains("udev rules"), "{text}");
        assert!(text.contains("/dev/hidraw3"), "{text}");

        let io = map_hid_error(
            &HidError::IoError {
                error: io::Error::from(io::ErrorKind::PermissionDenied),
            },
            "/dev/hidraw0",
        );
        assert_eq!(io.kind(), DeviceErrorKind::PermissionDenied);
    }

    #[test]
    fn unplugging_maps_to_disconnected() {
        for message in [
            "hid_read_timeout: unexpected poll error (device disconnected)",
            "No such device",
            "Cannot send after transport endpoint shutdown",
            "Input/output error",
        ] {
            let error = map_hid_error(
                &HidError::HidApiError {
                    message: message.into(),
                },
                "/dev/hidraw1",
            );
            assert!(
                matches!(error, DeviceError::Disconnected { .. }),
                "{message}: {error:?}"
            );
        }
    }

    #[test]
    fn framing_errors_are_typed() {
        assert!(matches!(
            map_framing_error(FramingError::Channel(0x0102)),
            DeviceError::Busy { .. }
        ));
        assert!(matches!(
            map_framing_error(FramingError::Sequence {
                expected: 1,
                got: 0
            }),
            DeviceError::Busy { .. }
        ));
        assert!(matches!(
            map_framing_error(FramingError::Short { len: 3 }),
            DeviceError::Malformed { .. }
        ));
        assert!(matches!(
            map_hid_error(&HidError::InitializationError, ""),
            DeviceError::HidUnavailable { .. }
        ));
        assert!(matches!(
            map_hid_error(
                &HidError::HidApiError {
                    message: "Device or resource busy".into()
                },
                ""
            ),
            DeviceError::Busy { .. }
        ));
    }

    #[test]
    fn listing_never_fails_without_a_device() {
        // CI has no Ledger (and a container may have no HID at all); a developer may have one.
        match list_devices() {
            Ok(devices) if devices.is_empty() => {
                assert!(matches!(
                    HidTransport::open_first(),
                    Err(DeviceError::NotFound { serial: None })
                ));
                assert!(probe_devices(Duration::from_secs(1)).unwrap().is_empty());
            }
            Ok(devices) => assert!(devices.iter().all(|d| !d.path.is_empty()), "{devices:?}"),
            Err(error) => assert!(
                matches!(error, DeviceError::HidUnavailable { .. }),
                "{error:?}"
            ),
        }
        // A serial number no device has is never "found".
        assert!(matches!(
            HidTransport::open_serial("no-such-serial-\u{1F50D}"),
            Err(DeviceError::NotFound { serial: Some(_) } | DeviceError::HidUnavailable { .. })
        ));
    }

    #[test]
    fn not_found_message_names_the_serial_and_udev() {
        let text = DeviceError::NotFound {
            serial: Some("0001".into()),
        }
        .to_string();
        assert!(
            text.contains("\"0001\"") && text.contains("udev rules"),
            "{text}"
        );
    }
}
