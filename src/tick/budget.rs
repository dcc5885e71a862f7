//! Budgets: what harnesses spent today, from the ledger, against the limits in config.

use serde::Serialize;

use crate::clock::format_rfc3339;
use crate::config::BudgetConfig;
use crate::error::Result;
use crate::ledger::cost::{Prices, RunUsage, Usage};
use crate::ledger::event::Payload;
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

/// What a tick running several steps at once sets aside for one step before it starts it,
/// for each limit that is set. None: not known (no `[budget] reserve_*`, and no run of the
/// harness whose spend is known).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reservation {
    pub money: Option<f64>,
    pub tokens: Option<u64>,
}

/// How many of a harness's latest runs the default reservation is the mean of.
pub const RESERVE_FROM_RUNS: usize = 5;

/// How many ledger files, newest first, are searched for those runs; a harness not seen
/// in them has no known reservation (the safe case: its steps then run one at a time).
const RESERVE_SEARCH_FILES: usize = 200;

/// The reservation for one step of `harness`: `[budget] reserve_usd` / `reserve_tokens`
/// where set, else the mean of what the harness's last [`RESERVE_FROM_RUNS`] runs spent
/// (money: only when every one of them has a known cost; tokens: only when every one
/// reported usage). A harness's runs are found through the `harness.started` event that
/// names it, in the same run's file as its `harness.finished`.
pub fn reservation(
    layout: &Layout,
    prices: &Prices,
    budget: &BudgetConfig,
    harness: &str,
) -> Result<Reservation> {
    let mut r = Reservation {
        money: budget.reserve_usd,
        tokens: budget.reserve_tokens,
    };
    if r.money.is_some() && r.tokens.is_some() {
        return Ok(r);
    }
    let mut runs: Vec<Usage> = Vec::new();
    let files = ledger_files(&layout.ledger());
    'files: for path in files.iter().rev().take(RESERVE_SEARCH_FILES) {
        let file = read_file(path)?;
        // An estimate, not a count: a line that does not decode is passed over here
        // (`spent_today` refuses it).
        let events: Vec<_> = file.lines.iter().filter_map(|l| decode(l).ok()).collect();
        let ours: std::collections::HashSet<String> = events
            .iter()
            .filter_map(|e| match e.payload() {
                Payload::HarnessStarted { at, harness: h, .. } if h == harness => Some(at.step),
                _ => None,
            })
            .collect();
        if ours.is_empty() {
            continue;
        }
        for e in events.iter().rev() {
            if e.kind != "harness.finished" {
                continue;
            }
            let Payload::HarnessFinished { at, .. } = e.payload() else {
                continue;
            };
            if !ours.contains(&at.step) {
                continue;
            }
            let mut usage = Usage::default();
            usage.add(&RunUsage::from_event(e), prices);
            runs.push(usage);
            if runs.len() >= RESERVE_FROM_RUNS {
                break 'files;
            }
        }
    }
    if runs.is_empty() {
        return Ok(r);
    }
    let n = runs.len();
    if r.money.is_none() && runs.iter().all(|u| u.cost.unknown_runs == 0) {
        let sum: f64 = runs
            .iter()
            .map(|u| u.cost.reported_usd.unwrap_or(0.0) + u.cost.estimated_usd.unwrap_or(0.0))
            .sum();
        r.money = Some(sum / n as f64);
    }
    if r.tokens.is_none() && runs.iter().all(|u| u.tokens.unreported_runs == 0) {
        let sum: u64 = runs.iter().map(|u| u.tokens.total).sum();
        r.tokens = Some(sum.div_ceil(n as u64));
    }
    Ok(r)
}

/// Whether what is left of today's budget has room for one more step beside `running`.
#[derive(Debug, Clone, PartialEq)]
pub enum Room {
    Fits,
    /// A limit is set but the reservation of the new step or of a running one is not
    /// known: the step may start only when no other runs.
    Unknown,
    /// The reservations do not fit in what is left: why.
    Short(String),
}

/// `spent + the running steps' reservations + new <= limit`, for money and for tokens.
/// Limits that are not set always have room.
pub fn room(
    spent: &Spent,
    budget: &BudgetConfig,
    running: &[Reservation],
    new: &Reservation,
) -> Room {
    if let Some(limit) = budget.money_per_day {
        let all: Option<Vec<f64>> = running.iter().chain([new]).map(|r| r.money).collect();
        let Some(all) = all else {
            return Room::Unknown;
        };
        let reserved: f64 = all.iter().sum();
        if spent.money + reserved > limit + 1e-9 {
            return Room::Short(format!(
                "money budget for {}: ${:.2} spent and ${reserved:.2} reserved for {} \
                 step(s) would pass ${limit:.2}",
                spent.day,
                spent.money,
                all.len()
            ));
        }
    }
    if let Some(limit) = budget.tokens_per_day {
        let all: Option<Vec<u64>> = running.iter().chain([new]).map(|r| r.tokens).collect();
        let Some(all) = all else {
            return Room::Unknown;
        };
        let reserved: u64 = all.iter().sum();
        if spent.tokens + reserved > limit {
            return Room::Short(format!(
                "token budget for {}: {} spent and {reserved} reserved for {} step(s) would \
                 pass {limit}",
                spent.day,
                spent.tokens,
                all.len()
            ));
        }
    }
    Room::Fits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(money: Option<f64>, tokens: Option<u64>) -> BudgetConfig {
        BudgetConfig {
            money_per_day: money,
            tokens_per_day: tokens,
            ..BudgetConfig::default()
        }
    }

    fn spent(money: f64, tokens: u64) -> Spent {
        Spent {
            day: "2026-11-21".into(),
            money,
            tokens,
            ..Spent::default()
        }
    }

    fn res(money: Option<f64>, tokens: Option<u64>) -> Reservation {
        Reservation { money, tokens }
    }

    #[test]
    fn a_step_starts_only_while_the_reservations_fit() {
        let b = budget(Some(1.0), None);
        let r = res(Some(0.3), None);
        assert_eq!(room(&spent(0.0, 0), &b, &[], &r), Room::Fits);
        assert_eq!(room(&spent(0.0, 0), &b, &[r, r], &r), Room::Fits);
        assert!(matches!(
            room(&spent(0.2, 0), &b, &[r, r], &r),
            Room::Short(_)
        ));
        // Unknown reservations never fit beside another step.
        assert_eq!(
            room(&spent(0.0, 0), &b, &[], &res(None, None)),
            Room::Unknown
        );
        assert_eq!(
            room(&spent(0.0, 0), &b, &[res(None, None)], &r),
            Room::Unknown
        );
        // No limit: always room, known or not.
        let none = budget(None, None);
        assert_eq!(
            room(&spent(9.0, 9), &none, &[r], &res(None, None)),
            Room::Fits
        );
        let t = budget(None, Some(100));
        let rt = res(None, Some(40));
        assert_eq!(room(&spent(0.0, 20), &t, &[rt], &rt), Room::Fits);
        assert!(matches!(
            room(&spent(0.0, 21), &t, &[rt], &rt),
            Room::Short(_)
        ));
    }
}
