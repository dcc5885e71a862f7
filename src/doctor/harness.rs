//! Finding each configured harness's program and, for the known CLIs, asking it for its
//! version, all at once.
//!
//! Doctor must change nothing: a `command` harness is any program (a planner script, an
//! agent that acts on whatever it is given), so it is only looked up, never run. A known CLI
//! (every preset but `command`) is run as `PROGRAM --version`, the way a step would run it
//! and no more trusted: in a fresh scratch directory that is removed afterwards, with the
//! harness's allowlisted environment (see `harness::env`), its own scratch HOME, stdin from
//! /dev/null, and a short timeout that stops its whole process tree (`harness::process`).
//!
//! The `harness` check of `forge doctor` is here too: `[step] harness` names a harness,
//! each harness's `pass_env` is set, its preset is known and its program is found (and, for
//! a known CLI, answers `--version`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{DoctorOptions, DoctorReport, Severity};
use crate::config::Config;
use crate::harness::adapter::{Adapter, Invocation};
use crate::harness::config::HarnessConfig;
use crate::harness::env::{EnvRequest, build as build_env};
use crate::harness::presets;
use crate::harness::process::{self, EndedBy, Spawn};
use crate::store::Layout;
use crate::workspace::Environment;

/// Between asking a hung `--version` to stop (TERM) and killing it.
const GRACE: Duration = Duration::from_secs(1);

/// One configured harness, looked up.
#[derive(Debug, Clone)]
pub struct Probe {
    pub name: String,
    pub preset: String,
    pub program: String,
    /// Where the program was found; None if nowhere.
    pub found: Option<PathBuf>,
    /// The first line `--version` printed, or why it printed none; None when it was not
    /// asked (a `command` harness, which doctor never runs).
    pub version: Option<Result<String, String>>,
    /// The preset is unknown.
    pub unknown_preset: bool,
}

/// `program` on `path_var` (or relative to `root` when it contains a slash).
pub fn which(program: &str, path_var: Option<&str>, root: &Path) -> Option<PathBuf> {
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = root.join(program);
        return executable(&p).then_some(p);
    }
    path_var?
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| executable(p))
}

/// A known CLI's `--version`, run at `program` (where the harness's program was found).
struct VersionRun<'a> {
    name: &'a str,
    harness: &'a HarnessConfig,
    adapter: &'static dyn Adapter,
    program: &'a Path,
    /// forge's environment, from which only the harness's allowlist is passed.
    parent: &'a [(String, String)],
    timeout: Duration,
}

