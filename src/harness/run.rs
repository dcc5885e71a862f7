//! One harness run from start to verdict: spawn under process control, parse every line,
//! judge from the events (and a timeout's cause).

use std::path::PathBuf;
use std::time::Duration;

use super::adapter::{Adapter, CommandSpec, Event, RunSummary, Verdict};
use super::config::HarnessConfig;
use super::process::{self, EndedBy, Finished, Spawn};
use crate::error::Result;

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
}

pub struct Ran {
    pub finished: Finished,
    pub summary: RunSummary,
    pub verdict: Verdict,
}

pub fn run(r: HarnessRun<'_>, on_event: &mut dyn FnMut(&Event, &RunSummary)) -> Result<Ran> {
    let timeout = r.timeout.unwrap_or(r.config.timeout);
    let mut parser = r.adapter.parser();
    let mut summary = RunSummary::default();
    let finished = process::run(
        &Spawn {
            program: r.spec.program.clone(),
            args: r.spec.args.clone(),
            cwd: r.cwd,
            env: r.env,
            stdin: r.spec.stdin.clone(),
            log: r.log,
            timeout: Duration::from_secs(timeout),
            idle_timeout: r.config.idle_timeout.map(Duration::from_secs),
            grace: Duration::from_secs(r.config.grace),
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
    // A harness stopped by a timeout may have said why it was stuck (retrying a 401 or a
    // rate limit for minutes): that is the better reason.
    let stuck_because = match r.adapter.judge(&summary, None) {
        v @ (Verdict::AuthFailed { .. } | Verdict::RateLimited { .. }) => Some(v),
        _ => None,
    };
    let verdict = match finished.ended_by {
        EndedBy::WallTimeout => stuck_because.unwrap_or(Verdict::Failed {
            reason: format!("timed out after {timeout}s"),
        }),
        EndedBy::IdleTimeout => stuck_because.unwrap_or(Verdict::Failed {
            reason: format!(
                "no output for {}s",
                r.config.idle_timeout.unwrap_or_default()
            ),
        }),
        EndedBy::Interrupted => Verdict::Failed {
            reason: "interrupted: forge was asked to stop".into(),
        },
        EndedBy::Exited => r.adapter.judge(&summary, finished.exit_code),
    };
    Ok(Ran {
        finished,
        summary,
        verdict,
    })
}
