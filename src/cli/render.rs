//! Text rendering shared by several commands.

use std::fmt::{self, Display};
use std::io::{self, Write};

use super::ui::{Painted, Ui};
use crate::bead::graph::Blocker;
use crate::bead::{Bead, BeadSummary, Status};

pub fn status(ui: &Ui, status: Status) -> String {
    status_painted(ui, status).to_string()
}

/// The status padded to its column, in its colour.
fn status_painted(ui: &Ui, status: Status) -> Painted<impl Display> {
    let style = match status {
        Status::Open => "\x1b[32m",
        Status::Closed => "\x1b[2m",
        Status::Deferred => "\x1b[35m",
    };
    ui.painted(style, Padded(status.as_str(), 8))
}

/// One line per bead: id, priority, kind, status, title, labels. Written without building
/// strings: `ready` and `list` print thousands of these.
pub fn summary_line(ui: &Ui, out: &mut dyn Write, b: &BeadSummary) -> io::Result<()> {
    write!(
        out,
        "{}  P{}  {}  {}  {}",
        ui.painted("\x1b[33m", Padded(b.id, 9)),
        b.priority,
        Padded(b.kind.as_str(), 7),
        status_painted(ui, b.status),
        b.title
    )?;
    if !b.labels.is_empty() {
        write!(out, "{}", ui.painted("\x1b[2m", Labels(&b.labels)))?;
    }
    writeln!(out)
}

/// Text left-aligned in a column of `.1` characters.
struct Padded<'a>(&'a str, usize);

impl Display for Padded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SPACES: &str = "                ";
        f.write_str(self.0)?;
        let mut pad = self.1.saturating_sub(self.0.chars().count());
        while pad > 0 {
            let n = pad.min(SPACES.len());
            f.write_str(&SPACES[..n])?;
            pad -= n;
        }
        Ok(())
    }
}

/// `  [a, b]`
struct Labels<'a>(&'a [&'a str]);

impl Display for Labels<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("  [")?;
        for (i, label) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(label)?;
        }
        f.write_str("]")
    }
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
