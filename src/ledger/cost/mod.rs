//! Tokens and money, from `harness.finished` events and the planner's `plan.run`.
//!
//! Money is what a harness reported, or, for a run that reported tokens but no cost, an
//! estimate from the `[prices]` table in `.forge/config.toml`. A run with neither is
//! counted as unknown: never as zero, and never folded into a total as if it were known.
//!
//! ```toml
//! [prices."claude-sonnet-4-5"]   # a model name, or a prefix of the names a harness reports
//! input = 3.0                    # US dollars per million input tokens
//! output = 15.0
//! cache_read = 0.30              # optional; `cache = ...` sets reads and writes at once
//! cache_write = 3.75
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;

use super::event::{Payload, RecordedTokens};
use super::line::Event;
use crate::config::Config;
use crate::error::{Error, Result};

/// US dollars per million tokens, for one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    pub cache_read: Option<f64>,
    pub cache_write: Option<f64>,
}

/// The `[prices]` table: model name (or name prefix) to price.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Prices {
    pub models: BTreeMap<String, Price>,
}

fn invalid(path: &Path, message: String) -> Error {
    Error::InvalidFile {
        path: path.to_owned(),
        message,
        hint: "[prices.\"MODEL\"] takes input, output, and optionally cache_read, cache_write or cache: US dollars per million tokens".into(),
    }
}

impl Prices {
    /// The `[prices]` of a loaded config (`path` is only for messages); the shape was
    /// checked when it loaded, the amounts are checked here.
    pub fn from_config(config: &Config, path: &Path) -> Result<Prices> {
        let mut models = BTreeMap::new();
        for (model, p) in &config.prices {
            let amounts = [
                ("input", Some(p.input)),
                ("output", Some(p.output)),
                ("cache", p.cache),
                ("cache_read", p.cache_read),
                ("cache_write", p.cache_write),
            ];
            for (key, amount) in amounts {
                if amount.is_some_and(|n| !n.is_finite() || n < 0.0) {
                    return Err(invalid(
                        path,
                        format!("prices.\"{model}\".{key} must be a number of dollars, at least 0"),
                    ));
                }
            }
            models.insert(
                model.clone(),
                Price {
                    input: p.input,
                    output: p.output,
                    cache_read: p.cache_read.or(p.cache),
                    cache_write: p.cache_write.or(p.cache),
                },
            );
        }
        Ok(Prices { models })
    }

    /// The price for `model`: an exact entry, else the longest entry that prefixes it
    /// (`claude-sonnet-4-5` prices `claude-sonnet-4-5-20250929`).
    pub fn for_model(&self, model: &str) -> Option<&Price> {
        self.models.get(model).or_else(|| {
            self.models
                .iter()
                .filter(|(k, _)| model.starts_with(k.as_str()))
                .max_by_key(|(k, _)| k.len())
                .map(|(_, p)| p)
        })
    }

    /// Dollars for `tokens` of `model`; None unless every kind of token used has a price.
    pub fn estimate(&self, model: Option<&str>, tokens: &RunTokens) -> Option<f64> {
        if !tokens.reported {
            return None;
        }
        let p = self.for_model(model?)?;
        let per = |n: u64, price: Option<f64>| match (n, price) {
            (0, _) => Some(0.0),
            (n, Some(p)) => Some(n as f64 * p),
            (_, None) => None,
        };
        let usd = per(tokens.input, Some(p.input))?
            + per(tokens.output, Some(p.output))?
            + per(tokens.cache_read, p.cache_read)?
            + per(tokens.cache_write, p.cache_write)?;
        Some(usd / 1_000_000.0)
    }
}

/// One run's tokens as recorded; `reported` is false when the harness gave no usage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunTokens {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub reported: bool,
}

/// What one `harness.finished` event says about usage.
#[derive(Debug, Clone, PartialEq)]
pub struct RunUsage {
    pub tokens: RunTokens,
    pub cost_usd: Option<f64>,
    pub model: Option<String>,
    pub duration_ms: Option<u64>,
}

