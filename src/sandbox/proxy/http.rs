//! Request heads: reading one from a client within the size and time bounds, and checking
//! it into a [`Request`] (`CONNECT host:port`, or absolute-form plain HTTP rewritten to
//! origin-form for the upstream).

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Instant;

use super::MAX_HEAD;
use super::allow::{Host, parse_port, split_authority};

/// What a client asked for, once its request head has been checked.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Request {
    pub(super) host: Host,
    pub(super) port: u16,
    /// For plain HTTP, the head to send upstream (origin-form, ending in an empty line);
    /// `None` for `CONNECT`.
    pub(super) forward: Option<Vec<u8>>,
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
pub(super) fn parse_request(head: &[u8]) -> Result<Request, &'static str> {
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
pub(super) enum HeadError {
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
pub(super) fn read_head(
    mut stream: &TcpStream,
    deadline: Instant,
) -> Result<(Vec<u8>, usize), HeadError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv6Addr};

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
}
