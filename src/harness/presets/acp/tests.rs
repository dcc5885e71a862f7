//! The client's side of conversations, line by line, without a process: what forge sends
//! back for what the agent says.

use serde_json::{Value, json};

use super::client::Client;
use super::policy::{Hosts, Permissions};
use super::*;
use crate::harness::adapter::{Event, OutputParser, Stream};

fn setup(resume: Option<&str>, permissions: &str) -> (Conversation, Client) {
    let conv = Conversation::new();
    let client = Client::start(
        conv.clone(),
        Setup {
            prompt: "do it".into(),
            resume: resume.map(str::to_owned),
            worktree: PathBuf::from("/w/tree"),
            fs: Fs {
                read: true,
                write: true,
            },
            permissions: toml::from_str(permissions).unwrap(),
            hosts: Hosts::Any,
            ask: None,
            now: 0,
        },
    );
    (conv, client)
}

/// What forge sent since the last call, as JSON values.
fn sent(conv: &Conversation) -> Vec<Value> {
    conv.take_queued()
        .iter()
        .map(|b| serde_json::from_slice(b).unwrap())
        .collect()
}

fn say(client: &mut Client, v: Value) -> Vec<Event> {
    client.line(Stream::Stdout, &v.to_string())
}

fn decision_of(events: &[Event]) -> Option<&super::policy::Decision> {
    events.iter().find_map(|e| match e {
        Event::Permission { decision } => Some(decision),
        _ => None,
    })
}

fn init_answer(caps: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": 1, "agentCapabilities": caps}})
}

#[test]
fn a_new_session_gets_the_prompt_and_its_answer_ends_the_conversation() {
    let (conv, mut c) = setup(None, "");
    let first = sent(&conv);
    assert_eq!(first[0]["method"], "initialize");
    assert_eq!(first[0]["params"]["protocolVersion"], 1);
    assert_eq!(
        first[0]["params"]["clientCapabilities"]["fs"]["writeTextFile"],
        true
    );
    say(&mut c, init_answer(json!({})));
    let new = sent(&conv);
    assert_eq!(new[0]["method"], "session/new");
    assert_eq!(new[0]["params"]["cwd"], "/w/tree");
    let events = say(
        &mut c,
        json!({"jsonrpc": "2.0", "id": 2, "result": {"sessionId": "s1"}}),
    );
    assert_eq!(events, vec![Event::Session { id: "s1".into() }]);
    let prompt = sent(&conv);
    assert_eq!(prompt[0]["method"], "session/prompt");
    assert_eq!(prompt[0]["params"]["prompt"][0]["text"], "do it");
    // Streamed chunks are one message, said when something else happens.
    for text in ["Hel", "lo"] {
        let chunk = json!({"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": "s1",
            "update": {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}}}});
        assert!(say(&mut c, chunk).is_empty());
    }
    assert!(!conv.is_over());
    let events = say(
        &mut c,
        json!({"jsonrpc": "2.0", "id": 3, "result": {"stopReason": "end_turn"}}),
    );
    assert_eq!(
        events[0],
        Event::Message {
            text: "Hello".into()
        }
    );
    assert!(matches!(events[1], Event::Result { ok: true, .. }));
    assert!(conv.is_over());
}

