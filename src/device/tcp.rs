//! TCP transport speaking the Speculos APDU socket protocol, served by Speculos itself and by
//! the software device (`ledger-app`).
//!
//! Request: 4-byte big-endian length `N`, then the `N` APDU bytes. Reply: 4-byte big-endian
//! length `L` of the data **without** the status word, then `L` data bytes, then the 2-byte SW.
//!
//! Speculos sends a reply to whichever client connected last, so one connection is kept for
//! the transport's life and never silently replaced. If an exchange fails halfway (timeout,
//! short read), a late reply may still be in flight and would be read as the answer to the
//! next command; the connection is therefore dropped and every later exchange fails with
//! [`DeviceError::Disconnected`] until a new transport is made.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use zeroize::Zeroize;

use super::error::DeviceError;
use super::transport::{ApduAnswer, ApduCommand, Transport};

/// Largest reply data length accepted from the socket. A real answer is at most a few hundred
/// bytes; the cap stops a hostile or confused peer from making us allocate gigabytes.
pub const MAX_REPLY_DATA: usize = 64 * 1024;

/// Timeouts of a [`TcpTransport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpOptions {
    /// How long to wait for the TCP connection.
    pub connect_timeout: Duration,
    /// How long to wait for each reply; `None` waits forever. Commands that need the user's
    /// approval are answered only after the user acts, so keep it generous.
    pub read_timeout: Option<Duration>,
}

impl Default for TcpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            // Matches Speculos' own default wait for an APDU reply (about 5 minutes).
            read_timeout: Some(Duration::from_secs(300)),
        }
    }
}

/// Encodes one request frame: `u32be(len) ‖ apdu`.
pub fn encode_request(apdu: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(4 + apdu.len());
    // APDUs are at most 260 bytes; the length always fits.
    frame.extend_from_slice(&(apdu.len() as u32).to_be_bytes());
    frame.extend_from_slice(apdu);
    frame
}

/// Reads one reply frame from `reader`: `u32be(data_len) ‖ data ‖ SW`. A length above
/// [`MAX_REPLY_DATA`] is malformed; a stream that ends early is a dropped connection.
pub fn read_reply(reader: &mut impl Read) -> Result<ApduAnswer, ReplyError> {
    let mut header = [0u8; 4];
    reader.read_exact(&mut header).map_err(ReplyError::Io)?;
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_REPLY_DATA {
        return Err(ReplyError::TooLong(len));
    }
    let mut body = vec![0u8; len + 2];
    let read = reader.read_exact(&mut body);
    if let Err(error) = read {
        body.zeroize();
        return Err(ReplyError::Io(error));
    }
    let answer = ApduAnswer::from_bytes(&body);
    body.zeroize();
    answer.map_err(|_| ReplyError::TooLong(len))
}

/// Why a reply frame could not be read.
#[derive(Debug)]
pub enum ReplyError {
    /// The socket failed or closed before the frame was complete.
    Io(io::Error),
    /// The declared data length is larger than [`MAX_REPLY_DATA`].
    TooLong(usize),
}

/// A connection to a Speculos-compatible APDU socket.
#[derive(Debug)]
pub struct TcpTransport {
    peer: SocketAddr,
    options: TcpOptions,
    /// `None` once an exchange failed halfway: the stream may hold a late reply.
    stream: Mutex<Option<TcpStream>>,
}

impl TcpTransport {
    /// Connects to `address` (e.g. `127.0.0.1:9999`) with [`TcpOptions::default`].
    pub fn connect(address: impl ToSocketAddrs) -> Result<Self, DeviceError> {
        Self::connect_with(address, TcpOptions::default())
    }

    /// Connects to `address` with explicit timeouts. Every resolved address is tried in turn.
    pub fn connect_with(
        address: impl ToSocketAddrs,
        options: TcpOptions,
    ) -> Result<Self, DeviceError> {
        let addresses = address.to_socket_addrs().map_err(|e| DeviceError::Io {
            context: "resolving the device address".into(),
            source: e,
        })?;
        let mut last_error = None;
        for peer in addresses {
            match TcpStream::connect_timeout(&peer, options.connect_timeout) {
                Ok(stream) => {
                    // The read timeout is set before each read (see `UntilDeadline`).
                    stream
                        .set_write_timeout(Some(options.connect_timeout))
                        // Small request frames must not wait for Nagle.
                        .and_then(|()| stream.set_nodelay(true))
                        .map_err(|e| DeviceError::Io {
                            context: format!("configuring the connection to {peer}"),
                            source: e,
                        })?;
                    return Ok(Self {
                        peer,
                        options,
                        stream: Mutex::new(Some(stream)),
                    });
                }
                Err(error) => last_error = Some((peer, error)),
            }
        }
        Err(match last_error {
            Some((_, error)) if error.kind() == io::ErrorKind::TimedOut => DeviceError::Timeout {
                after: options.connect_timeout,
            },
            Some((peer, error)) => DeviceError::Unreachable {
                address: peer.to_string(),
                detail: error.to_string(),
            },
            None => DeviceError::Unreachable {
                address: String::new(),
                detail: "the address resolved to nothing".into(),
            },
        })
    }