impl RunUsage {
    /// What a `harness.finished` or `plan.run` event says; nothing for other kinds.
    pub fn from_event(event: &Event) -> RunUsage {
        match event.payload() {
            Payload::HarnessFinished {
                tokens,
                cost_usd,
                model,
                duration_ms,
                ..
            } => RunUsage::of(&tokens, cost_usd, model, duration_ms),
            Payload::PlanRun {
                tokens,
                cost_usd,
                model,
                ..
            } => RunUsage::of(&tokens, cost_usd, model, None),
            _ => RunUsage::of(&RecordedTokens::default(), None, None, None),
        }
    }

    fn of(
        t: &RecordedTokens,
        cost_usd: Option<f64>,
        model: Option<String>,
        duration_ms: Option<u64>,
    ) -> RunUsage {
        let mut tokens = RunTokens {
            input: t.input,
            output: t.output,
            cache_read: t.cache_read,
            cache_write: t.cache_write,
            reported: false,
        };
        let any = tokens.input + tokens.output + tokens.cache_read + tokens.cache_write > 0;
        tokens.reported = t.reported.unwrap_or(any);
        RunUsage {
            tokens,
            cost_usd: cost_usd.filter(|c| c.is_finite()),
            model: model.filter(|m| !m.is_empty()),
            duration_ms,
        }
    }
}

/// Token counts summed over runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TokenTotals {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub total: u64,
    /// Runs counted.
    pub runs: usize,
    /// Runs whose harness reported no usage: their tokens are unknown, not zero.
    pub unreported_runs: usize,
}

impl TokenTotals {
    pub fn add(&mut self, t: &RunTokens) {
        self.runs += 1;
        if !t.reported {
            self.unreported_runs += 1;
            return;
        }
        self.input += t.input;
        self.output += t.output;
        self.cache_read += t.cache_read;
        self.cache_write += t.cache_write;
        self.total += t.input + t.output + t.cache_read + t.cache_write;
    }

    pub fn merge(&mut self, o: &TokenTotals) {
        self.input += o.input;
        self.output += o.output;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
        self.total += o.total;
        self.runs += o.runs;
        self.unreported_runs += o.unreported_runs;
    }
}

/// `12,345`, `12,345 + 1 run unknown`, or `unknown`.
impl fmt::Display for TokenTotals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.runs == 0 {
            return f.write_str("-");
        }
        if self.unreported_runs == self.runs {
            return f.write_str("unknown");
        }
        f.write_str(&thousands(self.total))?;
        if self.unreported_runs > 0 {
            write!(f, " + {} unknown", runs(self.unreported_runs))?;
        }
        Ok(())
    }
}

fn round(usd: f64) -> f64 {
    (usd * 1e6).round() / 1e6
}

fn serialize_usd<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(usd) => s.serialize_some(&round(*usd)),
        None => s.serialize_none(),
    }
}

/// Money summed over runs, keeping what was reported, what was estimated and what is
/// unknown apart.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Money {
    /// The sum of the costs harnesses reported; None when no run reported one.
    #[serde(serialize_with = "serialize_usd")]
    pub reported_usd: Option<f64>,
    /// Computed from `[prices]` for runs that reported tokens but no cost; None when no
    /// run was estimated.
    #[serde(serialize_with = "serialize_usd")]
    pub estimated_usd: Option<f64>,
    /// Runs whose cost is neither reported nor computable.
    pub unknown_runs: usize,
}

impl Money {
    pub fn add(&mut self, reported: Option<f64>, estimated: Option<f64>) {
        match (reported, estimated) {
            (Some(r), _) => *self.reported_usd.get_or_insert(0.0) += r,
            (None, Some(e)) => *self.estimated_usd.get_or_insert(0.0) += e,
            (None, None) => self.unknown_runs += 1,
        }
    }

    pub fn merge(&mut self, o: &Money) {
        if let Some(r) = o.reported_usd {
            *self.reported_usd.get_or_insert(0.0) += r;
        }
        if let Some(e) = o.estimated_usd {
            *self.estimated_usd.get_or_insert(0.0) += e;
        }
        self.unknown_runs += o.unknown_runs;
    }
}

fn usd(v: f64) -> String {
    if v > 0.0 && v < 0.005 {
        "<$0.01".into()
    } else {
        format!("${v:.2}")
    }
}

