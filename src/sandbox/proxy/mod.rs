//! The per-step egress proxy (DESIGN.md §7).
//!
//! # Model
//!
//! Landlock matches TCP ports, not hosts. So forge lets a sandboxed harness connect to one
//! port only, this proxy's, on 127.0.0.1, and the proxy decides which hosts are reachable:
//! the preset's model API hosts plus `[sandbox] allow_hosts`. The harness finds the proxy
//! through `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`, which every HTTP client honours.
//!
//! The proxy speaks the two forms of HTTP/1.x proxying that clients use:
//!
//! - `CONNECT host:port`: the usual one (HTTPS). If the host is allowed, the proxy connects
//!   upstream, answers `200 Connection established` and from then on copies bytes both ways
//!   without looking at them (it never sees inside TLS).
//! - absolute-form plain HTTP (`GET http://host:port/path`): the request line is rewritten to
//!   origin-form, the proxy's own headers are dropped, `Host` is set from the URL and
//!   `Connection: close` is forced; then the connection is a tunnel like the above. Forcing
//!   `close` means one client connection reaches exactly one checked host: a second request
//!   on it can only go to the upstream that was already allowed.
//!
//! Everything else gets a `400` and is closed. The allowlist is checked against the name the
//! client asked for, never against what it resolves to, so a config line means what it says.
//!
//! # Threads and bounds
//!
//! One thread accepts (blocking `accept`: no polling delay on the latency path). Each client
//! connection gets a thread, and a tunnel a second one for the other direction: blocking I/O
//! is the simplest correct way to splice with std alone, and thread start-up (tens of µs) is
//! well inside the latency budget. Concurrent connections are capped ([`MAX_CONNECTIONS`],
//! beyond that `503`), a request head is at most [`MAX_HEAD`] bytes and must arrive within
//! [`HEAD_TIMEOUT`], each tunnel direction has one fixed buffer, and the map of denied hosts
//! has at most [`MAX_DENIED_KEYS`] entries. Every open socket is kept in a registry so that
//! [`Proxy::stop`] can `shutdown` it: an idle tunnel does not delay a stop.
//!
//! Known limits: inside an allowed tunnel anything goes (TLS hides the `Host`/SNI actually
//! used, so a CDN-fronted allowed host can front for another); an allowed name goes wherever
//! DNS says, private and loopback addresses included; and name resolution (the system
//! resolver) cannot be interrupted: [`Proxy::stop`] waits for it at most [`STOP_GRACE`] and
//! then leaves those threads to finish on their own.
//!
//! This file holds the proxy (start, stop, report, the accept loop and its bounds);
//! `allow.rs` the allowlist, `http.rs` reading and checking request heads, `client.rs`
//! serving one connection.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{self, Read};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

mod allow;
mod client;
mod http;

pub use allow::{Allow, host_of_url};
use client::{respond, serve};

/// Most client connections served at once; a harness opening more gets `503`.
pub const MAX_CONNECTIONS: usize = 256;
/// Largest request head (request line and headers) the proxy reads.
pub const MAX_HEAD: usize = 64 * 1024;
/// Time a client has to send its whole request head (slow clients hold a thread).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Time to establish the upstream connection, over all of the name's addresses.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`Proxy::stop`] waits for its threads before leaving them to finish alone.
pub const STOP_GRACE: Duration = Duration::from_secs(2);
/// Most distinct `host:port` keys in [`ProxyReport::denied`]; further ones are counted under
/// [`DENIED_OTHER`], so that a harness trying millions of names cannot grow forge's memory.
pub const MAX_DENIED_KEYS: usize = 256;
/// The key of [`ProxyReport::denied`] that counts denials beyond [`MAX_DENIED_KEYS`].
pub const DENIED_OTHER: &str = "(other hosts)";

