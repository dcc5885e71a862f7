//! Tests of the watch screen: snapshots rendered into a test backend.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::bead::Risk;
use crate::step::State;
use crate::watch::model::{Failed, Paused, Queued, Ready, Running, Waiting};

fn fixture() -> Snapshot {
    Snapshot {
        repo: "shop".into(),
        at: "2026-11-21T09:00:00Z".into(),
        paused: None,
        consecutive_failures: 1,
        breaker_limit: 3,
        spend: Some(Spend {
            day: "2026-11-21".into(),
            money: 1.25,
            money_limit: Some(20.0),
            tokens: 123_456,
            tokens_limit: None,
            runs: 4,
            unknown_cost_runs: 1,
            exhausted: None,
        }),
        running: vec![
            Running {
                step: "fg-k3x9.1".into(),
                title: "Parse the config".into(),
                harness: "claude".into(),
                phase: State::Running,
                elapsed_secs: Some(125),
                last: "tool Edit src/config.rs".into(),
                tokens: Some(12_345),
                cost_usd: Some(0.0421),
                owner_gone: false,
                unsandboxed: false,
            },
            Running {
                step: "fg-p2m4.2".into(),
                title: "Document the parser".into(),
                harness: "codex".into(),
                phase: State::Checking,
                elapsed_secs: Some(3725),
                // An agent's words with an escape sequence: shown, not sent.
                last: "done \x1b[2Jnow".into(),
                tokens: None,
                cost_usd: None,
                owner_gone: true,
                unsandboxed: false,
            },
        ],
        waiting: vec![Waiting {
            step: "fg-w7q1.1".into(),
            title: "Add the CLI flag".into(),
            harness: "claude".into(),
            risk: Some(Risk::Medium),
            head: "3c7bb66".into(),
            tokens: Some(40_000),
            cost_usd: Some(0.31),
            gates_passed: 2,
            gates: 3,
            conflicts: Some("conflicts with main in src/cli.rs".into()),
            violations: vec![],
            unsandboxed: true,
        }],
        queue_mode: false,
        queue: Vec::new(),
        failed: vec![Failed {
            step: "fg-f0a1.3".into(),
            title: "Fix the flaky test".into(),
            harness: "aider".into(),
            state: State::Failed,
            reason: "the harness exited with status 1".into(),
        }],
        ready: vec![
            Ready {
                id: "fg-r1aa".into(),
                priority: 1,
                kind: "bug",
                title: "Crash on empty input".into(),
            },
            Ready {
                id: "fg-r2bb".into(),
                priority: 2,
                kind: "task",
                title: "Write the changelog".into(),
            },
        ],
        ready_total: 2,
        blocked: 5,
        remote: None,
        claims: vec![],
        claim_lease: 0,
        problems: vec![],
    }
}

fn shown(snap: &Snapshot, state: &ViewState, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| render(f, snap, state)).unwrap();
    terminal.backend().to_string()
}

#[test]
fn running_waiting_failed_and_ready() {
    let state = ViewState {
        selected: Some("fg-w7q1.1".into()),
        message: String::new(),
    };
    insta::assert_snapshot!(shown(&fixture(), &state, 110, 28));
}

#[test]
fn paused_by_the_breaker_with_the_budget_used_and_a_problem() {
    let mut snap = fixture();
    snap.paused = Some(Paused {
        describe:
            "circuit breaker: 3 consecutive failed steps (since 2026-11-21T08:00:00Z, by tick)"
                .into(),
        way_out: "look at the failed steps (`forge steps`, `forge log STEP`), then `forge resume`"
            .into(),
        breaker: true,
    });
    let spend = snap.spend.as_mut().unwrap();
    spend.money = 20.5;
    spend.exhausted = Some("money budget for 2026-11-21 used: $20.50 of $20.00".into());
    snap.running.clear();
    snap.problems = vec![".forge/beads/fg-zz.toml:3:1: expected `=`".into()];
    let state = ViewState {
        selected: Some("fg-f0a1.3".into()),
        message: "fg-f0a1.3 is failed: only a step waiting for approval can be approved".into(),
    };
    insta::assert_snapshot!(shown(&snap, &state, 110, 22));
}

