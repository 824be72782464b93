//! The node's two listeners at the connection level: how many connections each one
//! holds, how long a connection may take to say anything, and what happens to one that
//! stops reading or goes quiet.
//!
//! Both listeners (gRPC and the REST gateway) accept through an [`Admission`]:
//!
//! - at most [`ConnectionLimits::max_connections`] open connections per listener, and
//!   never more than the process's file-descriptor limit allows (see
//!   [`ConnectionLimits::fit_to_fd_limit`]). A connection beyond the cap is accepted and
//!   closed at once, so the kernel's backlog never fills with attackers' sockets that
//!   would each be served in turn later;
//! - an accept error that means the process is out of a resource (`EMFILE`, `ENFILE`,
//!   `ENOBUFS`, `ENOMEM`) backs off (10 ms doubling to 1 s, as Go's `net/http` does)
//!   instead of spinning on a listener that stays readable;
//! - each connection is a [`GuardedStream`]: it must complete its handshake (the HTTP/2
//!   client preface and first SETTINGS frame, for gRPC) within
//!   [`ConnectionLimits::handshake_timeout`], a write that makes no progress for
//!   [`ConnectionLimits::write_stall_timeout`] closes it (a client that stopped
//!   reading), and a gRPC connection with no request open for
//!   [`ConnectionLimits::idle_timeout`] is closed. The REST gateway's header, idle and
//!   body bounds are hyper's and the gateway's own (see `rest`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tonic::codegen::{Bytes, http};

use crate::network::RetryPolicy;

/// Connection-level bounds of both listeners. Each is per listener, so a flood on one
/// never starves the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most open connections per listener (512). Lowered at start so that both
    /// listeners together stay below the file-descriptor limit.
    pub max_connections: usize,
    /// Most requests open at once on one gRPC connection (HTTP/2 streams, 100;
    /// subscriptions count). An HTTP/1.1 connection serves one request at a time.
    pub max_requests_per_connection: u32,
    /// How long a new connection has to complete its handshake (10 s): the HTTP/2
    /// client preface and SETTINGS for gRPC; the whole request header for REST, which
    /// is also how long a kept-alive REST connection may sit between requests.
    pub handshake_timeout: Duration,
    /// How long a request may take to arrive whole and be answered (30 s): a gRPC
    /// unary call (body included), the REST request body. Streams' lifetimes are not
    /// limited by it.
    pub request_timeout: Duration,
    /// A gRPC connection with no request open for this long is closed (120 s); its
    /// client reconnects on its next call.
    pub idle_timeout: Duration,
    /// A write to a client that makes no progress for this long closes the connection
    /// (30 s): a client that stopped reading holds nothing for long.
    pub write_stall_timeout: Duration,
    /// How often the gRPC listener pings an HTTP/2 connection that sent nothing (30 s),
    /// and how long it waits for the answer before closing it (10 s).
    pub keepalive_interval: Duration,
    /// See [`ConnectionLimits::keepalive_interval`].
    pub keepalive_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            max_requests_per_connection: 100,
            handshake_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            write_stall_timeout: Duration::from_secs(30),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
        }
    }
}

/// Largest request head (request line and headers) either listener reads: hyper's
/// HTTP/2 default header-list size, which the gRPC listener keeps, and the REST
/// listener's read buffer (HTTP 431 beyond).
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;

/// File descriptors kept out of the connection budget: stdio, the database and its WAL
/// and SHM, the listeners, the runtime's own, a device, logs.
const RESERVED_FDS: u64 = 64;
/// The fewest connections a listener is given, however low the limit.
const MIN_CONNECTIONS: usize = 8;

