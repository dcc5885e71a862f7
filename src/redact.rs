//! The secret redactor. Everything forge writes under `.forge/` passes through here first.
//!
//! Two sources of secrets: values of environment variables that look secret (or that config
//! names), which the CLI collects and hands in, and well-known token shapes that are
//! recognisable without context (provider API keys, private key blocks, bearer tokens,
//! passwords in URLs).

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

/// Values shorter than this are not redacted by value: "1", "true" or a port number would
/// wreck every file without protecting anything.
const MIN_SECRET_LEN: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// (variable name, value), longest value first so that overlapping values redact whole.
    values: Vec<(String, String)>,
}

/// Whether an environment variable's name says that it holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    const MARKERS: [&str; 9] = [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "ACCESS_KEY",
    ];
    const SUFFIXES: [&str; 6] = ["_AUTH", "_PASS", "_PWD", "_KEY", "_DSN", "_COOKIE"];
    MARKERS.iter().any(|m| upper.contains(m))
        || upper.contains("PASSPHRASE")
        || SUFFIXES.iter().any(|s| upper.ends_with(s))
        || upper == "AUTH"
}

/// Printable strings shorter than this are not looked at in binary data (as `strings(1)`).
pub const MIN_STRING_LEN: usize = 6;

/// Printable ASCII, tab and line breaks: what a printable string is made of.
fn printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r')
}

/// The printable strings in binary data, as `strings(1)` finds them: runs of at least
/// [`MIN_STRING_LEN`] printable ASCII bytes, and the same in UTF-16LE (each character
/// followed by a zero byte). Each comes with its byte offset.
pub fn printable_strings(bytes: &[u8]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut flush = |start: usize, run: &mut String| {
        if run.trim().len() >= MIN_STRING_LEN {
            out.push((start, std::mem::take(run)));
        }
        run.clear();
    };
    // Single bytes.
    let mut run = String::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if printable(b) {
            if run.is_empty() {
                start = i;
            }
            run.push(char::from(b));
        } else {
            flush(start, &mut run);
        }
    }
    flush(start, &mut run);
    // UTF-16LE, at both alignments.
    for align in 0..2 {
        let mut i = align;
        while i + 1 < bytes.len() {
            if printable(bytes[i]) && bytes[i + 1] == 0 {
                if run.is_empty() {
                    start = i;
                }
                run.push(char::from(bytes[i]));
            } else {
                flush(start, &mut run);
            }
            i += 2;
        }
        flush(start, &mut run);
    }
    out
}

fn patterns() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let parts = [
            // PEM private key blocks, whole.
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----",
            // Anthropic, OpenAI (incl. project keys) and similar `sk-` keys.
            r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}",
            // GitHub tokens.
            r"\bgh[pousr]_[A-Za-z0-9]{30,}",
            r"\bgithub_pat_[A-Za-z0-9_]{30,}",
            // GitLab, Slack, Google, AWS access key ids, Hugging Face, Stripe.
            r"\bglpat-[A-Za-z0-9_\-]{20,}",
            r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",
            r"\bAIza[0-9A-Za-z_\-]{35}",
            r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
            r"\bhf_[A-Za-z0-9]{30,}",
            r"\b[rs]k_live_[A-Za-z0-9]{20,}",
            // Bearer tokens in headers or logs.
            r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{16,}=*",
        ];
        Regex::new(&parts.join("|")).expect("secret patterns compile")
    })
}

fn url_password() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\b([a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]+:)([^/\s@]+)(@)").expect("url regex")
    })
}

