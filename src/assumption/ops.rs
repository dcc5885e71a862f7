//! Raising and resolving assumptions, each recorded in the ledger.

use serde::Serialize;

use super::{Assumption, AssumptionStatus, PREFIX, load_all, path, resolve};
use crate::bead::ops::{self as bead_ops, BeadChanges, NewBead};
use crate::bead::repo::BeadRepo;
use crate::bead::{DepKind, Kind, Risk, id};
use crate::error::{Error, Result};
use crate::ledger::Payload;
use crate::store::SCHEMA_VERSION;
use crate::workspace::Workspace;

#[derive(Debug, Clone, Default)]
pub struct NewAssumption {
    pub text: String,
    pub bead: Option<String>,
    pub risk: Option<Risk>,
    pub mitigation: Option<String>,
    /// Also create a bead that would check or remove the assumption.
    pub mitigate: bool,
    /// The step raising it (from FORGE_STEP when run by a harness).
    pub step: Option<String>,
}

pub fn raise(ws: &mut Workspace, new: NewAssumption) -> Result<Assumption> {
    if new.text.trim().is_empty() {
        return Err(Error::usage("an assumption needs its text"));
    }
    let repo = BeadRepo::new(&ws.layout);
    let bead = match &new.bead {
        Some(b) => repo.resolve(b)?,
        None => String::new(),
    };
    let mut a = {
        let _lock = ws.lock()?;
        let id = loop {
            if let Some(id) = id::pick(&id::random_digits(&ws.randomness), |candidate| {
                let candidate = candidate.replacen(id::PREFIX, PREFIX, 1);
                path(&ws.layout, &candidate).exists()
            }) {
                break id.replacen(id::PREFIX, PREFIX, 1);
            }
        };
        let a = Assumption {
            schema: i64::from(SCHEMA_VERSION),
            id,
            text: new.text.trim().to_owned(),
            status: AssumptionStatus::Open,
            risk: new.risk.unwrap_or(Risk::Medium),
            bead: bead.clone(),
            beads: Vec::new(),
            step: new.step.clone().unwrap_or_default(),
            mitigation: new.mitigation.clone().unwrap_or_default(),
            mitigation_bead: String::new(),
            author: ws.actor.clone(),
            created: ws.clock.now(),
            resolved: String::new(),
            resolved_by: String::new(),
            note: String::new(),
            extra: toml::Table::new(),
        };
        ws.record(Payload::AssumptionRaised {
            assumption: a.id.clone(),
            text: a.text.clone(),
            risk: Some(a.risk),
            bead: a.bead.clone(),
            step: Some(a.step.clone()),
            beads: None,
            plan: None,
        })?;
        a.save(&ws.layout, &ws.redactor)?;
        a
    };
    if new.mitigate {
        let mut deps = vec![];
        if !bead.is_empty() {
            deps.push((bead.clone(), DepKind::DiscoveredFrom));
        }
        let check = bead_ops::create(
            ws,
            NewBead {
                title: format!("Check assumption: {}", a.text),
                description: format!(
                    "Assumption {} ({} risk) may not hold:\n\n{}\n\nMitigation: {}",
                    a.id,
                    a.risk,
                    a.text,
                    if a.mitigation.is_empty() {
                        "(none given)"
                    } else {
                        &a.mitigation
                    }
                ),
                acceptance: vec![format!(
                    "resolve it: forge assumption resolve {} --validated|--invalidated",
                    a.id
                )],
                kind: Kind::Chore,
                risk: a.risk,
                labels: vec!["assumption".into()],
                deps,
                ..NewBead::default()
            },
        )?;
        let _lock = ws.lock()?;
        a.mitigation_bead = check.id.clone();
        ws.record(Payload::AssumptionMitigated {
            assumption: a.id.clone(),
            bead: check.id.clone(),
        })?;
        a.save(&ws.layout, &ws.redactor)?;
    }
    Ok(a)
}

#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    pub assumption: Assumption,
    /// Beads flagged for review because the assumption they rest on was invalidated.
    pub flagged: Vec<String>,
}

pub const REVIEW_LABEL: &str = "needs-review";

pub fn resolve_one(
    ws: &mut Workspace,
    input: &str,
    status: AssumptionStatus,
    note: &str,
) -> Result<Resolved> {
    let a = {
        let _lock = ws.lock()?;
        let mut a = resolve(&load_all(&ws.layout)?, input)?;
        a.status = status;
        a.note = note.to_owned();
        a.resolved = ws.clock.now();
        a.resolved_by = ws.actor.clone();
        ws.record(Payload::AssumptionResolved {
            assumption: a.id.clone(),
            status: Some(status),
            note: note.to_owned(),
            bead: a.bead.clone(),
            step: a.step.clone(),
        })?;
        a.save(&ws.layout, &ws.redactor)?;
        a
    };
    let mut flagged = Vec::new();
    if status == AssumptionStatus::Invalidated {
        let resting = std::iter::once(&a.bead)
            .chain(&a.beads)
            .filter(|b| !b.is_empty());
        for bead in resting.cloned().collect::<Vec<_>>() {
            let (_, changes) = bead_ops::update(
                ws,
                &bead,
                BeadChanges {
                    add_labels: vec![REVIEW_LABEL.into()],
                    ..BeadChanges::default()
                },
            )?;
            if !changes.is_empty() {
                flagged.push(bead);
            }
        }
    }
    Ok(Resolved {
        assumption: a,
        flagged,
    })
}
