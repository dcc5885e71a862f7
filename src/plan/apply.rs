//! Accepting a plan: the goal bead, its items and their assumptions, written all at once.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::format::Plan;
use super::validate::topological;
use crate::assumption::{self, Assumption, AssumptionStatus};
use crate::bead::repo::BeadRepo;
use crate::bead::{Bead, Dep, DepKind, Kind, Risk, Status, id};
use crate::error::Result;
use crate::ledger::{Payload, event};
use crate::randomness::Randomness;
use crate::store::{SCHEMA_VERSION, journal};
use crate::workspace::Workspace;

#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub key: String,
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub goal: String,
    pub epic: String,
    pub items: Vec<Created>,
    pub assumptions: Vec<Created>,
}

/// A new id with `prefix` that is neither in `taken` nor `exists`, added to `taken`: ids
/// for a batch of files written at once (see `store::journal`), drawn from `randomness`
/// (the workspace's). Call under the store lock.
pub fn fresh_id(
    randomness: &Randomness,
    taken: &mut HashSet<String>,
    exists: impl Fn(&str) -> bool,
    prefix: &str,
) -> String {
    loop {
        let candidate = id::pick(&id::random_digits(randomness), |c| {
            let c = c.replacen(id::PREFIX, prefix, 1);
            taken.contains(&c) || exists(&c)
        });
        if let Some(c) = candidate {
            let c = c.replacen(id::PREFIX, prefix, 1);
            taken.insert(c.clone());
            return c;
        }
    }
}

/// Creates everything the plan describes, or nothing. `existing` maps dependencies that are
/// not item keys to bead ids (validation has already checked them). `source` says where the
/// plan came from, for the ledger.
pub fn apply(
    ws: &mut Workspace,
    plan: &Plan,
    existing: &HashMap<String, String>,
    source: serde_json::Value,
) -> Result<Applied> {
    let _lock = ws.lock()?;
    let now = ws.clock.now();
    let mut taken = HashSet::new();
    let layout = ws.layout.clone();
    let randomness = ws.randomness.clone();
    let epic_id = fresh_id(
        &randomness,
        &mut taken,
        |c| layout.bead(c).exists(),
        id::PREFIX,
    );
    let item_ids: HashMap<&str, String> = plan
        .items
        .iter()
        .map(|it| {
            (
                it.key.as_str(),
                fresh_id(
                    &randomness,
                    &mut taken,
                    |c| layout.bead(c).exists(),
                    id::PREFIX,
                ),
            )
        })
        .collect();
    let assumption_ids: HashMap<&str, String> = plan
        .assumptions
        .iter()
        .map(|a| {
            let id = fresh_id(
                &randomness,
                &mut taken,
                |c| assumption::path(&layout, c).exists(),
                assumption::PREFIX,
            );
            (a.key.as_str(), id)
        })
        .collect();

    let bead = |id: &str, title: &str, kind: Kind, priority: u8, value: u8, risk: Risk| Bead {
        schema: i64::from(SCHEMA_VERSION),
        id: id.to_owned(),
        title: title.trim().to_owned(),
        kind,
        status: Status::Open,
        reason: String::new(),
        priority,
        value,
        risk,
        labels: Vec::new(),
        author: ws.actor.clone(),
        created: now.clone(),
        updated: now.clone(),
        closed: None,
        description: String::new(),
        acceptance: Vec::new(),
        deps: Vec::new(),
        extra: toml::Table::new(),
    };
    let top_priority = plan.items.iter().map(|i| i.priority).min().unwrap_or(2);
    let mut epic = bead(
        &epic_id,
        &plan.goal,
        Kind::Epic,
        top_priority,
        50,
        Risk::Low,
    );
    epic.description = plan.summary.clone();
    epic.acceptance = vec!["every item of the plan is closed".into()];
    epic.labels = vec!["plan".into()];
    let mut beads = vec![epic];
    for i in topological(plan) {
        let item = &plan.items[i];
        let mut b = bead(
            &item_ids[item.key.as_str()],
            &item.title,
            item.kind,
            item.priority,
            item.value,
            item.risk,
        );
        b.description = item.description.clone();
        b.acceptance = item.acceptance.clone();
        b.labels = item.labels.clone();
        b.deps.push(Dep {
            id: epic_id.clone(),
            kind: DepKind::Parent,
            extra: toml::Table::new(),
        });
        for dep in &item.depends_on {
            let target = item_ids
                .get(dep.as_str())
                .cloned()
                .or_else(|| existing.get(dep).cloned());
            if let Some(target) = target {
                b.deps.push(Dep {
                    id: target,
                    kind: DepKind::Blocks,
                    extra: toml::Table::new(),
                });
            }
        }
        b.extra.insert(
            "size".into(),
            toml::Value::String(format!("{:?}", item.size).to_lowercase()),
        );
        beads.push(b);
    }
    let assumptions: Vec<Assumption> = plan
        .assumptions
        .iter()
        .map(|a| Assumption {
            schema: i64::from(SCHEMA_VERSION),
            id: assumption_ids[a.key.as_str()].clone(),
            text: a.text.trim().to_owned(),
            status: AssumptionStatus::Open,
            risk: a.risk,
            bead: epic_id.clone(),
            beads: plan
                .items
                .iter()
                .filter(|it| it.assumptions.contains(&a.key))
                .map(|it| item_ids[it.key.as_str()].clone())
                .collect(),
            step: String::new(),
            mitigation: a.mitigation.clone(),
            mitigation_bead: String::new(),
            author: ws.actor.clone(),
            created: now.clone(),
            resolved: String::new(),
            resolved_by: String::new(),
            note: String::new(),
            extra: toml::Table::new(),
        })
        .collect();

    let applied = Applied {
        goal: plan.goal.clone(),
        epic: epic_id.clone(),
        items: plan
            .items
            .iter()
            .map(|it| Created {
                key: it.key.clone(),
                id: item_ids[it.key.as_str()].clone(),
                title: it.title.clone(),
            })
            .collect(),
        assumptions: plan
            .assumptions
            .iter()
            .map(|a| Created {
                key: a.key.clone(),
                id: assumption_ids[a.key.as_str()].clone(),
                title: a.text.clone(),
            })
            .collect(),
    };
    // The ledger first (as everywhere), then every file in one batch.
    ws.record(Payload::PlanAccepted {
        goal: plan.goal.clone(),
        epic: epic_id.clone(),
        source: source.clone(),
        items: event::json(&applied.items),
        assumptions: event::json(&applied.assumptions),
    })?;
    for b in &beads {
        ws.record(crate::bead::ops::created_event(b, Some(&epic_id), None))?;
    }
    for a in &assumptions {
        ws.record(Payload::AssumptionRaised {
            assumption: a.id.clone(),
            text: a.text.clone(),
            risk: Some(a.risk),
            bead: a.bead.clone(),
            step: None,
            beads: Some(a.beads.clone()),
            plan: Some(epic_id.clone()),
        })?;
    }
    let mut files: Vec<(std::path::PathBuf, Vec<u8>)> = beads
        .iter()
        .map(|b| {
            (
                ws.layout.bead(&b.id),
                BeadRepo::text(b, &ws.redactor).into_bytes(),
            )
        })
        .collect();
    files.extend(assumptions.iter().map(|a| {
        (
            assumption::path(&ws.layout, &a.id),
            a.text(&ws.redactor).into_bytes(),
        )
    }));
    journal::write_all(&ws.layout, &files)?;
    Ok(applied)
}
