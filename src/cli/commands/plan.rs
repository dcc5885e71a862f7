use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::json;

use crate::cli::progress::StepProgress;
use crate::cli::prompt::{interactive, select};
use crate::cli::render::{Safe, plural};
use crate::cli::ui::Ui;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::{Error, exit};
use crate::plan::apply::apply;
use crate::plan::format::{self, Plan, SCHEMA};
use crate::plan::planner::{existing_deps, existing_resolver, plan_with_harness};
use crate::plan::validate::{topological, validate};
use crate::workspace::Workspace;

/// Turn a goal into a reviewed graph of beads
///
/// Runs the planner harness ([plan] harness, or [step] harness) in a throwaway worktree and
/// asks it for a plan file; an invalid plan gets one repair round. The plan is shown as a
/// tree; accepting creates a parent bead for the goal, a bead per item with its
/// dependencies, and the assumptions, all at once. With --from, a plan written by a person
/// (TOML or JSON) goes through the same checks.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The goal to plan
    #[arg(required_unless_present_any = ["from", "schema"])]
    pub goal: Option<String>,
    /// Use this plan file (TOML or JSON) instead of a planner
    #[arg(long, value_name = "FILE", conflicts_with = "goal")]
    pub from: Option<PathBuf>,
    /// The [harness.NAME] to plan with
    #[arg(long, value_name = "NAME")]
    pub harness: Option<String>,
    /// Accept the plan without asking
    #[arg(long, conflicts_with = "dry_run")]
    pub yes: bool,
    /// Show what would be created, create nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the plan format as JSON Schema
    #[arg(long, exclusive = true)]
    pub schema: bool,
}