impl Redactor {
    /// `secrets` are (name, value) pairs; short values are ignored (see [`MIN_SECRET_LEN`]).
    pub fn new(secrets: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut values: Vec<(String, String)> = secrets
            .into_iter()
            .filter(|(_, v)| v.len() >= MIN_SECRET_LEN)
            .collect();
        values.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        values.dedup_by(|a, b| a.1 == b.1);
        Redactor { values }
    }

    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for (name, value) in &self.values {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), &format!("[REDACTED:{name}]")));
            }
        }
        if let Cow::Owned(s) = patterns().replace_all(&out, "[REDACTED]") {
            out = Cow::Owned(s);
        }
        if let Cow::Owned(s) = url_password().replace_all(&out, "${1}[REDACTED]${3}") {
            out = Cow::Owned(s);
        }
        out
    }

    /// The secret-looking text in binary data, found in its printable strings (see
    /// [`printable_strings`]): `(byte offset, text)`, one per line of a string that holds a
    /// secret, or the whole string when only all its lines together do (a private key
    /// block). The text is for comparing with other findings, never for showing.
    pub fn binary_findings(&self, bytes: &[u8]) -> Vec<(usize, String)> {
        let runs = printable_strings(bytes);
        // Most binaries hold no secret: one pass over all their strings says so.
        let all = runs
            .iter()
            .map(|(_, run)| run.as_str())
            .collect::<Vec<_>>()
            .join("\0");
        if self.redact(&all) == all {
            return Vec::new();
        }
        let mut found = Vec::new();
        for (start, run) in runs {
            if self.redact(&run) == run {
                continue;
            }
            let before = found.len();
            let mut offset = 0;
            for line in run.split_inclusive('\n') {
                let text = line.trim_end_matches(['\n', '\r']);
                if self.redact(text) != text {
                    found.push((start + offset, text.to_owned()));
                }
                offset += line.len();
            }
            if found.len() == before {
                found.push((start, run));
            }
        }
        found
    }

    fn redact_in_place(&self, s: &mut String) {
        if let Cow::Owned(r) = self.redact(s) {
            *s = r;
        }
    }

    pub fn redact_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(s) => self.redact_in_place(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.redact_json(v)),
            _ => {}
        }
    }

    pub fn redact_toml(&self, value: &mut toml::Value) {
        use toml::Value;
        match value {
            Value::String(s) => self.redact_in_place(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_toml(v)),
            Value::Table(map) => map.iter_mut().for_each(|(_, v)| self.redact_toml(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_secret() {
        for n in [
            "ANTHROPIC_API_KEY",
            "GITHUB_TOKEN",
            "db_password",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "DB_PASS",
            "SIGNING_KEY",
            "SENTRY_DSN",
            "GPG_PASSPHRASE",
            "MYSQL_PWD",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "PATH",
            "HOME",
            "TERM",
            "EDITOR",
            "AUTHOR_NAME",
            "DATABASE_URL",
            "BYPASS_CACHE",
            "KEYBOARD",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn redacts_values_by_name() {
        let r = Redactor::new([("MY_TOKEN".into(), "canary-1234567890".into())]);
        assert_eq!(r.redact("x canary-1234567890 y"), "x [REDACTED:MY_TOKEN] y");
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn short_values_are_not_redacted() {
        let r = Redactor::new([("X_TOKEN".into(), "1".into())]);
        assert_eq!(r.redact("1 2 3"), "1 2 3");
    }

    #[test]
    fn redacts_token_shapes() {
        let r = Redactor::default();
        let cases = [
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345",
            "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "AKIAABCDEFGHIJKLMNOP",
            "Authorization: Bearer abcdefghijklmnop.qrstuv",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
        ];
        for c in cases {
            let out = r.redact(c);
            assert!(out.contains("[REDACTED]"), "{c} -> {out}");
            assert!(
                !out.contains("abcdefghijklmnop") && !out.contains("b3BlbnNz"),
                "{out}"
            );
        }
    }

    #[test]
    fn redacts_url_passwords_but_keeps_the_rest() {
        let r = Redactor::default();
        assert_eq!(
            r.redact("postgres://app:hunter22@db.local/x"),
            "postgres://app:[REDACTED]@db.local/x"
        );
        assert_eq!(
            r.redact("https://example.com/a:b@c"),
            "https://example.com/a:b@c"
        );
    }

    #[test]
    fn printable_strings_are_found_in_binary_data() {
        let mut blob = vec![0u8, 1, 2, 0xff];
        blob.extend_from_slice(b"short\0");
        blob.extend_from_slice(b"long enough\0\x01");
        for c in "wide text".bytes() {
            blob.extend_from_slice(&[c, 0]);
        }
        let found = printable_strings(&blob);
        let texts: Vec<&str> = found.iter().map(|(_, s)| s.as_str()).collect();
        assert!(texts.contains(&"long enough"), "{texts:?}");
        assert!(texts.contains(&"wide text"), "{texts:?}");
        assert!(!texts.contains(&"short"), "{texts:?}");
        let (offset, _) = found.iter().find(|(_, s)| s == "long enough").unwrap();
        assert_eq!(*offset, 10);
    }

    #[test]
    fn secrets_in_binary_data_are_found_by_line() {
        let r = Redactor::new([("DB_PASS".into(), "canary-db-9f8e7d".into())]);
        let mut blob = b"\0\x01\x02header text\nuses canary-db-9f8e7d here\n\0".to_vec();
        blob.extend_from_slice(b"\x03ghp_abcdefghijklmnopqrstuvwxyz0123456789\0");
        blob.extend_from_slice(
            b"-----BEGIN RSA PRIVATE KEY-----\nMIIEabcdef\n-----END RSA PRIVATE KEY-----",
        );
        let found = r.binary_findings(&blob);
        let texts: Vec<&str> = found.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(found.len(), 3, "{texts:?}");
        assert_eq!(texts[0], "uses canary-db-9f8e7d here");
        assert_eq!(found[0].0, 15);
        assert!(texts[1].starts_with("ghp_"), "{texts:?}");
        assert!(texts[2].contains("BEGIN RSA PRIVATE KEY"), "{texts:?}");
        assert!(r.binary_findings(b"\0\0nothing to see here\0").is_empty());
    }

    #[test]
    fn redacts_nested_json() {
        let r = Redactor::new([("K_TOKEN".into(), "supersecretvalue".into())]);
        let mut v = serde_json::json!({"a": ["supersecretvalue", {"b": "x supersecretvalue"}]});
        r.redact_json(&mut v);
        assert!(!v.to_string().contains("supersecretvalue"));
    }
}