#[test]
fn running_waiting_queued_failed_and_ready() {
    let mut snap = fixture();
    snap.queue_mode = true;
    snap.queue = vec![
        Queued {
            step: "fg-q1a2.1".into(),
            title: "Merge first".into(),
            head: "0123456789ab".into(),
            enqueued: "2026-11-21T08:58:00Z".into(),
        },
        Queued {
            step: "fg-q3b4.2".into(),
            title: "Then this \u{1b}]0;pwned\u{7}".into(),
            head: "ba9876543210".into(),
            enqueued: "2026-11-21T08:59:30Z".into(),
        },
    ];
    let state = ViewState {
        selected: Some("fg-w7q1.1".into()),
        message: String::new(),
    };
    let shown = shown(&snap, &state, 110, 34);
    assert!(shown.contains("merge queue (2)"), "{shown}");
    assert!(!shown.contains('\u{1b}'), "an escape reached the screen");
    insta::assert_snapshot!(shown);
}

#[test]
fn an_empty_repository() {
    let snap = Snapshot {
        repo: "empty".into(),
        at: "2026-11-21T09:00:00Z".into(),
        breaker_limit: 0,
        ..Snapshot::default()
    };
    insta::assert_snapshot!(shown(&snap, &ViewState::default(), 80, 16));
}

#[test]
fn the_selected_step_stays_in_view_in_a_short_section() {
    let mut snap = fixture();
    snap.running = (0..30)
        .map(|i| Running {
            step: format!("fg-r{i:03}.1"),
            ..snap.running[0].clone()
        })
        .collect();
    let state = ViewState {
        selected: Some("fg-r029.1".into()),
        message: String::new(),
    };
    let text = shown(&snap, &state, 100, 24);
    assert!(text.contains("›fg-r029.1"), "{text}");
}

#[test]
fn the_remote_claims_with_their_holders_and_lease_ages() {
    use crate::remote::{ClaimState, ClaimView, Holder};
    let holder = |host: &str, clone: &str| Holder {
        host: host.into(),
        clone: clone.into(),
        pid: 7,
    };
    let mut snap = fixture();
    snap.remote = Some("origin".into());
    snap.claim_lease = 300;
    snap.claims = vec![
        ClaimView {
            bead: "fg-k3x9".into(),
            step: "fg-k3x9.1".into(),
            state: ClaimState::Held,
            generation: 1,
            holder: holder("runner-a", "1a2b3c4d5e6f"),
            lease_left: Some(240),
            outcome: None,
        },
        ClaimView {
            bead: "fg-p2m4".into(),
            step: "fg-p2m4.3".into(),
            state: ClaimState::Held,
            generation: 2,
            // A host name with an escape sequence: shown, not sent.
            holder: holder("runner-\u{1b}[2Jb", "0f0e0d0c0b0a"),
            lease_left: Some(-95),
            outcome: None,
        },
        ClaimView {
            bead: "fg-w7q1".into(),
            step: "fg-w7q1.1".into(),
            state: ClaimState::Released,
            generation: 1,
            holder: holder("runner-c", "aabbccddeeff"),
            lease_left: None,
            outcome: Some(State::AwaitingApproval),
        },
    ];
    let shown = shown(&snap, &ViewState::default(), 110, 34);
    assert!(shown.contains("claims on origin (2 held)"), "{shown}");
    assert!(shown.contains("renewed 1m00s ago"), "{shown}");
    assert!(shown.contains("may be taken over"), "{shown}");
    assert!(!shown.contains('\u{1b}'), "an escape reached the screen");
    insta::assert_snapshot!(shown);
}
