//! What the presets share: building the argv around `command` and `extra_args`, reading JSON
//! lines defensively (single-line or pretty-printed, truncated, mixed with text), picking
//! fields out of loose JSON, and telling auth errors and rate limits apart in error text.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::harness::adapter::{CommandSpec, Event, Invocation, Tokens};

/// The argv: `inv.command` (when set and not empty) replaces the program and adds its leading
/// arguments, then the preset's own arguments, then `inv.extra_args`.
pub(super) fn spec(
    inv: &Invocation,
    default_program: &str,
    preset_args: Vec<String>,
    stdin: Option<Vec<u8>>,
    env: &[(&str, &str)],
) -> CommandSpec {
    let (program, mut args) = match inv.command.as_deref() {
        Some([first, rest @ ..]) if !first.is_empty() => (first.clone(), rest.to_vec()),
        _ => (default_program.to_owned(), Vec::new()),
    };
    args.extend(preset_args);
    args.extend(inv.extra_args.iter().cloned());
    CommandSpec {
        program,
        args,
        stdin,
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        session: None,
    }
}

/// A prompt passed as an argument must not look like an option to the CLI's parser: a
/// leading space keeps `-x…` a value (and the model does not care).
pub(super) fn prompt_arg(prompt: &str) -> String {
    if prompt.starts_with('-') {
        format!(" {prompt}")
    } else {
        prompt.to_owned()
    }
}

pub(super) fn s(x: &str) -> String {
    x.to_owned()
}

/// One line of output, classified.
#[derive(Debug)]
pub(super) enum Line {
    /// A complete JSON object (possibly assembled from several pretty-printed lines).
    Json(Value),
    /// Not JSON (or JSON that is not an object): text for the preset to look at.
    Text(String),
    /// Nothing to look at: blank, part of a pretty-printed object, or a broken JSON line.
    Nothing,
}

/// Largest pretty-printed object assembled from several lines; anything bigger is dropped.
const MAX_BUFFER: usize = 16 << 20;

/// Reads JSON lines defensively. A line starting with `{` is parsed on its own; a line that
/// is exactly `{` starts a pretty-printed object (OpenHands, Gemini's stderr error) that is
/// collected until its closing `}` in column 0. A JSON line cut short (a crash mid-write) is
/// remembered as truncated and otherwise ignored; other lines come back as text.
#[derive(Debug, Default)]
pub(super) struct JsonLines {
    buf: Option<String>,
    /// The start of the last broken JSON line, if the output ended (or went on) without it.
    pub truncated: Option<String>,
}

impl JsonLines {
    pub fn push(&mut self, raw: &str) -> Line {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(buf) = self.buf.as_mut() {
            if line.starts_with('}') {
                buf.push('\n');
                buf.push_str(line);
                match serde_json::from_str::<Value>(buf) {
                    Ok(v) => {
                        self.buf = None;
                        return object_or_nothing(v);
                    }
                    Err(e) if e.is_eof() && buf.len() < MAX_BUFFER => return Line::Nothing,
                    Err(_) => {
                        self.note_truncated();
                        return Line::Nothing;
                    }
                }
            }
            // Lines inside an indented object start with whitespace (or close an array).
            if line.starts_with([' ', '\t', ']']) && buf.len() + line.len() < MAX_BUFFER {
                buf.push('\n');
                buf.push_str(line);
                return Line::Nothing;
            }
            self.note_truncated();
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return Line::Nothing;
        }
        if trimmed == "{" {
            self.buf = Some(s("{"));
            return Line::Nothing;
        }
        if trimmed.starts_with('{') {
            return match serde_json::from_str::<Value>(trimmed) {
                Ok(v) => object_or_nothing(v),
                Err(e) if e.is_eof() => {
                    self.truncated = Some(preview(trimmed, 80));
                    Line::Nothing
                }
                // `{` followed by something that is not JSON: treat it as text.
                Err(_) => Line::Text(strip_ansi(line)),
            };
        }
        Line::Text(strip_ansi(line))
    }

    /// Call at the end of output: an object still being collected is truncated.
    pub fn finish(&mut self) {
        if self.buf.is_some() {
            self.note_truncated();
        }
    }

    fn note_truncated(&mut self) {
        if let Some(buf) = self.buf.take() {
            self.truncated = Some(preview(&buf.replace('\n', " "), 80));
        }
    }
}

fn object_or_nothing(v: Value) -> Line {
    if v.is_object() {
        Line::Json(v)
    } else {
        Line::Nothing
    }
}

static ANSI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)").unwrap()
});

