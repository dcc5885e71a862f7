//! `run` against the fake processes in `fixtures/procs/`. Each fixture appends "PID
//! STARTTIME" for every process it starts to `$PIDS_FILE`, so a test can check afterwards
//! that none of them is alive (a zombie counts as dead: it holds no resources but a pid, and
//! the machine may lack an init that reaps). Every run gets its own `FORGE_RUN` value,
//! because tests run in parallel in one process and must never kill each other's processes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::*;
use crate::harness::adapter::Stream::{Stderr, Stdout};

mod stopping;

/// What forge may take beyond the bound it promises (scans, reaping, the final drain), on a
/// loaded two-core machine running other tests at the same time.
const MARGIN: Duration = Duration::from_millis(1500);

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/procs")
        .join(name)
        .display()
        .to_string()
}

struct Case {
    dir: tempfile::TempDir,
    spawn: Spawn,
}

fn case(name: &str, args: &[&str]) -> Case {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    std::fs::write(&pids, "").unwrap();
    let step = format!(
        "test-{}-{}-{name}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    );
    let spawn = Spawn {
        program: fixture(name),
        args: args.iter().map(|a| a.to_string()).collect(),
        cwd: dir.path().to_path_buf(),
        env: vec![
            ("PATH".into(), "/usr/bin:/bin".into()),
            ("PIDS_FILE".into(), pids.display().to_string()),
            ("FORGE_RUN".into(), step),
        ],
        stdin: None,
        conversation: None,
        log: dir.path().join("logs/harness.log"),
        timeout: Duration::from_secs(10),
        idle_timeout: None,
        grace: Duration::from_millis(500),
        sandbox: None,
        stop: None,
    };
    Case { dir, spawn }
}

impl Case {
    fn pids_file(&self) -> PathBuf {
        self.dir.path().join("pids")
    }

    /// (pid, start time) of every process the fixture recorded.
    fn recorded(&self) -> Vec<(i32, u64)> {
        std::fs::read_to_string(self.pids_file())
            .unwrap()
            .lines()
            .map(|l| {
                let (pid, start) = l.split_once(' ').unwrap();
                (pid.parse().unwrap(), start.parse().unwrap())
            })
            .collect()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.spawn.log).unwrap()
    }

    fn without_marker(mut self) -> Self {
        self.spawn.env.retain(|(k, _)| k != "FORGE_RUN");
        self
    }
}

struct Ran {
    fin: Finished,
    lines: Vec<(Stream, String)>,
    elapsed: Duration,
}

fn go(c: &Case) -> Ran {
    let t = Instant::now();
    let mut lines = Vec::new();
    let fin = run(&c.spawn, &mut |s, l| lines.push((s, l.to_owned()))).unwrap();
    Ran {
        fin,
        lines,
        elapsed: t.elapsed(),
    }
}

impl Ran {
    fn stdout(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|(s, _)| *s == Stdout)
            .map(|(_, l)| l.as_str())
            .collect()
    }
}

/// Recorded processes that are still alive: same pid, same start time, not a zombie.
fn survivors(c: &Case) -> Vec<i32> {
    c.recorded()
        .into_iter()
        .filter(|&(pid, start)| tree::read_stat(pid).is_some_and(|p| p.start == start && p.alive()))
        .map(|(pid, _)| pid)
        .collect()
}

fn assert_no_survivors(c: &Case) {
    let alive = survivors(c);
    assert!(
        alive.is_empty(),
        "still alive: {alive:?} of {:?}",
        c.recorded()
    );
}

fn assert_within(ran: &Ran, bound: Duration) {
    assert!(
        ran.elapsed <= bound,
        "took {:?}, more than {bound:?}",
        ran.elapsed
    );
}

