//! Text rendering shared by several commands.

use std::io::{self, Write};

use super::ui::Ui;
use crate::bead::graph::Blocker;
use crate::bead::{Bead, BeadSummary, Status};

pub fn status(ui: &Ui, status: Status) -> String {
    let text = format!("{:<8}", status.as_str());
    match status {
        Status::Open => ui.paint("\x1b[32m", &text),
        Status::Closed => ui.dim(&text),
        Status::Deferred => ui.paint("\x1b[35m", &text),
    }
}

/// One line per bead: id, priority, kind, status, title, labels.
pub fn summary_line(ui: &Ui, out: &mut dyn Write, b: &BeadSummary) -> io::Result<()> {
    let labels = if b.labels.is_empty() {
        String::new()
    } else {
        ui.dim(&format!("  [{}]", b.labels.join(", ")))
    };
    writeln!(
        out,
        "{}  P{}  {:<7}  {}  {}{labels}",
        ui.id(&format!("{:<9}", b.id)),
        b.priority,
        b.kind.as_str(),
        status(ui, b.status),
        b.title
    )
}

pub fn blocker(ui: &Ui, b: &Blocker) -> String {
    match b {
        Blocker::Dependency { id, status } => format!("waits for {} ({status})", ui.id(id)),
        Blocker::MissingDependency { id } => {
            format!("waits for {} (missing: no such bead)", ui.id(id))
        }
        Blocker::DeferredParent { id } => format!("parent {} is deferred", ui.id(id)),
        Blocker::OpenChild { id } => format!("open child {}", ui.id(id)),
    }
}

pub fn bead(ui: &Ui, out: &mut dyn Write, b: &Bead) -> io::Result<()> {
    writeln!(out, "{}  {}", ui.id(&b.id), ui.bold(&b.title))?;
    writeln!(
        out,
        "  kind: {}  status: {}  priority: P{}  value: {}  risk: {}",
        b.kind, b.status, b.priority, b.value, b.risk
    )?;
    if !b.reason.is_empty() {
        writeln!(out, "  reason: {}", b.reason)?;
    }
    if !b.labels.is_empty() {
        writeln!(out, "  labels: {}", b.labels.join(", "))?;
    }
    writeln!(out, "  author: {}", b.author)?;
    write!(out, "  created: {}  updated: {}", b.created, b.updated)?;
    match &b.closed {
        Some(c) => writeln!(out, "  closed: {c}")?,
        None => writeln!(out)?,
    }
    if !b.deps.is_empty() {
        writeln!(out, "  dependencies:")?;
        for d in &b.deps {
            writeln!(out, "    {:<15} {}", d.kind.as_str(), ui.id(&d.id))?;
        }
    }
    if !b.description.is_empty() {
        writeln!(out)?;
        for line in b.description.lines() {
            writeln!(out, "  {line}")?;
        }
    }
    if !b.acceptance.is_empty() {
        writeln!(out, "\n  acceptance criteria:")?;
        for a in &b.acceptance {
            writeln!(out, "    - {a}")?;
        }
    }
    Ok(())
}
