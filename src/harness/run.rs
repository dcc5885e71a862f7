//! One harness run from start to verdict: write its `home_files`, spawn under process
//! control, parse every line, judge from the events (and a timeout's cause).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::adapter::{Adapter, CommandSpec, Event, RunSummary, Verdict};
use super::config::{HarnessConfig, home_relative};
use super::presets::acp::{
    self,
    policy::{Ask, Hosts},
};
use super::process::{self, Conversation, EndedBy, Finished, Spawn};
use crate::error::{Error, Result};
use std::sync::Arc;

pub struct HarnessRun<'a> {
    pub adapter: &'a dyn Adapter,
    pub config: &'a HarnessConfig,
    pub spec: CommandSpec,
    pub cwd: PathBuf,
    /// The complete environment (see `harness::env::build`).
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
    /// Overrides the configured wall-clock timeout (seconds).
    pub timeout: Option<u64>,
    /// The sandbox the harness runs in (None: unsandboxed).
    pub sandbox: Option<crate::sandbox::Policy>,
    /// The workspace's clock: what the harness says relative to now (a rate limit's reset
    /// in so many seconds) is dated by it.
    pub clock: &'a crate::clock::Clock,
    /// Stops the run as forge's interruption does (see `process::Spawn::stop`).
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// For a conversation (the `acp` preset): what a `fetch` may reach, and who can be
    /// asked when a permission rule says `ask`.
    pub broker: Broker,
}

/// How forge answers an ACP agent's requests, beyond `[harness.NAME.permissions]`.
pub struct Broker {
    pub hosts: Hosts,
    pub ask: Option<Arc<dyn Ask>>,
}

pub struct Ran {
    pub finished: Finished,
    pub summary: RunSummary,
    pub verdict: Verdict,
}

pub fn run(r: HarnessRun<'_>, on_event: &mut dyn FnMut(&Event, &RunSummary)) -> Result<Ran> {
    let timeout = r.timeout.unwrap_or(r.config.timeout);
    seed_home(&r.env, &r.config.home_files)?;
    let conversation = r.spec.session.as_ref().map(|_| Conversation::new());
    let mut parser = match (&r.spec.session, &conversation) {
        (Some(start), Some(conversation)) => acp::client(acp::Converse {
            conversation: conversation.clone(),
            prompt: start.prompt.clone(),
            resume: start.resume.clone(),
            worktree: r.cwd.clone(),
            permissions: &r.config.permissions,
            fs: r.config.acp_fs(&r.spec.program),
            hosts: r.broker.hosts,
            ask: r.broker.ask,
            now: r.clock.now_secs(),
        }),
        _ => r.adapter.parser(r.clock),
    };
    if let Some((_, home)) = r.env.iter().find(|(k, _)| k == "HOME") {
        parser.home(Path::new(home));
    }
    let mut summary = RunSummary::default();
    let finished = process::run(
        &Spawn {
            program: r.spec.program.clone(),
            args: r.spec.args.clone(),
            cwd: r.cwd,
            env: r.env,
            stdin: r.spec.stdin.clone(),
            conversation,
            log: r.log,
            timeout: Duration::from_secs(timeout),
            idle_timeout: r.config.idle_timeout.map(Duration::from_secs),
            grace: Duration::from_secs(r.config.grace),
            sandbox: r.sandbox,
            stop: r.stop,
        },
        &mut |stream, line| {
            for event in parser.line(stream, line) {
                summary.apply(&event);
                on_event(&event, &summary);
            }
        },
    )?;
    for event in parser.finish() {
        summary.apply(&event);
    }
    let verdict = verdict(
        r.adapter,
        &summary,
        &finished,
        timeout,
        r.config.idle_timeout.unwrap_or_default(),
    );
    Ok(Ran {
        finished,
        summary,
        verdict,
    })
}