pub(super) fn strip_ansi(text: &str) -> String {
    if text.contains('\x1b') {
        ANSI.replace_all(text, "").into_owned()
    } else {
        text.to_owned()
    }
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub(super) fn preview(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// The value at `path` in nested objects.
pub(super) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

pub(super) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path)?.as_str()
}

/// A non-negative count: an integer, a float or a numeric string.
pub(super) fn u64_at(v: &Value, path: &[&str]) -> Option<u64> {
    match at(v, path)? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(x) => x.trim().parse().ok(),
        _ => None,
    }
}

/// A finite, non-negative amount (money).
pub(super) fn f64_at(v: &Value, path: &[&str]) -> Option<f64> {
    let f = match at(v, path)? {
        Value::Number(n) => n.as_f64()?,
        Value::String(x) => x.trim().parse().ok()?,
        _ => return None,
    };
    (f.is_finite() && f >= 0.0).then_some(f)
}

/// An HTTP status found at `path`: a number or a numeric string.
pub(super) fn status_at(v: &Value, path: &[&str]) -> Option<u16> {
    u64_at(v, path).and_then(|n| u16::try_from(n).ok())
}

/// A short description of a tool's input: the path, command or pattern it works on.
pub(super) fn tool_detail(input: Option<&Value>) -> String {
    let Some(input) = input else {
        return String::new();
    };
    if let Some(text) = input.as_str() {
        return preview(text, 200);
    }
    for key in [
        "file_path",
        "filePath",
        "path",
        "absolute_path",
        "command",
        "cmd",
        "pattern",
        "url",
        "query",
        "description",
    ] {
        match input.get(key) {
            Some(Value::String(x)) => return preview(x, 200),
            Some(Value::Array(parts)) => {
                let words: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
                if !words.is_empty() {
                    return preview(&words.join(" "), 200);
                }
            }
            _ => {}
        }
    }
    if input.as_object().is_some_and(|o| o.is_empty()) || input.is_null() {
        return String::new();
    }
    preview(&input.to_string(), 200)
}

/// Tokens as most harnesses report them. `input` must not include `cache_read`.
pub(super) fn tokens(input: u64, output: u64, cache_read: u64, cache_write: u64) -> Tokens {
    Tokens {
        input,
        output,
        cache_read,
        cache_write,
        reported: true,
    }
}

/// `2026-11-21T01:36:40.123Z` (or without fraction) to seconds since the epoch.
pub(super) fn parse_iso_secs(text: &str) -> Option<i64> {
    let text = text.trim();
    let head = text.get(..19)?;
    let rest = &text[19..];
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if rest != "Z" && !rest.is_empty() {
        return None;
    }
    crate::clock::parse_rfc3339(&format!("{head}Z"))
}

static AUTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(401|403)\b|unauthori[sz]ed|forbidden|authenticat|invalid[ _-]?(api[ _-]?key|x-api-key|bearer|token)|incorrect api key|api key (is )?(not valid|invalid|missing)|no api key|permission_denied|unauthenticated|invalid_api_key|please run /login|not logged in|credentials|missing environment variable",
    )
    .unwrap()
});

static RATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b429\b|rate[ _-]?limit|too many requests|quota|resource_exhausted|usage limit|hit your (session |weekly |daily |usage )?limit",
    )
    .unwrap()
});

/// Error text that says the credentials were refused.
pub(super) fn is_auth(text: &str) -> bool {
    AUTH.is_match(text)
}

/// Error text that says a rate limit or quota was hit.
pub(super) fn is_rate_limit(text: &str) -> bool {
    RATE.is_match(text)
}

/// Turns an error message (and an HTTP status when the format carries one) into the event
/// that says most: auth error, rate limit with its reset time, or a plain error.
pub(super) fn classify_error(message: &str, status: Option<u16>, now: i64) -> Event {
    let message = if message.trim().is_empty() {
        match status {
            Some(code) => format!("HTTP {code}"),
            None => s("unknown error"),
        }
    } else {
        message.trim().to_owned()
    };
    // forge's own proxy refused a host (its 403 quoted by the harness): a sandbox setting
    // to fix, not credentials; the message says which host and where to allow it.
    if message.contains(crate::sandbox::proxy::REFUSAL_PREFIX) {
        return Event::Error { message };
    }
    let auth = matches!(status, Some(401 | 403));
    let rate = status == Some(429);
    if auth || (status.is_none() && is_auth(&message) && !is_rate_limit(&message)) {
        Event::AuthError { message }
    } else if rate || (status.is_none() && is_rate_limit(&message)) {
        let reset_at = reset_from_text(&message, now);
        Event::RateLimit { message, reset_at }
    } else {
        Event::Error { message }
    }
}

