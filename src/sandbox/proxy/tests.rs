//! Tests of the egress proxy against loopback upstreams: tunnels, plain HTTP, refusals,
//! limits and stopping.

use super::*;
use std::io::Write;
use std::net::Ipv6Addr;
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
                        let head = String::from_utf8_lossy(&buf[..end + 4]).to_ascii_lowercase();
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
        heads[2].starts_with(format!("GET /n HTTP/1.1\r\nHost: LOCALHOST:{port}\r\n").as_bytes())
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
