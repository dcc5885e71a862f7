//! Tests of what the presets share: argv building, JSON lines, loose fields, error text.

use super::*;

#[test]
fn command_replaces_the_program_and_keeps_its_arguments() {
    let inv = Invocation {
        command: Some(vec![s("npx"), s("claude")]),
        extra_args: vec![s("--x")],
        ..Default::default()
    };
    let spec = spec(&inv, "claude", vec![s("-p")], None, &[("A", "1")]);
    assert_eq!(spec.program, "npx");
    assert_eq!(spec.args, ["claude", "-p", "--x"]);
    assert_eq!(spec.env, [(s("A"), s("1"))]);
    let inv = Invocation {
        command: Some(vec![]),
        ..Default::default()
    };
    assert_eq!(spec_of(&inv).program, "claude");
}

fn spec_of(inv: &Invocation) -> CommandSpec {
    spec(inv, "claude", vec![], None, &[])
}

#[test]
fn prompts_never_look_like_options() {
    assert_eq!(prompt_arg("--help me"), " --help me");
    assert_eq!(prompt_arg("fix it"), "fix it");
}

#[test]
fn json_lines_single_pretty_truncated_and_text() {
    let mut j = JsonLines::default();
    assert!(matches!(j.push(r#"{"a":1}"#), Line::Json(_)));
    assert!(matches!(j.push("hello"), Line::Text(t) if t == "hello"));
    assert!(matches!(j.push(r#"{"a":"#), Line::Nothing));
    assert!(j.truncated.is_some());
    j.truncated = None;
    assert!(matches!(j.push("{"), Line::Nothing));
    assert!(matches!(j.push("  \"a\": {"), Line::Nothing));
    assert!(matches!(j.push("    \"b\": [1, 2]"), Line::Nothing));
    assert!(matches!(j.push("  }"), Line::Nothing));
    assert!(matches!(j.push("}"), Line::Json(v) if v["a"]["b"][1] == 2));
    // A pretty object cut short by a text line: the text still counts.
    assert!(matches!(j.push("{"), Line::Nothing));
    assert!(matches!(j.push("  \"a\": 1,"), Line::Nothing));
    assert!(matches!(j.push("Goodbye"), Line::Text(_)));
    assert!(j.truncated.is_some());
    assert!(matches!(j.push("\u{1b}[1mbold\u{1b}[0m\r"), Line::Text(t) if t == "bold"));
    assert!(matches!(j.push("[1,2]"), Line::Text(_)));
    assert!(matches!(j.push("{not json}"), Line::Text(_)));
}

#[test]
fn numbers_are_read_loosely() {
    let v: Value = serde_json::from_str(
        r#"{"a":{"n":5,"f":2.5,"s":"7","neg":-3,"bad":"x","cost":"0.25","nan":null}}"#,
    )
    .unwrap();
    assert_eq!(u64_at(&v, &["a", "n"]), Some(5));
    assert_eq!(u64_at(&v, &["a", "f"]), Some(2));
    assert_eq!(u64_at(&v, &["a", "s"]), Some(7));
    assert_eq!(u64_at(&v, &["a", "neg"]), None);
    assert_eq!(u64_at(&v, &["a", "bad"]), None);
    assert_eq!(u64_at(&v, &["a", "missing"]), None);
    assert_eq!(f64_at(&v, &["a", "cost"]), Some(0.25));
    assert_eq!(f64_at(&v, &["a", "nan"]), None);
}

#[test]
fn errors_are_classified() {
    let now = 1_000;
    assert!(matches!(
        classify_error("Invalid API key · Please run /login", None, now),
        Event::AuthError { .. }
    ));
    assert!(matches!(
        classify_error("boom", Some(401), now),
        Event::AuthError { .. }
    ));
    assert!(matches!(
        classify_error("x", Some(429), now),
        Event::RateLimit { reset_at: None, .. }
    ));
    assert!(matches!(
        classify_error("stream disconnected", None, now),
        Event::Error { .. }
    ));
    // A quota message that mentions the key is a rate limit, not an auth error.
    assert!(matches!(
        classify_error("Quota exceeded for API key project", None, now),
        Event::RateLimit { .. }
    ));
    // forge's proxy refusing a host is not an authentication error, whatever the status.
    let refused = "unexpected status 403 Forbidden: forge proxy: 127.0.0.1:9 is not in \
                       forge's allowlist ([sandbox] allow_hosts in .forge/config.toml)";
    for status in [None, Some(403)] {
        assert!(
            matches!(classify_error(refused, status, now), Event::Error { .. }),
            "{status:?}"
        );
    }
}

#[test]
fn reset_times() {
    let now = 1_000;
    let r = |t: &str| reset_from_text(t, now);
    assert_eq!(
        r("Claude AI usage limit reached|1763700000"),
        Some(1_763_700_000)
    );
    assert_eq!(r("resetsAt: 1763700000"), Some(1_763_700_000));
    assert_eq!(
        r("rate limited until 2026-11-21T02:00:00.000Z"),
        Some(1_795_226_400)
    );
    assert_eq!(r("Please retry in 30.5s."), Some(1_031));
    assert_eq!(
        r("try again in 2 days 3 hours 4 minutes"),
        Some(1_000 + 183_840)
    );
    assert_eq!(r("retry-after: 20"), Some(1_020));
    assert_eq!(r("Please try again in 7m12s."), Some(1_432));
    assert_eq!(r("retry in 1h2m3s"), Some(1_000 + 3_723));
    assert_eq!(r(r#""retryDelay": "30s""#), Some(1_030));
    assert_eq!(r("retry-after-ms: 1500"), Some(1_002));
    assert_eq!(r("You've hit your session limit · resets 3:45pm"), None);
    assert_eq!(r("rate limited"), None);
}

#[test]
fn iso_timestamps() {
    assert_eq!(
        parse_iso_secs("2026-11-21T01:36:40.123Z"),
        Some(1_795_225_000)
    );
    assert_eq!(parse_iso_secs("2026-11-21T01:36:40Z"), Some(1_795_225_000));
    assert_eq!(parse_iso_secs("2026-11-21T01:36:40+02:00"), None);
    assert_eq!(parse_iso_secs("soon"), None);
}

#[test]
fn tool_details() {
    let v: Value = serde_json::from_str(r#"{"file_path":"src/a.rs","old":"x"}"#).unwrap();
    assert_eq!(tool_detail(Some(&v)), "src/a.rs");
    let v: Value = serde_json::from_str(r#"{"command":["bash","-lc","ls"]}"#).unwrap();
    assert_eq!(tool_detail(Some(&v)), "bash -lc ls");
    let v: Value = serde_json::from_str(r#"{"x":1}"#).unwrap();
    assert_eq!(tool_detail(Some(&v)), r#"{"x":1}"#);
    assert_eq!(tool_detail(None), "");
}