impl ConnectionLimits {
    /// These limits with `max_connections` lowered so that `listeners` listeners at
    /// their cap, plus `RESERVED_FDS`, fit under the soft `RLIMIT_NOFILE`.
    pub fn fit_to_fd_limit(mut self, listeners: usize) -> Self {
        if let Some(limit) = fd_limit() {
            let per_listener = limit.saturating_sub(RESERVED_FDS) / listeners.max(1) as u64;
            let per_listener = usize::try_from(per_listener)
                .unwrap_or(usize::MAX)
                .max(MIN_CONNECTIONS);
            if per_listener < self.max_connections {
                tracing::info!(
                    fd_limit = limit,
                    max_connections = per_listener,
                    "lowering the per-listener connection cap to fit the file-descriptor limit"
                );
                self.max_connections = per_listener;
            }
        }
        self
    }
}

/// The soft limit on open files, if there is one.
fn fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct we pass, which outlives the call.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
        // rlim_t is u64 on Linux and macOS, but not on every unix.
        #[allow(clippy::unnecessary_cast)]
        (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Which listener, for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListenerKind {
    /// gRPC (HTTP/2).
    Grpc,
    /// The REST gateway (HTTP/1.1).
    Rest,
}

impl ListenerKind {
    fn name(self) -> &'static str {
        match self {
            Self::Grpc => "gRPC",
            Self::Rest => "REST",
        }
    }

    /// Bytes a client must send before its handshake counts as done: the HTTP/2
    /// preface (24 bytes) plus the SETTINGS frame header that must follow it (9; RFC
    /// 9113 §3.4). REST relies on hyper's header timeout instead.
    fn handshake_bytes(self) -> usize {
        match self {
            Self::Grpc => 24 + 9,
            Self::Rest => 0,
        }
    }
}

/// Accepts connections on one listener within its bounds.
pub(crate) struct Admission {
    listener: TcpListener,
    kind: ListenerKind,
    limits: ConnectionLimits,
    permits: Arc<Semaphore>,
    backoff: Backoff,
    refused_logged_at: Option<Instant>,
}

impl Admission {
    pub(crate) fn new(listener: TcpListener, kind: ListenerKind, limits: ConnectionLimits) -> Self {
        Self {
            listener,
            kind,
            limits,
            permits: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            backoff: Backoff::default(),
            refused_logged_at: None,
        }
    }

    /// The next connection within the cap. Never fails: errors that concern one
    /// connection are skipped, resource exhaustion waits and retries.
    pub(crate) async fn accept(&mut self) -> GuardedStream {
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(accepted) => {
                    self.backoff.reset();
                    accepted
                }
                Err(error) if is_resource_exhaustion(&error) => {
                    let pause = self.backoff.next_pause();
                    tracing::warn!(listener = self.kind.name(), %error, ?pause, "cannot accept connections; backing off");
                    tokio::time::sleep(pause).await;
                    continue;
                }
                Err(error) => {
                    tracing::debug!(listener = self.kind.name(), %error, "accept failed for one connection");
                    continue;
                }
            };
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                self.log_refusal();
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            return GuardedStream::new(stream, peer, permit, self.kind, self.limits);
        }
    }

    /// At most one warning a second, however fast a flood arrives.
    fn log_refusal(&mut self) {
        let now = Instant::now();
        if self
            .refused_logged_at
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
        {
            self.refused_logged_at = Some(now);
            tracing::warn!(
                listener = self.kind.name(),
                max_connections = self.limits.max_connections,
                "connection limit reached; closing new connections until some end"
            );
        }
    }
}

/// Accept errors that say the process (or system) is out of something, not that one
/// connection went wrong: retrying at once would spin.
fn is_resource_exhaustion(error: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(
            error.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        )
    }
    #[cfg(not(unix))]
    {
        error.kind() == io::ErrorKind::OutOfMemory
    }
}

/// Pauses after resource-exhaustion errors: the client's capped doubling
/// ([`RetryPolicy::backoff`]), from 10 ms to at most 1 s.
#[derive(Debug, Default)]
struct Backoff {
    /// Resource-exhaustion errors in a row.
    failures: u32,
}

impl Backoff {
    const SCHEDULE: RetryPolicy = RetryPolicy {
        max_attempts: u32::MAX,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_secs(1),
    };

