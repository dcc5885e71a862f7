//! Budgets: what harnesses spent today, from the ledger, against the limits in config.

use serde::Serialize;

use crate::clock::format_rfc3339;
use crate::config::BudgetConfig;
use crate::error::Result;
use crate::ledger::cost::{Prices, RunUsage, Usage};
use crate::ledger::line::decode;
use crate::ledger::{ledger_files, read_file};
use crate::store::Layout;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Spent {
    /// UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// Dollars reported by harnesses today, plus estimates from `[prices]` for runs that
    /// reported tokens but no cost.
    pub money: f64,
    /// Runs today whose cost is unknown (neither reported nor computable): the money
    /// figure is a lower bound when this is not zero.
    pub unknown_cost_runs: usize,
    pub tokens: u64,
    pub steps: u32,
}

/// What `harness.finished` events dated today (by the workspace's clock, `now_secs`) add
/// up to. Only ledger files of runs that started today or yesterday can hold today's
/// events, so only those are read: a file is named by its run's start by the same clock
/// (`ledger::writer::new_run_id`), pinned or not.
/// A line that does not decode is an error, never skipped: a budget must not undercount.
pub fn spent_today(layout: &Layout, prices: &Prices, now_secs: i64) -> Result<Spent> {
    let day = format_rfc3339(now_secs)[..10].to_owned();
    let prefixes: Vec<String> = [now_secs, now_secs - 86_400]
        .iter()
        .map(|t| format_rfc3339(*t)[..10].replace('-', ""))
        .collect();
    let mut usage = Usage::default();
    let mut steps = 0;
    for path in ledger_files(&layout.ledger()) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !prefixes.iter().any(|p| name.starts_with(p.as_str())) {
            continue;
        }
        for (i, line) in read_file(&path)?.lines.iter().enumerate() {
            let e = decode(line).map_err(|e| crate::error::Error::Parse {
                path: path.clone(),
                line: i + 1,
                column: 1,
                message: format!(
                    "a ledger line that does not decode cannot be counted against the \
                     budget: {e}"
                ),
            })?;
            // By the kind's name: a newer forge's run whose fields this version cannot
            // read still counts, as a run of unknown cost, never as nothing. The
            // planner's runs spend the same money.
            let spent = e.kind == "harness.finished" || e.kind == "plan.run";
            if !spent || !e.ts.starts_with(&day) {
                continue;
            }
            steps += u32::from(e.kind == "harness.finished");
            usage.add(&RunUsage::from_event(&e), prices);
        }
    }
    Ok(Spent {
        day,
        money: usage.cost.reported_usd.unwrap_or(0.0) + usage.cost.estimated_usd.unwrap_or(0.0),
        unknown_cost_runs: usage.cost.unknown_runs,
        tokens: usage.tokens.total,
        steps,
    })
}

/// The first limit `spent` has reached, as a reason.
pub fn exhausted(spent: &Spent, budget: &BudgetConfig) -> Option<String> {
    if let Some(limit) = budget.money_per_day
        && spent.money >= limit
    {
        return Some(format!(
            "money budget for {} used: ${:.2} of ${limit:.2}",
            spent.day, spent.money
        ));
    }
    if let Some(limit) = budget.tokens_per_day
        && spent.tokens >= limit
    {
        return Some(format!(
            "token budget for {} used: {} of {limit}",
            spent.day, spent.tokens
        ));
    }
    None
}