/// How a run ended, in the adapter's judgement. `timeout` and `idle_timeout` (seconds) are
/// for the messages.
fn verdict(
    adapter: &dyn Adapter,
    summary: &RunSummary,
    finished: &Finished,
    timeout: u64,
    idle_timeout: u64,
) -> Verdict {
    // A harness stopped by a timeout may have said why it was stuck (retrying a 401 or a
    // rate limit for minutes): that is the better reason.
    let stuck_or = |reason: String| match adapter.judge(summary, None) {
        v @ (Verdict::AuthFailed { .. } | Verdict::RateLimited { .. }) => v,
        _ => Verdict::Failed { reason },
    };
    match finished.ended_by {
        EndedBy::WallTimeout => stuck_or(format!("timed out after {timeout}s")),
        EndedBy::IdleTimeout => stuck_or(format!("no output for {idle_timeout}s")),
        EndedBy::Interrupted => Verdict::Failed {
            reason: "interrupted: forge was asked to stop".into(),
        },
        EndedBy::Exited | EndedBy::Concluded => adapter.judge(summary, finished.exit_code),
    }
}

/// Writes the configured `home_files` under the run's HOME (from its environment).
fn seed_home(env: &[(String, String)], files: &BTreeMap<String, String>) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let Some(home) = env
        .iter()
        .find(|(k, _)| k == "HOME")
        .map(|(_, v)| Path::new(v))
    else {
        return Ok(());
    };
    for (rel, text) in files {
        // Checked when the config is read; checked again because this writes files.
        if !home_relative(rel) {
            continue;
        }
        // The harness owns its HOME: nothing it planted there (a symlink to the user's
        // files) is followed. Directories are made link by link; the file is replaced by
        // rename, which replaces a link instead of writing through it.
        let rel = Path::new(rel);
        let dir = match rel.parent() {
            Some(parent) => super::env::dirs_no_follow(home, parent)
                .map_err(|e| Error::io(home.join(parent), e))?,
            None => home.to_owned(),
        };
        let path = dir.join(rel.file_name().unwrap_or_default());
        crate::store::atomic::atomic_write(&path, text.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_files_are_written_under_home() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let env = vec![("HOME".to_owned(), home.display().to_string())];
        let mut files = BTreeMap::new();
        files.insert(".gemini/settings.json".to_owned(), "{}".to_owned());
        files.insert("../escape".to_owned(), "no".to_owned());
        seed_home(&env, &files).unwrap();
        assert_eq!(
            std::fs::read_to_string(home.join(".gemini/settings.json")).unwrap(),
            "{}"
        );
        assert!(!dir.path().join("escape").exists());
    }

    fn ended(ended_by: EndedBy, exit_code: Option<i32>) -> Finished {
        Finished {
            ended_by,
            exit_code,
            signal: None,
            duration_ms: 0,
            escaped_killed: Vec::new(),
        }
    }

    #[test]
    fn a_timeout_names_what_the_harness_was_stuck_on() {
        let claude = super::super::presets::by_name("claude").unwrap();
        let mut stuck = RunSummary::default();
        stuck.apply(&Event::AuthError {
            message: "401 invalid x-api-key".into(),
        });
        let v = verdict(claude, &stuck, &ended(EndedBy::WallTimeout, None), 3, 0);
        assert!(matches!(v, Verdict::AuthFailed { .. }), "{v:?}");
        let v = verdict(claude, &stuck, &ended(EndedBy::IdleTimeout, None), 3, 9);
        assert!(matches!(v, Verdict::AuthFailed { .. }), "{v:?}");

        let quiet = RunSummary::default();
        let v = verdict(claude, &quiet, &ended(EndedBy::WallTimeout, None), 3, 0);
        assert_eq!(
            v,
            Verdict::Failed {
                reason: "timed out after 3s".into()
            }
        );
        let v = verdict(claude, &quiet, &ended(EndedBy::IdleTimeout, None), 3, 9);
        assert_eq!(
            v,
            Verdict::Failed {
                reason: "no output for 9s".into()
            }
        );
        let v = verdict(claude, &stuck, &ended(EndedBy::Interrupted, None), 3, 0);
        assert!(
            matches!(&v, Verdict::Failed { reason } if reason.starts_with("interrupted")),
            "{v:?}"
        );
    }
}
