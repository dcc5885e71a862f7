//! Latency the egress proxy (`forge::sandbox::proxy`) adds to a small loopback HTTP request.
//!
//! ```sh
//! cargo run --release --example proxy_bench              # 2000 rounds
//! cargo run --release --example proxy_bench -- 5000      # more rounds
//! ```
//!
//! A loopback HTTP/1.1 server answers every request with a ~100-byte response. Each round
//! makes one request in each of five ways, in an order that rotates from round to round (so
//! that drift on a busy machine spreads evenly over them):
//!
//! - `direct, new conn`: connect to the server, one request, close;
//! - `proxy GET, new conn`: the same through the proxy, absolute-form (`GET http://...`);
//! - `proxy CONNECT, new conn`: connect to the proxy, `CONNECT`, then the request (what an
//!   HTTPS client without connection reuse does, minus TLS);
//! - `direct, keep-alive`: one request on a connection kept open over all rounds;
//! - `proxy CONNECT, keep-alive`: one request through one tunnel kept open over all rounds.
//!
//! Each figure is the time from before `connect` (or the write, on a kept connection) to the
//! last byte of the response. `+median` and `+p99` are what the proxy adds: the way's median
//! (p99) minus that of the direct way of the same kind (new connection or kept). Figures
//! only; nothing is asserted.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use forge::sandbox::proxy::{Allow, Proxy};

const BODY: &str = "{\"id\":\"bench\",\"object\":\"chat.completion\",\"ok\":true}\n";

fn response() -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    )
    .into_bytes()
}

/// A keep-alive HTTP/1.1 server: one thread per connection, the fixed response to every
/// request head, closing after a request that says `Connection: close`.
fn server() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("local_addr").port();
    let response = response();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let response = response.clone();
            thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut buf = Vec::with_capacity(4096);
                let mut chunk = [0u8; 4096];
                loop {
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let close = String::from_utf8_lossy(&buf[..end])
                            .to_ascii_lowercase()
                            .contains("\r\nconnection: close");
                        buf.drain(..end + 4);
                        if stream.write_all(&response).is_err() || close {
                            return;
                        }
                        continue;
                    }
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    port
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

fn expect(stream: &mut TcpStream, expected: &[u8], buf: &mut [u8]) {
    let got = &mut buf[..expected.len()];
    stream.read_exact(got).expect("read");
    assert_eq!(got, expected, "unexpected answer");
}

/// The five ways of making a request, with the connections the kept-alive ones reuse.
struct Ways {
    server: u16,
    proxy: u16,
    direct_kept: TcpStream,
    tunnel_kept: TcpStream,
    response: Vec<u8>,
    buf: Vec<u8>,
}

const NAMES: [&str; 5] = [
    "direct, new conn",
    "proxy GET, new conn",
    "proxy CONNECT, new conn",
    "direct, keep-alive",
    "proxy CONNECT, keep-alive",
];
const ESTABLISHED: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";

impl Ways {
    fn new(server: u16, proxy: u16) -> Ways {
        let mut tunnel_kept = connect(proxy);
        let mut buf = vec![0u8; 4096];
        tunnel_kept
            .write_all(format!("CONNECT 127.0.0.1:{server} HTTP/1.1\r\n\r\n").as_bytes())
            .expect("write");
        expect(&mut tunnel_kept, ESTABLISHED, &mut buf);
        Ways {
            server,
            proxy,
            direct_kept: connect(server),
            tunnel_kept,
            response: response(),
            buf,
        }
    }

    /// Makes one request the `way`-th way and returns how long it took.
    fn request(&mut self, way: usize) -> Duration {
        let (server, proxy) = (self.server, self.proxy);
        let origin = format!("GET /v1/chat HTTP/1.1\r\nHost: 127.0.0.1:{server}\r\n");
        let started = Instant::now();
        match way {
            0 => {
                let mut s = connect(server);
                s.write_all(format!("{origin}Connection: close\r\n\r\n").as_bytes())
                    .expect("write");
                expect(&mut s, &self.response, &mut self.buf);
            }
            1 => {
                let mut s = connect(proxy);
                let request = format!(
                    "GET http://127.0.0.1:{server}/v1/chat HTTP/1.1\r\nHost: 127.0.0.1:{server}\r\n\r\n"
                );
                s.write_all(request.as_bytes()).expect("write");
                expect(&mut s, &self.response, &mut self.buf);
            }
            2 => {
                let mut s = connect(proxy);
                s.write_all(format!("CONNECT 127.0.0.1:{server} HTTP/1.1\r\n\r\n").as_bytes())
                    .expect("write");
                expect(&mut s, ESTABLISHED, &mut self.buf);
                s.write_all(format!("{origin}Connection: close\r\n\r\n").as_bytes())
                    .expect("write");
                expect(&mut s, &self.response, &mut self.buf);
            }
            3 => {
                self.direct_kept
                    .write_all(format!("{origin}\r\n").as_bytes())
                    .expect("write");
                expect(&mut self.direct_kept, &self.response, &mut self.buf);
            }
            _ => {
                self.tunnel_kept
                    .write_all(format!("{origin}\r\n").as_bytes())
                    .expect("write");
                expect(&mut self.tunnel_kept, &self.response, &mut self.buf);
            }
        }
        started.elapsed()
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The q-quantile (nearest rank) of sorted figures.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn sorted(mut figures: Vec<f64>) -> Vec<f64> {
    figures.sort_by(f64::total_cmp);
    figures
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("usage: proxy_bench [ROUNDS]"))
        .unwrap_or(2000);
    let server = server();
    let proxy = Proxy::start(Allow::parse(&["127.0.0.1".to_string()]).expect("allowlist"))
        .expect("start the proxy");
    let mut ways = Ways::new(server, proxy.port());

    for round in 0..200 {
        ways.request(round % NAMES.len());
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); NAMES.len()];
    for round in 0..rounds {
        for i in 0..NAMES.len() {
            let way = (round + i) % NAMES.len();
            times[way].push(micros(ways.request(way)));
        }
    }
    drop(ways);
    let report = proxy.stop();

    println!(
        "proxy latency, {rounds} requests each way, loopback, {}-byte response",
        response().len()
    );
    println!(
        "{:<27} {:>10} {:>10} {:>10} {:>13} {:>13}",
        "way", "median µs", "p99 µs", "mean µs", "+median µs", "+p99 µs"
    );
    let stats: Vec<(f64, f64, f64)> = times
        .iter()
        .map(|figures| {
            let mean = figures.iter().sum::<f64>() / figures.len() as f64;
            let figures = sorted(figures.clone());
            (quantile(&figures, 0.5), quantile(&figures, 0.99), mean)
        })
        .collect();
    for (way, name) in NAMES.iter().enumerate() {
        let (median, p99, mean) = stats[way];
        let baseline = if way < 3 { 0 } else { 3 };
        let (added_median, added_p99) = if way == baseline {
            ("-".to_string(), "-".to_string())
        } else {
            let (base_median, base_p99, _) = stats[baseline];
            (
                format!("{:.1}", median - base_median),
                format!("{:.1}", p99 - base_p99),
            )
        };
        println!(
            "{name:<27} {median:>10.1} {p99:>10.1} {mean:>10.1} {added_median:>13} {added_p99:>13}"
        );
    }
    println!(
        "proxy report: {} connections let through, {} denied",
        report.allowed,
        report.denied.values().sum::<u64>()
    );
}
