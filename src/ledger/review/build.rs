//! Building a [`Review`] from the events a range gained: each event, in time order, folded
//! into its bead and step (harness runs, gates, approvals, rejections, rollbacks, failures),
//! or into the assumption and budget notes beside them.

use std::collections::{BTreeMap, HashMap};

use super::{
    Approval, BeadReview, Decision, Gained, Gate, Note, Review, StepReview, Totals, short,
};
use crate::ledger::cost::{Prices, RunUsage};
use crate::ledger::event::Payload;
use crate::ledger::history::Range;
use crate::ledger::line::Event;

fn s(v: &serde_json::Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

fn nonempty(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.is_empty())
}

/// Bead of a step id `fg-3k9x.2`.
fn bead_of_step(step: &str) -> &str {
    step.rsplit_once('.').map_or(step, |(b, _)| b)
}

/// `key=value` pairs of an event's data, for kinds forge does not know in detail.
fn summarise(data: &serde_json::Value, skip: &[&str]) -> String {
    let Some(map) = data.as_object() else {
        return String::new();
    };
    map.iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Default)]
struct Builder {
    beads: Vec<BeadReview>,
    bead_index: HashMap<String, usize>,
    step_index: HashMap<String, (usize, usize)>,
    /// Per run: the bead of the step its previous event was about, to tell a bead status
    /// change forge made as part of an approval, rejection or rollback from one a person made.
    last_step_bead: HashMap<String, Option<String>>,
    review_assumptions: Vec<Note>,
    budget: Vec<Note>,
    other: BTreeMap<String, usize>,
}

impl Builder {
    fn bead(&mut self, id: &str) -> &mut BeadReview {
        let i = *self.bead_index.entry(id.to_owned()).or_insert_with(|| {
            self.beads.push(BeadReview {
                bead: id.to_owned(),
                title: None,
                steps: Vec::new(),
                notes: Vec::new(),
            });
            self.beads.len() - 1
        });
        &mut self.beads[i]
    }

    fn step(&mut self, bead: &str, step: &str) -> &mut StepReview {
        if let Some(&(b, s)) = self.step_index.get(step) {
            return &mut self.beads[b].steps[s];
        }
        let b = {
            self.bead(bead);
            self.bead_index[bead]
        };
        self.beads[b].steps.push(StepReview {
            step: step.to_owned(),
            ..StepReview::default()
        });
        let s = self.beads[b].steps.len() - 1;
        self.step_index.insert(step.to_owned(), (b, s));
        &mut self.beads[b].steps[s]
    }

    fn note(&mut self, bead: &str, e: &Event, step: Option<&str>, text: String) {
        self.bead(bead).notes.push(Note {
            ts: e.ts.clone(),
            kind: e.kind.clone(),
            step: step.map(str::to_owned),
            text,
        });
    }

    fn event(&mut self, e: &Event, prices: &Prices) {
        let p = e.payload();
        let step_id = p.step();
        let bead = p.bead().or(step_id.map(bead_of_step));
        let after_step_of = self
            .last_step_bead
            .insert(e.run.clone(), step_id.and(bead).map(str::to_owned));
        // A kind a newer forge wrote is placed by its family, as far as that goes.
        let unknown_step_kind = matches!(&p, Payload::Unknown { kind, .. }
            if kind.starts_with("step.") || kind.starts_with("harness."));
        if p.step_at().is_some() || unknown_step_kind {
            match (step_id, bead) {
                (Some(id), Some(b)) => self.step_event(e, &p, b, id, prices),
                _ => *self.other.entry(e.kind.clone()).or_default() += 1,
            }
            return;
        }
        match (&p, bead) {
            (
                Payload::AssumptionRaised { assumption, .. }
                | Payload::AssumptionMitigated { assumption, .. }
                | Payload::AssumptionResolved { assumption, .. },
                _,
            ) => {
                let what = e.kind.strip_prefix("assumption.").unwrap_or(&e.kind);
                let mut line = what.to_owned();
                if !assumption.is_empty() {
                    line.push_str(&format!(" {assumption}"));
                }
                if let Payload::AssumptionRaised { risk, text, .. } = &p {
                    if let Some(risk) = risk {
                        line.push_str(&format!(" ({risk} risk)"));
                    }
                    if !text.is_empty() {
                        line.push_str(&format!(": {text}"));
                    }
                }
                // `forge assumption resolve`: validated or invalidated, with a note.
                if let Payload::AssumptionResolved { status, note, .. } = &p {
                    if let Some(status) = status {
                        line.push_str(&format!(" → {}", status.as_str()));
                    }
                    if !note.is_empty() {
                        line.push_str(&format!(": {note}"));
                    }
                }
                let note = Note {
                    ts: e.ts.clone(),
                    kind: e.kind.clone(),
                    step: step_id.map(str::to_owned),
                    text: line,
                };
                match bead {
                    Some(b) => self.bead(b).notes.push(note),
                    None => self.review_assumptions.push(note),
                }
            }
            // `forge tick` says why in `reason`; anything else is shown as it is.
            (
                Payload::BudgetExhausted { reason, .. } | Payload::BreakerTripped { reason, .. },
                _,
            ) => self.budget.push(Note {
                ts: e.ts.clone(),
                kind: e.kind.clone(),
                step: step_id.map(str::to_owned),
                text: if reason.is_empty() {
                    summarise(&e.data, &[])
                } else {
                    reason.clone()
                },
            }),
            (
                Payload::BeadCreated { .. }
                | Payload::BeadUpdated { .. }
                | Payload::BeadClosed { .. }
                | Payload::BeadReopened { .. }
                | Payload::BeadDeferred { .. }
                | Payload::BeadLinked { .. }
                | Payload::BeadWaiting { .. }
                | Payload::DepAdded { .. }
                | Payload::DepRemoved { .. },
                Some(b),
            ) => {
                let consequence = after_step_of.flatten().as_deref() == Some(b);
                self.bead_event(e, &p, b, consequence);
            }
            _ => *self.other.entry(e.kind.clone()).or_default() += 1,
        }
    }

