//! Serving one client connection: the proxy's own answers (refusals), the allowlist check,
//! connecting upstream, and splicing bytes both ways until either side is done.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Instant;

use super::allow::Host;
use super::http::{HeadError, parse_request, read_head};
use super::{
    CONNECT_TIMEOUT, Conn, ERROR_WRITE_TIMEOUT, LINGER, LINGER_BYTES, REFUSAL_PREFIX, SPLICE_BUF,
    Shared, THREAD_STACK,
};

/// Writes a complete plain-text response with `Connection: close`.
pub(super) fn respond(mut stream: &TcpStream, status: &str, body: &str) {
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
pub(super) fn serve(shared: &Arc<Shared>, conn: Conn) {
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
