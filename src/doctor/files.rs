//! forge's own files: config that loads, conflict-marked `.forge/` files (and their repair,
//! which `forge resolve` shares), bead, assumption and checkpoint files that parse, dead
//! temp files and a torn ledger line.

use super::{DoctorOptions, DoctorReport, Severity, rel};
use crate::config::Config;
use crate::error::Result;
use crate::git::cli::Git;
use crate::merge::resolve::{self, Resolution};
use crate::store::{Layout, StoreLock, is_temp_name};
use crate::workspace::{Environment, Workspace};

pub(super) fn check_config(layout: &Layout, report: &mut DoctorReport) -> Option<Config> {
    match Config::load(&layout.config()) {
        Ok(c) => {
            report.ok(
                "config",
                format!(".forge/config.toml is valid (schema {})", c.schema),
            );
            Some(c)
        }
        Err(e) => {
            let fix = e.hints().into_iter().next();
            report.push("config", Severity::Error, e.to_string(), fix);
            None
        }
    }
}

pub(super) fn check_conflicts(
    layout: &Layout,
    git: &Git,
    env: &Environment,
    opts: &DoctorOptions,
    report: &mut DoctorReport,
) -> Result<()> {
    let conflicted = resolve::find_conflicted(layout, git)?;
    if conflicted.is_empty() {
        report.ok(
            "conflicts",
            "no .forge/ file has conflict markers or is unmerged",
        );
        return Ok(());
    }
    let mut ws = if opts.fix {
        Workspace::open(&layout.root, env).ok()
    } else {
        None
    };
    for c in conflicted {
        let Some(line) = c.marker_line else {
            report.push(
                "conflicts",
                Severity::Warning,
                format!(
                    "{} is unmerged in git's index but has no conflict markers",
                    c.path
                ),
                Some(format!("git add {}", c.path)),
            );
            continue;
        };
        let abs = layout.root.join(&c.path);
        let prepared = resolve::prepare(layout, git, &abs, opts.prefer);
        match (opts.fix, prepared) {
            (true, Ok(r)) => {
                apply(layout, ws.as_mut(), &r)?;
                report.fixed(
                    "conflicts",
                    Severity::Error,
                    format!(
                        "{}: conflict markers repaired field by field (sides from {}){}",
                        c.path,
                        r.source,
                        if c.unmerged {
                            format!("; mark it resolved with `git add {}`", c.path)
                        } else {
                            String::new()
                        }
                    ),
                );
                report.resolved.push(r);
            }
            (false, Ok(_)) => report.push(
                "conflicts",
                Severity::Error,
                format!("{}:{line}: git conflict markers", c.path),
                Some(format!("forge resolve {}", c.path)),
            ),
            (_, Err(e)) => {
                let fix = e.hints().into_iter().next();
                report.push(
                    "conflicts",
                    Severity::Error,
                    format!(
                        "{}:{line}: git conflict markers that forge cannot merge: {e}",
                        c.path
                    ),
                    fix,
                );
            }
        }
    }
    Ok(())
}

/// Records the repair in the ledger (when the workspace opens) and writes it, under the
/// store lock.
pub fn apply(layout: &Layout, ws: Option<&mut Workspace>, r: &Resolution) -> Result<()> {
    std::fs::create_dir_all(&layout.runtime).map_err(|e| crate::Error::io(&layout.runtime, e))?;
    let _lock = StoreLock::acquire(&layout.store_lock())?;
    if let Some(ws) = ws {
        ws.record(crate::ledger::Payload::MergeResolved {
            file: r.path.clone(),
            source: r.source.clone(),
            decisions: crate::ledger::event::json(&r.decisions),
        })?;
    }
    r.write()
}

