//! CPU time of one `forge watch` frame (gathering the snapshot and rendering it) on a large
//! repository: 10,000 beads and 100 steps (20 running, each with a harness log being
//! appended to, 30 waiting for approval, 30 failed, 20 merged).
//!
//! ```sh
//! cargo run --release --example watch_bench            # 200 frames
//! cargo run --release --example watch_bench -- 500     # more frames
//! ```
//!
//! Between frames, every running step's log grows by a few stream-json lines (a tool call,
//! a message, usage), so each frame reads and parses new output as `forge watch` does. The
//! figures: the first frame (cold: bead cache built, conflicts predicted, ledger read), then
//! the steady frames, where predicted conflicts and the spend are cached
//! (`watch::model::SLOW_EVERY`): process CPU time per frame (user + system, from
//! `/proc/self/stat`, over all frames: its tick is 10 ms, so only the mean is exact) and
//! wall time per frame (median, p95, max). Figures only; nothing is asserted. The target is
//! under 50 ms of CPU per frame.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use forge::bead::repo::BeadRepo;
use forge::bead::{Bead, Dep, DepKind, Kind, Risk, Status};
use forge::clock::Clock;
use forge::config::Config;
use forge::redact::Redactor;
use forge::step::checkpoint::{Checkpoint, State};
use forge::watch::model::Watcher;
use forge::watch::view::{self, ViewState};
use forge::workspace::{Environment, open_repo};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const BEADS: usize = 10_000;
const STEPS: usize = 100;
const RUNNING: usize = 20;
const WAITING: usize = 30;
const FAILED: usize = 30;
const NOW: &str = "2026-11-21T09:00:00Z";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {:?}", out);
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// CPU time (user + system) of this process so far, from `/proc/self/stat` (clock ticks of
/// 10 ms).
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = rest
        .split(' ')
        .skip(11)
        .take(2)
        .map(|x| x.parse().unwrap())
        .collect();
    Duration::from_millis((f[0] + f[1]) * 10)
}

fn id(i: usize) -> String {
    // Base-36, 5 characters: distinct for every i below 36^5.
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = i + 36usize.pow(4);
    let mut s = Vec::new();
    while n > 0 {
        s.push(digits[n % 36]);
        n /= 36;
    }
    s.reverse();
    format!("fg-{}", String::from_utf8(s).unwrap())
}

fn log_lines(step: &str, n: usize) -> String {
    format!(
        concat!(
            r#"{{"type":"assistant","message":{{"content":[{{"type":"tool_use","id":"t{n}","name":"Edit","input":{{"file_path":"src/{step}/file{n}.rs"}}}}],"usage":{{"input_tokens":{n}00,"output_tokens":{n}0}}}}}}"#,
            "\n",
            r#"{{"type":"assistant","message":{{"content":[{{"type":"text","text":"Step {step}: edited file {n}, now running the tests."}}]}}}}"#,
            "\n"
        ),
        step = step,
        n = n
    )
}

