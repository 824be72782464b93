//! A Speculos-compatible raw APDU TCP server (Speculos `--apdu-port`, `speculos/mcu/apdu.py`).
//!
//! Framing, the one place socket bytes are parsed:
//! - request: 4-byte big-endian length `N`, then `N` bytes of raw APDU (no HID framing);
//! - reply: 4-byte big-endian length of the answer data **excluding** the 2-byte status word,
//!   then the data, then the status word (so a client reads `4 + len + 2` bytes).
//!
//! Differences from Speculos, all on the forgiving side: several connections may be open at
//! once and each gets the replies to its own requests (Speculos replies to the most recently
//! accepted client); a request longer than [`MAX_REQUEST_LEN`] closes the connection instead of
//! being buffered; a dropped-connection fault ([`crate::DropConnection`]) closes the socket
//! without a reply. When the Ethereum app exits without answering ([`crate::NoAnswer`]) the
//! socket is closed too, where Speculos, whose process is the app, ends. A zero-length request
//! gets no reply and the connection stays open, as in Speculos.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{Error, SoftwareDevice};

/// Longest request accepted: a short APDU is at most 5 + 255 bytes, so anything much longer is
/// garbage; longer requests close the connection without allocating. Requests up to this size
/// that are not valid APDUs reach the device, which answers `0x6A87` like the real parser.
pub const MAX_REQUEST_LEN: u32 = 4096;

/// How often the accept loop checks for shutdown.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Open connections, so that shutdown can close them and wake their threads.
type Connections = Arc<Mutex<HashMap<u64, TcpStream>>>;

/// Serves `device` on `listener` until `shutdown` becomes true, one thread per connection.
///
/// Connections are served in parallel but the device answers one APDU at a time. Malformed or
/// truncated frames end their connection, never the server. On shutdown, open connections are
/// closed and their threads joined before this returns.
pub fn serve(
    listener: TcpListener,
    device: Arc<SoftwareDevice>,
    shutdown: Arc<AtomicBool>,
) -> Result<(), Error> {
    // Non-blocking accept so the loop can notice `shutdown` without a wake-up connection.
    listener
        .set_nonblocking(true)
        .map_err(|source| Error::Tcp {
            context: "cannot make the listener non-blocking".into(),
            source,
        })?;
    let connections: Connections = Arc::default();
    let next_id = AtomicU64::new(0);
    let mut workers: Vec<JoinHandle<()>> = Vec::new();

    while !shutdown.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _peer)) => {
                workers.retain(|w| !w.is_finished());
                let id = next_id.fetch_add(1, Ordering::SeqCst);
                let Ok(tracked) = stream.try_clone() else {
                    continue;
                };
                lock(&connections).insert(id, tracked);
                let device = Arc::clone(&device);
                let connections = Arc::clone(&connections);
                workers.push(std::thread::spawn(move || {
                    // A connection's I/O error concerns that client only.
                    let _ = serve_connection(stream, &device);
                    lock(&connections).remove(&id);
                }));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL_INTERVAL),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Per-connection accept failures (e.g. the peer reset before accept) are not fatal.
            Err(e) if is_transient_accept_error(&e) => std::thread::sleep(POLL_INTERVAL),
            Err(source) => {
                close_all(&connections);
                return Err(Error::Tcp {
                    context: "accept failed".into(),
                    source,
                });
            }
        }
    }
    close_all(&connections);
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

fn is_transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::TimedOut
            | io::ErrorKind::OutOfMemory
    ) || e.raw_os_error().is_some_and(|code| {
        // EMFILE / ENFILE: out of descriptors for now; keep serving those already open.
        code == 24 || code == 23
    })
}