    fn next_pause(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        Self::SCHEDULE.backoff(self.failures)
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Requests open on one connection, and since when none has been.
#[derive(Debug)]
pub(crate) struct Activity {
    open: AtomicUsize,
    idle_since: Mutex<Instant>,
    /// The connection's pending read, woken when the last request ends so that the
    /// idle timer is armed then rather than at the next keepalive ping.
    reader: Mutex<Option<Waker>>,
}

impl Activity {
    fn new() -> Self {
        Self {
            open: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            reader: Mutex::new(None),
        }
    }

    fn park_reader(&self, waker: &Waker) {
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        if !reader.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *reader = Some(waker.clone());
        }
    }

    /// Marks a request open until the guard is dropped.
    pub(crate) fn start(self: &Arc<Self>) -> RequestGuard {
        self.open.fetch_add(1, Ordering::SeqCst);
        RequestGuard {
            activity: self.clone(),
        }
    }

    /// When the connection became idle, if it is.
    fn idle_since(&self) -> Option<Instant> {
        if self.open.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(*self.idle_since.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// One open request (see [`Activity::start`]).
#[derive(Debug)]
pub(crate) struct RequestGuard {
    activity: Arc<Activity>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut idle_since = self
            .activity
            .idle_since
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if self.activity.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            *idle_since = Instant::now();
            drop(idle_since);
            let reader = self
                .activity
                .reader
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(reader) = reader {
                reader.wake();
            }
        }
    }
}

/// What tonic puts in each request's extensions for a [`GuardedStream`]: the peer, and
/// the connection's [`Activity`] for the request-tracking layer.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionInfo {
    /// The client's address.
    #[allow(dead_code)]
    pub(crate) peer: SocketAddr,
    /// The connection's open requests.
    pub(crate) activity: Arc<Activity>,
}

/// An accepted connection that holds its listener's permit and enforces the handshake,
/// write-stall and (gRPC) idle timeouts; see the module docs.
pub(crate) struct GuardedStream {
    stream: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
    /// Bytes still to read before the handshake deadline stops applying.
    handshake_left: usize,
    handshake_deadline: Pin<Box<Sleep>>,
    write_stall_timeout: Duration,
    write_deadline: Option<Pin<Box<Sleep>>>,
    /// gRPC only: no request open for this long closes the connection.
    idle: Option<(Duration, Pin<Box<Sleep>>)>,
    activity: Arc<Activity>,
}

impl GuardedStream {
    fn new(
        stream: TcpStream,
        peer: SocketAddr,
        permit: OwnedSemaphorePermit,
        kind: ListenerKind,
        limits: ConnectionLimits,
    ) -> Self {
        let idle = (kind == ListenerKind::Grpc).then(|| {
            (
                limits.idle_timeout,
                Box::pin(tokio::time::sleep(limits.idle_timeout)),
            )
        });
        Self {
            stream,
            peer,
            _permit: permit,
            handshake_left: kind.handshake_bytes(),
            handshake_deadline: Box::pin(tokio::time::sleep(limits.handshake_timeout)),
            write_stall_timeout: limits.write_stall_timeout,
            write_deadline: None,
            idle,
            activity: Arc::new(Activity::new()),
        }
    }

    /// The connection's open-request tracker.
    pub(crate) fn info(&self) -> ConnectionInfo {
        ConnectionInfo {
            peer: self.peer,
            activity: self.activity.clone(),
        }
    }