fn main() {
    let frames: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("a number of frames"))
        .unwrap_or(200);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    git(&root, &["init", "-q", "-b", "main"]);
    std::fs::write(root.join("README"), "hello\n").unwrap();
    git(&root, &["add", "README"]);
    git(&root, &["commit", "-q", "-m", "initial"]);
    let env = Environment {
        now: forge::clock::parse_rfc3339(NOW),
        ..Environment::default()
    };
    forge::init::init(&root, &env, Path::new("forge")).unwrap();
    let base = git(&root, &["rev-parse", "HEAD"]);
    let (_, layout) = open_repo(&root).unwrap();

    let started = Instant::now();
    let redactor = Redactor::default();
    for i in 0..BEADS {
        let deps = if i % 3 == 0 && i > 0 {
            vec![Dep {
                id: id(i - 1 - (i * 7) % i.min(50)),
                kind: DepKind::Blocks,
                extra: Default::default(),
            }]
        } else {
            Vec::new()
        };
        let bead = Bead {
            schema: 1,
            id: id(i),
            title: format!("Bead number {i}: do a small, well-defined piece of work"),
            kind: Kind::Task,
            status: if i % 10 < 6 {
                Status::Open
            } else {
                Status::Closed
            },
            reason: String::new(),
            priority: (i % 5) as u8,
            value: (i % 100) as u8,
            risk: Risk::Low,
            labels: vec!["bench".into()],
            author: "Bench".into(),
            created: NOW.into(),
            updated: NOW.into(),
            closed: None,
            description: "A description of the work, a few lines long.\n\nWith a second paragraph."
                .into(),
            acceptance: vec!["it works".into()],
            deps,
            extra: Default::default(),
        };
        std::fs::write(layout.bead(&bead.id), BeadRepo::text(&bead, &redactor)).unwrap();
    }
    for s in 0..STEPS {
        let bead = id(s * 97 % BEADS);
        let step = format!("{bead}.1");
        let state = match s {
            s if s < RUNNING => State::Running,
            s if s < RUNNING + WAITING => State::AwaitingApproval,
            s if s < RUNNING + WAITING + FAILED => State::Failed,
            _ => State::Merged,
        };
        let cp = Checkpoint {
            schema: 1,
            step: step.clone(),
            bead,
            attempt: 1,
            state,
            reason: if state == State::Failed {
                "the harness exited with status 1".into()
            } else {
                String::new()
            },
            harness: "claude".into(),
            preset: "claude".into(),
            model: String::new(),
            base_ref: "refs/heads/main".into(),
            base_commit: base.clone(),
            branch: format!("forge/{step}"),
            head: if state == State::Running {
                String::new()
            } else {
                base.clone()
            },
            worktree: format!("worktrees/{step}"),
            session_id: String::new(),
            owner_pid: std::process::id(),
            started: NOW.into(),
            updated: NOW.into(),
            finished: String::new(),
            duration_ms: 0,
            tokens: Default::default(),
            cost_usd: None,
            risk: Some(Risk::Low),
            final_message: String::new(),
            gates: Vec::new(),
            approved_by: String::new(),
            approved_how: None,
            merge_commit: String::new(),
            revert_commit: String::new(),
            sandbox: String::new(),
            violations: Vec::new(),
            seal: String::new(),
            conflicts: Vec::new(),
            extra: Default::default(),
        };
        cp.save(&layout, &redactor).unwrap();
        if state == State::Running {
            let log = forge::step::log_path(&layout, &step);
            std::fs::create_dir_all(log.parent().unwrap()).unwrap();
            let text: String = (0..200).map(|n| log_lines(&step, n)).collect();
            std::fs::write(&log, text).unwrap();
        }
    }
    eprintln!(
        "generated {BEADS} beads and {STEPS} steps in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    // The bead cache trusts no file changed within 2 s of its own write (src/bead/cache.rs).
    std::thread::sleep(Duration::from_millis(2500));

    let config = Config::load(&layout.config()).unwrap();
    let now = forge::clock::parse_rfc3339(NOW).unwrap();
    let mut watcher =
        Watcher::from_parts(layout.clone(), config, redactor, Clock::Fixed(now)).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(160, 50)).unwrap();
    let state = ViewState::default();
    let logs: Vec<_> = (0..RUNNING)
        .map(|s| {
            let step = format!("{}.1", id(s * 97 % BEADS));
            (step.clone(), forge::step::log_path(&layout, &step))
        })
        .collect();

    let frame = |watcher: &mut Watcher, terminal: &mut Terminal<TestBackend>| {
        let snap = watcher.refresh();
        terminal.draw(|f| view::render(f, &snap, &state)).unwrap();
        snap
    };
    let (cpu0, wall0) = (cpu(), Instant::now());
    let snap = frame(&mut watcher, &mut terminal);
    let first_wall = wall0.elapsed();
    let first_cpu = cpu() - cpu0;
    assert!(snap.problems.is_empty(), "{:?}", snap.problems);
    eprintln!(
        "snapshot: {} running, {} waiting, {} failed, {} ready, {} blocked",
        snap.running.len(),
        snap.waiting.len(),
        snap.failed.len(),
        snap.ready_total,
        snap.blocked
    );
    // A second frame: the bead cache is warm from here on.
    frame(&mut watcher, &mut terminal);

    let mut walls = Vec::with_capacity(frames);
    let cpu_start = cpu();
    for appended in 200..200 + frames {
        // Every running step's harness says something new between frames.
        for (step, log) in &logs {
            let mut f = std::fs::OpenOptions::new().append(true).open(log).unwrap();
            f.write_all(log_lines(step, appended).as_bytes()).unwrap();
        }
        let t = Instant::now();
        frame(&mut watcher, &mut terminal);
        walls.push(t.elapsed());
    }
    let steady_cpu = cpu() - cpu_start;
    walls.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = |p: f64| walls[((walls.len() as f64 * p) as usize).min(walls.len() - 1)];
    println!("forge watch frame (refresh + render), {BEADS} beads, {STEPS} steps:");
    println!(
        "  first frame (cold):  {:.1} ms wall, {:.0} ms CPU",
        ms(first_wall),
        ms(first_cpu)
    );
    println!(
        "  steady, {frames} frames: CPU {:.2} ms/frame (mean; log writes included); wall median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        ms(steady_cpu) / frames as f64,
        ms(pct(0.5)),
        ms(pct(0.95)),
        ms(*walls.last().unwrap())
    );
    println!("  target: under 50 ms of CPU per frame");
}
