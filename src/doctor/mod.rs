//! `forge doctor`: is this repository in shape for forge? Each check gives a finding with
//! the command that fixes it; `--fix` applies the fixes that are safe to apply unasked
//! (repairing conflict-marked `.forge/` files, sweeping dead temp files, registering the
//! merge driver, quarantining a dead run's torn ledger line, pruning worktrees whose
//! directory is gone). Installing hooks changes files of the user's and stays a command.

mod claims;
mod files;
pub mod harness;
mod hooks;
mod runtime;
mod sandbox;
mod steps;
mod worktrees;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::Result;
use crate::git::cli::Git;
use crate::merge::Side;
use crate::merge::resolve::Resolution;
use crate::store::Layout;
use crate::workspace::{Environment, Workspace, open_repo};

pub use files::apply;
use files::{check_config, check_conflicts, check_ledger, check_state, check_temp_files};
use harness::check_harnesses;
use hooks::{check_driver, check_hooks};
use runtime::{check_pause, check_runtime};

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
    /// worktrees, temp-files, ledger, claims.
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
        if let Some(config) = &config {
            let now = crate::workspace::clock_of(env).now_secs();
            claims::check(&layout, config, now, ws.as_mut(), &mut report)?;
        }
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
