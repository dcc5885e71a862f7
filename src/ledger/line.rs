//! Encoding and decoding of one ledger line.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::event::Payload;

const HASH_KEY: &str = ",\"hash\":\"";
/// `,"hash":"` + 64 hex digits + `"}`
const HASH_SUFFIX_LEN: usize = HASH_KEY.len() + 64 + 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub ts: String,
    pub run: String,
    pub seq: u64,
    pub actor: String,
    /// The event schema version (see [`super::event::EVENT_VERSION`]); 0, and absent from
    /// the line, for lines written before versions existed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub v: u32,
    pub kind: String,
    pub data: serde_json::Value,
    pub prev: String,
    #[serde(default)]
    pub hash: String,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl Event {
    /// What the event says, typed (see [`Payload`]).
    pub fn payload(&self) -> Payload {
        Payload::from_parts(&self.kind, &self.data)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

/// The full line (without newline) for an event whose `hash` is ignored and computed here.
pub fn encode(event: &Event) -> (String, String) {
    #[derive(Serialize)]
    struct Unhashed<'a> {
        ts: &'a str,
        run: &'a str,
        seq: u64,
        actor: &'a str,
        #[serde(skip_serializing_if = "is_zero")]
        v: u32,
        kind: &'a str,
        data: &'a serde_json::Value,
        prev: &'a str,
    }
    let body = serde_json::to_string(&Unhashed {
        ts: &event.ts,
        run: &event.run,
        seq: event.seq,
        actor: &event.actor,
        v: event.v,
        kind: &event.kind,
        data: &event.data,
        prev: &event.prev,
    })
    .expect("JSON values always serialise");
    let prefix = &body[..body.len() - 1]; // drop the closing brace
    let hash = sha256_hex(prefix.as_bytes());
    (format!("{prefix}{HASH_KEY}{hash}\"}}"), hash)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    NotJson(String),
    NoHash,
    HashMismatch,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::NotJson(e) => write!(f, "not a ledger record: {e}"),
            LineError::NoHash => f.write_str("the line carries no hash"),
            LineError::HashMismatch => f.write_str("the line's hash does not match its content"),
        }
    }
}

/// Parses a line and checks its own hash.
pub fn decode(text: &str) -> Result<Event, LineError> {
    let event: Event = serde_json::from_str(text).map_err(|e| LineError::NotJson(e.to_string()))?;
    if text.len() < HASH_SUFFIX_LEN || !text[text.len() - HASH_SUFFIX_LEN..].starts_with(HASH_KEY) {
        return Err(LineError::NoHash);
    }
    let prefix = &text[..text.len() - HASH_SUFFIX_LEN];
    if sha256_hex(prefix.as_bytes()) != event.hash {
        return Err(LineError::HashMismatch);
    }
    Ok(event)
}

/// The parts of a line that its chain depends on, borrowed from the line's text where it
/// holds no escapes.
#[derive(Debug, Deserialize)]
pub struct Head<'a> {
    #[serde(borrow)]
    pub run: Cow<'a, str>,
    pub seq: u64,
    #[serde(borrow)]
    pub prev: Cow<'a, str>,
    #[serde(borrow, default)]
    pub hash: Cow<'a, str>,
    #[serde(borrow)]
    pub ts: Cow<'a, str>,
    #[serde(borrow)]
    pub actor: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    /// Must be present, as in an [`Event`], but is skipped rather than built.
    #[serde(rename = "data")]
    _data: IgnoredAny,
}

/// What `decode` checks, without building the event: a verifier reads every line of every
/// file and needs only the chain fields, so the event's data is skipped, not built.
pub fn check(text: &str) -> Result<Head<'_>, LineError> {
    let head: Head<'_> =
        serde_json::from_str(text).map_err(|e| LineError::NotJson(e.to_string()))?;
    if text.len() < HASH_SUFFIX_LEN || !text[text.len() - HASH_SUFFIX_LEN..].starts_with(HASH_KEY) {
        return Err(LineError::NoHash);
    }
    let prefix = &text[..text.len() - HASH_SUFFIX_LEN];
    if sha256_hex(prefix.as_bytes()) != head.hash {
        return Err(LineError::HashMismatch);
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            ts: "2026-11-21T00:00:00Z".into(),
            run: "r1".into(),
            seq: 0,
            actor: "Ada <ada@example.com>".into(),
            v: 0,
            kind: "bead.created".into(),
            data: serde_json::json!({"bead": "fg-abcd", "title": "quote \" and ,\"hash\":\""}),
            prev: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn round_trips_and_checks_its_hash() {
        let (line, hash) = encode(&event());
        let back = decode(&line).unwrap();
        assert_eq!(back.hash, hash);
        assert_eq!(back.data, event().data);
    }

    #[test]
    fn any_flipped_byte_is_detected() {
        let (line, _) = encode(&event());
        for i in 0..line.len() {
            let mut bytes = line.clone().into_bytes();
            bytes[i] ^= 0x01;
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            assert!(decode(&text).is_err(), "flip at {i} went unnoticed: {text}");
            assert!(check(&text).is_err(), "flip at {i} went unnoticed: {text}");
        }
    }
}
