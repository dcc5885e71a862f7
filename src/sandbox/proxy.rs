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

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

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
// Allowlist
// ---------------------------------------------------------------------------------------

/// A host as a client or a config entry names it: a DNS name (lowercase, no trailing dot)
/// or an IP literal, kept apart so that a wildcard never matches an address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Name(String),
    Ip(IpAddr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

impl Host {
    /// Parses the host part of an authority. IPv6 literals must be in brackets there
    /// (otherwise `host:port` is ambiguous); `bare_v6` also accepts them without, for
    /// [`Allow::allows`], whose caller has the host and port apart already.
    fn parse(text: &str, bare_v6: bool) -> Result<Host, &'static str> {
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or("unclosed '['")?;
            return inner
                .parse::<Ipv6Addr>()
                .map(|ip| Host::Ip(IpAddr::V6(ip)))
                .map_err(|_| "not an IPv6 address between '[' and ']'");
        }
        if bare_v6 && let Ok(ip) = text.parse::<Ipv6Addr>() {
            return Ok(Host::Ip(IpAddr::V6(ip)));
        }
        if let Ok(ip) = text.parse::<Ipv4Addr>() {
            return Ok(Host::Ip(IpAddr::V4(ip)));
        }
        let name = text.strip_suffix('.').unwrap_or(text);
        if name.is_empty() {
            return Err("empty host");
        }
        if name.len() > 253 {
            return Err("host name longer than 253 characters");
        }
        for label in name.split('.') {
            if label.is_empty() {
                return Err("empty label in host name");
            }
            if label.len() > 63 {
                return Err("host name label longer than 63 characters");
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err("host names may contain only letters, digits, '-', '_' and '.'");
            }
        }
        Ok(Host::Name(name.to_ascii_lowercase()))
    }
}

/// Splits `host[:port]` or `[v6][:port]` into its host and optional port text.
fn split_authority(text: &str) -> Result<(&str, Option<&str>), &'static str> {
    if text.starts_with('[') {
        let close = text.find(']').ok_or("unclosed '['")?;
        let (host, rest) = text.split_at(close + 1);
        return match rest {
            "" => Ok((host, None)),
            _ => match rest.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err("unexpected text after ']'"),
            },
        };
    }
    match text.split_once(':') {
        None => Ok((text, None)),
        Some((_, port)) if port.contains(':') => {
            Err("an IPv6 address needs brackets, as in [::1]:9000")
        }
        Some((host, port)) => Ok((host, Some(port))),
    }
}

fn parse_port(text: &str) -> Result<u16, &'static str> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the port must be a number from 1 to 65535");
    }
    match text.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err("the port must be a number from 1 to 65535"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// Exactly this host.
    Exact(Host),
    /// Any name ending in this suffix, which starts with '.' (from `*.example.com`), so
    /// that the match is on a label boundary and the bare domain is not included.
    Below(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    pattern: Pattern,
    /// `None`: any port.
    port: Option<u16>,
}

/// The hosts the proxy lets through, parsed from config entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allow {
    rules: Vec<Rule>,
}

