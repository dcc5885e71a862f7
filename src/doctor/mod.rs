//! `forge doctor`: is this repository in shape for forge? Each check gives a finding with
//! the command that fixes it; `--fix` applies the fixes that are safe to apply unasked
//! (repairing conflict-marked `.forge/` files, sweeping dead temp files, registering the
//! merge driver, quarantining a dead run's torn ledger line, pruning worktrees whose
//! directory is gone). Installing hooks changes files of the user's and stays a command.

pub mod harness;
mod sandbox;
mod steps;
mod worktrees;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::error::Result;
use crate::git::cli::Git;
use crate::merge::Side;
use crate::merge::resolve::{self, Resolution};
use crate::store::{Layout, StoreLock, is_temp_name};
use crate::workspace::{Environment, Workspace, open_repo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Which check: config, state, conflicts, hooks, merge-driver, harness, runtime, tick,
    /// worktrees, temp-files, ledger.
    pub check: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The command (or edit) that fixes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// `--fix` fixed it.
    pub fixed: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DoctorReport {
    pub root: String,
    pub findings: Vec<Finding>,
    /// Files repaired by `--fix`, with what was decided for each field.
    pub resolved: Vec<Resolution>,
}

impl DoctorReport {
    /// Errors that are still there.
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, s: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == s && !f.fixed)
            .count()
    }

    fn push(
        &mut self,
        check: &'static str,
        severity: Severity,
        message: impl Into<String>,
        fix: Option<String>,
    ) {
        self.findings.push(Finding {
            check,
            severity,
            message: message.into(),
            fix,
            fixed: false,
        });
    }

    fn ok(&mut self, check: &'static str, message: impl Into<String>) {
        self.push(check, Severity::Ok, message, None);
    }

    fn fixed(&mut self, check: &'static str, severity: Severity, message: impl Into<String>) {
        self.findings.push(Finding {
            check,
            severity,
            message: message.into(),
            fix: None,
            fixed: true,
        });
    }
}

pub struct DoctorOptions {
    pub fix: bool,
    /// The forge binary that hooks and the merge driver should call.
    pub forge_exe: PathBuf,
    /// How `forge resolve` settles a field both sides changed.
    pub prefer: Side,
    /// Longest wait for a known CLI's `--version` (a harness's own shorter `timeout` wins).
    pub version_timeout: Duration,
}

pub fn doctor(start: &Path, env: &Environment, opts: &DoctorOptions) -> Result<DoctorReport> {
    let (_, layout) = open_repo(start)?;
    let git = Git::new(&layout.root);
    let mut report = DoctorReport {
        root: layout.root.display().to_string(),
        ..Default::default()
    };
    if !layout.config().exists() {
        report.push(
            "config",
            Severity::Error,
            format!("forge is not initialised in {}", layout.root.display()),
            Some("forge init".into()),
        );
        return Ok(report);
    }
    let config = check_config(&layout, &mut report);
    check_conflicts(&layout, &git, env, opts, &mut report)?;
    check_state(&layout, &mut report);
    {
        let mut ws = if opts.fix {
            Workspace::open(&layout.root, env).ok()
        } else {
            None
        };
        steps::check(&layout, ws.as_mut(), &mut report)?;
    }
    check_hooks(&git, opts, &mut report)?;
    check_driver(&layout, &git, opts, &mut report)?;
    if let Some(config) = &config {
        check_harnesses(&layout, config, env, opts, &mut report);
        sandbox::check(&layout, config, &crate::sandbox::KernelProbe, &mut report);
    }
    check_runtime(&layout, opts, &mut report);
    check_pause(&layout, &mut report);
    worktrees::check(&layout, &git, opts.fix, &mut report)?;
    check_temp_files(&layout, opts.fix, &mut report);
    check_ledger(&layout, opts.fix, &mut report)?;
    Ok(report)
}

fn rel(layout: &Layout, p: &Path) -> String {
    layout.display(p).into_owned()
}

