use crate::cli::{CommandHelper, CommandResult};
use crate::config::Config;
use crate::error::exit;
use crate::ledger::cost::Prices;
use crate::ledger::history::resolve_range;
use crate::ledger::{render, review};

/// Review what the ledger gained in a range of commits, for a pull request
///
/// Compares the ledger files committed at HEAD with those at BASE and shows the events
/// they gained: totals first, then per bead and step the harness and model, time, tokens,
/// cost, gates, approvals (who, how, which commit), rejections, rollbacks and failures,
/// and assumption, budget and breaker events. Costs a harness did not report are
/// estimated from `[prices]` in .forge/config.toml (marked ~) or shown as unknown.
///
/// The default range starts at the merge base of HEAD with the default branch: the first
/// of origin/HEAD, main, master, origin/main and origin/master that exists; without any,
/// the whole history. Lines that do not verify are left out with a warning; `forge ledger
/// verify --range` names them.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Commits to review: BASE..HEAD, BASE...HEAD (from their merge base), or BASE (up to
    /// HEAD) [default: from the merge base with the default branch]
    #[arg(long, value_name = "BASE..HEAD")]
    pub range: Option<String>,
    /// Output format; `--json` means json
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Json,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let (repo, layout) = helper.repository()?;
    let prices = if layout.config().exists() {
        Prices::from_config(&Config::load(&layout.config())?, &layout.config())?
    } else {
        Prices::default()
    };
    let range = resolve_range(repo, args.range.as_deref())?;
    let head = range.head_oid();
    // On the default branch itself the default range is empty: say how to pick one.
    if args.range.is_none() && range.base.as_deref() == Some(range.head.as_str()) {
        ui.warn(&format!(
            "the default range {} is empty: HEAD is on the default branch; pass --range \
             BASE..HEAD (for example --range HEAD~5..HEAD) to review earlier commits",
            range.spec
        ));
    }
    let gained = review::gained(repo, &range)?;
    let review = review::build(range, gained, &prices, &|bead| {
        review::title_at(repo, head, bead)
    });
    for w in &review.warnings {
        ui.warn(w);
    }
    ui.report(&review, |out| match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &review)?;
            writeln!(out)
        }
        Format::Markdown => out.write_all(render::markdown(&review).as_bytes()),
    })?;
    Ok(exit::OK)
}
