//! Tests of ledger events: every kind round trips byte for byte, old and unknown lines
//! read, and the accessors find the step, bead and head.

use super::*;
use crate::ledger::line::{self, Event, decode, encode};
use serde_json::json;

fn at(state: Option<State>) -> StepAt {
    StepAt {
        step: "fg-abcd.1".into(),
        bead: "fg-abcd".into(),
        state,
    }
}

fn s(x: &str) -> String {
    x.to_owned()
}

/// One of every kind, with every optional field set one way or the other.
fn every_variant() -> Vec<Payload> {
    use Payload::*;
    let tokens = RecordedTokens {
        input: 1,
        output: 2,
        cache_read: 3,
        cache_write: 4,
        reported: Some(true),
    };
    vec![
        ForgeInitialised {
            created: vec![s(".forge")],
        },
        ForgePaused {
            reason: s("lunch"),
            by: s("Ada"),
        },
        ForgeResumed {
            was: Some(Pause {
                reason: s("lunch"),
                by: s("Ada"),
                at: s("2026-11-21T09:00:00Z"),
            }),
            by: s("Ada"),
        },
        MergeResolved {
            file: s(".forge/beads/fg-abcd.toml"),
            source: s("beads"),
            decisions: json!([{"key": "title"}]),
        },
        BeadCreated {
            bead: s("fg-abcd"),
            title: s("t"),
            kind: Some(Kind::Task),
            priority: Some(2),
            value: Some(50),
            risk: Some(Risk::Low),
            labels: vec![s("x")],
            deps: vec![DepRef {
                id: s("fg-0000"),
                kind: Some(DepKind::Blocks),
            }],
            plan: Some(s("fg-epic")),
            beads: None,
        },
        BeadUpdated {
            bead: s("fg-abcd"),
            changes: vec![Change {
                field: s("title"),
                old: json!("a"),
                new: json!("b"),
            }],
        },
        BeadClosed {
            bead: s("fg-abcd"),
            from: Some(Status::Open),
            reason: s("done"),
        },
        BeadReopened {
            bead: s("fg-abcd"),
            from: Some(Status::Closed),
            reason: s("again"),
        },
        BeadDeferred {
            bead: s("fg-abcd"),
            from: Some(Status::Open),
            reason: s("later"),
        },
        BeadLinked {
            bead: s("fg-abcd"),
            commit: s("abc"),
            trailer: s("Forge-Bead"),
        },
        BeadWaiting {
            bead: s("fg-abcd"),
            step: s("fg-abcd.1"),
            until: s("2026-11-21T10:00:00Z"),
            reason: s("rate limited"),
        },
        DepAdded {
            bead: s("fg-abcd"),
            dep: s("fg-0000"),
            kind: Some(DepKind::Parent),
        },
        DepRemoved {
            bead: s("fg-abcd"),
            dep: s("fg-0000"),
            kind: None,
        },
        BeadsImported {
            file: s("issues.jsonl"),
            created: 1,
            existing: 2,
            deleted: 0,
            skipped_lines: vec![3],
            mapping: [(s("bd-1"), s("fg-abcd"))].into_iter().collect(),
        },
        AssumptionRaised {
            assumption: s("as-abcd"),
            text: s("t"),
            risk: Some(Risk::Medium),
            bead: s("fg-abcd"),
            step: Some(s("")),
            beads: None,
            plan: None,
        },
        AssumptionMitigated {
            assumption: s("as-abcd"),
            bead: s("fg-0000"),
        },
        AssumptionResolved {
            assumption: s("as-abcd"),
            status: Some(AssumptionStatus::Invalidated),
            note: s("no"),
            bead: s("fg-abcd"),
            step: s(""),
        },
        PlanRun {
            goal: s("g"),
            harness: s("claude"),
            rounds: 2,
            repaired: json!([]),
            items: 3,
            tokens,
            cost_usd: Some(0.5),
            model: None,
        },
        PlanViolation {
            goal: s("g"),
            harness: s("claude"),
            violations: json!([{"what": "x", "undo": "y"}]),
        },
        PlanAccepted {
            goal: s("g"),
            epic: s("fg-epic"),
            source: json!({"file": "plan.json"}),
            items: json!([]),
            assumptions: json!([]),
        },
        BudgetExhausted {
            reason: s("money"),
            spent: json!({"money": 5.5}),
        },
        BreakerTripped {
            failures: 3,
            reason: s("breaker"),
        },
        Tick {
            stopped: Some(Stopped::Budget),
            reason: s("r"),
            ran: 1,
            reclaimed: 0,
            awaiting_approval: 1,
        },
        Notify {
            kind: s("budget_exhausted"),
            message: s("m"),
            ok: true,
        },
        BranchesPush {
            remote: s("origin"),
            refs: vec![s("refs/heads/forge/x")],
        },
        ClaimTaken {
            bead: s("fg-abcd"),
            step: s("fg-abcd.2"),
            remote: s("origin"),
            generation: 2,
            holder: s("h (clone c, pid 1)"),
            expires: s("2026-11-21T09:05:00Z"),
            base: s("abc"),
            commit: s("def"),
            took_over: Some(s("g (clone d, pid 2)")),
            parent: s("fed"),
        },
        ClaimReleased {
            bead: s("fg-abcd"),
            step: s("fg-abcd.2"),
            remote: s("origin"),
            generation: 2,
            outcome: Some(State::AwaitingApproval),
            head: s("abc"),
            commit: s("def"),
            parent: s("fed"),
        },
        ClaimLost {
            bead: s("fg-abcd"),
            step: s("fg-abcd.1"),
            remote: s("origin"),
            generation: 1,
            by_generation: Some(2),
            by: s("h"),
            attic: None,
        },
        StepClaimed {
            at: at(Some(State::Claimed)),
            attempt: 1,
            harness: s("claude"),
            preset: s("claude"),
        },
        StepWorktree {
            at: at(Some(State::Preparing)),
            branch: s("forge/fg-abcd/1"),
            base_ref: s("refs/heads/main"),
            base_commit: s("abc"),
        },
        HarnessStarted {
            at: at(Some(State::Running)),
            harness: s("claude"),
            preset: s("claude"),
            program: s("claude"),
            sandbox: json!("landlock"),
            policy: Value::Null,
        },
        HarnessFinished {
            at: at(Some(State::Checking)),
            verdict: json!({"outcome": "succeeded"}),
            exit_code: Some(0),
            signal: None,
            ended_by: json!("exited"),
            duration_ms: Some(90),
            session_id: Some(s("sess")),
            model: Some(s("m")),
            tokens,
            cost_usd: None,
            tool_calls: 3,
            permission_denials: vec![],
            escaped_killed: 0,
            egress: json!({"allowed": 0}),
            limits: json!({"oom_kills": 0}),
        },
        StepAssumptions {
            at: at(None),
            raised: 1,
            skipped: 0,
        },
        StepCommitted {
            at: at(None),
            head: s("h"),
            files: 2,
        },
        StepUnchanged {
            at: at(None),
            head: s("h"),
        },
        StepInterrupted {
            at: at(Some(State::Interrupted)),
            reason: s("r"),
        },
        StepViolation {
            at: at(None),
            violations: json!([]),
        },
        GateResult {
            at: at(None),
            gate: s("tests"),
            ok: false,
            detail: s("1 failed"),
            duration_ms: 40,
        },
        StepFailed {
            at: at(Some(State::Failed)),
            reason: s("r"),
        },
        StepAwaitingApproval {
            at: at(Some(State::AwaitingApproval)),
            head: s("h"),
            risk: Some(Risk::High),
            files: 2,
        },
        StepQuarantined {
            at: at(None),
            head: s("h"),
            attic: s("refs/forge/attic/x"),
            branch_reset_to: s("p"),
        },
        StepRederived {
            at: at(None),
            head: s("h"),
            base: s("b"),
            gates: json!([]),
            risk: Some(Risk::Low),
            why: s("w"),
        },
        StepApproved {
            at: at(None),
            head: s("h"),
            approved_by: s("Ada"),
            how: Some(How::Flag),
            invoked_by: s("Ada"),
        },
        StepMergeRefused {
            at: at(None),
            head: s("h"),
            reason: s("r"),
        },
        StepMerged {
            at: at(Some(State::Merged)),
            head: s("h"),
            merge_commit: s("m"),
            base_ref: s("refs/heads/main"),
            reconciled: Some(true),
        },
        StepRejected {
            at: at(None),
            head: s("h"),
            reason: s("r"),
            by: s("Ada"),
        },
        StepDiscarded {
            at: at(Some(State::Rejected)),
            attic: s("a"),
        },
        StepRollback {
            at: at(None),
            merge_commit: Some(s("m")),
            reason: s("r"),
            by: s("Ada"),
        },
        StepRolledBack {
            at: at(Some(State::RolledBack)),
            revert_commit: None,
            attic: Some(s("a")),
        },
        StepReclaimed {
            at: at(Some(State::Interrupted)),
            owner_pid: 42,
            attic: None,
            killed: vec![43],
            was: Some(State::Running),
        },
        StepRevise {
            at: at(None),
            feedback: s("more"),
            by: s("Ada"),
            resume_session: None,
            conflicts: vec![s("a.rs")],
        },
        StepRebased {
            at: at(None),
            from: s("a"),
            onto: s("b"),
            head: s("h"),
            conflicts: vec![],
        },
        QueueEnqueued {
            at: at(Some(State::Approved)),
            head: s("h"),
            position: 1,
        },
        QueueTested {
            at: at(None),
            head: s("h"),
            base: s("b"),
            merge_commit: s("m"),
            gates: json!([]),
            ok: true,
        },
        QueueSentBack {
            at: at(None),
            head: s("h"),
            base: s("b"),
            reason: s("r"),
            conflicts: vec![s("a.rs")],
        },
        QueueMoved {
            at: at(None),
            from: 2,
            to: 1,
            by: s("Ada"),
        },
        QueueRemoved {
            at: at(Some(State::AwaitingApproval)),
            head: s("h"),
            by: s("Ada"),
        },
    ]
}