/// Buffer of one tunnel direction: large enough for bulk transfers, small enough that
/// [`MAX_CONNECTIONS`] tunnels stay within a few tens of MB.
const SPLICE_BUF: usize = 32 * 1024;
/// Stack of the proxy's threads: they hold no large stack data (buffers are on the heap),
/// but the system resolver needs some room.
const THREAD_STACK: usize = 256 * 1024;
/// Bound on writing an error response to a client that does not read.
const ERROR_WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// After an error response, how long (and how many bytes) the proxy reads and discards what
/// the client still sends: closing a socket with unread input sends a reset, which can make
/// the client lose the response it was meant to read.
const LINGER: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// The proxy
// ---------------------------------------------------------------------------------------

/// What the proxy did during a step, for the step's report.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, Eq)]
pub struct ProxyReport {
    /// Connections (tunnels and plain HTTP requests) let through to an allowed host.
    pub allowed: u64,
    /// Refused connections by `host:port` as the client asked for it.
    pub denied: BTreeMap<String, u64>,
}

/// Limits that tests shorten; [`Proxy::start`] uses the constants.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_connections: usize,
    head_timeout: Duration,
}

const LIMITS: Limits = Limits {
    max_connections: MAX_CONNECTIONS,
    head_timeout: HEAD_TIMEOUT,
};

/// What every thread of one proxy shares.
struct Shared {
    allow: Allow,
    limits: Limits,
    allowed: AtomicU64,
    denied: Mutex<BTreeMap<String, u64>>,
    state: Mutex<State>,
    /// Signalled when `State::threads` drops to zero.
    idle: Condvar,
}

#[derive(Default)]
struct State {
    stopping: bool,
    /// Client connections being served (what [`Limits::max_connections`] caps).
    connections: usize,
    /// Live threads: the acceptor, the connection handlers and their splice helpers.
    threads: usize,
    next_id: u64,
    /// Every open socket by connection, so that stopping can shut them all down.
    sockets: HashMap<u64, Vec<Arc<TcpStream>>>,
}

/// Locks, ignoring poisoning: every critical section leaves the state consistent, and no
/// code here panics on purpose; a stuck proxy would be worse.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

enum Admit {
    Served(Conn),
    Busy,
    Stopping,
}

impl Shared {
    /// Counts a thread about to be spawned, before it is: so that `stop` never sees zero
    /// threads while one is starting. The guard moves into the thread.
    fn thread_guard(self: &Arc<Self>) -> ThreadGuard {
        lock(&self.state).threads += 1;
        ThreadGuard(Arc::clone(self))
    }

    fn admit(self: &Arc<Self>, client: &Arc<TcpStream>) -> Admit {
        let mut state = lock(&self.state);
        if state.stopping {
            return Admit::Stopping;
        }
        if state.connections >= self.limits.max_connections {
            return Admit::Busy;
        }
        state.connections += 1;
        let id = state.next_id;
        state.next_id += 1;
        state.sockets.insert(id, vec![Arc::clone(client)]);
        Admit::Served(Conn {
            shared: Arc::clone(self),
            id,
            client: Arc::clone(client),
        })
    }

    fn deny(&self, key: String) {
        let mut denied = lock(&self.denied);
        if let Some(count) = denied.get_mut(&key) {
            *count += 1;
        } else if denied.len() < MAX_DENIED_KEYS {
            denied.insert(key, 1);
        } else {
            *denied.entry(DENIED_OTHER.to_string()).or_insert(0) += 1;
        }
    }

    fn report(&self) -> ProxyReport {
        ProxyReport {
            allowed: self.allowed.load(Ordering::Relaxed),
            denied: lock(&self.denied).clone(),
        }
    }
}

struct ThreadGuard(Arc<Shared>);

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.threads -= 1;
        if state.threads == 0 {
            self.0.idle.notify_all();
        }
    }
}

/// One admitted client connection; dropping it unregisters (and so closes) its sockets.
struct Conn {
    shared: Arc<Shared>,
    id: u64,
    client: Arc<TcpStream>,
}