fn check_config(layout: &Layout, report: &mut DoctorReport) -> Option<Config> {
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

fn check_conflicts(
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
fn check_state(layout: &Layout, report: &mut DoctorReport) {
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

fn check_hooks(git: &Git, opts: &DoctorOptions, report: &mut DoctorReport) -> Result<()> {
    let status = crate::hooks::status(git, &opts.forge_exe)?;
    for h in &status.hooks {
        use crate::hooks::HookState;
        match h.state {
            HookState::Installed if h.executable => {
                report.ok("hooks", format!("{} hook installed ({})", h.hook, h.path))
            }
            HookState::Installed => report.push(
                "hooks",
                Severity::Warning,
                format!(
                    "{} is installed but not executable, so git skips it",
                    h.path
                ),
                Some(format!("chmod +x {}", h.path)),
            ),
            HookState::Outdated => report.push(
                "hooks",
                Severity::Warning,
                format!(
                    "{}: forge's block is from another forge binary or version",
                    h.path
                ),
                Some("forge hooks install".into()),
            ),
            HookState::Missing => report.push(
                "hooks",
                Severity::Warning,
                format!(
                    "{} hook not installed (optional: {})",
                    h.hook,
                    if h.hook == "pre-commit" {
                        "it refuses commits of broken .forge/ files"
                    } else {
                        "it links and closes beads named in commit trailers"
                    }
                ),
                Some("forge hooks install".into()),
            ),
        }
    }
    Ok(())
}

fn check_driver(
    layout: &Layout,
    git: &Git,
    opts: &DoctorOptions,
    report: &mut DoctorReport,
) -> Result<()> {
    let status = crate::merge::register::status(git, layout, &opts.forge_exe)?;
    if status.ok() && status.current {
        report.ok(
            "merge-driver",
            "the forge merge driver is registered for beads and assumptions",
        );
        return Ok(());
    }
    let severity = if status.broken {
        Severity::Error
    } else {
        Severity::Warning
    };
    let what = if status.broken {
        "merge.forge.name is set but merge.forge.driver is not: git stops every merge of a bead file with \"custom merge driver forge lacks command line\""
    } else if !status.configured {
        "the forge merge driver is not registered in git's config (optional: merges stay safe, only less smooth)"
    } else if !status.attributes {
        ".forge/.gitattributes does not route beads and assumptions to the forge merge driver"
    } else {
        "the forge merge driver is registered for another forge binary"
    };
    if opts.fix {
        crate::merge::register::register(git, layout, &opts.forge_exe)?;
        report.fixed("merge-driver", severity, format!("{what}: registered"));
    } else {
        report.push(
            "merge-driver",
            severity,
            what,
            Some("forge hooks install".into()),
        );
    }
    Ok(())
}

fn check_harnesses(
    layout: &Layout,
    config: &Config,
    env: &Environment,
    opts: &DoctorOptions,
    report: &mut DoctorReport,
) {
    if config.harness.is_empty() {
        report.push(
            "harness",
            Severity::Warning,
            "no harness is configured, so `forge step` has nothing to run",
            Some("add a [harness.NAME] section to .forge/config.toml (see README, \"Configuring a harness\")".into()),
        );
        return;
    }
    if let Some(name) = &config.step.harness
        && !config.harness.contains_key(name)
    {
        report.push(
            "harness",
            Severity::Error,
            format!("[step] harness = \"{name}\" but there is no [harness.{name}]"),
            Some(format!(
                "add [harness.{name}] to .forge/config.toml or change [step] harness"
            )),
        );
    }
    for (name, h) in &config.harness {
        let unset = h.unset_pass_env(&env.vars);
        if !unset.is_empty() {
            report.push(
                "harness",
                Severity::Warning,
                format!(
                    "[harness.{name}]: pass_env names {}, not set in this environment (the \
                     harness would run without {})",
                    unset.join(", "),
                    if unset.len() == 1 { "it" } else { "them" }
                ),
                Some(format!(
                    "export {}=... where forge runs (cron too), or remove it from pass_env in \
                     [harness.{name}]",
                    unset[0]
                )),
            );
        }
    }
    for p in harness::probe_all(config, &env.vars, &layout.root, opts.version_timeout) {
        let section = format!("[harness.{}]", p.name);
        if p.unknown_preset {
            report.push(
                "harness",
                Severity::Error,
                format!("{section}: unknown preset '{}'", p.preset),
                Some(format!(
                    "set preset in {section} to one of: {}",
                    crate::harness::presets::names()
                )),
            );
            continue;
        }
        match (&p.found, &p.version) {
            (None, _) if p.program.contains('/') => report.push(
                "harness",
                Severity::Error,
                format!(
                    "{section}: '{}' does not exist or is not executable",
                    p.program
                ),
                Some(format!("fix command in {section} in .forge/config.toml")),
            ),
            (None, _) => report.push(
                "harness",
                Severity::Error,
                format!("{section}: '{}' is not on PATH", p.program),
                Some(format!(
                    "install {}, or set command = [\"/path/to/{}\"] in {section}",
                    p.program, p.program
                )),
            ),
            (Some(path), None) => report.ok(
                "harness",
                format!(
                    "{section}: {} (a command harness: found and executable, not run)",
                    path.display()
                ),
            ),
            (Some(path), Some(Ok(v))) => {
                report.ok("harness", format!("{section}: {} ({v})", path.display()))
            }
            (Some(path), Some(Err(why))) => report.push(
                "harness",
                Severity::Warning,
                format!("{section}: {} found, but {why}", path.display()),
                Some(format!(
                    "run `{} --version` yourself to see what is wrong",
                    path.display()
                )),
            ),
        }
    }
}

fn check_runtime(layout: &Layout, opts: &DoctorOptions, report: &mut DoctorReport) {
    let dir = &layout.runtime;
    if !dir.is_dir() {
        if opts.fix && std::fs::create_dir_all(layout.cache_dir()).is_ok() {
            report.fixed(
                "runtime",
                Severity::Error,
                format!("{} was missing: created", dir.display()),
            );
        } else {
            report.push(
                "runtime",
                Severity::Error,
                format!("the runtime directory {} is missing", dir.display()),
                Some("forge init".into()),
            );
        }
        return;
    }
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    if let Err(e) = std::fs::write(&probe, b"") {
        report.push(
            "runtime",
            Severity::Error,
            format!(
                "the runtime directory {} is not writable: {e}",
                dir.display()
            ),
            Some(format!(
                "fix its permissions: chmod u+rwx {}",
                dir.display()
            )),
        );
        return;
    }
    let _ = std::fs::remove_file(&probe);
    match StoreLock::try_acquire(&layout.store_lock()) {
        Ok(Some(_)) => report.ok(
            "runtime",
            format!("{} is writable; the store lock is free", dir.display()),
        ),
        Ok(None) => report.ok(
            "runtime",
            format!(
                "{} is writable; a forge process holds the store lock",
                dir.display()
            ),
        ),
        Err(e) => report.push(
            "runtime",
            Severity::Error,
            format!("the store lock: {e}"),
            Some("forge init".into()),
        ),
    }
}

/// Whether `forge tick` works: a pause (by hand or by the circuit breaker) is a warning
/// with the way out; only `tick` said so before.
fn check_pause(layout: &Layout, report: &mut DoctorReport) {
    let state = match crate::tick::state::TickState::load(layout) {
        Ok(state) => state,
        Err(e) => {
            let fix = e.hints().into_iter().next();
            report.push("tick", Severity::Error, e.to_string(), fix);
            return;
        }
    };
    match &state.paused {
        None if state.consecutive_failures > 0 => report.ok(
            "tick",
            format!(
                "not paused; the last {} step(s) failed in a row",
                state.consecutive_failures
            ),
        ),
        None => report.ok("tick", "not paused"),
        Some(p) => report.push(
            "tick",
            Severity::Warning,
            format!(
                "forge is paused: {}; `forge tick` starts no new work",
                p.describe()
            ),
            Some(p.way_out().into()),
        ),
    }
}

fn check_temp_files(layout: &Layout, fix: bool, report: &mut DoctorReport) {
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

fn check_ledger(layout: &Layout, fix: bool, report: &mut DoctorReport) -> Result<()> {
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