fn line_of(kind: &str, data: Value, v: u32) -> String {
    encode(&Event {
        ts: s("2026-11-21T09:00:00Z"),
        run: s("r1"),
        seq: 0,
        actor: s("Ada Tester <ada@example.com>"),
        v,
        kind: s(kind),
        data,
        prev: String::new(),
        hash: String::new(),
    })
    .0
}

#[test]
fn every_variant_round_trips_through_a_line() {
    let all = every_variant();
    let mut kinds = std::collections::HashSet::new();
    for p in all {
        let (kind, data) = p.to_parts();
        assert!(kinds.insert(kind.clone()), "{kind} twice");
        assert!(data.is_object(), "{kind}: {data}");
        let text = line_of(&kind, data, EVENT_VERSION);
        let e = decode(&text).unwrap();
        assert_eq!(e.v, EVENT_VERSION);
        assert_eq!(e.payload(), p, "{text}");
        // And the same line again.
        assert_eq!(encode(&e).0, text);
    }
    assert_eq!(kinds.len(), 57, "one of every kind");
}

#[test]
fn an_unknown_kind_round_trips_byte_for_byte_and_verifies() {
    let text = line_of(
        "step.teleported",
        json!({"step": "fg-abcd.1", "bead": "fg-abcd", "to": {"planet": "mars"}, "n": 1.5}),
        7,
    );
    let e = decode(&text).unwrap();
    let p = e.payload();
    assert!(matches!(&p, Payload::Unknown { kind, .. } if kind == "step.teleported"));
    assert_eq!(p.step(), Some("fg-abcd.1"));
    assert_eq!(p.bead(), Some("fg-abcd"));
    let (kind, data) = p.to_parts();
    let again = Event {
        kind,
        data,
        ..e.clone()
    };
    assert_eq!(encode(&again).0, text);
    assert!(line::check(&text).is_ok());
    // A known kind whose data does not fit is kept the same way.
    let odd = line_of("step.claimed", json!({"attempt": "first"}), 0);
    let e = decode(&odd).unwrap();
    assert!(matches!(e.payload(), Payload::Unknown { .. }));
    let (kind, data) = e.payload().to_parts();
    assert_eq!(encode(&Event { kind, data, ..e }).0, odd);
}