#[test]
fn a_revision_resumes_where_it_can_loads_where_it_must_and_else_starts_over() {
    let (conv, mut c) = setup(Some("old"), "");
    sent(&conv);
    say(
        &mut c,
        init_answer(json!({"sessionCapabilities": {"resume": {}}, "loadSession": true})),
    );
    let resume = sent(&conv);
    assert_eq!(resume[0]["method"], "session/resume");
    assert_eq!(resume[0]["params"]["sessionId"], "old");

    let (conv, mut c) = setup(Some("old"), "");
    sent(&conv);
    say(&mut c, init_answer(json!({"loadSession": true})));
    assert_eq!(sent(&conv)[0]["method"], "session/load");
    // The replayed history is not this run's.
    let replay = json!({"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": "old",
        "update": {"sessionUpdate": "tool_call", "toolCallId": "t", "title": "old", "kind": "edit"}}});
    assert!(say(&mut c, replay).is_empty());
    let events = say(&mut c, json!({"jsonrpc": "2.0", "id": 2, "result": null}));
    assert_eq!(events, vec![Event::Session { id: "old".into() }]);

    // The agent lost the session: a new one gets the prompt (which carries the feedback).
    let (conv, mut c) = setup(Some("gone"), "");
    sent(&conv);
    say(&mut c, init_answer(json!({"loadSession": true})));
    sent(&conv);
    say(
        &mut c,
        json!({"jsonrpc": "2.0", "id": 2, "error": {"code": -32002, "message": "Resource not found"}}),
    );
    assert_eq!(sent(&conv)[0]["method"], "session/new");
}

#[test]
fn forge_grants_one_call_at_a_time_and_never_always() {
    let (conv, mut c) = setup(None, "");
    sent(&conv);
    let ask = |options: Value| {
        json!({"jsonrpc": "2.0", "id": 7, "method": "session/request_permission", "params": {
            "sessionId": "s", "toolCall": {"toolCallId": "t", "title": "Write a", "kind": "edit",
            "locations": [{"path": "/w/tree/a"}]}, "options": options}})
    };
    let events = say(
        &mut c,
        ask(
            json!([{"optionId": "always", "name": "Always", "kind": "allow_always"},
                   {"optionId": "once", "name": "Once", "kind": "allow_once"}]),
        ),
    );
    let answer = sent(&conv);
    assert_eq!(answer[0]["id"], 7);
    assert_eq!(answer[0]["result"]["outcome"]["optionId"], "once");
    let Some(decision) = decision_of(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(decision.outcome, super::policy::Outcome::Allowed);
    // Only "always" on offer: forge cannot grant one call, so the request is cancelled.
    let events = say(
        &mut c,
        ask(json!([{"optionId": "always", "name": "Always", "kind": "allow_always"}])),
    );
    assert_eq!(sent(&conv)[0]["result"]["outcome"]["outcome"], "cancelled");
    let Some(decision) = decision_of(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(decision.outcome, super::policy::Outcome::Cancelled);
    assert!(
        decision.rule.ends_with("offered no allow_once option"),
        "{}",
        decision.rule
    );
}

#[test]
fn file_requests_follow_the_policy_and_unknown_methods_are_refused() {
    let (conv, mut c) = setup(None, "edit = \"deny\"");
    sent(&conv);
    let write = json!({"jsonrpc": "2.0", "id": "w1", "method": "fs/write_text_file",
        "params": {"sessionId": "s", "path": "/w/tree/a.txt", "content": "x"}});
    let events = say(&mut c, write);
    let answer = sent(&conv);
    assert_eq!(answer[0]["id"], "w1");
    assert_eq!(answer[0]["error"]["code"], wire::INVALID_PARAMS);
    assert!(
        matches!(&events[0], Event::Permission { decision } if decision.rule == "kind edit = deny")
    );
    say(
        &mut c,
        json!({"jsonrpc": "2.0", "id": 9, "method": "terminal/create", "params": {}}),
    );
    assert_eq!(sent(&conv)[0]["error"]["code"], wire::METHOD_NOT_FOUND);
}

#[test]
fn an_agent_of_another_protocol_version_is_refused() {
    let (conv, mut c) = setup(None, "");
    sent(&conv);
    let events = say(
        &mut c,
        json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": 2}}),
    );
    assert!(
        matches!(&events[0], Event::Error { message } if message.contains("ACP version 2")),
        "{events:?}"
    );
    assert!(conv.is_over());
    let _ = Permissions::default();
}

#[test]
fn a_log_reads_as_a_transcript_without_answering() {
    let mut reader = Acp.parser(&crate::clock::Clock::default());
    let chunk = json!({"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": "s1",
        "update": {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "Done."}}}});
    assert!(reader.line(Stream::Stdout, &chunk.to_string()).is_empty());
    let ask =
        json!({"jsonrpc": "2.0", "id": 0, "method": "session/request_permission", "params": {}});
    assert!(reader.line(Stream::Stdout, &ask.to_string()).is_empty());
    let end = json!({"jsonrpc": "2.0", "id": 3, "result": {"stopReason": "end_turn"}});
    let events = reader.line(Stream::Stdout, &end.to_string());
    assert_eq!(
        events[0],
        Event::Message {
            text: "Done.".into()
        }
    );
    assert!(reader.finish().is_empty());
}

