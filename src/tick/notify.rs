//! The notification command: told, as JSON on stdin, whenever something needs a person.

use std::time::Duration;

use serde_json::json;

use crate::harness::process::{self, Spawn};
use crate::workspace::Workspace;

/// Runs `[tick] notify` if configured. A failing notifier never fails the tick; it is
/// recorded in the ledger instead.
pub fn send(ws: &mut Workspace, kind: &str, message: &str, details: serde_json::Value) {
    let Some(command) = ws.config.tick.notify.clone() else {
        return;
    };
    let body = json!({
        "kind": kind,
        "message": message,
        "repository": ws.layout.root.display().to_string(),
        "at": ws.clock.now(),
        "details": details,
    });
    let mut text = body.to_string();
    text.push('\n');
    let log = ws.layout.notify_log();
    let result = process::run(
        &Spawn {
            program: "sh".into(),
            args: vec!["-c".into(), command],
            cwd: ws.layout.root.clone(),
            // The user's own notifier may need their credentials: it gets forge's env.
            env: ws.env_snapshot.clone(),
            stdin: Some(text.into_bytes()),
            conversation: None,
            log,
            timeout: Duration::from_secs(30),
            idle_timeout: None,
            grace: Duration::from_secs(2),
            sandbox: None,
            stop: None,
        },
        &mut |_, _| {},
    );
    let ok = result.as_ref().is_ok_and(|f| f.exit_code == Some(0));
    let _ = ws.record(crate::ledger::Payload::Notify {
        kind: kind.to_owned(),
        message: message.to_owned(),
        ok,
    });
}