#[test]
fn a_version_is_written_and_hashed_and_old_lines_have_none() {
    let new = line_of("tick", json!({}), EVENT_VERSION);
    assert!(new.contains(r#""actor":"Ada Tester <ada@example.com>","v":1,"kind":"tick""#));
    let tampered = new.replace(r#""v":1"#, r#""v":2"#);
    assert_eq!(decode(&tampered), Err(line::LineError::HashMismatch));
    let old = line_of("tick", json!({}), 0);
    assert!(!old.contains("\"v\""), "{old}");
    assert_eq!(decode(&old).unwrap().v, 0);
}

/// Lines written before events were typed (see fixtures/ledger/README.md): every one
/// still verifies, reads as a known kind, and encodes back to the same bytes.
#[test]
fn old_lines_decode_verify_and_read_as_known_kinds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ledger/v0");
    let mut problems = Vec::new();
    let mut lines = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for path in crate::ledger::ledger_files(&dir) {
        crate::ledger::verify::verify_file(&path, &mut problems).unwrap();
        for text in std::fs::read_to_string(&path).unwrap().lines() {
            lines += 1;
            let e = decode(text).unwrap();
            assert_eq!(e.v, 0);
            assert_eq!(encode(&e).0, text);
            let p = e.payload();
            assert!(
                !matches!(p, Payload::Unknown { .. }),
                "{} did not read as a known kind: {text}",
                e.kind
            );
            // Known kinds write their data back as it was.
            assert_eq!(p.to_parts(), (e.kind.clone(), e.data.clone()), "{text}");
            kinds.insert(e.kind);
        }
    }
    assert!(problems.is_empty(), "{problems:?}");
    assert!(lines > 50 && kinds.len() > 20, "{lines} lines, {kinds:?}");
}
