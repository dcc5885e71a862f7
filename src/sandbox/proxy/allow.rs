//! The allowlist: the `host:port` entries a client may reach (the preset's model API hosts
//! plus `[sandbox] allow_hosts`), parsed into rules and matched against the name the client
//! asked for, never against what it resolves to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A host as a client or a config entry names it: a DNS name (lowercase, no trailing dot)
/// or an IP literal, kept apart so that a wildcard never matches an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Host {
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
    pub(super) fn parse(text: &str, bare_v6: bool) -> Result<Host, &'static str> {
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
pub(super) fn split_authority(text: &str) -> Result<(&str, Option<&str>), &'static str> {
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

pub(super) fn parse_port(text: &str) -> Result<u16, &'static str> {
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

    pub(super) fn allows_host(&self, host: &Host, port: u16) -> bool {
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

/// The `host:port` a URL reaches: `https://example.com/x` gives `example.com:443`,
/// `http://127.0.0.1:8080/v1` gives `127.0.0.1:8080`. None for anything but http(s), and
/// for an authority parsers read differently (a backslash, a space, two `@`): such a URL
/// is allowed nowhere. The one reading of a URL for the allowlist (config endpoints, an
/// agent's fetches).
pub fn host_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    // Parsers disagree about a backslash (a browser's ends the authority there) or space:
    // no host is read from such a URL, so it reaches nothing.
    if authority.contains(['\\', ' ', '\t']) || authority.matches('@').count() > 1 {
        return None;
    }
    let authority = authority.rsplit('@').next()?;
    if authority.is_empty() {
        return None;
    }
    let has_port = authority.rsplit_once(':').is_some_and(|(_, p)| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !authority.ends_with(']')
    });
    Some(if has_port {
        authority.to_ascii_lowercase()
    } else {
        let port = if scheme.eq_ignore_ascii_case("http") {
            80
        } else {
            443
        };
        format!("{}:{port}", authority.to_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| e.to_string()).collect()
    }

    fn allow(entries: &[&str]) -> Allow {
        Allow::parse(&strings(entries)).unwrap()
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
}