    fn bead_event(&mut self, e: &Event, p: &Payload, b: &str, consequence: bool) {
        let with_reason = |what: &str, reason: &str| {
            if reason.is_empty() {
                what.to_owned()
            } else {
                format!("{what}: {reason}")
            }
        };
        let text = match p {
            Payload::BeadCreated { title, .. } => {
                self.bead(b).title = Some(title.clone()).filter(|t| !t.is_empty());
                format!("created by {}", e.actor)
            }
            Payload::BeadUpdated { changes, .. } => {
                let fields: Vec<&str> = changes
                    .iter()
                    .map(|c| c.field.as_str())
                    .filter(|f| !f.is_empty())
                    .collect();
                if let Some(c) = changes.iter().find(|c| c.field == "title") {
                    self.bead(b).title = s(&c.new).map(str::to_owned);
                }
                format!("updated ({}) by {}", fields.join(", "), e.actor)
            }
            // Closing after a merge, reopening after a rejection or rollback: the step's
            // own line already says so.
            Payload::BeadClosed { .. }
            | Payload::BeadReopened { .. }
            | Payload::BeadDeferred { .. }
                if consequence =>
            {
                return;
            }
            Payload::BeadClosed { reason, .. } => {
                with_reason(&format!("closed by {}", e.actor), reason)
            }
            Payload::BeadReopened { reason, .. } => {
                with_reason(&format!("reopened by {}", e.actor), reason)
            }
            Payload::BeadDeferred { reason, .. } => {
                with_reason(&format!("deferred by {}", e.actor), reason)
            }
            Payload::DepAdded { dep, kind, .. } => format!(
                "now depends on {} ({})",
                nonempty(dep).unwrap_or("?"),
                kind.map_or("blocks", |k| k.as_str())
            ),
            Payload::DepRemoved { dep, .. } => {
                format!("no longer depends on {}", nonempty(dep).unwrap_or("?"))
            }
            // A rate-limited harness: the bead waits for the reset instead of failing.
            Payload::BeadWaiting { until, reason, .. } => with_reason(
                &format!("waits until {}", nonempty(until).unwrap_or("?")),
                reason,
            ),
            _ => {
                *self.other.entry(e.kind.clone()).or_default() += 1;
                return;
            }
        };
        self.note(b, e, None, text);
    }

