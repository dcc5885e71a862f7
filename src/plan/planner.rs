//! Running the planner harness: in a throwaway worktree (it may read the code; whatever it
//! changes is discarded), asked to write a plan file; one repair round if the plan is invalid.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use super::format::{self, EXAMPLE, Plan};
use super::validate::{Problem, validate};
use crate::bead::Status;
use crate::bead::repo::{BeadRepo, IndexBuf};
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::harness::adapter::{Invocation, RunSummary, Verdict};
use crate::harness::config::harness_config;
use crate::harness::presets;
use crate::ledger::{Payload, event};
use crate::step::Observer;
use crate::step::contain::Subject;
use crate::step::launch::Launch;
use crate::workspace::Workspace;

/// Where the planner is asked to write its plan, relative to its worktree.
pub const PLAN_FILE: &str = "forge-plan.toml";

#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub plan: Plan,
    pub harness: String,
    pub rounds: u32,
    /// What was wrong with the first plan, if a repair round was needed.
    pub repaired: Vec<Problem>,
    pub tokens: crate::harness::adapter::Tokens,
    pub cost_usd: Option<f64>,
}

/// Existing beads a plan may depend on: resolved by full id or unique prefix.
pub fn existing_resolver(ws: &Workspace) -> impl Fn(&str) -> Option<String> + '_ {
    let repo = BeadRepo::new(&ws.layout);
    move |dep: &str| {
        dep.starts_with(crate::bead::id::PREFIX)
            .then(|| repo.resolve(dep).ok())
            .flatten()
    }
}

/// Every dependency of the plan that names an existing bead, mapped to its full id.
pub fn existing_deps(ws: &Workspace, plan: &Plan) -> HashMap<String, String> {
    let resolve = existing_resolver(ws);
    let keys: Vec<&str> = plan.items.iter().map(|i| i.key.as_str()).collect();
    plan.items
        .iter()
        .flat_map(|i| &i.depends_on)
        .filter(|d| !keys.contains(&d.as_str()))
        .filter_map(|d| resolve(d).map(|id| (d.clone(), id)))
        .collect()
}

fn first_prompt(ws: &Workspace, goal: &str) -> Result<String> {
    let mut buf = IndexBuf::default();
    let index = BeadRepo::new(&ws.layout).index(&mut buf)?;
    let open: String = index
        .iter()
        .filter(|b| b.status == Status::Open)
        .take(50)
        .map(|b| format!("- {}: {}\n", b.id, b.title))
        .collect();
    let open = if open.is_empty() {
        "(none)\n".to_owned()
    } else {
        open
    };
    Ok(format!(
        "You are planning work in this git repository. Read the code as much as you need, but do not change it.\n\n\
         Goal: {goal}\n\n\
         Break the goal into small items, each doable in one focused session, with the dependencies between them \
         and the assumptions the plan rests on (anything you had to guess). Every item needs acceptance criteria. \
         Sizes are xs, s, m or l; split anything larger.\n\n\
         Write the plan as TOML to the file `{PLAN_FILE}` at the root of this working tree, in exactly this format:\n\n\
         ```toml\n{EXAMPLE}```\n\n\
         Existing open beads (items may depend on them by id):\n{open}\n\
         When the file is written, reply with one line saying so."
    ))
}

fn repair_prompt(problems: &[Problem]) -> String {
    let list: String = problems.iter().map(|p| format!("- {p}\n")).collect();
    format!(
        "The plan in `{PLAN_FILE}` has these problems:\n\n{list}\n\
         Fix all of them and write the whole corrected plan to `{PLAN_FILE}` again, in the same format."
    )
}

/// A plan larger than this is refused unread.
const MAX_PLAN_BYTES: u64 = 1 << 20;