/// Runs `PROGRAM [leading arguments of command] --version` in a scratch directory and
/// returns the first non-empty line it printed.
fn version(run: &VersionRun<'_>) -> Result<String, String> {
    let scratch = tempfile::Builder::new()
        .prefix("forge-doctor-")
        .tempdir()
        .map_err(|e| format!("could not make a scratch directory: {e}"))?;
    let cwd = scratch.path().join("work");
    std::fs::create_dir(&cwd).map_err(|e| format!("could not make {}: {e}", cwd.display()))?;
    // The preset's own settings (auto-updaters and telemetry off) and the harness's, as a
    // step would set them; no prompt, no model.
    let mut spec = run.adapter.command(&Invocation {
        prompt: String::new(),
        model: None,
        extra_args: Vec::new(),
        resume_session: None,
        command: run.harness.command.clone(),
    });
    run.adapter.contain(&mut spec, false);
    let mut set = spec.env;
    set.extend(run.harness.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    // A value unique to this run marks its processes, so that daemons it starts are found
    // and stopped too (never seeded: another process's run must not share it).
    let nonce = crate::randomness::os_u32().unwrap_or_default();
    let marker = [(
        crate::harness::process::RUN_MARKER.to_owned(),
        format!("doctor-{}-{}-{nonce:08x}", std::process::id(), run.name),
    )];
    let env = build_env(&EnvRequest {
        parent: run.parent,
        passthrough: &run.harness.pass_env,
        set: &set,
        scratch: scratch.path(),
        forge: &marker,
    })
    .map_err(|e| format!("could not prepare its environment: {e}"))?;
    let mut args: Vec<String> = run
        .harness
        .command
        .as_deref()
        .and_then(|c| c.get(1..))
        .unwrap_or_default()
        .to_vec();
    // An ACP agent is asked `initialize` over its stdio instead (no session is started).
    let acp = run.adapter.name() == "acp";
    let conversation = acp.then(|| {
        let c = process::Conversation::new();
        c.send(presets::acp::hello());
        c
    });
    if acp {
        if run.harness.command.is_none() {
            args.push("--acp".into());
        }
    } else {
        args.push("--version".into());
    }
    let what = if acp { "`initialize`" } else { "`--version`" };
    let spawn = Spawn {
        program: run.program.display().to_string(),
        args,
        cwd,
        env,
        stdin: None,
        conversation: conversation.clone(),
        log: scratch.path().join("version.log"),
        timeout: run.timeout,
        idle_timeout: None,
        grace: GRACE,
        sandbox: None,
        stop: None,
    };
    let mut first: Option<String> = None;
    let mut greeting: Option<Result<String, String>> = None;
    let finished = process::run(&spawn, &mut |stream, line| {
        if let Some(c) = &conversation {
            if stream == crate::harness::adapter::Stream::Stdout
                && greeting.is_none()
                && let Some(g) = presets::acp::greeting(line)
            {
                greeting = Some(g);
                c.end();
            }
            return;
        }
        if first.is_none() && !line.trim().is_empty() {
            first = Some(line.trim().chars().take(100).collect());
        }
    })
    .map_err(|e| format!("could not start it: {e}"))?;
    let status = match (finished.exit_code, finished.signal) {
        (Some(code), _) => format!("exit status: {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "no exit status".to_owned(),
    };
    if let Some(g) = greeting {
        return g;
    }
    if acp {
        first = None; // what an ACP agent printed instead of an answer says nothing more
    }
    match (finished.ended_by, first) {
        (EndedBy::WallTimeout | EndedBy::IdleTimeout, _) => Err(format!(
            "{what} did not answer within {} s",
            run.timeout.as_secs()
        )),
        (EndedBy::Interrupted, _) => Err(format!("{what} was interrupted")),
        (EndedBy::Exited | EndedBy::Concluded, Some(line)) if finished.exit_code == Some(0) => {
            Ok(line)
        }
        (EndedBy::Exited | EndedBy::Concluded, Some(line)) => {
            Err(format!("`--version` failed ({status}): {line}"))
        }
        (EndedBy::Exited | EndedBy::Concluded, None) => {
            Err(format!("{what} got no answer ({status})"))
        }
    }
}

/// Looks up every `[harness.NAME]` of `config`, in parallel: each program on the PATH the
/// harness would run with, and the version of each known CLI found, waiting at most
/// `timeout` (or the harness's own `timeout`, if shorter) for it. `parent` is forge's
/// environment.
pub fn probe_all(
    config: &Config,
    parent: &[(String, String)],
    root: &Path,
    timeout: Duration,
) -> Vec<Probe> {
    let parent_path = parent
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str());
    std::thread::scope(|s| {
        let handles: Vec<_> = config
            .harness
            .iter()
            .map(|(name, h)| {
                s.spawn(move || {
                    let adapter = presets::by_name(&h.preset);
                    let program = h.program().unwrap_or_default();
                    let path_var = h.env.get("PATH").map(String::as_str).or(parent_path);
                    let found = (!program.is_empty())
                        .then(|| which(&program, path_var, root))
                        .flatten();
                    let version = match (adapter, &found) {
                        (Some(adapter), Some(p)) if adapter.name() != "command" => {
                            Some(version(&VersionRun {
                                name,
                                harness: h,
                                adapter,
                                program: p,
                                parent,
                                timeout: timeout.min(Duration::from_secs(h.timeout)),
                            }))
                        }
                        _ => None,
                    };
                    Probe {
                        name: name.clone(),
                        preset: h.preset.clone(),
                        program,
                        found,
                        version,
                        unknown_preset: adapter.is_none(),
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

pub(super) fn check_harnesses(
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
    for p in probe_all(config, &env.vars, &layout.root, opts.version_timeout) {
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
