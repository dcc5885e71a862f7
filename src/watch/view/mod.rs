//! `forge watch`'s screen, drawn from a [`Snapshot`] into a ratatui frame: pure, so that
//! tests render it into a test backend. Everything that came from an agent, a bead or an
//! error is shown, not sent, to the terminal ([`Safe`]).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::model::{Snapshot, Spend};
use crate::cli::render::Safe;
use crate::ledger::cost::thousands;

/// What the person did, which the snapshot does not know.
#[derive(Debug, Clone, Default)]
pub struct ViewState {
    /// The selected step, by id (so that it stays selected as the lists change).
    pub selected: Option<String>,
    /// A line for the person: what a key did, or why it did nothing.
    pub message: String,
}

const STEP: usize = 14;
const HARNESS: usize = 10;

pub fn render(frame: &mut Frame, snap: &Snapshot, state: &ViewState) {
    let selected = state.selected.as_deref();
    let header = header(snap);
    let footer = footer(snap, state);
    let running = running(snap, selected);
    let waiting = waiting(snap, selected);
    let failed = failed(snap, selected);
    // Only where there is a queue to show: `[policy] merge = "queue"`, or entries left.
    let queue = (snap.queue_mode || !snap.queue.is_empty()).then(|| queue(snap));
    // Only with `[tick] remote`.
    let claims = snap.remote.as_ref().map(|r| claims(snap, r));
    let ready = ready(snap);
    // Each step section as tall as its lines (plus borders and column names); the ready
    // queue takes what is left.
    let tall = |s: &Section| {
        let columns = s.columns.is_some() && !s.lines.is_empty();
        (s.lines.len().max(1) + 2 + usize::from(columns)) as u16
    };
    let [top, r, w, m, f, c, q, bottom] = Layout::vertical([
        Constraint::Length(header.len() as u16),
        Constraint::Length(tall(&running)),
        Constraint::Length(tall(&waiting)),
        Constraint::Length(queue.as_ref().map_or(0, &tall)),
        Constraint::Length(tall(&failed)),
        Constraint::Length(claims.as_ref().map_or(0, &tall)),
        Constraint::Min(3),
        Constraint::Length(footer.len() as u16),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(header), top);
    running.draw(frame, r);
    waiting.draw(frame, w);
    if let Some(queue) = queue {
        queue.draw(frame, m);
    }
    failed.draw(frame, f);
    if let Some(claims) = claims {
        claims.draw(frame, c);
    }
    ready.draw(frame, q);
    frame.render_widget(Paragraph::new(footer), bottom);
}

fn dim() -> Style {
    Style::new().add_modifier(Modifier::DIM)
}

fn warn() -> Style {
    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

fn alarm() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

/// One line of text from outside forge, as it may be shown.
fn safe(text: &str) -> String {
    Safe::line(text.lines().next().unwrap_or("").trim()).to_string()
}

/// `text` in a column of `width` characters: padded, or cut with `…`.
fn col(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n >= width {
        let cut: String = text.chars().take(width.saturating_sub(2)).collect();
        format!("{cut}… ")
    } else {
        format!("{text}{} ", " ".repeat(width - n - 1))
    }
}

fn elapsed(secs: Option<i64>) -> String {
    match secs {
        None => "?".into(),
        Some(s) if s < 60 => format!("{s}s"),
        Some(s) if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        Some(s) => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

fn tokens(n: Option<u64>) -> String {
    n.map_or("-".into(), thousands)
}

fn cost(usd: Option<f64>) -> String {
    usd.map_or("-".into(), |c| format!("${c:.4}"))
}

fn header(snap: &Snapshot) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(vec![
        Span::styled("forge watch", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!("  {}  {}", safe(&snap.repo), snap.at)),
    ])];
    match &snap.paused {
        Some(p) => {
            let what = if p.breaker {
                "BREAKER TRIPPED: "
            } else {
                "PAUSED: "
            };
            lines.push(Line::from(vec![
                Span::styled(what, alarm()),
                Span::raw(safe(&p.describe)),
            ]));
            lines.push(Line::from(format!(
                "  `forge tick` starts no new work; to undo: {}",
                p.way_out
            )));
        }
        None => {
            let breaker = match snap.breaker_limit {
                0 => "circuit breaker off".to_owned(),
                n => format!(
                    "failed steps in a row: {} of {n} (circuit breaker)",
                    snap.consecutive_failures
                ),
            };
            lines.push(Line::from(format!("tick: not paused; {breaker}")));
        }
    }
    match &snap.spend {
        Some(spend) => lines.extend(spend_lines(spend)),
        None => lines.push(Line::styled("spend today: unknown (see below)", warn())),
    }
    lines
}

fn spend_lines(s: &Spend) -> Vec<Line<'static>> {
    let money = match s.money_limit {
        Some(limit) => format!("${:.2} of ${limit:.2}", s.money),
        None => format!("${:.2}, no limit", s.money),
    };
    let toks = match s.tokens_limit {
        Some(limit) => format!("{} of {} tokens", thousands(s.tokens), thousands(limit)),
        None => format!("{} tokens, no limit", thousands(s.tokens)),
    };
    let unknown = match s.unknown_cost_runs {
        0 => String::new(),
        n => format!(" ({n} of unknown cost, not counted)"),
    };
    let mut lines = vec![Line::from(format!(
        "spend {}: {money}; {toks}; {}{unknown}",
        s.day,
        plural(s.runs as usize, "harness run")
    ))];
    if let Some(reason) = &s.exhausted {
        lines.push(Line::styled(
            format!("BUDGET USED: {reason}; `forge tick` starts no new work today"),
            alarm(),
        ));
    }
    lines
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A titled, bordered list; `selected` is the line of the selected step.
struct Section {
    title: String,
    columns: Option<String>,
    lines: Vec<Line<'static>>,
    empty: &'static str,
    selected: Option<usize>,
}

impl Section {
    fn new(title: String, columns: Option<String>, empty: &'static str) -> Section {
        Section {
            title,
            columns,
            lines: Vec::new(),
            empty,
            selected: None,
        }
    }

    /// Adds a step's line, marked and highlighted when it is the selected one.
    fn step(&mut self, is_selected: bool, spans: Vec<Span<'static>>) {
        let marker = if is_selected { "›" } else { " " };
        let mut all = vec![Span::raw(marker)];
        all.extend(spans);
        let mut line = Line::from(all);
        if is_selected {
            self.selected = Some(self.lines.len());
            line = line.style(Style::new().add_modifier(Modifier::REVERSED));
        }
        self.lines.push(line);
    }

    /// A further line about the step above.
    fn more(&mut self, text: String, style: Style) {
        self.lines.push(Line::from(vec![
            Span::raw(" ".repeat(STEP + 1)),
            Span::styled(text, style),
        ]));
    }

    fn draw(self, frame: &mut Frame, area: Rect) {
        let block = Block::bordered().title(format!(" {} ", self.title));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let mut body = inner;
        if let Some(columns) = self.columns
            && body.height > 0
            && !self.lines.is_empty()
        {
            frame.render_widget(
                Paragraph::new(Line::styled(columns, dim())),
                Rect { height: 1, ..body },
            );
            body.y += 1;
            body.height -= 1;
        }
        if self.lines.is_empty() {
            frame.render_widget(
                Paragraph::new(Line::styled(format!(" {}", self.empty), dim())),
                body,
            );
            return;
        }
        // Scrolled so that the selected line (and the one after it, its details) is seen.
        let height = usize::from(body.height);
        let scroll = match self.selected {
            Some(i) if height > 0 && i + 2 > height => (i + 2 - height).min(i),
            _ => 0,
        };
        frame.render_widget(Paragraph::new(self.lines).scroll((scroll as u16, 0)), body);
    }
}

fn running(snap: &Snapshot, selected: Option<&str>) -> Section {
    let mut s = Section::new(
        format!("running ({})", snap.running.len()),
        Some(format!(
            " {}{}{}{:>8} {:>10} {:>9}  last said or done",
            col("step", STEP),
            col("harness", HARNESS),
            col("phase", 10),
            "elapsed",
            "tokens",
            "cost"
        )),
        "nothing is running",
    );
    for r in &snap.running {
        let mut spans = vec![Span::raw(format!(
            "{}{}{}{:>8} {:>10} {:>9}  ",
            col(&r.step, STEP),
            col(&safe(&r.harness), HARNESS),
            col(r.phase.as_str(), 10),
            elapsed(r.elapsed_secs),
            tokens(r.tokens),
            cost(r.cost_usd),
        ))];
        spans.push(Span::raw(safe(&r.last)));
        if r.owner_gone {
            spans.push(Span::styled(
                "  its process is gone: `forge doctor --fix` reclaims it",
                alarm(),
            ));
        }
        if r.unsandboxed {
            spans.push(Span::styled("  UNSANDBOXED", warn()));
        }
        s.step(selected == Some(r.step.as_str()), spans);
    }
    s
}

fn waiting(snap: &Snapshot, selected: Option<&str>) -> Section {
    let mut s = Section::new(
        format!("waiting for approval ({})", snap.waiting.len()),
        Some(format!(
            " {}{}{}{}{:>10} {:>9}  {:<6} title",
            col("step", STEP),
            col("harness", HARNESS),
            col("risk", 8),
            col("head", 14),
            "tokens",
            "cost",
            "gates"
        )),
        "no step waits for approval",
    );
    for w in &snap.waiting {
        let spans = vec![
            Span::raw(format!(
                "{}{}{}{}{:>10} {:>9}  {:<6} ",
                col(&w.step, STEP),
                col(&safe(&w.harness), HARNESS),
                col(w.risk.map_or("?", |r| r.as_str()), 8),
                col(&w.head, 14),
                tokens(w.tokens),
                cost(w.cost_usd),
                format!("{}/{}", w.gates_passed, w.gates),
            )),
            Span::raw(safe(&w.title)),
        ];
        s.step(selected == Some(w.step.as_str()), spans);
        if let Some(c) = &w.conflicts {
            s.more(format!("conflict ahead: {}", safe(c)), warn());
        }
        for v in &w.violations {
            s.more(
                format!("policy violation (blocks approval): {}", safe(v)),
                alarm(),
            );
        }
        if w.unsandboxed {
            s.more(
                "UNSANDBOXED: its harness ran without forge's sandbox".into(),
                warn(),
            );
        }
    }
    s
}

fn failed(snap: &Snapshot, selected: Option<&str>) -> Section {
    let mut s = Section::new(
        format!("failed, bead still open ({})", snap.failed.len()),
        None,
        "no failed step needs a look",
    );
    for f in &snap.failed {
        let spans = vec![
            Span::raw(format!(
                "{}{}{}",
                col(&f.step, STEP),
                col(&safe(&f.harness), HARNESS),
                col(f.state.as_str(), 12)
            )),
            Span::raw(safe(&f.reason)),
        ];
        s.step(selected == Some(f.step.as_str()), spans);
    }
    s
}

fn queue(snap: &Snapshot) -> Section {
    let mut s = Section::new(
        format!("merge queue ({})", snap.queue.len()),
        Some(format!(
            " {:<3} {}{}{}title",
            "#",
            col("step", STEP),
            col("head", 14),
            col("enqueued", 22)
        )),
        "nothing queued: approvals wait here until their merge passes the gates",
    );
    for (i, e) in snap.queue.iter().enumerate() {
        s.lines.push(Line::from(format!(
            " {:<3} {}{}{}{}",
            i + 1,
            col(&e.step, STEP),
            col(&e.head, 14),
            col(&e.enqueued, 22),
            safe(&e.title)
        )));
    }
    s
}

/// The remote's claims: which machine holds which bead, and how old its lease is.
fn claims(snap: &Snapshot, remote: &str) -> Section {
    use crate::remote::ClaimState;
    let held = snap
        .claims
        .iter()
        .filter(|c| c.state == ClaimState::Held)
        .count();
    let mut s = Section::new(
        format!("claims on {} ({held} held)", safe(remote)),
        Some(format!(
            " {}{}{:<5}{}lease",
            col("bead", 10),
            col("step", STEP),
            "gen",
            col("holder", 34)
        )),
        "no claims: no tick on any machine has claimed a bead yet",
    );
    let lease = i64::try_from(snap.claim_lease).unwrap_or(i64::MAX);
    for c in &snap.claims {
        let holder = format!("{} ({})", c.holder.host, c.holder.clone);
        let (what, style) = match (c.state, c.lease_left, c.outcome) {
            (ClaimState::Held, Some(left), _) if left > 0 => (
                format!(
                    "held, renewed {} ago, {} left",
                    elapsed(Some((lease - left).max(0))),
                    elapsed(Some(left))
                ),
                Style::new(),
            ),
            (ClaimState::Held, left, _) => (
                format!(
                    "expired {} ago: may be taken over",
                    elapsed(left.map(|l| -l))
                ),
                warn(),
            ),
            (_, _, Some(outcome)) => (format!("released, {outcome}"), dim()),
            _ => ("released".to_owned(), dim()),
        };
        s.lines.push(Line::from(vec![
            Span::raw(format!(
                " {}{}{:<5}{}",
                col(&c.bead, 10),
                col(&c.step, STEP),
                c.generation,
                col(&safe(&holder), 34)
            )),
            Span::styled(what, style),
        ]));
    }
    s
}

fn ready(snap: &Snapshot) -> Section {
    let blocked = if snap.blocked > 0 {
        format!("; {} blocked", snap.blocked)
    } else {
        String::new()
    };
    let mut s = Section::new(
        format!("ready ({}{blocked})", snap.ready_total),
        None,
        "no bead is ready",
    );
    for b in &snap.ready {
        s.lines.push(Line::from(format!(
            " {}P{}  {}{}",
            col(&b.id, 11),
            b.priority,
            col(b.kind, 8),
            safe(&b.title)
        )));
    }
    if snap.ready_total > snap.ready.len() {
        s.lines.push(Line::styled(
            format!(
                " … and {} more (`forge ready`)",
                snap.ready_total - snap.ready.len()
            ),
            dim(),
        ));
    }
    s
}

fn footer(snap: &Snapshot, state: &ViewState) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = snap
        .problems
        .iter()
        .map(|p| Line::styled(format!("cannot read: {}", safe(p)), alarm()))
        .collect();
    let selected = state.selected.as_deref();
    let title = selected.and_then(|step| {
        let running = snap.running.iter().find(|r| r.step == step);
        let waiting = snap.waiting.iter().find(|w| w.step == step);
        let failed = snap.failed.iter().find(|f| f.step == step);
        running
            .map(|r| &r.title)
            .or(waiting.map(|w| &w.title))
            .or(failed.map(|f| &f.title))
    });
    if let (Some(step), Some(title)) = (selected, title) {
        lines.push(Line::from(format!("{step}: {}", safe(title))));
    }
    let approve = if selected.is_some_and(|s| snap.is_waiting(s)) {
        Style::new()
    } else {
        dim()
    };
    let mut keys = vec![
        Span::raw("↑↓ select  l log  "),
        Span::styled("a approve", approve),
        Span::raw("  q quit"),
    ];
    if !state.message.is_empty() {
        keys.push(Span::styled(format!("   {}", safe(&state.message)), warn()));
    }
    lines.push(Line::from(keys));
    lines
}

#[cfg(test)]
mod tests;