/// The error for output that ended before the harness gave its verdict, with what may explain
/// it: the start of a line cut short, and the last thing said on stderr.
pub(super) fn ended_early(what: &str, truncated: Option<&str>, stderr: Option<&str>) -> Event {
    let mut message = what.to_owned();
    if let Some(t) = truncated {
        message.push_str("; its last line was cut: ");
        message.push_str(t);
    }
    if let Some(e) = stderr {
        message.push_str("; stderr: ");
        message.push_str(e);
    }
    Event::Error {
        message: preview(&message, 400),
    }
}

/// The last non-empty stderr line, kept to explain an early end.
pub(super) fn keep_stderr(slot: &mut Option<String>, line: &str) {
    let line = line.trim();
    if !line.is_empty() {
        *slot = Some(preview(line, 200));
    }
}

/// A stderr line that is plain text: only lines that say they are errors become events.
pub(super) fn stderr_text_event(line: &str, now: i64) -> Option<Event> {
    let text = line.trim();
    let lower = text.to_ascii_lowercase();
    let looks_like_error = lower.starts_with("error")
        || lower.starts_with("fatal")
        || lower.starts_with("[api error")
        || lower.contains(" error:")
        || lower.contains("apierror");
    looks_like_error.then(|| classify_error(text, None, now))
}

static RESET_EPOCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:limit reached\||resets?(?:_?at)?\W{0,3}|x-ratelimit-reset\W{0,3}|reset_at\W{0,3})(\d{10})\b")
        .unwrap()
});
static RESET_ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:resets?|retry|try again|until|after)\D{0,12}(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)")
        .unwrap()
});
static RESET_IN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:retry|try again|resets?|wait)(?:\s+(?:after|in))?\W{0,3}((?:\d+(?:\.\d+)?\s*(?:days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s|ms)\b[\s,]*(?:and\s+)?)+)")
        .unwrap()
});
static RESET_SECS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:retry[-_ ]?after(?:[-_]ms)?|retryDelay)"?\s*[:=]?\s*"?(\d+(?:\.\d+)?)(s|ms)?\b"#,
    )
    .unwrap()
});
static LETTER_DIGIT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"([a-zA-Z])(\d)").unwrap());
static DURATION_PART: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(\d+(?:\.\d+)?)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s|ms)\b",
    )
    .unwrap()
});

/// A rate limit's reset time, when the text carries one: an epoch (`…|1763700000`,
/// `resetsAt: 1763700000`), an RFC 3339 instant, or a delay (`retry in 30.5s`,
/// `try again in 2 days 3 hours`, `retry-after: 20`, `"retryDelay": "30s"`) added to `now`.
/// Clock times without a date (`resets 3:45pm`) are left alone: their time zone is unknown.
pub(super) fn reset_from_text(text: &str, now: i64) -> Option<i64> {
    if let Some(c) = RESET_EPOCH.captures(text) {
        return c[1].parse().ok();
    }
    if let Some(c) = RESET_ISO.captures(text) {
        return parse_iso_secs(&c[1]);
    }
    // `7m12s` reads as `7m 12s`.
    let spaced = LETTER_DIGIT.replace_all(text, "$1 $2");
    if let Some(c) = RESET_IN.captures(&spaced) {
        let mut secs = 0.0;
        for part in DURATION_PART.captures_iter(&c[1]) {
            let n: f64 = part[1].parse().unwrap_or(0.0);
            let unit = part[2].to_ascii_lowercase();
            secs += n * match unit.as_str() {
                "ms" => 0.001,
                u if u.starts_with('d') => 86_400.0,
                u if u.starts_with('h') => 3_600.0,
                u if u.starts_with('m') => 60.0,
                _ => 1.0,
            };
        }
        if secs > 0.0 {
            return Some(now + secs.ceil() as i64);
        }
    }
    if let Some(c) = RESET_SECS.captures(text) {
        let n: f64 = c[1].parse().ok()?;
        let key = c
            .get(0)
            .map(|m| m.as_str().to_ascii_lowercase())
            .unwrap_or_default();
        let secs = if c.get(2).is_some_and(|u| u.as_str() == "ms") || key.contains("ms") {
            n / 1000.0
        } else {
            n
        };
        return Some(now + secs.ceil() as i64);
    }
    None
}

#[cfg(test)]
pub(super) mod testing;

#[cfg(test)]
mod tests;
