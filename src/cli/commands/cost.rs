use crate::cli::ui::Ui;
use crate::cli::{CommandHelper, CommandResult};
use crate::clock::{format_rfc3339, parse_rfc3339};
use crate::config::Config;
use crate::error::{Error, exit};
use crate::ledger::cost::{CostReport, GroupBy, Prices, Usage, cost_report, thousands};
use crate::ledger::read_events;

/// Sum the tokens and money harness runs spent, from the ledger
///
/// Counts every `harness.finished` event in the working tree's ledger, and every planner
/// run (`plan.run`, under the bead and step "(plan)"). Tokens are those
/// the harness reported; money is what it reported, or else an estimate from `[prices]` in
/// .forge/config.toml (marked ~), or unknown: an unknown cost is never counted as zero.
///
/// [prices."MODEL"] takes input, output, and optionally cache_read and cache_write (or
/// cache for both), in US dollars per million tokens; MODEL may be a prefix of the model
/// names a harness reports.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Group runs by bead, step, day (UTC) or harness [default: totals only]
    #[arg(long, value_enum, value_name = "KEY")]
    pub by: Option<By>,
    /// Only runs that finished on or after DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    Bead,
    Step,
    Day,
    Harness,
}

impl From<By> for GroupBy {
    fn from(b: By) -> GroupBy {
        match b {
            By::Bead => GroupBy::Bead,
            By::Step => GroupBy::Step,
            By::Day => GroupBy::Day,
            By::Harness => GroupBy::Harness,
        }
    }
}

fn row(key: &str, u: &Usage) -> [String; 7] {
    let t = &u.tokens;
    let known = |n: u64| {
        if t.runs > t.unreported_runs {
            thousands(n)
        } else {
            "-".into()
        }
    };
    [
        key.to_owned(),
        t.runs.to_string(),
        t.to_string(),
        known(t.input),
        known(t.output),
        known(t.cache_read + t.cache_write),
        u.cost.to_string(),
    ]
}

fn table(ui: &Ui, out: &mut dyn std::io::Write, report: &CostReport) -> std::io::Result<()> {
    let head = match report.by {
        Some(GroupBy::Bead) => "bead",
        Some(GroupBy::Step) => "step",
        Some(GroupBy::Day) => "day",
        Some(GroupBy::Harness) => "harness",
        None => "",
    };
    let mut rows = vec![[
        head.to_owned(),
        "runs".into(),
        "tokens".into(),
        "input".into(),
        "output".into(),
        "cache".into(),
        "cost".into(),
    ]];
    rows.extend(report.rows.iter().map(|r| row(&r.key, &r.usage)));
    rows.push(row("total", &report.total));
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for (i, r) in rows.iter().enumerate() {
        let mut line = format!("{:<w$}", r[0], w = widths[0]);
        for c in 1..7 {
            line.push_str(&format!("  {:>w$}", r[c], w = widths[c]));
        }
        let line = line.trim_end();
        if i == 0 || i == rows.len() - 1 {
            writeln!(out, "{}", ui.bold(line))?;
        } else {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let layout = helper.layout()?;
    let prices = Prices::from_config(&Config::load(&layout.config())?, &layout.config())?;
    let since = match &args.since {
        Some(s) => Some(format_rfc3339(parse_rfc3339(s).ok_or_else(|| {
            Error::usage(format!(
                "--since '{s}' is not a date: give YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)"
            ))
        })?)),
        None => None,
    };
    let (events, skipped) = read_events(&layout.ledger())?;
    if skipped > 0 {
        let verb = if skipped == 1 { "does" } else { "do" };
        ui.warn(&format!(
            "{} {verb} not verify and {} not counted; run `forge ledger verify`",
            crate::cli::render::plural(skipped, "ledger line"),
            if skipped == 1 { "is" } else { "are" }
        ));
    }
    let report = cost_report(
        &events,
        args.by.map(GroupBy::from),
        since.as_deref(),
        &prices,
    );
    ui.report(&report, |out| {
        if report.total.tokens.runs == 0 {
            return writeln!(
                out,
                "no harness runs in the ledger{}",
                match &since {
                    Some(s) => format!(" since {s}"),
                    None => String::new(),
                }
            );
        }
        table(ui, out, &report)?;
        if report.total.cost.estimated_usd.is_some() {
            writeln!(
                out,
                "{}",
                ui.dim("~ estimated from [prices] in .forge/config.toml")
            )?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}
