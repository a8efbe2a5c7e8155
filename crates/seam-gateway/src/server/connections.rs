//! Client connections and what bounds them, so that slow or idle clients cannot hold the
//! gateway's sockets and file descriptors against the ones making calls:
//!
//! - a request's head must arrive within `server.header_timeout_ms` (from accept for the
//!   first request, from its first byte for a later one);
//! - a kept-alive connection may wait at most `server.idle_timeout_secs` for its next request;
//! - at most `server.max_connections` are open. At the cap, the connection that has waited
//!   longest without a call in flight (one that never made a call first; at least a second,
//!   or half the header timeout) is closed to make room, so a slow client gives way to a new
//!   one; when there is none (every connection in a call, or just opened), accepting pauses
//!   until there is, and new connections wait in the listen queue.
//!
//! A request's body has a deadline of its own (`server.body_timeout_ms`, `request.rs`): a
//! connection in a call is not timed here. The hot path pays a few atomic operations per
//! call and per read, and one clock read at each call's end; each connection's task holds
//! one timer, which it re-arms only when it fires.

use crate::observe::Reason;
pub use crate::observe::connections::ConnectionMetrics;
use crate::throttle::LogThrottle;
use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How often a full gateway looks again for a connection to close, while it waits for a slot.
const ROOM_RETRY: Duration = Duration::from_millis(100);
/// File descriptors kept for everything but client connections: the listener, the store's
/// pool, the records spool, Redis, logs.
const RESERVED_FDS: u64 = 64;
/// The most connections the default allows, however high the open-file limit.
const MAX_DEFAULT: u64 = 65_536;
/// A deadline past what `Instant` can hold is checked again a day later.
const FAR: Duration = Duration::from_secs(86_400);
/// A connection is closed to make room only once it has waited this long without a call
/// (or half its header timeout, if less): a new client's head is in the socket before the
/// gateway has read it, and it must not be taken for a slow one.
const EVICT_AFTER: Duration = Duration::from_secs(1);

impl ConnectionMetrics {
    fn count(&self, why: Closed) {
        self.closed
            .get_or_create(&Reason {
                reason: why.as_str().into(),
            })
            .inc();
    }
}

/// Why Seam closed a connection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Closed {
    HeaderTimeout,
    IdleTimeout,
    Evicted,
}

impl Closed {
    fn as_str(self) -> &'static str {
        match self {
            Closed::HeaderTimeout => "header_timeout",
            Closed::IdleTimeout => "idle_timeout",
            Closed::Evicted => "evicted",
        }
    }
}

/// The soft open-file limit (`ulimit -n`), where the system says (Linux: /proc).
pub fn open_file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    match line.split_whitespace().nth(3)? {
        "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    }
}

