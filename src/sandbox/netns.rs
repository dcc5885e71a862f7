//! A network namespace of the harness's own, where the machine allows it (forge runs as
//! root, or the kernel lets unprivileged users make user namespaces): only loopback, so no packet leaves except through forge's proxy. Landlock's TCP
//! rule alone matches ports, not addresses (any host on the proxy's port is reachable) and
//! does not cover UDP; inside the namespace there is nothing to reach.
//!
//! The proxy listens in forge's namespace, which the harness cannot reach, so two small
//! relays join them through a UNIX socket (filesystem paths are not per namespace): a
//! [`Bridge`] thread in forge accepts on `<scratch>/proxy.sock` and connects to the proxy;
//! a forwarder process in the harness's namespace (`forge __forward PORT PATH`, started by
//! the trampoline) listens on `127.0.0.1:PORT` there and connects to the bridge.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

/// The first argument of the forwarder.
pub const FORWARD_ARG: &str = "__forward";

/// What the trampoline sets up in the harness's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The proxy's port, to listen on inside, and the bridge's socket, to relay to. None:
    /// no network at all (`network = "none"`).
    pub forward: Option<(u16, PathBuf)>,
    /// Loopback ports of the host that the allowlist names (a local model server): inside,
    /// the same address is a tunnel through the proxy to it, so that a client going direct
    /// to loopback (as `NO_PROXY` tells it to) still reaches it. Only with `forward`.
    #[serde(default)]
    pub tunnels: Vec<Tunnel>,
}

/// One host loopback port made reachable inside the namespace, through the proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunnel {
    /// Where to listen inside (`127.0.0.1:8080`, `[::1]:8080`).
    pub listen: SocketAddr,
    /// What to ask the proxy to `CONNECT` to: the allowlist's entry (`localhost:8080`).
    pub target: String,
}

/// The tunnels for the loopback entries among allowlist `entries` (`127.0.0.1:8080`,
/// `localhost:8080`, `[::1]:8080`; a loopback host without a port cannot be tunnelled), but
/// never on `proxy_port`, where the forwarder to the proxy listens.
pub fn loopback_tunnels(entries: &[String], proxy_port: u16) -> Vec<Tunnel> {
    let mut out: Vec<Tunnel> = Vec::new();
    for entry in entries {
        let Some((host, port)) = entry.rsplit_once(':') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        let ip: IpAddr = match host.trim_start_matches('[').trim_end_matches(']') {
            h if h.eq_ignore_ascii_case("localhost") => Ipv4Addr::LOCALHOST.into(),
            h => match h.parse::<IpAddr>() {
                Ok(ip) if ip.is_loopback() => ip,
                _ => continue,
            },
        };
        let listen = SocketAddr::new(ip, port);
        if port == 0 || port == proxy_port || out.iter().any(|t| t.listen == listen) {
            continue;
        }
        out.push(Tunnel {
            listen,
            target: entry.clone(),
        });
    }
    out
}

/// The first argument of the probe that tries [`enter`] in a process of its own.
pub const PROBE_ARG: &str = "__netns-probe";

/// How a harness gets its network namespace here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// forge may make network namespaces itself (root, or CAP_SYS_ADMIN).
    Direct,
    /// Through a user namespace of its own, where the kernel lets unprivileged users make
    /// them: the harness keeps its uid and gid, mapped to themselves.
    UserNamespace,
}

/// Whether harnesses can get a namespace here, and how. Found once per process: first on a
/// thread of its own (a network namespace is per thread, so it goes away with the thread
/// and forge's other threads never leave theirs); else, since a multi-threaded process
/// cannot enter a user namespace, in a child process (`forge __netns-probe`).
pub fn available() -> Option<Way> {
    static AVAILABLE: std::sync::OnceLock<Option<Way>> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let direct = std::thread::Builder::new()
            .name("forge-netns-probe".into())
            .spawn(|| enter_direct().is_ok())
            .ok()
            .and_then(|t| t.join().ok())
            .unwrap_or(false);
        if direct {
            return Some(Way::Direct);
        }
        let probed = Command::new("/proc/self/exe")
            .arg(PROBE_ARG)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        probed.then_some(Way::UserNamespace)
    })
}

/// `forge __netns-probe`: whether [`enter`] works in a fresh single-threaded process.
pub fn probe_main() -> i32 {
    match enter() {
        Ok(_) => 0,
        Err(_) => 1,
    }
}

/// Moves the calling process (the trampoline, single-threaded) into a new network
/// namespace with loopback up: directly where it may, else inside a new user namespace.
pub fn enter() -> Result<Way, String> {
    match enter_direct() {
        Ok(()) => Ok(Way::Direct),
        Err(direct) => enter_as_user()
            .map(|()| Way::UserNamespace)
            .map_err(|user| format!("{direct}; through a user namespace: {user}")),
    }
}

