//! The `--device` argument: which device to talk to.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::error::DeviceError;
#[cfg(feature = "hid")]
use super::hid::HidTransport;
use super::tcp::{TcpOptions, TcpTransport};
use super::transport::Transport;

/// Where the device is: `hid`, `hid:SERIAL`, `tcp://HOST:PORT` or `emulator`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    /// The first Ledger on USB.
    #[default]
    Hid,
    /// The Ledger on USB with this serial number.
    HidSerial(String),
    /// A Speculos-compatible APDU socket at `HOST:PORT`.
    Tcp(String),
    /// The software device in this process.
    Emulator,
}

impl DeviceSpec {
    /// Opens a USB or TCP device. [`DeviceSpec::Emulator`] is not opened here: the caller picks
    /// the software device's mnemonic (and warns about it) and wraps it in
    /// `InProcessTransport`; asking for it returns [`DeviceError::InvalidSpec`].
    pub fn open(&self, tcp: TcpOptions) -> Result<Arc<dyn Transport>, DeviceError> {
        Ok(match self {
            #[cfg(feature = "hid")]
            Self::Hid => Arc::new(HidTransport::open_first()?),
            #[cfg(feature = "hid")]
            Self::HidSerial(serial) => Arc::new(HidTransport::open_serial(serial)?),
            #[cfg(not(feature = "hid"))]
            Self::Hid | Self::HidSerial(_) => {
                return Err(DeviceError::HidUnavailable {
                    detail: "this build has no USB HID support (feature `hid`)".into(),
                });
            }
            Self::Tcp(address) => Arc::new(TcpTransport::connect_with(address.as_str(), tcp)?),
            Self::Emulator => {
                return Err(DeviceError::InvalidSpec {
                    spec: self.to_string(),
                    reason: "the emulator is opened with InProcessTransport".into(),
                });
            }
        })
    }
}

impl FromStr for DeviceSpec {
    type Err = DeviceError;

    fn from_str(text: &str) -> Result<Self, DeviceError> {
        let invalid = |reason: &str| DeviceError::InvalidSpec {
            spec: text.to_owned(),
            reason: reason.to_owned(),
        };
        if text == "hid" {
            return Ok(Self::Hid);
        }
        if text == "emulator" {
            return Ok(Self::Emulator);
        }
        if let Some(serial) = text.strip_prefix("hid:") {
            if serial.is_empty() {
                return Err(invalid("empty serial number"));
            }
            return Ok(Self::HidSerial(serial.to_owned()));
        }
        if let Some(address) = text.strip_prefix("tcp://") {
            let address = address.strip_suffix('/').unwrap_or(address);
            let (host, port) = address
                .rsplit_once(':')
                .ok_or_else(|| invalid("missing :PORT"))?;
            if host.is_empty() || host.contains('/') {
                return Err(invalid("missing or bad host"));
            }
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(invalid("port must be 1 to 65535"));
            }
            return Ok(Self::Tcp(address.to_owned()));
        }
        Err(invalid("unknown device kind"))
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hid => f.write_str("hid"),
            Self::HidSerial(serial) => write!(f, "hid:{serial}"),
            Self::Tcp(address) => write!(f, "tcp://{address}"),
            Self::Emulator => f.write_str("emulator"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_round_trips() {
        let cases = [
            ("hid", DeviceSpec::Hid),
            ("hid:0001ABC", DeviceSpec::HidSerial("0001ABC".into())),
            (
                "tcp://127.0.0.1:9999",
                DeviceSpec::Tcp("127.0.0.1:9999".into()),
            ),
            (
                "tcp://localhost:40000",
                DeviceSpec::Tcp("localhost:40000".into()),
            ),
            ("tcp://[::1]:9999", DeviceSpec::Tcp("[::1]:9999".into())),
            ("emulator", DeviceSpec::Emulator),
        ];
        for (text, spec) in cases {
            assert_eq!(text.parse::<DeviceSpec>().unwrap(), spec, "{text}");
            assert_eq!(spec.to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_forms() {
        for bad in [
            "",
            "usb",
            "hid:",
            "tcp://",
            "tcp://host",
            "tcp://:9999",
            "tcp://h:0",
            "tcp://h:99999",
            "tcp://h:x",
            "127.0.0.1:9999",
            "HID",
        ] {
            assert!(
                matches!(
                    bad.parse::<DeviceSpec>(),
                    Err(DeviceError::InvalidSpec { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn emulator_is_not_opened_here() {
        assert!(matches!(
            DeviceSpec::Emulator.open(TcpOptions::default()),
            Err(DeviceError::InvalidSpec { .. })
        ));
    }
}