/// Without `server.max_connections`: half of the descriptors left after [`RESERVED_FDS`]
/// (a call in flight holds its client's socket and one to its provider), at least 16.
pub fn default_max(open_file_limit: Option<u64>) -> usize {
    let fds = open_file_limit.unwrap_or(1024);
    let n = (fds.saturating_sub(RESERVED_FDS) / 2).clamp(16, MAX_DEFAULT);
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The open connections and the slots for new ones.
pub struct Connections {
    slots: Arc<Semaphore>,
    max: usize,
    open: Mutex<crate::FastMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    /// Connections told to close to make room that have not closed yet.
    evicting: AtomicUsize,
    metrics: Arc<crate::observe::Metrics>,
    full_log: LogThrottle,
}

impl Connections {
    pub fn new(max: usize, metrics: Arc<crate::observe::Metrics>) -> Arc<Connections> {
        metrics
            .connections
            .max
            .set(i64::try_from(max).unwrap_or(i64::MAX));
        Arc::new(Connections {
            slots: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
            max,
            open: Mutex::new(crate::FastMap::default()),
            next_id: AtomicU64::new(0),
            evicting: AtomicUsize::new(0),
            metrics,
            full_log: LogThrottle::new(10_000),
        })
    }

    fn open(&self) -> MutexGuard<'_, crate::FastMap<u64, Arc<Conn>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for a connection just accepted: at once below the cap; at the cap, once the
    /// connection that waited longest without a call has closed, or (every connection in a
    /// call) once any has ended.
    pub async fn slot(&self) -> OwnedSemaphorePermit {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return p;
        }
        loop {
            if self.evicting.load(Ordering::Acquire) == 0
                && !self.evict_one()
                && let Some(skipped) = self.full_log.due()
            {
                tracing::warn!(
                    max_connections = self.max,
                    skipped,
                    "server.max_connections connections are open, each in a call or just opened; new connections wait in the listen queue (see seam_connections_open)"
                );
            }
            // The semaphore is never closed: an error cannot happen, and would retry.
            if let Ok(Ok(p)) =
                tokio::time::timeout(ROOM_RETRY, self.slots.clone().acquire_owned()).await
            {
                return p;
            }
        }
    }

    /// Tells the connection that has waited longest without a call (never having made one
    /// first) to close, if it has waited long enough. Whether there was one.
    pub fn evict_one(&self) -> bool {
        let now = Instant::now();
        let open = self.open();
        let victim = open
            .values()
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .filter_map(|c| c.waiting(now).map(|w| (c, w)))
            .min_by_key(|(_, w)| *w)
            .map(|(c, _)| c);
        let Some(c) = victim else {
            return false;
        };
        // Marked under the lock its removal takes, so that a connection closing meanwhile is
        // either not chosen or counted out when it goes.
        c.evicted.store(true, Ordering::Relaxed);
        self.evicting.fetch_add(1, Ordering::AcqRel);
        c.evict.notify_one();
        true
    }

    /// A connection accepted into `slot`, timed with the gateway's current settings.
    pub fn register(
        self: &Arc<Self>,
        slot: OwnedSemaphorePermit,
        header_timeout: Duration,
        idle_timeout: Duration,
    ) -> Registered {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            opened: Instant::now(),
            header_timeout,
            idle_timeout,
            calls: AtomicU32::new(0),
            served: AtomicBool::new(false),
            // Its first request's head is due from now.
            head_from: AtomicU64::new(1),
            idle_from: AtomicU64::new(1),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
        });
        self.open().insert(id, conn.clone());
        self.metrics.connections.open.inc();
        Registered {
            conns: self.clone(),
            id,
            conn,
            _slot: slot,
        }
    }

    pub fn closed_by(&self, why: Closed) {
        self.metrics.connections.count(why);
    }

    /// Whether a connection told to make room closes: not once a call has begun on it (its
    /// head arrived as it was chosen); the gateway then looks for another.
    pub fn evicts(&self, conn: &Conn) -> bool {
        if conn.calls.load(Ordering::Acquire) == 0 {
            return true;
        }
        let _open = self.open();
        if conn.evicted.swap(false, Ordering::AcqRel) {
            self.evicting.fetch_sub(1, Ordering::AcqRel);
        }
        false
    }
}

/// One open connection's place among them; dropped when its task ends.
pub struct Registered {
    conns: Arc<Connections>,
    id: u64,
    pub conn: Arc<Conn>,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut open = self.conns.open();
        open.remove(&self.id);
        if self.conn.evicted.load(Ordering::Relaxed) {
            self.conns.evicting.fetch_sub(1, Ordering::AcqRel);
        }
        drop(open);
        self.conns.metrics.connections.open.dec();
    }
}

/// What a connection's task, its socket and its calls share.
pub struct Conn {
    opened: Instant,
    header_timeout: Duration,
    idle_timeout: Duration,
    /// Calls in flight on it (at most one with HTTP/1.1).
    calls: AtomicU32,
    /// Whether a call of it has ended.
    served: AtomicBool,
    /// Milliseconds after `opened`, plus one, when its current request's head began (at
    /// accept, then at the first byte after a call); 0 while none is being read.
    head_from: AtomicU64,
    /// Milliseconds after `opened`, plus one, when its last call ended.
    idle_from: AtomicU64,
    evicted: AtomicBool,
    pub evict: Notify,
}