fn enter_direct() -> Result<(), String> {
    // rustix deprecates `unshare` as a whole because some flags (CLONE_FILES, CLONE_FS) can
    // break assumptions of a multi-threaded process; CLONE_NEWNET alone cannot.
    #[allow(deprecated)]
    rustix::thread::unshare(rustix::thread::UnshareFlags::NEWNET)
        .map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))?;
    loopback_up().map_err(|e| format!("bringing loopback up: {e}"))
}

/// A user namespace owning a new network namespace. The process's own uid and gid are
/// mapped to themselves (the only mapping an unprivileged process may write, and only with
/// setgroups denied), so files it makes keep their owner; the capabilities it holds in the
/// new namespace, enough to bring loopback up, are dropped at the harness's exec, since
/// its uid there is not 0.
fn enter_as_user() -> Result<(), String> {
    own_user_namespace(rustix::thread::UnshareFlags::NEWNET, "CLONE_NEWNET")?;
    loopback_up().map_err(|e| format!("bringing loopback up: {e}"))
}

/// Moves the calling process into a new user namespace, and into the new namespaces of
/// `with` (named `name`) it owns, mapping its uid and gid to themselves (see [`enter_as_user`]). Also
/// used for the harness's own terminals (`ptys.rs`).
pub(super) fn own_user_namespace(
    with: rustix::thread::UnshareFlags,
    name: &str,
) -> Result<(), String> {
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    // Deprecated for CLONE_FILES/CLONE_FS; NEWUSER itself needs a single-threaded caller,
    // which the kernel checks (EINVAL otherwise).
    #[allow(deprecated)]
    rustix::thread::unshare(rustix::thread::UnshareFlags::NEWUSER | with)
        .map_err(|e| format!("unshare(CLONE_NEWUSER|{name}): {e}"))?;
    let write = |file: &str, text: String| {
        std::fs::write(file, text).map_err(|e| format!("writing {file}: {e}"))
    };
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
    write("/proc/self/gid_map", format!("{gid} {gid} 1"))
}

/// `ip link set lo up`, as one rtnetlink request: RTM_NEWLINK for interface 1 (loopback
/// is the first interface of every namespace) with IFF_UP, and its acknowledgement.
fn loopback_up() -> std::io::Result<()> {
    use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType};
    const RTM_NEWLINK: u16 = 16;
    const NLM_F_REQUEST: u16 = 1;
    const NLM_F_ACK: u16 = 4;
    const NLMSG_ERROR: u16 = 2;
    const IFF_UP: u32 = 1;
    let sock = rustix::net::socket(AddressFamily::NETLINK, SocketType::RAW, None)?;
    let mut msg = Vec::with_capacity(32);
    msg.extend_from_slice(&32u32.to_ne_bytes()); // nlmsg_len
    msg.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel fills it in
    msg.extend_from_slice(&[0, 0]); // ifi_family AF_UNSPEC, padding
    msg.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
    msg.extend_from_slice(&1i32.to_ne_bytes()); // ifi_index: lo
    msg.extend_from_slice(&IFF_UP.to_ne_bytes()); // ifi_flags
    msg.extend_from_slice(&IFF_UP.to_ne_bytes()); // ifi_change
    rustix::net::send(&sock, &msg, SendFlags::empty())?;
    let mut buf = [0u8; 512];
    let (_, n) = rustix::net::recv(&sock, &mut buf[..], RecvFlags::empty())?;
    let u16_at = |i: usize| u16::from_ne_bytes([buf[i], buf[i + 1]]);
    if n < 20 || u16_at(4) != NLMSG_ERROR {
        return Err(std::io::Error::other("no acknowledgement from the kernel"));
    }
    let code = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
    if code != 0 {
        return Err(std::io::Error::from_raw_os_error(-code));
    }
    Ok(())
}

/// Starts the forwarders of `plan` in the (already entered) namespace: one to the proxy,
/// and one per tunnel. Each listening socket is made here and handed over as its
/// forwarder's stdin, so connections queue from this moment on and nothing waits for a
/// forwarder to be ready.
pub fn start_forwarders(plan: &Plan) -> Result<(), String> {
    let Some((port, bridge)) = &plan.forward else {
        return Ok(());
    };
    start_forwarder(
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), *port),
        bridge,
        None,
    )?;
    for t in &plan.tunnels {
        start_forwarder(t.listen, bridge, Some(&t.target))?;
    }
    Ok(())
}

