//! A network namespace of the harness's own, where the machine allows it (forge runs as
//! root): only loopback, so no packet leaves except through forge's proxy. Landlock's TCP
//! rule alone matches ports, not addresses (any host on the proxy's port is reachable) and
//! does not cover UDP; inside the namespace there is nothing to reach.
//!
//! The proxy listens in forge's namespace, which the harness cannot reach, so two small
//! relays join them through a UNIX socket (filesystem paths are not per namespace): a
//! [`Bridge`] thread in forge accepts on `<scratch>/proxy.sock` and connects to the proxy;
//! a forwarder process in the harness's namespace (`forge __forward PORT PATH`, started by
//! the trampoline) listens on `127.0.0.1:PORT` there and connects to the bridge.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

/// The first argument of the probe and of the forwarder.
pub const PROBE_ARG: &str = "__netns-probe";
pub const FORWARD_ARG: &str = "__forward";

/// Where `ip` may be (forge's own PATH may lack the sbin directories).
const IP: &[&str] = &["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"];

/// What the trampoline sets up in the harness's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The proxy's port, to listen on inside, and the bridge's socket, to relay to. None:
    /// no network at all (`network = "none"`).
    pub forward: Option<(u16, PathBuf)>,
}

/// Whether harnesses can get a namespace here, found once by running the probe (a child
/// that makes one and brings its loopback up).
pub fn available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("/proc/self/exe")
            .arg(PROBE_ARG)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Moves the calling process into a new network namespace with loopback up.
pub fn enter() -> Result<(), String> {
    // rustix deprecates `unshare` as a whole because some flags (CLONE_FILES, CLONE_FS) can
    // break assumptions of a multi-threaded process; CLONE_NEWNET alone cannot, and the
    // trampoline is single-threaded here.
    #[allow(deprecated)]
    rustix::thread::unshare(rustix::thread::UnshareFlags::NEWNET)
        .map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))?;
    let ip = IP
        .iter()
        .find(|p| Path::new(p).exists())
        .ok_or("no `ip` program to bring loopback up")?;
    let up = Command::new(ip)
        .args(["link", "set", "lo", "up"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("{ip}: {e}"))?;
    if !up.success() {
        return Err(format!("`{ip} link set lo up` failed ({up})"));
    }
    Ok(())
}

/// Starts the forwarder in the (already entered) namespace and waits until it listens.
pub fn start_forwarder(port: u16, bridge: &Path) -> Result<(), String> {
    let mut child = Command::new("/proc/self/exe")
        .arg(FORWARD_ARG)
        .arg(port.to_string())
        .arg(bridge)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("the forwarder: {e}"))?;
    let mut ready = [0u8; 1];
    let said = child
        .stdout
        .take()
        .map(|mut out| out.read(&mut ready).unwrap_or(0))
        .unwrap_or(0);
    if said != 1 {
        let _ = child.kill();
        return Err("the forwarder did not start".into());
    }
    Ok(())
}

/// `forge __forward PORT PATH`: relays every connection to `127.0.0.1:PORT` (in the
/// harness's namespace) to the UNIX socket at PATH. Says it is ready with one byte on
/// stdout, then serves until killed with the harness's processes.
pub fn forward_main(args: &[String]) -> i32 {
    let (Some(port), Some(path)) = (
        args.first().and_then(|p| p.parse::<u16>().ok()),
        args.get(1),
    ) else {
        return 2;
    };
    let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) else {
        return 1;
    };
    let mut out = std::io::stdout();
    if out.write_all(b"!").and_then(|_| out.flush()).is_err() {
        return 1;
    }
    // The pipe is the trampoline's, which stops reading it: nothing more goes there.
    let path = PathBuf::from(path);
    for client in listener.incoming().flatten() {
        let path = path.clone();
        std::thread::spawn(move || {
            if let Ok(upstream) = UnixStream::connect(&path) {
                relay_tcp_unix(client, upstream);
            }
        });
    }
    0
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