/// `$1.23`, `~$0.40 (estimate)`, `$1.23 + ~$0.40 est.`, each followed by `+ N unknown`
/// when some runs are unknown; `unknown` when nothing is known.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        match (self.reported_usd, self.estimated_usd) {
            (Some(r), Some(e)) => parts.push(format!("{} + ~{} est.", usd(r), usd(e))),
            (Some(r), None) => parts.push(usd(r)),
            (None, Some(e)) => parts.push(format!("~{} est.", usd(e))),
            (None, None) if self.unknown_runs > 0 => return f.write_str("unknown"),
            (None, None) => return f.write_str("-"),
        }
        if self.unknown_runs > 0 {
            parts.push(format!("{} unknown", runs(self.unknown_runs)));
        }
        f.write_str(&parts.join(" + "))
    }
}

fn runs(n: usize) -> String {
    if n == 1 {
        "1 run".into()
    } else {
        format!("{n} runs")
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Tokens and money together.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub tokens: TokenTotals,
    pub cost: Money,
}

impl Usage {
    pub fn add(&mut self, run: &RunUsage, prices: &Prices) {
        self.tokens.add(&run.tokens);
        let estimate = match run.cost_usd {
            Some(_) => None,
            None => prices.estimate(run.model.as_deref(), &run.tokens),
        };
        self.cost.add(run.cost_usd, estimate);
    }

    pub fn merge(&mut self, o: &Usage) {
        self.tokens.merge(&o.tokens);
        self.cost.merge(&o.cost);
    }
}

/// How `forge cost` groups runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    Bead,
    Step,
    Day,
    Harness,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostRow {
    pub key: String,
    #[serde(flatten)]
    pub usage: Usage,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    pub by: Option<GroupBy>,
    /// Only runs that finished at or after this instant.
    pub since: Option<String>,
    pub rows: Vec<CostRow>,
    pub total: Usage,
}

/// Sums the `harness.finished` (and `plan.run`) events among `events` (in ledger order: by time, run and
/// sequence number). A run's harness is the one its step last claimed or started.
pub fn cost_report(
    events: &[Event],
    by: Option<GroupBy>,
    since: Option<&str>,
    prices: &Prices,
) -> CostReport {
    let mut harness_of: BTreeMap<String, String> = BTreeMap::new();
    let mut rows: BTreeMap<String, Usage> = BTreeMap::new();
    let mut total = Usage::default();
    for e in events {
        let payload = e.payload();
        let step = payload.step_at().map_or("", |at| at.step.as_str());
        if let Payload::StepClaimed { harness, .. } | Payload::HarnessStarted { harness, .. } =
            &payload
        {
            harness_of.insert(step.to_owned(), harness.clone());
        }
        // A planner's rounds are recorded together as one `plan.run`, with no bead or step.
        let planned = matches!(payload, Payload::PlanRun { .. });
        let finished = matches!(payload, Payload::HarnessFinished { .. });
        if !(planned || finished) || since.is_some_and(|s| e.ts.as_str() < s) {
            continue;
        }
        let run = RunUsage::from_event(e);
        total.add(&run, prices);
        let key = match (by, &payload) {
            (None, _) => continue,
            (Some(GroupBy::Bead | GroupBy::Step), _) if planned => "(plan)".to_owned(),
            (Some(GroupBy::Bead), p) => p.step_at().map_or("", |at| &at.bead).to_owned(),
            (Some(GroupBy::Step), _) => step.to_owned(),
            (Some(GroupBy::Day), _) => e.ts.get(..10).unwrap_or(&e.ts).to_owned(),
            (Some(GroupBy::Harness), Payload::PlanRun { harness, .. }) => harness.clone(),
            (Some(GroupBy::Harness), _) => harness_of.get(step).cloned().unwrap_or_default(),
        };
        let key = if key.is_empty() { "(none)".into() } else { key };
        rows.entry(key).or_default().add(&run, prices);
    }
    CostReport {
        by,
        since: since.map(str::to_owned),
        rows: rows
            .into_iter()
            .map(|(key, usage)| CostRow { key, usage })
            .collect(),
        total,
    }
}

#[cfg(test)]
mod tests;