/// Every bead, assumption and checkpoint parses (conflict markers are reported above).
pub(super) fn check_state(layout: &Layout, report: &mut DoctorReport) {
    let mut counts = [0usize; 3];
    let mut bad = 0;
    for (i, dir) in [layout.beads(), layout.assumptions(), layout.checkpoints()]
        .iter()
        .enumerate()
    {
        // The same files forge itself reads: no temp or staged leftovers of a write.
        let Ok(names) = crate::store::document::list(dir) else {
            continue;
        };
        for path in names {
            counts[i] += 1;
            let result = match i {
                0 => crate::bead::repo::load_file(&path).map(|_| ()),
                1 => crate::assumption::Assumption::load(&path).map(|_| ()),
                _ => crate::step::Checkpoint::load(&path).map(|_| ()),
            };
            match result {
                Err(crate::Error::ConflictMarkers { .. }) | Ok(()) => {}
                Err(e) => {
                    bad += 1;
                    let fix = e.hints().into_iter().next();
                    report.push("state", Severity::Error, e.to_string(), fix);
                }
            }
        }
    }
    if bad == 0 {
        report.ok(
            "state",
            format!(
                "{} beads, {} assumptions and {} checkpoints parse",
                counts[0], counts[1], counts[2]
            ),
        );
    }
}

pub(super) fn check_temp_files(layout: &Layout, fix: bool, report: &mut DoctorReport) {
    let mut temps = Vec::new();
    let mut torn = Vec::new();
    for root in [&layout.forge, &layout.runtime] {
        for e in walkdir::WalkDir::new(root)
            .into_iter()
            .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == "worktrees"))
            .flatten()
        {
            let name = e.file_name().to_string_lossy();
            if e.file_type().is_file() && is_temp_name(&name) {
                temps.push(e.path().to_owned());
            } else if e.file_type().is_file() && name.ends_with(".torn") {
                torn.push(rel(layout, e.path()));
            }
        }
    }
    if !temps.is_empty() {
        if fix {
            let removed = crate::store::sweep_temp_files_under(&layout.forge)
                + crate::store::sweep_temp_files_under(&layout.runtime);
            report.fixed(
                "temp-files",
                Severity::Warning,
                format!("{} temp files of interrupted writes: removed {removed} (those of live processes stay)", temps.len()),
            );
        } else {
            report.push(
                "temp-files",
                Severity::Warning,
                format!(
                    "{} temp files of interrupted writes (e.g. {})",
                    temps.len(),
                    rel(layout, &temps[0])
                ),
                Some("forge doctor --fix".into()),
            );
        }
    } else {
        report.ok("temp-files", "no temp files left by interrupted writes");
    }
    if !torn.is_empty() {
        report.push(
            "temp-files",
            Severity::Warning,
            format!(
                "{} quarantined torn ledger lines kept for inspection: {}",
                torn.len(),
                torn.join(", ")
            ),
            Some("look at them, then delete them (git ignores them)".into()),
        );
    }
}

pub(super) fn check_ledger(layout: &Layout, fix: bool, report: &mut DoctorReport) -> Result<()> {
    let dir = layout.ledger();
    if !dir.is_dir() {
        report.push(
            "ledger",
            Severity::Error,
            ".forge/ledger is missing",
            Some("forge init".into()),
        );
        return Ok(());
    }
    let verified = crate::ledger::verify_all(&dir, fix)?;
    let quarantined = verified
        .torn
        .iter()
        .filter(|t| t.quarantined.is_some())
        .count();
    if quarantined > 0 {
        report.fixed(
            "ledger",
            Severity::Error,
            format!("{quarantined} torn last lines of interrupted runs moved aside (*.torn)"),
        );
    }
    if verified.ok() {
        report.ok(
            "ledger",
            format!(
                "{} files, {} events: every hash chain holds",
                verified.files, verified.events
            ),
        );
        return Ok(());
    }
    for p in verified.problems.iter().take(10) {
        let file = rel(layout, &p.file);
        let fix = if p.message.contains("torn") {
            "forge ledger verify".to_owned()
        } else {
            format!(
                "restore the file from git: `git log -p -- {file}`, then `git checkout <commit> -- {file}`"
            )
        };
        report.push(
            "ledger",
            Severity::Error,
            format!("{file}:{}: {}", p.line, p.message),
            Some(fix),
        );
    }
    if verified.problems.len() > 10 {
        report.push(
            "ledger",
            Severity::Error,
            format!(
                "... and {} more ledger problems",
                verified.problems.len() - 10
            ),
            Some("forge ledger verify".into()),
        );
    }
    Ok(())
}