fn close_all(connections: &Connections) {
    for stream in lock(connections).values() {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves one client until it closes, sends a malformed frame, or a drop fault fires.
///
/// Returns `Ok` for every orderly or malformed end (EOF, EOF mid-frame, oversized length, drop
/// fault) and `Err` only for socket errors.
pub fn serve_connection(mut stream: TcpStream, device: &SoftwareDevice) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    loop {
        let mut header = [0u8; 4];
        if !read_full(&mut stream, &mut header)? {
            return Ok(());
        }
        let len = u32::from_be_bytes(header);
        if len > MAX_REQUEST_LEN {
            let _ = stream.shutdown(Shutdown::Both);
            return Ok(());
        }
        let mut apdu = vec![0u8; len as usize];
        if !read_full(&mut stream, &mut apdu)? {
            return Ok(());
        }
        match device.exchange_checked(&apdu) {
            Ok(answer) => stream.write_all(&reply_frame(&answer))?,
            // A drop fault closes the link; so does the app exiting, as Speculos ends with it.
            Err(no_answer) if no_answer.closes_connection() => {
                let _ = stream.shutdown(Shutdown::Both);
                return Ok(());
            }
            // An empty APDU is not answered; the next frame is.
            Err(_) => {}
        }
    }
}

/// Fills `buf` completely; `Ok(false)` when the peer closed first (at any point of the frame).
fn read_full(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match stream.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Encodes a request frame: 4-byte big-endian length, then the APDU. (For clients and tests.)
pub fn request_frame(apdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + apdu.len());
    out.extend_from_slice(&(apdu.len() as u32).to_be_bytes());
    out.extend_from_slice(apdu);
    out
}

/// Encodes a reply frame from a device answer (`data || SW`): length of `data`, then the answer.
pub fn reply_frame(answer: &[u8]) -> Vec<u8> {
    let data_len = answer.len().saturating_sub(2);
    let mut out = Vec::with_capacity(4 + answer.len());
    out.extend_from_slice(&(data_len as u32).to_be_bytes());
    out.extend_from_slice(answer);
    out
}

/// Reads one reply frame and returns the answer as the device gave it (`data || SW`).
/// (For clients and tests.) Fails with `UnexpectedEof` if the server closed the connection,
/// e.g. because of a drop fault.
pub fn read_reply(stream: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header)?;
    let data_len = u32::from_be_bytes(header) as usize;
    if data_len > MAX_REQUEST_LEN as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("reply length {data_len} is too long for an APDU answer"),
        ));
    }
    let mut answer = vec![0u8; data_len + 2];
    stream.read_exact(&mut answer)?;
    Ok(answer)
}

/// A [`serve`] loop running on a background thread, for tests and for embedding.
///
/// Dropping it stops the server (closing open connections) and waits for its threads.
#[derive(Debug)]
pub struct TcpServer {
    addr: SocketAddr,
    shutdown: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), Error>>>,
}

impl TcpServer {
    /// Binds `addr` and serves `device` on a background thread.
    pub fn spawn(device: Arc<SoftwareDevice>, addr: impl ToSocketAddrs) -> Result<Self, Error> {
        let listener = TcpListener::bind(addr).map_err(|source| Error::Tcp {
            context: "cannot bind the listening address".into(),
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| Error::Tcp {
            context: "cannot read the bound address".into(),
            source,
        })?;
        let shutdown = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&shutdown);
        let thread = std::thread::Builder::new()
            .name(format!("ledger-app tcp {addr}"))
            .spawn(move || serve(listener, device, flag))
            .map_err(|source| Error::Tcp {
                context: "cannot start the server thread".into(),
                source,
            })?;
        Ok(Self {
            addr,
            shutdown,
            thread: Some(thread),
        })
    }

    /// Serves `device` on an ephemeral loopback port (`127.0.0.1:0`); see [`Self::local_addr`].
    pub fn spawn_ephemeral(device: Arc<SoftwareDevice>) -> Result<Self, Error> {
        Self::spawn(device, ("127.0.0.1", 0))
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes open connections, waits for every server thread, and returns
    /// the serve loop's result.
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), Error> {
        self.shutdown.store(true, Ordering::SeqCst);
        match self.thread.take() {
            Some(thread) => thread.join().unwrap_or_else(|_| {
                Err(Error::Tcp {
                    context: "the server thread panicked".into(),
                    source: io::Error::other("panic"),
                })
            }),
            None => Ok(()),
        }
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_put_the_data_length_before_data_and_status_word() {
        assert_eq!(request_frame(&[0xE0, 6, 0, 0]), [0, 0, 0, 4, 0xE0, 6, 0, 0]);
        assert_eq!(
            reply_frame(&[2, 1, 0x16, 0, 0x90, 0]),
            [0, 0, 0, 4, 2, 1, 0x16, 0, 0x90, 0]
        );
        assert_eq!(reply_frame(&[0x69, 0x85]), [0, 0, 0, 0, 0x69, 0x85]);
        let mut wire = &reply_frame(&[7, 0x90, 0])[..];
        assert_eq!(read_reply(&mut wire).unwrap(), [7, 0x90, 0]);
    }
}