fn start_forwarder(listen: SocketAddr, bridge: &Path, target: Option<&str>) -> Result<(), String> {
    let listener = TcpListener::bind(listen)
        .map_err(|e| format!("listening on {listen} in the namespace: {e}"))?;
    let fd: std::os::fd::OwnedFd = listener.into();
    Command::new("/proc/self/exe")
        .arg(FORWARD_ARG)
        .arg(bridge)
        .args(target)
        .stdin(Stdio::from(fd))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("the forwarder for {listen}: {e}"))?;
    Ok(())
}

/// `forge __forward PATH [TARGET]`, with a listening TCP socket as stdin: relays every
/// connection (to `127.0.0.1:PORT` in the harness's namespace) to the UNIX socket at PATH
/// (the bridge to the proxy), until it is killed with the harness's processes. With TARGET
/// (`host:port`), each connection first asks the proxy for a `CONNECT` to it, and is
/// dropped if the proxy refuses.
pub fn forward_main(args: &[String]) -> i32 {
    use std::os::fd::AsFd;
    let Some(path) = args.first() else {
        return 2;
    };
    let target = args.get(1).cloned();
    let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
        return 1;
    };
    let listener = TcpListener::from(fd);
    let path = PathBuf::from(path);
    for client in listener.incoming().flatten() {
        let path = path.clone();
        let target = target.clone();
        std::thread::spawn(move || {
            let Ok(mut upstream) = UnixStream::connect(&path) else {
                return;
            };
            if let Some(target) = target
                && !connect_through(&mut upstream, &target)
            {
                return;
            }
            relay_tcp_unix(client, upstream);
        });
    }
    0
}

/// Asks the proxy on `upstream` to tunnel to `target`; whether it agreed. Reads the answer
/// byte by byte, so that nothing after its head (the tunnel's first bytes) is consumed.
fn connect_through(upstream: &mut UnixStream, target: &str) -> bool {
    let ask = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
    if upstream.write_all(ask.as_bytes()).is_err() {
        return false;
    }
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || !matches!(upstream.read(&mut byte), Ok(1)) {
            return false;
        }
        head.push(byte[0]);
    }
    head.split(|&b| b == b' ').nth(1) == Some(b"200")
}

fn relay_tcp_unix(tcp: TcpStream, unix: UnixStream) {
    let (Ok(tcp2), Ok(unix2)) = (tcp.try_clone(), unix.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        pump(tcp2, unix2, |u| {
            let _ = u.shutdown(Shutdown::Write);
        })
    });
    pump(unix, tcp, |t| {
        let _ = t.shutdown(Shutdown::Write);
    });
    let _ = up.join();
}

/// Copies `from` to `to` until end of file, then `close`s `to`'s write side.
fn pump<R: Read, W: Write>(mut from: R, mut to: W, close: impl FnOnce(&W)) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    close(&to);
}

/// The relay in forge's namespace: accepts on a UNIX socket, connects to the proxy.
pub struct Bridge {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Bridge {
    /// Listens on `path` (replacing a stale socket there) and relays to `127.0.0.1:port`.
    pub fn start(path: &Path, port: u16) -> std::io::Result<Bridge> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("forge-bridge".into())
            .spawn(move || {
                for client in listener.incoming() {
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    std::thread::spawn(move || {
                        if let Ok(proxy) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
                            let _ = proxy.set_nodelay(true);
                            relay_tcp_unix(proxy, client);
                        }
                    });
                }
            })?;
        Ok(Bridge {
            path: path.to_owned(),
            stop,
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so that it sees the flag.
        let _ = UnixStream::connect(&self.path);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_entries_with_a_port_are_tunnelled() {
        let entries: Vec<String> = [
            "127.0.0.1:8080",
            "localhost:9000",
            "[::1]:7000",
            "127.0.0.1",
            "api.example.com:443",
            "10.0.0.1:80",
            "127.0.0.1:4000",
            "127.0.0.1:8080",
        ]
        .iter()
        .map(|e| (*e).to_owned())
        .collect();
        let got: Vec<(String, String)> = loopback_tunnels(&entries, 4000)
            .into_iter()
            .map(|t| (t.listen.to_string(), t.target))
            .collect();
        let want = [
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("127.0.0.1:9000", "localhost:9000"),
            ("[::1]:7000", "[::1]:7000"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn the_bridge_relays_both_ways_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let upstream = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = upstream.local_addr().unwrap().port();
        let echo = std::thread::spawn(move || {
            let (mut s, _) = upstream.accept().unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            s.write_all(&got.iter().rev().copied().collect::<Vec<u8>>())
                .unwrap();
        });
        let bridge = Bridge::start(&dir.path().join("b.sock"), port).unwrap();
        let mut c = UnixStream::connect(bridge.path()).unwrap();
        c.write_all(b"hello").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap();
        assert_eq!(back, b"olleh");
        echo.join().unwrap();
        let path = bridge.path().to_owned();
        drop(bridge);
        assert!(!path.exists());
    }
}
