//! Feeding captured output samples to a preset's parser.

use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::harness::adapter::{Adapter, Event, RunSummary, Stream};

pub fn dir(preset: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/harness-output")
        .join(preset)
}

fn read_lines(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8_lossy(&bytes)
        .split('\n')
        .map(str::to_owned)
        .collect()
}

/// The time the samples are read at: reset times in them come out relative to it.
pub const NOW: i64 = 1_795_225_000;

/// A clock pinned at [`NOW`].
pub fn clock() -> Clock {
    Clock::Fixed(NOW)
}

/// Feeds `<name>.jsonl` or `<name>.txt` as stdout and `<name>.stderr` as stderr (either may
/// be missing), then `finish`. Returns the events and the summary they add up to.
pub fn run(adapter: &dyn Adapter, name: &str) -> (Vec<Event>, RunSummary) {
    run_in(adapter, name, None)
}

/// `run`, with the parser told that `home` was the harness's HOME.
pub fn run_in(adapter: &dyn Adapter, name: &str, home: Option<&Path>) -> (Vec<Event>, RunSummary) {
    let dir = dir(adapter.name());
    let mut parser = adapter.parser(&clock());
    if let Some(home) = home {
        parser.home(home);
    }
    let mut events = Vec::new();
    let mut found = false;
    for (file, stream) in [
        (format!("{name}.jsonl"), Stream::Stdout),
        (format!("{name}.txt"), Stream::Stdout),
        (format!("{name}.stderr"), Stream::Stderr),
    ] {
        let path = dir.join(file);
        if path.exists() {
            found = true;
            let lines = read_lines(&path);
            let n = lines.len();
            for (i, line) in lines.iter().enumerate() {
                // A file's last line has no newline after it: it is fed only if not empty.
                if i + 1 == n && line.is_empty() {
                    continue;
                }
                events.extend(parser.line(stream, line));
            }
        }
    }
    assert!(found, "no fixture {name} in {}", dir.display());
    events.extend(parser.finish());
    let mut summary = RunSummary::default();
    for e in &events {
        summary.apply(e);
    }
    (events, summary)
}

/// Every sample of the preset, fed whole and cut at many points inside each line: no
/// panic, whatever arrives.
pub fn survives_every_prefix(adapter: &dyn Adapter) {
    let dir = dir(adapter.name());
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    assert!(!entries.is_empty());
    for path in entries {
        let lines = read_lines(&path);
        for stream in [Stream::Stdout, Stream::Stderr] {
            let mut parser = adapter.parser(&clock());
            for line in &lines {
                let cuts: Vec<usize> = line
                    .char_indices()
                    .map(|(i, _)| i)
                    .step_by(7)
                    .chain([line.len()])
                    .collect();
                for cut in cuts {
                    parser.line(stream, &line[..cut]);
                }
            }
            parser.finish();
        }
    }
    let mut parser = adapter.parser(&clock());
    for junk in [
        "",
        "{",
        "}",
        "{}",
        "[]",
        "null",
        "{\"type\":null}",
        "{\"type\":42,\"kind\":[]}",
        "{\"type\":\"result\",\"usage\":\"lots\",\"total_cost_usd\":\"NaN\"}",
        "{\"type\":\"step_finish\",\"part\":{\"tokens\":{\"input\":-1,\"output\":1e400}}}",
        "\u{1b}[31mred\u{1b}[0m",
        "Tokens: lots sent, many received. Cost: $$ message, $x session.",
        "\u{0}\u{fffd}",
    ] {
        parser.line(Stream::Stdout, junk);
        parser.line(Stream::Stderr, junk);
    }
    parser.finish();
}