    fn step_event(&mut self, e: &Event, p: &Payload, bead: &str, id: &str, prices: &Prices) {
        let by_or_actor = |by: &str| nonempty(by).unwrap_or(&e.actor).to_owned();
        let step = self.step(bead, id);
        if let Some(state) = p.state() {
            step.state = Some(state.as_str().to_owned());
        }
        let note = match p {
            Payload::StepClaimed {
                attempt, harness, ..
            } => {
                step.attempt = Some(u64::from(*attempt));
                step.harness = nonempty(harness).map(str::to_owned);
                None
            }
            Payload::HarnessStarted { harness, .. } => {
                if let Some(h) = nonempty(harness) {
                    step.harness = Some(h.to_owned());
                }
                None
            }
            Payload::HarnessFinished { .. } => {
                let run = RunUsage::from_event(e);
                step.runs += 1;
                step.duration_ms += run.duration_ms.unwrap_or(0);
                if let Some(m) = &run.model {
                    step.model = Some(m.clone());
                }
                step.usage.add(&run, prices);
                None
            }
            Payload::HarnessPermission { decision, .. } => {
                step.permissions.push(decision.clone());
                None
            }
            Payload::StepCommitted { head, .. } | Payload::StepAwaitingApproval { head, .. } => {
                if let Some(h) = nonempty(head) {
                    step.head = Some(h.to_owned());
                }
                None
            }
            Payload::GateResult {
                gate, ok, detail, ..
            } => {
                let gate = Gate {
                    name: nonempty(gate).unwrap_or("?").to_owned(),
                    ok: *ok,
                    detail: detail.clone(),
                };
                match step.gates.iter_mut().find(|g| g.name == gate.name) {
                    Some(g) => *g = gate,
                    None => step.gates.push(gate),
                }
                None
            }
            Payload::StepFailed { reason, .. } => {
                step.failures.push(reason.clone());
                Some(format!("failed: {reason}"))
            }
            Payload::StepApproved {
                head,
                approved_by,
                how,
                ..
            } => {
                let a = Approval {
                    ts: e.ts.clone(),
                    by: by_or_actor(approved_by),
                    how: how.map_or("?", |h| h.as_str()).to_owned(),
                    head: head.clone(),
                    merge_commit: None,
                };
                let text = format!("approved by {} ({}) at {}", a.by, a.how, short(&a.head));
                step.approvals.push(a);
                Some(text)
            }
            Payload::StepMerged { merge_commit, .. } => {
                let m = merge_commit.clone();
                step.merge_commit = Some(m.clone());
                if let Some(a) = step.approvals.last_mut() {
                    a.merge_commit = Some(m.clone());
                }
                let text = format!(", merged as {}", short(&m));
                let notes = &mut self.bead(bead).notes;
                match notes
                    .iter_mut()
                    .rev()
                    .find(|n| n.kind == "step.approved" && n.step.as_deref() == Some(id))
                {
                    Some(n) => {
                        n.text.push_str(&text);
                        None
                    }
                    None => Some(format!("merged as {}", short(&m))),
                }
            }
            Payload::StepMergeRefused { reason, .. } => Some(format!("merge refused: {reason}")),
            Payload::StepRejected { reason, by, .. } => {
                let by = by_or_actor(by);
                step.rejected = Some(Decision {
                    ts: e.ts.clone(),
                    by: by.clone(),
                    reason: reason.clone(),
                });
                Some(format!("rejected by {by}: {reason}"))
            }
            Payload::StepRevise { feedback, by, .. } => {
                Some(format!("revision asked by {}: {feedback}", by_or_actor(by)))
            }
            Payload::StepUnchanged { .. } => Some("the revision changed nothing".to_owned()),
            Payload::StepRebased { onto, .. } => Some(format!("rebased onto {}", short(onto))),
            Payload::StepRollback { reason, by, .. } => {
                let by = by_or_actor(by);
                step.rolled_back = Some(Decision {
                    ts: e.ts.clone(),
                    by: by.clone(),
                    reason: reason.clone(),
                });
                Some(format!("rolled back by {by}: {reason}"))
            }
            Payload::StepRolledBack {
                revert_commit,
                attic,
                ..
            } => {
                let revert = revert_commit.clone().filter(|r| !r.is_empty());
                step.revert_commit = revert.clone();
                let tail = match (revert, attic.as_deref().and_then(nonempty)) {
                    (Some(r), _) => format!(" (revert {})", short(&r)),
                    (None, Some(a)) => format!(" (discarded; kept in the attic at {})", short(a)),
                    (None, None) => String::new(),
                };
                if let Some(n) = self
                    .bead(bead)
                    .notes
                    .iter_mut()
                    .rev()
                    .find(|n| n.kind == "step.rollback" && n.step.as_deref() == Some(id))
                {
                    n.text.push_str(&tail);
                }
                None
            }
            _ => None,
        };
        if let Some(text) = note {
            self.note(bead, e, Some(id), text);
        }
    }
}

/// Builds the review of `gained`. `title` looks up the title of a bead the range did not
/// create (from its file at the head of the range).
pub fn build(
    range: Range,
    gained: Gained,
    prices: &Prices,
    title: &dyn Fn(&str) -> Option<String>,
) -> Review {
    let files = gained.files.iter().filter(|f| !f.events.is_empty()).count();
    let mut events: Vec<Event> = gained.files.into_iter().flat_map(|f| f.events).collect();
    events.sort_by(|a, b| (&a.ts, &a.run, a.seq).cmp(&(&b.ts, &b.run, b.seq)));
    let mut b = Builder::default();
    for e in &events {
        b.event(e, prices);
    }
    let mut totals = Totals {
        beads: b.beads.len(),
        ..Totals::default()
    };
    for bead in &mut b.beads {
        if bead.title.is_none() {
            bead.title = title(&bead.bead);
        }
        for st in &bead.steps {
            totals.steps += 1;
            totals.merged += usize::from(st.merge_commit.is_some());
            totals.failed += usize::from(!st.failures.is_empty());
            totals.rejected += usize::from(st.rejected.is_some());
            totals.rolled_back += usize::from(st.rolled_back.is_some());
            totals.waiting += usize::from(st.state.as_deref() == Some("awaiting-approval"));
            totals.duration_ms += st.duration_ms;
            totals.usage.merge(&st.usage);
        }
    }
    Review {
        range,
        commits: gained.commits,
        files,
        events: events.len(),
        totals,
        beads: b.beads,
        assumptions: b.review_assumptions,
        budget: b.budget,
        other: b.other,
        warnings: gained.warnings,
    }
}