#[test]
fn doctor_reads_the_greeting() {
    let hello: Value = serde_json::from_slice(&hello()).unwrap();
    assert_eq!(hello["method"], "initialize");
    let ok = json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": 1,
        "agentInfo": {"name": "gemini-cli", "version": "0.61.0"}}});
    assert_eq!(
        greeting(&ok.to_string()),
        Some(Ok("ACP v1: gemini-cli 0.61.0".into()))
    );
    assert_eq!(greeting("{\"jsonrpc\":\"2.0\",\"method\":\"x\"}"), None);
    let bad = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": "boom"}});
    assert_eq!(
        greeting(&bad.to_string()),
        Some(Err("initialize failed: boom (-32603)".into()))
    );
}

#[test]
fn each_agents_authentication_failure_is_one() {
    // As observed (e2e/ACP-NOTES.md): Gemini CLI, claude-agent-acp, codex-acp, opencode,
    // OpenHands.
    for error in [
        json!({"code": 401, "message": "{\"error\":{\"code\":401,\"message\":\"API key not valid.\",\"status\":\"UNAUTHENTICATED\"}}"}),
        json!({"code": -32603, "message": "Internal error: Invalid API key · Fix external API key", "data": {"errorKind": "authentication_failed"}}),
        json!({"code": -32000, "message": "Authentication required"}),
        json!({"code": -32603, "message": "Internal error: Incorrect API key provided: sk-e2e***.", "data": {"service": "session", "errorName": "APIError"}}),
        json!({"code": -32603, "message": "Internal error", "data": {"reason": "Failed to process prompt", "details": "Conversation run failed: litellm.AuthenticationError: Incorrect API key provided"}}),
    ] {
        let (conv, mut c) = setup(None, "");
        sent(&conv);
        say(&mut c, init_answer(json!({})));
        say(
            &mut c,
            json!({"jsonrpc": "2.0", "id": 2, "result": {"sessionId": "s"}}),
        );
        let events = say(&mut c, json!({"jsonrpc": "2.0", "id": 3, "error": error}));
        assert!(
            matches!(&events[0], Event::AuthError { .. }),
            "{error}: {events:?}"
        );
    }
}