impl Conn {
    /// Registers the upstream socket so that `stop` can shut it down; false (and the socket
    /// shut) if the proxy is stopping.
    fn add_upstream(&self, upstream: &Arc<TcpStream>) -> bool {
        let mut state = lock(&self.shared.state);
        if state.stopping {
            let _ = upstream.shutdown(Shutdown::Both);
            return false;
        }
        if let Some(sockets) = state.sockets.get_mut(&self.id) {
            sockets.push(Arc::clone(upstream));
        }
        true
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.state);
        state.connections -= 1;
        state.sockets.remove(&self.id);
    }
}

/// The per-step egress proxy: see the module documentation.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// `None` once stopped.
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Binds 127.0.0.1:0 and serves on background threads until `stop`.
    pub fn start(allow: Allow) -> io::Result<Proxy> {
        Proxy::start_with(allow, LIMITS)
    }

    fn start_with(allow: Allow, limits: Limits) -> io::Result<Proxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            allow,
            limits,
            allowed: AtomicU64::new(0),
            denied: Mutex::new(BTreeMap::new()),
            state: Mutex::new(State::default()),
            idle: Condvar::new(),
        });
        let guard = shared.thread_guard();
        let for_thread = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name("forge-proxy-accept".into())
            .stack_size(THREAD_STACK)
            .spawn(move || accept_loop(&listener, &for_thread, guard))?;
        Ok(Proxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The value for `HTTPS_PROXY` and friends: "http://127.0.0.1:PORT".
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, closes open tunnels, joins threads (bounded time: [`STOP_GRACE`]),
    /// returns the report.
    pub fn stop(mut self) -> ProxyReport {
        self.shut_down();
        self.shared.report()
    }

    fn shut_down(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        {
            let mut state = lock(&self.shared.state);
            state.stopping = true;
            for socket in state.sockets.values().flatten() {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
        // The acceptor is blocked in accept(): a connection wakes it, and it sees `stopping`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let deadline = Instant::now() + STOP_GRACE;
        let mut state = lock(&self.shared.state);
        while state.threads > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .shared
                .idle
                .wait_timeout(state, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        let all_done = state.threads == 0;
        drop(state);
        if all_done {
            let _ = acceptor.join();
        }
        // Otherwise a thread is stuck in name resolution or an upstream connect: it finds
        // `stopping` set when that returns and ends on its own.
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, _guard: ThreadGuard) {
    loop {
        let client = match listener.accept() {
            Ok((client, _)) => Arc::new(client),
            Err(_) if lock(&shared.state).stopping => return,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                if e.kind() != io::ErrorKind::Interrupted
                    && e.kind() != io::ErrorKind::ConnectionAborted
                {
                    thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
        };
        let conn = match shared.admit(&client) {
            Admit::Served(conn) => conn,
            Admit::Stopping => return,
            Admit::Busy => {
                // Answered here, without a thread. A fresh socket's send buffer is empty, so
                // the small write does not block; what the client already sent is read
                // first, as closing with unread input would reset the connection.
                let _ = client.set_nonblocking(true);
                let mut sink = [0u8; 4096];
                for _ in 0..16 {
                    if !matches!((&*client).read(&mut sink), Ok(n) if n > 0) {
                        break;
                    }
                }
                respond(&client, "503 Service Unavailable", "too many connections");
                let _ = client.shutdown(Shutdown::Write);
                continue;
            }
        };
        let guard = shared.thread_guard();
        let for_thread = Arc::clone(shared);
        // If the thread cannot be spawned, the closure is dropped with the guards: the
        // connection is closed and unregistered.
        let _ = thread::Builder::new()
            .name("forge-proxy-conn".into())
            .stack_size(THREAD_STACK)
            .spawn(move || {
                let _guard = guard;
                serve(&for_thread, conn);
            });
    }
}

/// How every answer of the proxy's own begins, so that a harness's error message that
/// quotes one (a 403 for a host not allowed) can be told from the model API's.
pub const REFUSAL_PREFIX: &str = "forge proxy:";

#[cfg(test)]
mod tests;