impl Allow {
    /// Entries: "host", "host:port", "*.example.com", "*.example.com:443", "127.0.0.1:8080",
    /// "[::1]:9000". A host without a port allows any port. Matching is case-insensitive;
    /// "*.x.com" matches "a.x.com" and "a.b.x.com" but not "x.com". Bad entries are an Err
    /// naming the entry and why.
    pub fn parse(entries: &[String]) -> Result<Allow, String> {
        let rules = entries
            .iter()
            .map(|entry| {
                parse_rule(entry).map_err(|why| format!("allow_hosts entry {entry:?}: {why}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Allow { rules })
    }

    /// Whether a connection to `host` (a name, an IPv4 address or an IPv6 address with or
    /// without brackets) on `port` is allowed. A host that is not a valid name is not.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        Host::parse(host, true).is_ok_and(|host| self.allows_host(&host, port))
    }

    fn allows_host(&self, host: &Host, port: u16) -> bool {
        self.rules.iter().any(|rule| {
            rule.port.is_none_or(|p| p == port)
                && match (&rule.pattern, host) {
                    (Pattern::Exact(allowed), host) => allowed == host,
                    (Pattern::Below(suffix), Host::Name(name)) => {
                        name.len() > suffix.len() && name.ends_with(suffix.as_str())
                    }
                    (Pattern::Below(_), Host::Ip(_)) => false,
                }
        })
    }
}

fn parse_rule(entry: &str) -> Result<Rule, &'static str> {
    if entry.is_empty() {
        return Err("empty entry");
    }
    if entry.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err("contains whitespace");
    }
    if entry.contains("://") {
        return Err("write a host (and port), not a URL");
    }
    if entry.contains('/') {
        return Err("a host cannot contain '/'");
    }
    if entry.contains('@') {
        return Err("a host cannot contain '@'");
    }
    let (host, port) = split_authority(entry)?;
    let port = port.map(parse_port).transpose()?;
    let pattern = if host == "*" {
        return Err("'*' alone would allow every host; name the hosts");
    } else if let Some(domain) = host.strip_prefix("*.") {
        match Host::parse(domain, false)? {
            Host::Name(name) => Pattern::Below(format!(".{name}")),
            Host::Ip(_) => return Err("a wildcard needs a domain name, not an address"),
        }
    } else if host.contains('*') {
        return Err("'*' is allowed only as the whole first label, as in *.example.com");
    } else {
        Pattern::Exact(Host::parse(host, false)?)
    };
    Ok(Rule { pattern, port })
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// What a client asked for, once its request head has been checked.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    host: Host,
    port: u16,
    /// For plain HTTP, the head to send upstream (origin-form, ending in an empty line);
    /// `None` for `CONNECT`.
    forward: Option<Vec<u8>>,
}

/// Headers that concern the hop to the proxy, not the upstream; `Host` is set from the URL
/// (RFC 9112 §3.2.2) and `Connection` is replaced by `close`.
const DROPPED_HEADERS: [&str; 5] = [
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
];

fn is_token(text: &[u8]) -> bool {
    !text.is_empty()
        && text
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Splits a request head on CRLF and refuses any other line break or a NUL.
fn head_lines(head: &[u8]) -> Result<Vec<&[u8]>, &'static str> {
    let mut lines = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i + 1 < head.len() {
        if head[i] == b'\r' && head[i + 1] == b'\n' {
            lines.push(&head[start..i]);
            i += 2;
            start = i;
        } else {
            i += 1;
        }
    }
    lines.push(&head[start..]);
    if lines
        .iter()
        .any(|line| line.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0))
    {
        return Err("bare CR or LF, or a NUL, in the request head");
    }
    Ok(lines)
}

/// Parses a request head (up to and including its final empty line). Strict on purpose: a
/// bare CR or LF, obsolete line folding or a malformed header is refused rather than guessed
/// at, so that what the proxy checks is what the upstream gets.
fn parse_request(head: &[u8]) -> Result<Request, &'static str> {
    let head = head
        .strip_suffix(b"\r\n\r\n")
        .ok_or("incomplete request head")?;
    let lines = head_lines(head)?;
    let request_line = std::str::from_utf8(lines[0])
        .ok()
        .filter(|line| line.is_ascii())
        .ok_or("the request line is not ASCII")?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the request line is not METHOD TARGET VERSION");
    };
    if !is_token(method.as_bytes()) {
        return Err("bad method");
    }
    if target.is_empty() || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err("bad request target");
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err("only HTTP/1.0 and HTTP/1.1 are spoken here");
    }
    let mut kept: Vec<&[u8]> = Vec::with_capacity(lines.len());
    for line in &lines[1..] {
        // A leading space or tab (obsolete folding) fails here too: not a token character.
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or("a header line without ':'")?;
        let name = &line[..colon];
        if !is_token(name) {
            return Err("bad header name");
        }
        if !DROPPED_HEADERS
            .iter()
            .any(|dropped| name.eq_ignore_ascii_case(dropped.as_bytes()))
        {
            kept.push(line);
        }
    }

    if method == "CONNECT" {
        let (host, port) = split_authority(target)?;
        let port = parse_port(port.ok_or("CONNECT needs host:port")?)?;
        let host = Host::parse(host, false)?;
        return Ok(Request {
            host,
            port,
            forward: None,
        });
    }
    let Some(rest) = target
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .map(|_| &target[7..])
    else {
        return Err(if target.starts_with('/') {
            "origin-form request: this is a proxy; send an absolute http:// URL or CONNECT"
        } else if target.len() > 8 && target[..8].eq_ignore_ascii_case("https://") {
            "https:// URLs are proxied with CONNECT only"
        } else {
            "the request target is not an absolute http:// URL"
        });
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.contains('@') {
        return Err("user information in the URL is not supported");
    }
    let (host, port) = split_authority(authority)?;
    let port = port.map(parse_port).transpose()?.unwrap_or(80);
    let host = Host::parse(host, false)?;

    let mut out = Vec::with_capacity(head.len() + 64);
    for piece in [method, " "] {
        out.extend_from_slice(piece.as_bytes());
    }
    if !path.starts_with('/') {
        out.push(b'/');
    }
    for piece in [path, " ", version, "\r\nHost: ", authority, "\r\n"] {
        out.extend_from_slice(piece.as_bytes());
    }
    for line in kept {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    Ok(Request {
        host,
        port,
        forward: Some(out),
    })
}

#[derive(Debug, PartialEq, Eq)]
enum HeadError {
    /// The client closed (or failed) before sending a whole head; `empty`: before any byte,
    /// which deserves no answer (a port probe, or the proxy's own wake-up connection).
    Closed {
        empty: bool,
    },
    TooLarge,
    Timeout,
}

/// Reads until the end of the request head ("\r\n\r\n"), within `deadline` and
/// [`MAX_HEAD`]. Returns the bytes read and where the head ends: what follows was sent early
/// (a request body, or TLS after `CONNECT`) and belongs to the upstream.
fn read_head(mut stream: &TcpStream, deadline: Instant) -> Result<(Vec<u8>, usize), HeadError> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HeadError::Timeout);
        }
        if stream.set_read_timeout(Some(left)).is_err() {
            return Err(HeadError::Closed { empty: false });
        }
        let n = match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(HeadError::Closed {
                    empty: buf.is_empty(),
                });
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(HeadError::Timeout);
            }
            Err(_) => {
                return Err(HeadError::Closed {
                    empty: buf.is_empty(),
                });
            }
        };
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            let end = from + at + 4;
            if end > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
            return Ok((buf, end));
        }
        if buf.len() >= MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
    }
}

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