#[test]
fn lines_of_both_streams_reach_the_callback_and_the_log_in_order() {
    let c = case("lines.sh", &[]);
    let ran = go(&c);
    let expected = [
        (Stdout, "out 1"),
        (Stderr, "err 1"),
        (Stdout, "bad \u{fffd} bytes"),
        (Stderr, "crlf line"),
        (Stdout, "out 2"),
    ];
    let got: Vec<(Stream, &str)> = ran.lines.iter().map(|(s, l)| (*s, l.as_str())).collect();
    assert_eq!(got, expected);
    assert_eq!(
        c.log(),
        "out 1\nerr 1\nbad \u{fffd} bytes\ncrlf line\nout 2\n"
    );
    assert_eq!(ran.fin.exit_code, Some(0));
    assert_eq!(ran.fin.signal, None);
    assert_eq!(ran.fin.ended_by, EndedBy::Exited);
    assert!(ran.fin.escaped_killed.is_empty());
    assert!(ran.fin.duration_ms >= 200, "{}", ran.fin.duration_ms);
    assert_no_survivors(&c);
    // The log is appended to, never truncated.
    go(&c);
    assert_eq!(c.log().lines().count(), 10);
}

#[test]
fn exit_codes_and_signals_are_reported() {
    let mut c = case("lines.sh", &[]);
    c.spawn.env.push(("EXIT_CODE".into(), "3".into()));
    let ran = go(&c);
    assert_eq!((ran.fin.exit_code, ran.fin.signal), (Some(3), None));

    let mut c = case("lines.sh", &[]);
    c.spawn.program = "/bin/bash".into();
    c.spawn.args = vec!["-c".into(), "echo bye; kill -KILL $$".into()];
    let ran = go(&c);
    assert_eq!((ran.fin.exit_code, ran.fin.signal), (None, Some(9)));
    assert_eq!(ran.fin.ended_by, EndedBy::Exited);
    assert_eq!(ran.stdout(), ["bye"]);
}

#[test]
fn a_slow_consumer_still_gets_every_line() {
    let c = case("lines.sh", &[]);
    let mut lines = Vec::new();
    let fin = run(&c.spawn, &mut |_, l| {
        std::thread::sleep(Duration::from_millis(300));
        lines.push(l.to_owned());
    })
    .unwrap();
    assert_eq!(fin.exit_code, Some(0));
    assert_eq!(lines.len(), 5, "{lines:?}");
}

#[test]
fn a_panicking_callback_stops_the_harness_and_the_panic_reaches_the_caller() {
    let c = case("hang.sh", &[]);
    let t = Instant::now();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(&c.spawn, &mut |_, l| panic!("parser choked on {l}"))
    }));
    let payload = caught.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("parser choked on started")
    );
    assert!(t.elapsed() < c.spawn.grace + MARGIN);
    assert_eq!(c.recorded().len(), 2);
    assert_no_survivors(&c);
}

#[test]
fn a_last_line_without_newline_is_delivered() {
    let c = case("no_newline.sh", &[]);
    let ran = go(&c);
    assert_eq!(ran.stdout(), ["first", "last without newline"]);
    assert_eq!(c.log(), "first\nlast without newline\n");
}

#[test]
fn the_child_gets_exactly_its_environment_its_cwd_and_dev_null() {
    let c = case("env_cwd.sh", &[]);
    let ran = go(&c);
    let out = ran.stdout();
    let cwd = c.dir.path().canonicalize().unwrap();
    assert_eq!(out[0], format!("cwd={}", cwd.display()));
    assert_eq!(out[1], "stdin=/dev/null");
    let mut env: Vec<String> = out[2..].iter().map(|l| l["env:".len()..].into()).collect();
    let mut want: Vec<String> = c
        .spawn
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    env.sort();
    want.sort();
    assert_eq!(env, want);
}

#[test]
fn stdin_bytes_are_written_and_closed() {
    let mut c = case("cat_stdin.sh", &[]);
    c.spawn.stdin = Some(b"alpha\nbeta\ngamma".to_vec());
    let ran = go(&c);
    assert_eq!(ran.stdout(), ["in:alpha", "in:beta", "in:gamma", "eof"]);
    assert_eq!(ran.fin.exit_code, Some(0));
}

#[test]
fn a_child_that_never_reads_stdin_cannot_block_forge() {
    // Far more than a pipe holds: a writer on forge's own thread would block for ever.
    let mut c = case("ignore_stdin.sh", &[]);
    c.spawn.stdin = Some(vec![b'x'; 16 << 20]);
    let ran = go(&c);
    assert_eq!(ran.fin.ended_by, EndedBy::Exited);
    assert_eq!(ran.fin.exit_code, Some(0));
    assert_within(&ran, Duration::from_millis(200) + MARGIN);
}