#[derive(Serialize)]
struct Preview<'a> {
    plan: &'a Plan,
    created: bool,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    if args.schema {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
        ui.report(&schema, |out| writeln!(out, "{SCHEMA}"))?;
        return Ok(exit::OK);
    }
    let mut ws = helper.workspace()?;
    let (mut plan, source) = match &args.from {
        Some(path) => {
            let path = helper.cwd().join(path);
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let plan = format::parse(&path, &text)?;
            check(&ws, &plan, &path.display().to_string())?;
            (plan, json!({ "file": path.display().to_string() }))
        }
        None => {
            let goal = args.goal.as_deref().expect("clap requires a goal");
            let mut progress = StepProgress::new(ui.json, ui.quiet).redacting(ws.redactor.clone());
            let planned = plan_with_harness(&mut ws, goal, args.harness.as_deref(), &mut progress);
            progress.finish();
            let planned = planned?;
            if !planned.repaired.is_empty() {
                ui.status(&format!(
                    "The first plan had {}; the planner repaired it.",
                    plural(planned.repaired.len(), "problem")
                ));
            }
            let source = json!({ "harness": planned.harness, "rounds": planned.rounds });
            (planned.plan, source)
        }
    };
    if args.dry_run {
        let preview = Preview {
            plan: &plan,
            created: false,
        };
        ui.report(&preview, |out| {
            tree(ui, out, &plan)?;
            writeln!(out, "Dry run: nothing was created.")
        })?;
        return Ok(exit::OK);
    }
    if !args.yes {
        if !interactive(ui) {
            return Err(super::approve::needs_human(
                "accepting a plan",
                "--yes (or --dry-run to preview)",
            )
            .into());
        }
        loop {
            let mut err = std::io::stderr().lock();
            tree(ui, &mut err, &plan)?;
            drop(err);
            let choices: Vec<String> = [
                "accept: create these beads",
                "edit the plan in $EDITOR",
                "cancel",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            match select("Plan:", &choices)? {
                Some(0) => break,
                Some(1) => plan = edit(&ws, &plan)?,
                _ => {
                    ui.status("Cancelled; nothing was created.");
                    return Ok(exit::OK);
                }
            }
        }
    }
    let existing = existing_deps(&ws, &plan);
    let applied = apply(&mut ws, &plan, &existing, source)?;
    ui.report(&applied, |out| {
        writeln!(
            out,
            "Created {} (goal) with {} and {}",
            ui.id(&applied.epic),
            plural(applied.items.len(), "item"),
            plural(applied.assumptions.len(), "assumption")
        )?;
        for c in &applied.items {
            writeln!(
                out,
                "  {}  {}  {}",
                ui.id(&c.id),
                Safe::line(&c.key),
                Safe::line(&c.title)
            )?;
        }
        for a in &applied.assumptions {
            writeln!(
                out,
                "  {}  {}  {}",
                ui.id(&a.id),
                Safe::line(&a.key),
                Safe::line(&a.title)
            )?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}

fn check(ws: &Workspace, plan: &Plan, source: &str) -> crate::Result<()> {
    let resolve = existing_resolver(ws);
    let problems = validate(plan, &resolve);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::InvalidPlan {
        source_name: source.to_owned(),
        problems: problems.iter().map(|p| p.to_string()).collect(),
    })
}

/// Opens the plan in $EDITOR until it is valid (or the user gives up by saving it empty).
fn edit(ws: &Workspace, plan: &Plan) -> crate::Result<Plan> {
    let dir = ws.layout.plans();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join(format!("edit-{}.toml", std::process::id()));
    std::fs::write(&path, format::to_toml(plan)).map_err(|e| Error::io(&path, e))?;
    loop {
        #[allow(clippy::disallowed_methods)] // $VISUAL/$EDITOR: the user's, read when editing
        let editor = std::env::var("VISUAL")
            .or_else(|_| std::env::var("EDITOR"))
            .unwrap_or_else(|_| "vi".into());
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(&path)
            .status()
            .map_err(|e| Error::io(&editor, e))?;
        if !status.success() {
            return Err(Error::usage(format!(
                "the editor ({editor}) failed; nothing was created"
            )));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let result =
            format::parse(&path, &text).and_then(|p| check(ws, &p, "your edit").map(|()| p));
        match result {
            Ok(p) => {
                let _ = std::fs::remove_file(&path);
                return Ok(p);
            }
            Err(e) => {
                eprintln!("{e}");
                let again = ["edit again".to_string(), "cancel".to_string()];
                if select("The plan is not valid yet:", &again)? != Some(0) {
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
            }
        }
    }
}

/// The plan as a tree: items in dependency order, with what they need and rest on.
fn tree(ui: &Ui, out: &mut dyn Write, plan: &Plan) -> std::io::Result<()> {
    writeln!(out, "{} {}", ui.bold("Goal:"), Safe::line(&plan.goal))?;
    if !plan.summary.is_empty() {
        writeln!(out, "  {}", Safe::text(&plan.summary))?;
    }
    for (n, i) in topological(plan).into_iter().enumerate() {
        let it = &plan.items[i];
        writeln!(
            out,
            "  {:>2}. {:<12} {}  {}",
            n + 1,
            Safe::line(&it.key).to_string(),
            Safe::line(&it.title),
            ui.dim(&format!(
                "P{} value {} risk {} size {}",
                it.priority,
                it.value,
                it.risk,
                format!("{:?}", it.size).to_lowercase()
            ))
        )?;
        if !it.depends_on.is_empty() || !it.assumptions.is_empty() {
            let mut parts = Vec::new();
            if !it.depends_on.is_empty() {
                parts.push(format!("after: {}", Safe::line(&it.depends_on.join(", "))));
            }
            if !it.assumptions.is_empty() {
                parts.push(format!(
                    "rests on: {}",
                    Safe::line(&it.assumptions.join(", "))
                ));
            }
            writeln!(out, "      {}", parts.join("   "))?;
        }
    }
    if !plan.assumptions.is_empty() {
        writeln!(out, "{}", ui.bold("Assumptions:"))?;
        for a in &plan.assumptions {
            let m = if a.mitigation.is_empty() {
                String::new()
            } else {
                format!(" (mitigation: {})", Safe::line(&a.mitigation))
            };
            writeln!(
                out,
                "  {:<12} {} risk: {}{m}",
                Safe::line(&a.key).to_string(),
                a.risk,
                Safe::line(&a.text)
            )?;
        }
    }
    Ok(())
}