#[test]
fn a_generic_confirmation_is_about_the_tool_call_before_it() {
    // OpenHands asks "Confirm Agent Actions" with nothing in it; the action was announced.
    let (conv, mut c) = setup(None, "execute_deny = [\"git push*\"]");
    say(&mut c, init_answer(json!({})));
    say(
        &mut c,
        json!({"jsonrpc": "2.0", "id": 2, "result": {"sessionId": "s"}}),
    );
    sent(&conv);
    let call = json!({"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": "s",
        "update": {"sessionUpdate": "tool_call", "toolCallId": "t9", "title": "Run", "kind": "execute",
            "status": "pending", "rawInput": {"command": "git push origin main", "kind": "TerminalAction"}}}});
    say(&mut c, call);
    let ask = json!({"jsonrpc": "2.0", "id": 0, "method": "session/request_permission", "params": {
        "sessionId": "s", "toolCall": {"toolCallId": "confirmation-s", "title": "Confirm Agent Actions",
        "kind": "other", "status": "pending"},
        "options": [{"optionId": "accept", "name": "Yes", "kind": "allow_once"},
                    {"optionId": "reject", "name": "No", "kind": "reject_once"},
                    {"optionId": "risk_based", "name": "Auto", "kind": "allow_once"}]}});
    let events = say(&mut c, ask);
    let Some(decision) = decision_of(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(decision.rule, "deny-execute git push*");
    assert_eq!(sent(&conv)[0]["result"]["outcome"]["optionId"], "reject");
    // The agent then gives up its turn (codex-acp does): the reason says what was refused.
    let events = say(
        &mut c,
        json!({"jsonrpc": "2.0", "id": 3, "result": {"stopReason": "cancelled"}}),
    );
    let Some(Event::Result { ok: false, text }) = events.last() else {
        panic!("{events:?}")
    };
    assert!(
        text.starts_with("the agent gave up its turn after forge refused `git push origin main`"),
        "{text}"
    );
}

#[test]
fn gemini_usage_is_read_from_the_prompt_answers_quota() {
    let (conv, mut c) = setup(None, "");
    sent(&conv);
    let answer = json!({"jsonrpc": "2.0", "id": 3, "result": {"stopReason": "end_turn", "_meta": {"quota": {
        "token_count": {"input_tokens": 900, "output_tokens": 40},
        "model_usage": [{"model": "auto", "token_count": {"input_tokens": 10, "output_tokens": 1}},
                        {"model": "gemini-3-pro", "token_count": {"input_tokens": 890, "output_tokens": 39}}]}}}});
    let events = c.line(Stream::Stdout, &answer.to_string());
    // An answer to a prompt forge never sent is nothing; as the prompt's answer it counts.
    assert!(events.is_empty());
    let mut reader = Acp.parser(&crate::clock::Clock::default());
    let events = reader.line(Stream::Stdout, &answer.to_string());
    assert_eq!(
        events[0],
        Event::Model {
            name: "gemini-3-pro".into()
        }
    );
    assert!(
        matches!(&events[1], Event::Usage { tokens, .. } if tokens.input == 900 && tokens.output == 40)
    );
}

#[test]
fn a_known_agent_gets_its_clis_quiet_settings() {
    let spec = Acp.command(&Invocation {
        prompt: "p".into(),
        command: Some(vec!["/opt/bin/claude-agent-acp".into()]),
        ..Invocation::default()
    });
    assert_eq!(spec.program, "/opt/bin/claude-agent-acp");
    assert!(spec.args.is_empty(), "{:?}", spec.args);
    assert!(
        spec.env
            .iter()
            .any(|(k, v)| k == "CLAUDE_CODE_MAX_RETRIES" && v == "3")
    );
    assert!(!spec.env.iter().any(|(k, _)| k == "IS_SANDBOX"));
    assert!(spec.stdin.is_none());
    assert_eq!(spec.session.as_ref().unwrap().prompt, "p");
    // Without a command: gemini --acp.
    let spec = Acp.command(&Invocation::default());
    assert_eq!(
        (spec.program.as_str(), spec.args.as_slice()),
        ("gemini", ["--acp".to_owned()].as_slice())
    );
}

