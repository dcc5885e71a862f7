//! Launching a harness: one run of an agent CLI in a worktree, with its allowlisted
//! environment, contained (sandbox, egress proxy, limits), watched for what it changes
//! outside the worktree, its output parsed and judged. A step's run and each round of the
//! planner go through here; what differs between them is in [`Launch`].

use std::path::PathBuf;

use super::contain::{self, Contained, Subject};
use super::guard::{self, Snapshot, Violation, Watched};
use super::observer::Observer;
use crate::error::{Error, Result};
use crate::harness::adapter::{Adapter, CommandSpec, Invocation};
use crate::harness::config::HarnessConfig;
use crate::harness::env::{EnvRequest, build as build_env};
use crate::harness::run::{HarnessRun, Ran};
use crate::sandbox::limits::Hits;
use crate::sandbox::proxy::ProxyReport;
use crate::sandbox::{Enforcement, Policy};
use crate::workspace::Workspace;

/// What one harness run is launched with.
pub struct Launch<'a> {
    pub adapter: &'a dyn Adapter,
    pub config: &'a HarnessConfig,
    /// The worktree it runs in and the scratch directory holding its HOME.
    pub subject: &'a Subject,
    /// `FORGE_*` variables: which bead and step (or plan) the run serves.
    pub forge_vars: &'a [(String, String)],
    pub enforcement: Enforcement,
    /// What is compared before and after the run (see `step::guard`).
    pub watched: &'a Watched<'a>,
}

/// A harness ready to start: its command, environment and containment set up, and what it
/// could change outside its worktree recorded.
pub struct Ready<'a> {
    launch: Launch<'a>,
    spec: CommandSpec,
    env: Vec<(String, String)>,
    contained: Contained,
    before: Snapshot,
}

/// What a run left.
pub struct Launched {
    /// The run, or why the harness could not be started.
    pub ran: Result<Ran>,
    /// What the egress proxy let through and refused (None without one).
    pub egress: Option<ProxyReport>,
    /// What the memory and process limits stopped.
    pub limit_hits: Hits,
    /// What the harness changed outside its worktree (nothing is compared when it did not
    /// start).
    pub violations: Vec<Violation>,
}

impl<'a> Launch<'a> {
    /// Builds the command and environment for `inv`, sets up the containment and takes the
    /// snapshot the run is compared with.
    pub fn prepare(self, ws: &Workspace, inv: &Invocation) -> Result<Ready<'a>> {
        let (adapter, hc) = (self.adapter, self.config);
        let mut spec = adapter.command(inv);
        adapter.contain(&mut spec, self.enforcement.is_sandboxed());
        let mut set: Vec<(String, String)> = spec.env.clone();
        set.extend(hc.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let scratch = &self.subject.scratch;
        let mut env = build_env(&EnvRequest {
            parent: &ws.env_snapshot,
            passthrough: &hc.pass_env,
            set: &set,
            scratch,
            forge: self.forge_vars,
        })
        .map_err(|e| Error::io(scratch, e))?;
        let path_var = contain::path_var(&env);
        let contained = contain::contain(
            ws,
            self.subject,
            self.enforcement,
            Some((adapter, hc, &spec.program)),
            &path_var,
        )?;
        contained.apply_to(&mut env);
        let before = guard::take(self.watched)?;
        Ok(Ready {
            launch: self,
            spec,
            env,
            contained,
            before,
        })
    }
}

impl Ready<'_> {
    /// The program the run starts.
    pub fn program(&self) -> &str {
        &self.spec.program
    }

    /// The sandbox it runs in (None: unsandboxed).
    pub fn policy(&self) -> Option<&Policy> {
        self.contained.policy.as_ref()
    }

    /// Runs the harness to its verdict, logging its output to `log`; `timeout` overrides
    /// the configured one (seconds). Then stops the proxy and compares what it could have
    /// changed outside its worktree.
    pub fn run(
        self,
        ws: &Workspace,
        log: PathBuf,
        timeout: Option<u64>,
        observer: &mut dyn Observer,
    ) -> Result<Launched> {
        let Ready {
            launch,
            spec,
            env,
            mut contained,
            before,
        } = self;
        let ran = crate::harness::run::run(
            HarnessRun {
                adapter: launch.adapter,
                config: launch.config,
                spec,
                cwd: launch.subject.worktree.clone(),
                env,
                log,
                timeout,
                sandbox: contained.policy.clone(),
                clock: &ws.clock,
                stop: observer.stop_flag(),
                broker: crate::harness::run::Broker {
                    hosts: contain::fetch_hosts(ws, launch.adapter, launch.config),
                    ask: observer.asker(),
                },
            },
            &mut |event, summary| observer.harness_event(event, summary),
        );
        let egress = contained.finish();
        let limit_hits = contained.limit_hits();
        let violations = match &ran {
            Ok(_) => guard::compare(launch.watched, &before, &guard::take(launch.watched)?),
            Err(_) => Vec::new(),
        };
        Ok(Launched {
            ran,
            egress,
            limit_hits,
            violations,
        })
    }
}