/// Reads the plan the harness wrote (or, failing that, one in its last message).
fn read_plan(worktree: &Path, summary: &RunSummary) -> std::result::Result<Plan, Vec<Problem>> {
    let problem = |message: String| {
        vec![Problem {
            place: PLAN_FILE.into(),
            message,
        }]
    };
    let file = worktree.join(PLAN_FILE);
    // The planner wrote it: read only as a regular file (never a link, FIFO or device,
    // checked on the opened file) of sane size.
    let read = match crate::store::file::read_regular_bytes(&file) {
        Some(b) if b.len() as u64 <= MAX_PLAN_BYTES => String::from_utf8(b)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Some(_) => {
            return Err(problem(format!(
                "{PLAN_FILE} is larger than {MAX_PLAN_BYTES} bytes"
            )));
        }
        None if file.symlink_metadata().is_ok() => {
            return Err(problem(format!("{PLAN_FILE} is not a regular file")));
        }
        None => Err(std::io::ErrorKind::NotFound.into()),
    };
    let text = match read {
        Ok(t) => t,
        Err(_) => match [&summary.result_text, &summary.last_message]
            .into_iter()
            .flatten()
            .find_map(|m| format::extract_from_text(m))
        {
            Some(t) => t,
            None => return Err(problem(format!("no plan was written to {PLAN_FILE}"))),
        },
    };
    format::parse(Path::new(PLAN_FILE), &text).map_err(|e| problem(e.to_string()))
}

pub fn plan_with_harness(
    ws: &mut Workspace,
    goal: &str,
    harness: Option<&str>,
    observer: &mut dyn Observer,
) -> Result<Planned> {
    let name = harness
        .map(str::to_owned)
        .or_else(|| ws.config.plan.harness.clone())
        .or_else(|| ws.config.step.harness.clone());
    let (name, hc) = harness_config(&ws.config, name.as_deref())?;
    let adapter = presets::by_name(&hc.preset).expect("checked by harness_config");
    // The planner is a harness like any other: fail closed before anything starts.
    let enforcement = crate::step::contain::enforcement(ws)?;
    let run_id = ws.run_id().replace(['.', ':'], "-");
    let dir = ws.layout.plans().join(&run_id);
    let worktree = dir.join("worktree");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let main = Git::new(&ws.layout.root);
    // Without the repository's hooks (`post-checkout`): the worktree is forge's.
    main.clone().hardened().run(&[
        "worktree",
        "add",
        "--quiet",
        "--detach",
        &worktree.to_string_lossy(),
        "HEAD",
    ])?;
    let result =
        crate::step::guard::admin_dir(&ws.layout.common_dir(), &worktree).and_then(|admin| {
            let subject = Subject {
                worktree: worktree.clone(),
                admin_dir: admin,
                scratch: dir.clone(),
            };
            rounds(
                ws,
                goal,
                &name,
                &hc,
                adapter,
                &subject,
                enforcement,
                observer,
            )
        });
    // The planner's changes are discarded by design; only the plan is kept.
    let _ = main.worktree_remove(&worktree);
    let _ = main.run(&["worktree", "prune"]);
    let planned = result?;
    ws.record(Payload::PlanRun {
        goal: goal.to_owned(),
        harness: name.to_owned(),
        rounds: planned.rounds,
        repaired: event::json(&planned.repaired),
        items: planned.plan.items.len(),
        tokens: planned.tokens.into(),
        cost_usd: planned.cost_usd,
        model: hc.model.clone(),
    })?;
    Ok(planned)
}