/// Peak resident memory of this test process, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[test]
fn hundreds_of_megabytes_of_output_stream_through_in_bounded_memory() {
    // Peak memory is per process, and other tests share this one: the run happens in a
    // fresh copy of the test binary that runs only this test, in "inner" mode.
    const INNER: &str = "FORGE_TEST_HUGE_OUTPUT_INNER";
    #[allow(clippy::disallowed_methods)] // a test: is this the re-run copy of the binary?
    let inner = std::env::var_os(INNER).is_some();
    if inner {
        huge_output_inner();
        return;
    }
    let name =
        "harness::process::tests::hundreds_of_megabytes_of_output_stream_through_in_bounded_memory";
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(INNER, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let peak_mib: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak RSS MiB: "))
        .unwrap_or_else(|| panic!("no peak in {stderr}"))
        .parse()
        .unwrap();
    // Buffering the output would need well over 200 MB (with an unbounded channel the
    // peak was 315 MiB); streaming it stays around 10 MiB.
    assert!(peak_mib < 64, "peak RSS {peak_mib} MiB");
}

// Reports its peak RSS on stderr: that is how the outer run above reads it.
#[allow(clippy::print_stderr)]
fn huge_output_inner() {
    const LINES: usize = 2_000_000; // 100 bytes each: 200 MB
    const LONG: usize = 3_000_000; // one line of 3 MB, delivered in three pieces
    let lines = LINES.to_string();
    let long = LONG.to_string();
    let mut c = case("huge.sh", &[&lines, &long]);
    c.spawn.timeout = Duration::from_secs(120);
    let (mut count, mut bytes, mut longest, mut pieces) = (0usize, 0usize, 0usize, Vec::new());
    let fin = run(&c.spawn, &mut |s, l| {
        assert_eq!(s, Stdout);
        count += 1;
        bytes += l.len() + 1;
        longest = longest.max(l.len());
        if l.starts_with('y') {
            pieces.push(l.len());
        }
    })
    .unwrap();
    assert_eq!(fin.ended_by, EndedBy::Exited);
    assert_eq!(fin.exit_code, Some(0));
    assert_eq!(count, LINES + 3 + 1);
    assert_eq!(longest, MAX_LINE_BYTES);
    assert_eq!(
        pieces,
        [MAX_LINE_BYTES, MAX_LINE_BYTES, LONG - 2 * MAX_LINE_BYTES]
    );
    let log_len = std::fs::metadata(&c.spawn.log).unwrap().len() as usize;
    assert_eq!(log_len, LINES * 100 + LONG + 3 + "end\n".len());
    assert_eq!(bytes, log_len);
    assert_no_survivors(&c);
    eprintln!("peak RSS MiB: {}", peak_rss() >> 20);
}

#[test]
fn a_log_inside_dot_forge_is_refused_and_a_missing_program_is_an_error() {
    let mut c = case("lines.sh", &[]);
    c.spawn.log = c.dir.path().join(".forge/runs/x.log");
    let err = run(&c.spawn, &mut |_, _| {}).unwrap_err();
    assert_eq!(err.code(), "refused");
    assert!(!c.dir.path().join(".forge").exists());
    assert!(c.recorded().is_empty(), "the harness must not have started");

    let mut c = case("lines.sh", &[]);
    c.spawn.program = c.dir.path().join("no-such-harness").display().to_string();
    let err = run(&c.spawn, &mut |_, _| {}).unwrap_err();
    assert_eq!(err.code(), "io");
}

#[test]
fn a_log_write_failure_is_reported_after_a_complete_run() {
    let mut c = case("lines.sh", &[]);
    c.spawn.log = "/dev/full".into();
    let mut lines = 0;
    let err = run(&c.spawn, &mut |_, _| lines += 1).unwrap_err();
    assert_eq!(err.code(), "io");
    assert!(err.to_string().contains("/dev/full"), "{err}");
    assert_eq!(lines, 5);
    assert_no_survivors(&c);
}