    /// An error if a read-side deadline has passed (handshake, idle); otherwise
    /// registers the waker with the timers that apply.
    fn check_read_deadlines(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.handshake_left > 0 && self.handshake_deadline.as_mut().poll(cx).is_ready() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client did not complete its handshake in time",
            ));
        }
        if self.idle.is_some() {
            self.activity.park_reader(cx.waker());
        }
        if let Some((timeout, sleep)) = &mut self.idle
            && let Some(since) = self.activity.idle_since()
        {
            let deadline = tokio::time::Instant::from_std(since + *timeout);
            if sleep.deadline() != deadline {
                sleep.as_mut().reset(deadline);
            }
            if sleep.as_mut().poll(cx).is_ready() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection idle: no request open",
                ));
            }
        }
        Ok(())
    }

    /// Runs one write attempt under the write-stall deadline.
    fn guard_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        attempt: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match attempt(Pin::new(&mut self.stream), cx) {
            Poll::Ready(result) => {
                self.write_deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let stall = self.write_stall_timeout;
                let deadline = self
                    .write_deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
                ready!(deadline.as_mut().poll(cx));
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "client stopped reading",
                )))
            }
        }
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = buf.filled().len() - before;
                this.handshake_left = this.handshake_left.saturating_sub(read);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                this.check_read_deadlines(cx)?;
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .guard_write(cx, |stream, cx| stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .guard_write(cx, |stream, cx| stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .guard_write(cx, |stream, cx| stream.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Tracks each gRPC request in its connection's [`Activity`] from the moment it arrives
/// until its response body (a stream, for subscriptions) is finished or dropped.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TrackRequestsLayer;

impl<S> tower_layer::Layer<S> for TrackRequestsLayer {
    type Service = TrackRequests<S>;

    fn layer(&self, inner: S) -> TrackRequests<S> {
        TrackRequests { inner }
    }
}

/// See [`TrackRequestsLayer`].
#[derive(Clone, Debug)]
pub(crate) struct TrackRequests<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B> tower_service::Service<http::Request<B>> for TrackRequests<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let guard = request
            .extensions()
            .get::<ConnectionInfo>()
            .map(|info| info.activity.start());
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(match guard {
                Some(guard) => response.map(|body| {
                    tonic::body::Body::new(TrackedBody {
                        body,
                        _guard: guard,
                    })
                }),
                None => response,
            })
        })
    }
}

/// A response body that keeps its request counted as open until it is done.
struct TrackedBody {
    body: tonic::body::Body,
    _guard: RequestGuard,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, tonic::Status>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl tonic::transport::server::Connected for GuardedStream {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> ConnectionInfo {
        self.info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_10ms_to_1s_and_resets() {
        let mut backoff = Backoff::default();
        let pauses: Vec<_> = (0..9).map(|_| backoff.next_pause().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.next_pause(), Duration::from_millis(10));
    }

    #[cfg(unix)]
    #[test]
    fn resource_errors_back_off_and_connection_errors_do_not() {
        for errno in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert!(is_resource_exhaustion(&io::Error::from_raw_os_error(errno)));
        }
        for errno in [
            libc::ECONNABORTED,
            libc::ECONNRESET,
            libc::EPERM,
            libc::EINTR,
        ] {
            assert!(!is_resource_exhaustion(&io::Error::from_raw_os_error(
                errno
            )));
        }
    }

    #[test]
    fn the_connection_cap_fits_the_fd_limit() {
        let limits = ConnectionLimits {
            max_connections: usize::MAX,
            ..ConnectionLimits::default()
        };
        let fitted = limits.fit_to_fd_limit(2);
        if let Some(limit) = fd_limit() {
            let both = 2 * fitted.max_connections as u64 + RESERVED_FDS;
            assert!(
                both <= limit || fitted.max_connections == MIN_CONNECTIONS,
                "{both} > {limit}"
            );
        }
        // A cap already below the limit is kept.
        let small = ConnectionLimits {
            max_connections: 3,
            ..ConnectionLimits::default()
        };
        assert_eq!(small.fit_to_fd_limit(2).max_connections, 3);
    }

    #[test]
    fn a_request_guard_marks_the_connection_busy_until_dropped() {
        let activity = Arc::new(Activity::new());
        let idle_at_start = activity.idle_since().expect("idle at first");
        let first = activity.start();
        let second = activity.start();
        assert_eq!(activity.idle_since(), None);
        drop(first);
        assert_eq!(activity.idle_since(), None);
        std::thread::sleep(Duration::from_millis(5));
        drop(second);
        assert!(activity.idle_since().expect("idle again") > idle_at_start);
    }
}