/// Writes a complete plain-text response with `Connection: close`.
fn respond(mut stream: &TcpStream, status: &str, body: &str) {
    let body = format!("{REFUSAL_PREFIX} {body}\n");
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// Answers an error and closes gracefully: sends FIN, then reads and discards what the
/// client still sends for a short bounded time, so that the close is not a reset that could
/// destroy the answer before the client reads it.
fn refuse(stream: &TcpStream, status: &str, body: &str) {
    let _ = stream.set_write_timeout(Some(ERROR_WRITE_TIMEOUT));
    respond(stream, status, body);
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    let mut stream = stream;
    while drained < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(n) => drained += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Serves one client connection, from its request head to the end of its tunnel.
fn serve(shared: &Arc<Shared>, conn: Conn) {
    let client = &*conn.client;
    let _ = client.set_nodelay(true);
    let deadline = Instant::now() + shared.limits.head_timeout;
    let (buf, end) = match read_head(client, deadline) {
        Ok(head) => head,
        Err(HeadError::Closed { empty: true }) => return,
        Err(e) => {
            let why = match e {
                HeadError::Closed { .. } => "the request head ended early",
                HeadError::TooLarge => "the request head is larger than 64 KiB",
                HeadError::Timeout => "no complete request head in time",
            };
            return refuse(client, "400 Bad Request", why);
        }
    };
    let request = match parse_request(&buf[..end]) {
        Ok(request) => request,
        Err(why) => return refuse(client, "400 Bad Request", why),
    };
    let target = format!("{}:{}", request.host, request.port);
    if !shared.allow.allows_host(&request.host, request.port) {
        shared.deny(target.clone());
        let why = format!(
            "{target} is not in forge's allowlist ([sandbox] allow_hosts in .forge/config.toml)"
        );
        return refuse(client, "403 Forbidden", &why);
    }
    let upstream = match connect(&request.host, request.port) {
        Ok(upstream) => Arc::new(upstream),
        Err(e) => {
            return refuse(
                client,
                "502 Bad Gateway",
                &format!("cannot connect to {target}: {e}"),
            );
        }
    };
    if !conn.add_upstream(&upstream) {
        return;
    }
    let _ = upstream.set_nodelay(true);
    let early = &buf[end..];
    let sent = match request.forward {
        None => {
            (&*upstream).write_all(early).is_ok()
                && (&*client)
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .is_ok()
        }
        Some(mut head) => {
            head.extend_from_slice(early);
            (&*upstream).write_all(&head).is_ok()
        }
    };
    drop(buf);
    if !sent || client.set_read_timeout(None).is_err() {
        return;
    }
    shared.allowed.fetch_add(1, Ordering::Relaxed);
    splice(shared, &conn.client, &upstream);
}

/// Connects to the first reachable address of `host`, within [`CONNECT_TIMEOUT`] overall.
fn connect(host: &Host, port: u16) -> io::Result<TcpStream> {
    let addrs: Vec<SocketAddr> = match host {
        Host::Ip(ip) => vec![SocketAddr::new(*ip, port)],
        Host::Name(name) => (name.as_str(), port).to_socket_addrs()?.collect(),
    };
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"));
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Copies bytes both ways until both directions are done: client to upstream on this
/// thread, upstream to client on a helper.
fn splice(shared: &Arc<Shared>, client: &Arc<TcpStream>, upstream: &Arc<TcpStream>) {
    let guard = shared.thread_guard();
    let (from, to) = (Arc::clone(upstream), Arc::clone(client));
    let helper = thread::Builder::new()
        .name("forge-proxy-splice".into())
        .stack_size(THREAD_STACK)
        .spawn(move || {
            let _guard = guard;
            pump(&from, &to);
        });
    let Ok(helper) = helper else {
        let _ = client.shutdown(Shutdown::Both);
        let _ = upstream.shutdown(Shutdown::Both);
        return;
    };
    pump(client, upstream);
    let _ = helper.join();
}

/// Copies one direction. At end of input the write half of the other side is shut, so a
/// half-close is passed on; on an error both sockets are shut, which ends the other
/// direction too.
fn pump(mut from: &TcpStream, mut to: &TcpStream) {
    let mut buf = vec![0u8; SPLICE_BUF];
    loop {
        match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Bound on every blocking test read or write: a broken proxy fails a test, never hangs it.
    const T: Duration = Duration::from_secs(10);
    const ESTABLISHED: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";
    const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

    fn strings(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| e.to_string()).collect()
    }

    fn allow(entries: &[&str]) -> Allow {
        Allow::parse(&strings(entries)).unwrap()
    }

    fn connect_to(port: u16) -> TcpStream {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        stream.set_read_timeout(Some(T)).unwrap();
        stream.set_write_timeout(Some(T)).unwrap();
        stream
    }

    fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
        let mut out = Vec::new();
        stream.read_to_end(&mut out).unwrap();
        out
    }

    /// Sends `request` to the proxy on a new connection and returns all it answers.
    fn exchange(proxy: &Proxy, request: &[u8]) -> Vec<u8> {
        let mut client = connect_to(proxy.port());
        client.write_all(request).unwrap();
        read_to_end(&mut client)
    }

    fn status(response: &[u8]) -> String {
        String::from_utf8_lossy(response)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    }

    fn get(port: u16, path: &str) -> Vec<u8> {
        format!("GET http://127.0.0.1:{port}{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n")
            .into_bytes()
    }

    fn connect_request(authority: &str) -> Vec<u8> {
        format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n").into_bytes()
    }

    fn read_exact_vec(stream: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        stream.read_exact(&mut buf).unwrap();
        buf
    }

    /// A loopback HTTP/1.1 server: answers every request with `response`, records each
    /// request (head and `Content-Length` body), and closes after a request that says
    /// `Connection: close`.
    struct Upstream {
        port: u16,
        requests: Arc<Mutex<Vec<Vec<u8>>>>,
    }

    fn http_upstream(response: &'static [u8]) -> Upstream {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let recorded = Arc::clone(&recorded);
                thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head =
                                String::from_utf8_lossy(&buf[..end + 4]).to_ascii_lowercase();
                            let close = head.contains("\r\nconnection: close\r\n");
                            let body = head
                                .split_once("\r\ncontent-length: ")
                                .and_then(|(_, rest)| rest.split_once("\r\n"))
                                .and_then(|(n, _)| n.parse::<usize>().ok())
                                .unwrap_or(0);
                            if buf.len() >= end + 4 + body {
                                lock(&recorded).push(buf.drain(..end + 4 + body).collect());
                                if stream.write_all(response).is_err() || close {
                                    return;
                                }
                                continue;
                            }
                        }
                        match stream.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                });
            }
        });
        Upstream { port, requests }
    }

    /// A loopback server that sends back every byte XOR 0x5A (so that what arrives was
    /// really through the upstream, not reflected), and passes a half-close on.
    fn xor_upstream(listener: TcpListener) -> u16 {
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    loop {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                buf[..n].iter_mut().for_each(|b| *b ^= 0x5A);
                                if stream.write_all(&buf[..n]).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    let _ = stream.shutdown(Shutdown::Write);
                });
            }
        });
        port
    }

    fn loopback_listener() -> TcpListener {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap()
    }

    #[test]
    fn allowlist_matches_as_documented() {
        let allow = allow(&[
            "api.example.com",
            "LOCALHOST:8080",
            "*.Models.dev",
            "*.cdn.io:443",
            "127.0.0.1:9000",
            "[::1]:9001",
            "10.0.0.1",
            "trailing.dot.",
            "*.0.0.1",
        ]);
        let table: &[(&str, u16, bool)] = &[
            ("api.example.com", 443, true),
            ("api.example.com", 1, true),
            ("API.Example.COM", 443, true),
            ("api.example.com.", 443, true),
            ("example.com", 443, false),
            ("x.api.example.com", 443, false),
            ("api.example.com.evil.net", 443, false),
            ("localhost", 8080, true),
            ("LocalHost", 8080, true),
            ("localhost", 8081, false),
            ("a.models.dev", 443, true),
            ("a.b.MODELS.dev", 80, true),
            ("models.dev", 443, false),
            ("xmodels.dev", 443, false),
            ("a.cdn.io", 443, true),
            ("a.b.cdn.io", 443, true),
            ("a.cdn.io", 80, false),
            ("cdn.io", 443, false),
            ("127.0.0.1", 9000, true),
            ("127.0.0.1", 9001, false),
            ("127.0.0.2", 9000, false),
            // A wildcard never matches an address, even one that ends like it.
            ("10.0.0.1", 22, true),
            ("127.0.0.1", 22, false),
            ("::1", 9001, true),
            ("[::1]", 9001, true),
            ("[0:0:0:0:0:0:0:1]", 9001, true),
            ("[::1]", 9000, false),
            ("[::2]", 9001, false),
            ("trailing.dot", 1, true),
            ("", 443, false),
            ("api.example.com:443", 443, false),
            ("bad host", 80, false),
            ("[api.example.com]", 443, false),
        ];
        for &(host, port, expected) in table {
            assert_eq!(allow.allows(host, port), expected, "{host}:{port}");
        }
        assert!(!Allow::parse(&[]).unwrap().allows("api.example.com", 443));
    }

    #[test]
    fn allowlist_rejects_bad_entries_naming_them() {
        let long_label = format!("{}.com", "a".repeat(64));
        let bad = [
            "",
            " api.example.com",
            "api example.com",
            "https://api.example.com",
            "api.example.com/v1",
            "user@api.example.com",
            "api.example.com:0",
            "api.example.com:65536",
            "api.example.com:",
            "api.example.com:https",
            "*",
            "*:443",
            "*.",
            "a.*.com",
            "*example.com",
            "::1",
            "[::1",
            "[::1]x",
            "[example.com]:1",
            "*.1.2.3.4",
            "a..b",
            "bang!.com",
            long_label.as_str(),
        ];
        for entry in bad {
            let err = Allow::parse(&strings(&["ok.example.com", entry])).unwrap_err();
            assert!(
                err.contains(&format!("{entry:?}")),
                "{entry:?} gave {err:?}"
            );
            assert!(
                err.len() > format!("allow_hosts entry {entry:?}: ").len(),
                "{err}"
            );
        }
    }

    #[test]
    fn parse_request_rewrites_absolute_form() {
        let head = b"GET http://Example.COM:8080/a/b?c=d HTTP/1.1\r\nHost: elsewhere.net\r\n\
            Proxy-Connection: keep-alive\r\nproxy-authorization: Basic eDp5\r\nAccept: */*\r\n\
            Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Empty:\r\n\r\n";
        let request = parse_request(head).unwrap();
        assert_eq!(request.host, Host::Name("example.com".into()));
        assert_eq!(request.port, 8080);
        assert_eq!(
            String::from_utf8(request.forward.unwrap()).unwrap(),
            "GET /a/b?c=d HTTP/1.1\r\nHost: Example.COM:8080\r\nAccept: */*\r\nX-Empty:\r\n\
             Connection: close\r\n\r\n"
        );

        let request = parse_request(b"POST HTTP://h.example?q HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!(request.port, 80);
        assert_eq!(
            request.forward.unwrap(),
            b"POST /?q HTTP/1.0\r\nHost: h.example\r\nConnection: close\r\n\r\n"
        );

        let request = parse_request(b"CONNECT [::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(request.host, Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!((request.port, request.forward), (443, None));
    }

    #[test]
    fn parse_request_refuses_what_it_would_have_to_guess() {
        let bad: &[&[u8]] = &[
            b"GET / HTTP/1.1\r\nHost: h.example\r\n\r\n",
            b"GET https://h.example/ HTTP/1.1\r\n\r\n",
            b"GET ftp://h.example/ HTTP/1.1\r\n\r\n",
            b"GET http://u:p@h.example/ HTTP/1.1\r\n\r\n",
            b"GET http:///x HTTP/1.1\r\n\r\n",
            b"GET http://h.example:0/ HTTP/1.1\r\n\r\n",
            b"GET  http://h.example/ HTTP/1.1\r\n\r\n",
            b"GET http://h.example/ HTTP/2.0\r\n\r\n",
            b"GET http://h.example/\r\n\r\n",
            b"GET http://h.example/ HTTP/1.1\r\nA: b\nC: d\r\n\r\n",
            b"GET http://h.example/ HTTP/1.1\r\nA: b\rC: d\r\n\r\n",
            b"GET http://h.example/ HTTP/1.1\r\nA: b\0\r\n\r\n",
            b"GET http://h.example/ HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
            b"GET http://h.example/ HTTP/1.1\r\nBad Name: b\r\n\r\n",
            b"GET http://h.example/ HTTP/1.1\r\nno colon\r\n\r\n",
            b"G(T http://h.example/ HTTP/1.1\r\n\r\n",
            b"GET http://h\xc3\xa9.example/ HTTP/1.1\r\n\r\n",
            b"CONNECT h.example HTTP/1.1\r\n\r\n",
            b"CONNECT ::1:443 HTTP/1.1\r\n\r\n",
            b"CONNECT h.example:443/x HTTP/1.1\r\n\r\n",
            b"\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        ];
        for head in bad {
            assert!(
                parse_request(head).is_err(),
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn absolute_form_get_reaches_upstream_in_origin_form() {
        let upstream = http_upstream(HELLO);
        let proxy = Proxy::start(allow(&["127.0.0.1", "localhost"])).unwrap();
        assert_eq!(proxy.url(), format!("http://127.0.0.1:{}", proxy.port()));
        let port = upstream.port;
        let request = format!(
            "GET http://127.0.0.1:{port}/p/a?q=1 HTTP/1.1\r\nHost: wrong.example\r\n\
             Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\n\
             User-Agent: t\r\nConnection: keep-alive\r\n\r\n"
        );
        assert_eq!(exchange(&proxy, request.as_bytes()), HELLO);
        assert_eq!(
            String::from_utf8(lock(&upstream.requests).clone().concat()).unwrap(),
            format!(
                "GET /p/a?q=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: t\r\n\
                 Connection: close\r\n\r\n"
            )
        );
        // A body sent with the head arrives after the rewritten head.
        let request =
            format!("POST http://127.0.0.1:{port}/ HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody");
        assert_eq!(exchange(&proxy, request.as_bytes()), HELLO);
        // A name is resolved by the proxy (localhost may give ::1 first, where nothing
        // listens: the next address is tried).
        let request = format!("GET http://LOCALHOST:{port}/n HTTP/1.1\r\n\r\n");
        assert_eq!(exchange(&proxy, request.as_bytes()), HELLO);
        let heads = lock(&upstream.requests).clone();
        assert_eq!(heads.len(), 3);
        assert_eq!(
            String::from_utf8_lossy(&heads[1]),
            format!(
                "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 4\r\n\
                 Connection: close\r\n\r\nbody"
            )
        );
        assert!(
            heads[2]
                .starts_with(format!("GET /n HTTP/1.1\r\nHost: LOCALHOST:{port}\r\n").as_bytes())
        );
        let report = proxy.stop();
        assert_eq!(report.allowed, 3);
        assert!(report.denied.is_empty());
    }

    #[test]
    fn connect_tunnel_carries_bytes_intact_both_ways() {
        let port = xor_upstream(loopback_listener());
        let proxy = Proxy::start(allow(&["127.0.0.1"])).unwrap();
        let payload: Vec<u8> = (0..400_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut client = connect_to(proxy.port());
        let mut writer = client.try_clone().unwrap();
        let sent = payload.clone();
        // The head and the first bytes of the tunnel in one write: early data must not be lost.
        let sender = thread::spawn(move || {
            let mut first = connect_request(&format!("127.0.0.1:{port}"));
            first.extend_from_slice(&sent[..1000]);
            writer.write_all(&first).unwrap();
            for chunk in sent[1000..].chunks(70_000) {
                writer.write_all(chunk).unwrap();
            }
            writer.shutdown(Shutdown::Write).unwrap();
        });
        assert_eq!(read_exact_vec(&mut client, ESTABLISHED.len()), ESTABLISHED);
        let received = read_to_end(&mut client);
        sender.join().unwrap();
        assert_eq!(received.len(), payload.len());
        let expected: Vec<u8> = payload.iter().map(|b| b ^ 0x5A).collect();
        assert!(received == expected, "the tunnel altered the bytes");
        assert_eq!(proxy.stop().allowed, 1);
    }

    #[test]
    fn connect_to_ipv6_literal() {
        let listener = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).unwrap_or_else(|e| {
            panic!(
                "this test needs an IPv6 loopback (::1: {e}); where there is none, skip it \
                 by name"
            )
        });
        let port = xor_upstream(listener);
        let proxy = Proxy::start(allow(&["[::1]"])).unwrap();
        let mut client = connect_to(proxy.port());
        client
            .write_all(&connect_request(&format!("[::1]:{port}")))
            .unwrap();
        assert_eq!(read_exact_vec(&mut client, ESTABLISHED.len()), ESTABLISHED);
        client.write_all(b"\x00\x5A").unwrap();
        assert_eq!(read_exact_vec(&mut client, 2), b"\x5A\x00");
    }

    #[test]
    fn denied_host_gets_403_is_counted_and_never_connected() {
        let listener = loopback_listener();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Proxy::start(allow(&["allowed.example", "127.0.0.1:1"])).unwrap();

        for _ in 0..2 {
            let response = exchange(&proxy, &connect_request(&format!("127.0.0.1:{port}")));
            assert_eq!(status(&response), "HTTP/1.1 403 Forbidden");
            let text = String::from_utf8(response).unwrap();
            assert!(
                text.contains(&format!(
                    "127.0.0.1:{port} is not in forge's allowlist ([sandbox] allow_hosts"
                )),
                "{text}"
            );
        }
        let request = format!("GET http://LocalHost:{port}/ HTTP/1.1\r\n\r\n");
        let response = exchange(&proxy, request.as_bytes());
        assert_eq!(status(&response), "HTTP/1.1 403 Forbidden");

        let report = proxy.stop();
        assert_eq!(report.allowed, 0);
        assert_eq!(
            report.denied,
            BTreeMap::from([
                (format!("127.0.0.1:{port}"), 2),
                (format!("localhost:{port}"), 1),
            ])
        );
        match listener.accept() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => panic!("the upstream was reached: {other:?}"),
        }
    }

    #[test]
    fn denied_hosts_beyond_the_cap_are_counted_together() {
        let proxy = Proxy::start(Allow::default()).unwrap();
        for i in 0..MAX_DENIED_KEYS + 10 {
            proxy.shared.deny(format!("h{i}.example:443"));
        }
        proxy.shared.deny("h0.example:443".into());
        let report = proxy.stop();
        assert_eq!(report.denied.len(), MAX_DENIED_KEYS + 1);
        assert_eq!(report.denied[DENIED_OTHER], 10);
        assert_eq!(report.denied["h0.example:443"], 2);
    }

    #[test]
    fn unreachable_upstream_gets_502() {
        let port = loopback_listener().local_addr().unwrap().port(); // closed again
        let proxy = Proxy::start(allow(&["127.0.0.1"])).unwrap();
        let response = exchange(&proxy, &connect_request(&format!("127.0.0.1:{port}")));
        assert_eq!(status(&response), "HTTP/1.1 502 Bad Gateway");
        let report = proxy.stop();
        assert_eq!((report.allowed, report.denied.len()), (0, 0));
    }

    #[test]
    fn malformed_input_gets_400_and_the_proxy_keeps_serving() {
        let upstream = http_upstream(HELLO);
        let proxy = Proxy::start(allow(&["127.0.0.1"])).unwrap();
        let port = upstream.port;
        let oversize = |end: &[u8]| {
            let mut head = format!("GET http://127.0.0.1:{port}/ HTTP/1.1\r\nX-Pad: ").into_bytes();
            head.resize(MAX_HEAD + 10_000, b'a');
            head.extend_from_slice(end);
            head
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"\x00\x01\x02garbage\r\n\r\n".to_vec(), "NUL"),
            (b"\x16\x03\x01garbage\xff\r\n\r\n".to_vec(), "not ASCII"),
            (
                b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
                "origin-form",
            ),
            (
                b"CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n".to_vec(),
                "CONNECT needs host:port",
            ),
            (
                format!("GET https://127.0.0.1:{port}/ HTTP/1.1\r\n\r\n").into_bytes(),
                "CONNECT only",
            ),
            // Too large, whether or not the head ends after the limit.
            (oversize(b""), "larger than 64 KiB"),
            (oversize(b"\r\n\r\n"), "larger than 64 KiB"),
        ];
        for (case, why) in &cases {
            let started = Instant::now();
            let response = String::from_utf8(exchange(&proxy, case)).unwrap();
            let what = String::from_utf8_lossy(&case[..case.len().min(60)]);
            assert!(
                response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{what:?}: {response}"
            );
            assert!(response.contains(why), "{what:?}: {response}");
            // Refused at once, not after the client's time for its head ran out; the
            // bound is that timeout, not a guess at how fast a loaded machine answers.
            assert!(started.elapsed() < HEAD_TIMEOUT, "{what:?}");
            assert_eq!(exchange(&proxy, &get(port, "/")), HELLO);
        }

        // Half a request, then the client stops sending: 400, then closed.
        let mut client = connect_to(proxy.port());
        client
            .write_all(format!("GET http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: 12").as_bytes())
            .unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(
            status(&read_to_end(&mut client)),
            "HTTP/1.1 400 Bad Request"
        );
        // Half a request, then the client is gone altogether.
        let mut client = connect_to(proxy.port());
        client.write_all(b"CONNECT 127.0.0.1:").unwrap();
        drop(client);
        // Connect and close without a byte.
        drop(connect_to(proxy.port()));

        assert_eq!(exchange(&proxy, &get(port, "/after")), HELLO);
        let report = proxy.stop();
        assert_eq!(report.allowed, cases.len() as u64 + 1);
        assert!(report.denied.is_empty());
        assert!(
            lock(&upstream.requests)
                .iter()
                .all(|h| h.starts_with(b"GET /"))
        );
    }

    #[test]
    fn slow_request_head_times_out_with_400() {
        let limits = Limits {
            head_timeout: Duration::from_millis(300),
            ..LIMITS
        };
        let proxy = Proxy::start_with(allow(&["127.0.0.1"]), limits).unwrap();
        let mut client = connect_to(proxy.port());
        client
            .write_all(b"GET http://127.0.0.1:1/ HTTP/1.1\r\n")
            .unwrap();
        let started = Instant::now();
        let response = read_to_end(&mut client);
        assert_eq!(status(&response), "HTTP/1.1 400 Bad Request");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn connections_beyond_the_cap_get_503() {
        let upstream = http_upstream(HELLO);
        let limits = Limits {
            max_connections: 1,
            ..LIMITS
        };
        let proxy = Proxy::start_with(allow(&["127.0.0.1"]), limits).unwrap();
        let mut holder = connect_to(proxy.port());
        holder
            .write_all(b"GET http://127.0.0.1:1/ HTTP/1.1\r\n")
            .unwrap();
        // Wait until the proxy has taken the first connection in.
        let deadline = Instant::now() + T;
        while lock(&proxy.shared.state).connections == 0 {
            assert!(Instant::now() < deadline);
            thread::sleep(Duration::from_millis(5));
        }
        let mut second = connect_to(proxy.port());
        assert_eq!(
            status(&read_to_end(&mut second)),
            "HTTP/1.1 503 Service Unavailable"
        );

        holder.shutdown(Shutdown::Both).unwrap();
        let deadline = Instant::now() + T;
        // The slot is freed asynchronously; until then a client may get 503 (or a reset).
        loop {
            let mut client = connect_to(proxy.port());
            let mut response = Vec::new();
            let _ = client.write_all(&get(upstream.port, "/"));
            let _ = client.read_to_end(&mut response);
            if response == HELLO {
                break;
            }
            assert!(Instant::now() < deadline, "{:?}", status(&response));
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn stop_returns_promptly_with_an_idle_tunnel_open() {
        let port = xor_upstream(loopback_listener());
        let proxy = Proxy::start(allow(&["127.0.0.1"])).unwrap();
        let proxy_port = proxy.port();
        let mut tunnel = connect_to(proxy_port);
        tunnel
            .write_all(&connect_request(&format!("127.0.0.1:{port}")))
            .unwrap();
        assert_eq!(read_exact_vec(&mut tunnel, ESTABLISHED.len()), ESTABLISHED);
        tunnel.write_all(b"a").unwrap();
        assert_eq!(read_exact_vec(&mut tunnel, 1), [b'a' ^ 0x5A]);
        // And a client that never finishes its head.
        let mut slow = connect_to(proxy_port);
        slow.write_all(b"CONN").unwrap();
        thread::sleep(Duration::from_millis(50));

        // Without the sockets shut down, the threads would not end and `stop` would give up
        // only after STOP_GRACE.
        let shared = Arc::clone(&proxy.shared);
        let started = Instant::now();
        let report = proxy.stop();
        assert!(started.elapsed() < STOP_GRACE, "{:?}", started.elapsed());
        assert_eq!(lock(&shared.state).threads, 0);
        assert_eq!(report.allowed, 1);
        // The tunnel is closed (end of stream or reset), and nothing listens any more.
        let mut buf = [0u8; 16];
        assert!(matches!(tunnel.read(&mut buf), Ok(0) | Err(_)));
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, proxy_port)).is_err());
    }

    #[test]
    fn drop_shuts_the_proxy_down() {
        let port = xor_upstream(loopback_listener());
        let proxy = Proxy::start(allow(&["127.0.0.1"])).unwrap();
        let proxy_port = proxy.port();
        let shared = Arc::clone(&proxy.shared);
        let mut tunnel = connect_to(proxy_port);
        tunnel
            .write_all(&connect_request(&format!("127.0.0.1:{port}")))
            .unwrap();
        assert_eq!(read_exact_vec(&mut tunnel, ESTABLISHED.len()), ESTABLISHED);
        let started = Instant::now();
        drop(proxy);
        assert!(started.elapsed() < STOP_GRACE, "{:?}", started.elapsed());
        assert_eq!(lock(&shared.state).threads, 0);
        let mut buf = [0u8; 16];
        assert!(matches!(tunnel.read(&mut buf), Ok(0) | Err(_)));
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, proxy_port)).is_err());
    }

    #[test]
    fn concurrent_clients_are_all_served() {
        let upstream = http_upstream(HELLO);
        let proxy = Arc::new(Proxy::start(allow(&["127.0.0.1"])).unwrap());
        let done = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..16)
            .map(|_| {
                let (proxy, done) = (Arc::clone(&proxy), Arc::clone(&done));
                let port = upstream.port;
                thread::spawn(move || {
                    for _ in 0..10 {
                        assert_eq!(exchange(&proxy, &get(port, "/")), HELLO);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for client in clients {
            client.join().unwrap();
        }
        assert_eq!(done.load(Ordering::Relaxed), 160);
        let proxy = Arc::into_inner(proxy).unwrap();
        assert_eq!(proxy.stop().allowed, 160);
    }
}