#[allow(clippy::too_many_arguments)]
fn rounds(
    ws: &mut Workspace,
    goal: &str,
    name: &str,
    hc: &crate::harness::config::HarnessConfig,
    adapter: &dyn crate::harness::adapter::Adapter,
    subject: &Subject,
    enforcement: crate::sandbox::Enforcement,
    observer: &mut dyn Observer,
) -> Result<Planned> {
    let (dir, worktree) = (subject.scratch.as_path(), subject.worktree.as_path());
    let forge_vars = vec![
        ("FORGE_PLAN".to_owned(), "1".to_owned()),
        (
            "FORGE_REPO".to_owned(),
            ws.layout.root.display().to_string(),
        ),
        ("FORGE_STEP".to_owned(), format!("plan-{}", ws.run_id())),
        (
            crate::harness::process::RUN_MARKER.to_owned(),
            crate::step::run_marker(&ws.layout, &format!("plan-{}", ws.run_id())),
        ),
    ];
    let layout = ws.layout.clone();
    let common = layout.common_dir();
    let watched = crate::step::guard::Watched {
        root: &layout.root,
        common_dir: &common,
        worktree,
        admin_dir: &subject.admin_dir,
        branch_ref: "",
        full: !enforcement.is_sandboxed(),
    };
    let mut prompt = first_prompt(ws, goal)?;
    let mut session: Option<String> = None;
    let mut repaired = Vec::new();
    let mut tokens = crate::harness::adapter::Tokens::default();
    let mut cost: Option<f64> = None;
    for round in 1..=2u32 {
        let inv = Invocation {
            prompt: prompt.clone(),
            model: hc.model.clone(),
            extra_args: hc.args.clone(),
            resume_session: session.clone().filter(|_| adapter.can_resume()),
            command: hc.command.clone(),
        };
        let ready = Launch {
            adapter,
            config: hc,
            subject,
            forge_vars: &forge_vars,
            enforcement,
            watched: &watched,
        }
        .prepare(ws, &inv)?;
        let _ = std::fs::remove_file(worktree.join(PLAN_FILE));
        observer.phase(
            "plan",
            crate::step::State::Running,
            &format!("{name}, round {round}"),
        );
        let launched = ready.run(ws, dir.join(format!("planner-{round}.log")), None, observer)?;
        let ran = launched.ran?;
        let violations = launched.violations;
        if !violations.is_empty() {
            ws.record(Payload::PlanViolation {
                goal: goal.to_owned(),
                harness: name.to_owned(),
                violations: event::json(&violations),
            })?;
            let what: Vec<&str> = violations.iter().map(|v| v.what.as_str()).collect();
            let undo: Vec<&str> = violations.iter().map(|v| v.undo.as_str()).collect();
            return Err(Error::Refused {
                message: format!(
                    "policy violation by the planner ({name}): {}; nothing was planned",
                    what.join("; ")
                ),
                hint: format!("forge restored nothing; undo: {}", undo.join("; ")),
            });
        }
        tokens.add(&ran.summary.tokens);
        tokens.reported |= ran.summary.tokens.reported;
        if let Some(c) = ran.summary.cost_usd {
            cost = Some(cost.unwrap_or(0.0) + c);
        }
        if let Verdict::Failed { reason }
        | Verdict::AuthFailed { reason }
        | Verdict::RateLimited { reason, .. } = &ran.verdict
        {
            return Err(Error::HarnessFailed {
                message: format!("the planner ({name}) failed: {reason}"),
            });
        }
        session = ran.summary.session_id.clone();
        let problems = match read_plan(worktree, &ran.summary) {
            Ok(plan) => {
                let resolve = existing_resolver(ws);
                let problems = validate(&plan, &resolve);
                if problems.is_empty() {
                    return Ok(Planned {
                        plan,
                        harness: name.to_owned(),
                        rounds: round,
                        repaired,
                        tokens,
                        cost_usd: cost,
                    });
                }
                problems
            }
            Err(problems) => problems,
        };
        if round == 2 {
            let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Err(Error::InvalidPlan {
                source_name: format!("the planner ({name}), after a repair round"),
                problems: list,
            });
        }
        prompt = repair_prompt(&problems);
        if !adapter.can_resume() || session.is_none() {
            prompt = format!("{}\n\n{}", first_prompt(ws, goal)?, prompt);
        }
        repaired = problems;
    }
    unreachable!("the loop returns in round 2")
}
