//! ACP v1 on the wire: JSON-RPC 2.0 messages, one per line, and the few message shapes forge
//! reads. Field names follow the protocol's schema (camelCase); anything forge does not read
//! is ignored, so agents may add fields.

use serde::Deserialize;
use serde_json::{Value, json};

/// The protocol version forge speaks (v2 is a draft).
pub const PROTOCOL_VERSION: u64 = 1;

/// JSON-RPC error codes forge answers with.
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// ACP's "resource not found" (a file, a session).
pub const RESOURCE_NOT_FOUND: i64 = -32002;
/// ACP's "authentication required".
pub const AUTH_REQUIRED: i64 = -32000;

/// What [`parse`] says of a line that ends in the middle of a JSON value.
pub const CUT: &str = "cut short";

/// One line from the agent.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// An answer to one of forge's requests.
    Response {
        id: u64,
        outcome: Result<Value, RpcError>,
    },
    /// The agent asks forge something; `id` is echoed back as it came.
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RpcError {
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub data: Option<Value>,
}

/// Parses one line; Err says why it is not a JSON-RPC message forge can take.
pub fn parse(line: &str) -> Result<Incoming, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| {
        if e.is_eof() {
            CUT.to_owned()
        } else {
            format!("not JSON ({e})")
        }
    })?;
    let Some(obj) = v.as_object() else {
        return Err("not a JSON object".into());
    };
    let method = obj.get("method").and_then(Value::as_str);
    let id = obj.get("id").filter(|id| !id.is_null());
    match (method, id) {
        (Some(method), Some(id)) => Ok(Incoming::Request {
            id: id.clone(),
            method: method.to_owned(),
            params: obj.get("params").cloned().unwrap_or(Value::Null),
        }),
        (Some(method), None) => Ok(Incoming::Notification {
            method: method.to_owned(),
            params: obj.get("params").cloned().unwrap_or(Value::Null),
        }),
        (None, Some(id)) => {
            let id = id
                .as_u64()
                .ok_or_else(|| format!("a response to an id forge never used: {id}"))?;
            let outcome = match (obj.get("result"), obj.get("error")) {
                (_, Some(e)) => Err(serde_json::from_value(e.clone())
                    .map_err(|e| format!("a malformed error object ({e})"))?),
                (Some(r), None) => Ok(r.clone()),
                (None, None) => return Err("a response with neither result nor error".into()),
            };
            Ok(Incoming::Response { id, outcome })
        }
        (None, None) => Err("neither a request, a notification nor a response".into()),
    }
}

fn line(v: Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(&v).expect("JSON values serialise");
    bytes.push(b'\n');
    bytes
}

pub fn request(id: u64, method: &str, params: Value) -> Vec<u8> {
    line(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
}

pub fn notification(method: &str, params: Value) -> Vec<u8> {
    line(json!({"jsonrpc": "2.0", "method": method, "params": params}))
}

pub fn result(id: &Value, result: Value) -> Vec<u8> {
    line(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

pub fn error(id: &Value, code: i64, message: &str) -> Vec<u8> {
    line(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
}

/// `initialize`'s params: what forge offers.
pub fn initialize(read: bool, write: bool) -> Value {
    json!({
        "protocolVersion": PROTOCOL_VERSION,
        "clientCapabilities": {
            "fs": {"readTextFile": read, "writeTextFile": write},
            "terminal": false,
        },
        "clientInfo": {"name": "forge", "version": env!("CARGO_PKG_VERSION")},
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResponse {
    pub protocol_version: u64,
    #[serde(default)]
    pub agent_capabilities: AgentCapabilities,
    #[serde(default)]
    pub agent_info: Option<Implementation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCapabilities {
    #[serde(default)]
    pub load_session: bool,
    #[serde(default)]
    pub session_capabilities: SessionCapabilities,
}

#[derive(Debug, Default, Deserialize)]
pub struct SessionCapabilities {
    #[serde(default)]
    pub resume: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Implementation {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRequest {
    pub tool_call: ToolCall,
    #[serde(default)]
    pub options: Vec<PermissionOption>,
}

/// A tool call, or an update of one (every field but the id optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCall {
    #[serde(default)]
    pub tool_call_id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub raw_input: Option<Value>,
    #[serde(default)]
    pub locations: Option<Vec<Location>>,
    /// Diffs and other content; a diff names the file it changes (`path`).
    #[serde(default)]
    pub content: Option<Vec<Value>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Location {
    pub path: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionOption {
    pub option_id: String,
    /// `allow_once`, `allow_always`, `reject_once`, `reject_always`.
    pub kind: String,
}

/// The answer to a permission request: the option selected, or cancelled.
pub fn permission_outcome(option: Option<&str>) -> Value {
    match option {
        Some(id) => json!({"outcome": {"outcome": "selected", "optionId": id}}),
        None => json!({"outcome": {"outcome": "cancelled"}}),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadTextFile {
    pub path: String,
    #[serde(default)]
    pub line: Option<u32>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct WriteTextFile {
    pub path: String,
    pub content: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptResponse {
    pub stop_reason: String,
    /// Token use of the turn (`unstable_end_turn_token_usage`; not every agent sends it).
    #[serde(default)]
    pub usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cached_read_tokens: Option<u64>,
    #[serde(default)]
    pub cached_write_tokens: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_told_apart() {
        let r = parse(r#"{"jsonrpc":"2.0","id":3,"result":{"stopReason":"end_turn"}}"#).unwrap();
        assert!(matches!(
            r,
            Incoming::Response {
                id: 3,
                outcome: Ok(_)
            }
        ));
        let r = parse(r#"{"jsonrpc":"2.0","id":4,"error":{"code":-32000,"message":"Authentication required"}}"#).unwrap();
        let Incoming::Response {
            outcome: Err(e), ..
        } = r
        else {
            panic!("{r:?}")
        };
        assert_eq!(e.code, AUTH_REQUIRED);
        let r = parse(
            r#"{"jsonrpc":"2.0","id":"p-1","method":"session/request_permission","params":{}}"#,
        )
        .unwrap();
        assert!(
            matches!(r, Incoming::Request { ref method, .. } if method == "session/request_permission")
        );
        let r = parse(r#"{"jsonrpc":"2.0","method":"session/update","params":{"x":1}}"#).unwrap();
        assert!(matches!(r, Incoming::Notification { .. }));
        assert!(
            parse("this is not json {{{")
                .unwrap_err()
                .starts_with("not JSON")
        );
        assert!(parse("[1]").is_err());
        assert!(parse(r#"{"jsonrpc":"2.0","id":"x","result":1}"#).is_err());
        assert!(parse(r#"{"jsonrpc":"2.0","id":1}"#).is_err());
    }

    #[test]
    fn messages_are_one_line_each() {
        let bytes = request(
            1,
            "session/prompt",
            json!({"prompt": [{"type": "text", "text": "a\nb"}]}),
        );
        assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
        assert!(bytes.ends_with(b"\n"));
        assert_eq!(
            permission_outcome(Some("allow")),
            json!({"outcome": {"outcome": "selected", "optionId": "allow"}})
        );
        assert_eq!(
            permission_outcome(None),
            json!({"outcome": {"outcome": "cancelled"}})
        );
    }
}