    /// The peer address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// `waited` is how long the operation that failed was allowed to take.
    fn fail(&self, error: io::Error, during: &str, waited: Option<Duration>) -> DeviceError {
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => DeviceError::Timeout {
                after: waited.unwrap_or_default(),
            },
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected => DeviceError::Disconnected {
                detail: format!("{} {during}: {error}", self.peer),
            },
            _ => DeviceError::Io {
                context: format!("{during} {}", self.peer),
                source: error,
            },
        }
    }

    /// One exchange; with `limit`, the whole reply (not each read) must arrive within it.
    fn exchange_bounded(
        &self,
        command: &ApduCommand,
        limit: Option<Duration>,
    ) -> Result<ApduAnswer, DeviceError> {
        // A panic while holding the lock leaves the Option in place; the stream state is
        // handled below like any other failure.
        let mut guard = self.stream.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(stream) = guard.as_mut() else {
            return Err(DeviceError::Disconnected {
                detail: format!(
                    "an earlier exchange with {} failed and its reply may still arrive; reconnect",
                    self.peer
                ),
            });
        };
        // The tighter of the call's limit and the transport's own read timeout.
        let waited = match (limit, self.options.read_timeout) {
            (Some(limit), Some(own)) => Some(limit.min(own)),
            (limit, own) => limit.or(own),
        };
        // An instant too far away to represent is no deadline at all.
        let deadline = waited.and_then(|w| Instant::now().checked_add(w));
        let frame = encode_request(&command.to_bytes());
        let result = stream
            .write_all(&frame)
            .and_then(|()| stream.flush())
            .map_err(|e| self.fail(e, "sending to", Some(self.options.connect_timeout)))
            .and_then(|()| {
                let mut reader = UntilDeadline {
                    stream: &*stream,
                    deadline,
                };
                read_reply(&mut reader).map_err(|e| match e {
                    ReplyError::Io(e) => self.fail(e, "reading from", waited),
                    ReplyError::TooLong(len) => DeviceError::malformed(format!(
                        "reply declares {len} data bytes (more than {MAX_REPLY_DATA})"
                    )),
                })
            });
        if result.is_err() {
            // The stream is out of step with the device: never reuse it.
            if let Some(stream) = guard.take() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        result
    }
}

/// Reads from a stream, failing with `TimedOut` once `deadline` has passed, however the
/// bytes trickle in: each read may wait only for what is left of the time.
struct UntilDeadline<'a> {
    stream: &'a TcpStream,
    deadline: Option<Instant>,
}

impl Read for UntilDeadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let remaining = match self.deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                // A zero read timeout means "none" to the OS: time is simply up.
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                Some(left)
            }
            None => None,
        };
        self.stream.set_read_timeout(remaining)?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}

impl Transport for TcpTransport {
    /// Waits for the reply as long as [`TcpOptions::read_timeout`] allows.
    fn exchange(&self, command: &ApduCommand) -> Result<ApduAnswer, DeviceError> {
        self.exchange_bounded(command, None)
    }

    /// Waits for the whole reply at most `limit` (or the transport's read timeout, if
    /// shorter); after a timeout the connection is dropped, since the late reply may still
    /// arrive on it.
    fn exchange_within(
        &self,
        command: &ApduCommand,
        limit: Duration,
    ) -> Result<ApduAnswer, DeviceError> {
        self.exchange_bounded(command, Some(limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn request_frame_is_length_then_apdu() {
        assert_eq!(
            encode_request(&[0xE0, 0x06, 0, 0, 0]),
            [0, 0, 0, 5, 0xE0, 0x06, 0, 0, 0]
        );
    }

    #[test]
    fn reply_length_excludes_the_status_word() {
        let mut reply = Cursor::new(vec![0, 0, 0, 4, 2, 1, 0x16, 0, 0x90, 0x00, 0xFF]);
        let answer = read_reply(&mut reply).unwrap();
        assert_eq!(answer.data(), [2, 1, 0x16, 0]);
        assert_eq!(answer.status(), 0x9000);
        // Exactly one frame consumed; the next byte belongs to the next frame.
        assert_eq!(reply.position(), 10);
        let answer = read_reply(&mut Cursor::new(vec![0, 0, 0, 0, 0x69, 0x85])).unwrap();
        assert_eq!((answer.data().len(), answer.status()), (0, 0x6985));
    }

    #[test]
    fn truncated_and_oversized_replies_are_errors() {
        for bytes in [
            vec![],
            vec![0, 0],
            vec![0, 0, 0, 4, 1, 2],
            vec![0, 0, 0, 0, 0x90],
        ] {
            assert!(
                matches!(read_reply(&mut Cursor::new(bytes.clone())), Err(ReplyError::Io(ref e)) if e.kind() == io::ErrorKind::UnexpectedEof),
                "{bytes:?}"
            );
        }
        assert!(matches!(
            read_reply(&mut Cursor::new(vec![0xFF, 0xFF, 0xFF, 0xFF, 0x90, 0x00])),
            Err(ReplyError::TooLong(0xFFFF_FFFF))
        ));
    }
}