#[test]
fn a_file_whose_edit_was_allowed_is_served_though_the_rule_asks() {
    let (conv, mut c) = setup(None, "edit = \"ask\"\nexecute_allow = []");
    sent(&conv);
    let write = |id: &str| {
        json!({"jsonrpc": "2.0", "id": id, "method": "fs/write_text_file",
            "params": {"sessionId": "s", "path": "/w/tree/a.txt", "content": "x"}})
    };
    // Nobody to ask: denied, and so is the write.
    let ask = json!({"jsonrpc": "2.0", "id": 0, "method": "session/request_permission", "params": {
        "sessionId": "s", "toolCall": {"toolCallId": "t", "title": "Write a.txt", "kind": "edit",
        "locations": [{"path": "/w/tree/a.txt"}]},
        "options": [{"optionId": "once", "name": "Once", "kind": "allow_once"},
                    {"optionId": "no", "name": "No", "kind": "reject_once"}]}});
    say(&mut c, ask.clone());
    assert_eq!(sent(&conv)[0]["result"]["outcome"]["optionId"], "no");
    say(&mut c, write("w1"));
    assert!(sent(&conv)[0].get("error").is_some());
    // A person said yes: the write that follows is served.
    struct Yes;
    impl super::policy::Ask for Yes {
        fn ask(&self, _: &super::policy::Request, _: &str) -> Option<bool> {
            Some(true)
        }
    }
    let conv = Conversation::new();
    let mut c = Client::start(
        conv.clone(),
        Setup {
            prompt: "p".into(),
            resume: None,
            worktree: PathBuf::from("/nonexistent-forge-test/tree"),
            fs: Fs {
                read: true,
                write: true,
            },
            permissions: toml::from_str("edit = \"ask\"").unwrap(),
            hosts: Hosts::Any,
            ask: Some(std::sync::Arc::new(Yes)),
            now: 0,
        },
    );
    sent(&conv);
    let ask = serde_json::to_string(&ask)
        .unwrap()
        .replace("/w/tree", "/nonexistent-forge-test/tree");
    c.line(Stream::Stdout, &ask);
    assert_eq!(sent(&conv)[0]["result"]["outcome"]["optionId"], "once");
    let w = serde_json::to_string(&write("w2"))
        .unwrap()
        .replace("/w/tree", "/nonexistent-forge-test/tree");
    c.line(Stream::Stdout, &w);
    // Served: it fails only because the test's worktree does not exist, not as denied.
    let answer = sent(&conv);
    assert!(
        !answer[0]["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("denied"),
        "{answer:?}"
    );
}

#[test]
fn an_agent_that_leaves_forge_s_answers_unread_is_not_followed() {
    let (conv, mut c) = setup(None, "");
    sent(&conv);
    // What waits for the agent (nothing is written here: no pipe) fills the bound to
    // within 64 bytes, less than forge's answer.
    assert!(conv.send(vec![b' '; crate::harness::process::MAX_PENDING - 4096]));
    while conv.send(vec![b' '; 64]) {}
    let ask = json!({"jsonrpc": "2.0", "id": 0, "method": "session/request_permission", "params": {
        "sessionId": "s", "toolCall": {"toolCallId": "t", "title": "Write a", "kind": "edit",
        "locations": [{"path": "/w/tree/a"}]},
        "options": [{"optionId": "once", "name": "Once", "kind": "allow_once"}]}});
    let events = say(&mut c, ask);
    assert!(
        matches!(events.last(), Some(Event::Result { ok: false, text }) if text.contains("does not read")),
        "{events:?}"
    );
    assert!(conv.is_over());
}

#[test]
fn a_flood_of_requests_is_stopped() {
    let (conv, mut c) = setup(None, "");
    let mut stopped = None;
    for n in 0..2_100 {
        let ask = json!({"jsonrpc": "2.0", "id": n, "method": "session/request_permission", "params": {
            "sessionId": "s", "toolCall": {"toolCallId": format!("t{n}"), "title": "Write a", "kind": "edit",
            "locations": [{"path": "/w/tree/a"}]},
            "options": [{"optionId": "once", "name": "Once", "kind": "allow_once"}]}});
        let events = say(&mut c, ask);
        sent(&conv);
        if let Some(Event::Result { ok: false, text }) = events.last() {
            stopped = Some((n, text.clone()));
            break;
        }
    }
    let (n, text) = stopped.expect("the flood was never stopped");
    assert!(text.contains("more than 2000"), "{text}");
    assert!(n <= 2_000, "{n}");
    assert!(conv.is_over());
}