/// What a connection's timer does when it fires.
#[derive(Debug, PartialEq)]
pub enum Step {
    Close(Closed),
    CheckAt(Instant),
}

impl Conn {
    fn stamp(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    fn at(&self, stamp: u64) -> Instant {
        let after = Duration::from_millis(stamp.saturating_sub(1));
        self.opened.checked_add(after).unwrap_or(self.opened)
    }

    /// When its first deadline (the first request's head) falls.
    pub fn first_deadline(&self) -> Instant {
        later(self.opened, self.header_timeout)
    }

    /// A call begins: its head is in; until it ends, the connection is not timed here.
    pub fn begin_call(self: &Arc<Self>) -> InCall {
        self.calls.fetch_add(1, Ordering::AcqRel);
        self.head_from.store(0, Ordering::Release);
        InCall(self.clone())
    }

    /// Bytes arrived: on a connection between calls, they begin the next request's head.
    fn on_read(&self) {
        if self.calls.load(Ordering::Acquire) == 0 && self.head_from.load(Ordering::Relaxed) == 0 {
            self.head_from.store(self.stamp(), Ordering::Release);
        }
    }

    /// Since when it has waited without a call, those that never made one ranking first;
    /// `None` while a call is in flight or before it has waited [`EVICT_AFTER`].
    fn waiting(&self, now: Instant) -> Option<(bool, Instant)> {
        if self.calls.load(Ordering::Acquire) > 0 {
            return None;
        }
        let head = self.head_from.load(Ordering::Acquire);
        let since = self.at(if head != 0 {
            head
        } else {
            self.idle_from.load(Ordering::Acquire)
        });
        let grace = EVICT_AFTER.min(self.header_timeout / 2);
        (now.saturating_duration_since(since) >= grace)
            .then(|| (self.served.load(Ordering::Relaxed), since))
    }

    /// Closes the connection when its deadline has passed, else says when to look again.
    pub fn step(&self, now: Instant) -> Step {
        if self.calls.load(Ordering::Acquire) > 0 {
            // A call in flight: look again a timeout later (a head that begins after it ends
            // is closed at most that much late).
            return Step::CheckAt(later(now, self.header_timeout.min(self.idle_timeout)));
        }
        let head = self.head_from.load(Ordering::Acquire);
        let (deadline, why) = if head != 0 {
            (
                later(self.at(head), self.header_timeout),
                Closed::HeaderTimeout,
            )
        } else {
            let idle = self.idle_from.load(Ordering::Acquire);
            (later(self.at(idle), self.idle_timeout), Closed::IdleTimeout)
        };
        if now >= deadline {
            Step::Close(why)
        } else {
            Step::CheckAt(deadline)
        }
    }
}

fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or_else(|| t + FAR)
}

/// A call in flight; its end (the response's last byte written, or the call dropped)
/// starts the connection's idle time.
pub struct InCall(Arc<Conn>);

impl Drop for InCall {
    fn drop(&mut self) {
        let c = &self.0;
        c.idle_from.store(c.stamp(), Ordering::Release);
        c.served.store(true, Ordering::Relaxed);
        c.calls.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that ends its call when hyper has written it (or dropped it).
pub struct CallBody {
    body: axum::body::Body,
    _call: InCall,
}

impl CallBody {
    pub fn new(body: axum::body::Body, call: InCall) -> CallBody {
        CallBody { body, _call: call }
    }
}

impl hyper::body::Body for CallBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The client's socket, noticing when bytes of a new request arrive.
pub struct Watched {
    tcp: TcpStream,
    conn: Arc<Conn>,
}

impl Watched {
    pub fn new(tcp: TcpStream, conn: Arc<Conn>) -> Watched {
        Watched { tcp, conn }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let me = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut me.tcp).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            me.conn.on_read();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
