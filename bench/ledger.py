#!/usr/bin/env python3
"""Benchmark forge's ledger commands on a large generated ledger.

Builds forge in release mode and generates a temporary git repository whose ledger holds
100,000 events in 1,000 run files (written exactly as forge writes them: key order, compact
JSON, SHA-256 hash chain; checked by running `forge ledger verify` on them first), committed
on main in 20 commits. A branch `feature` then adds 1,000 events in 10 run files over 5
commits, like a pull request. Timed, each as one child process, median of several runs:

    forge ledger verify                          the working tree: 101,000 events, 1,010 files
    forge ledger verify --range main..feature    the pull request's 5 commits (plus the tree)
    forge ledger verify --range ROOT..feature    every commit of the history (plus the tree)
    forge ledger render --range main..feature    Markdown review of 1,000 events
    forge --json ledger render ...               the same as JSON
    forge cost --by bead                         every harness run in the working tree

Targets (issue 5): verify of 100,000 events in 1,000 files <= 1 s; render of a range with
1,000 events <= 200 ms. Standard library only (Python 3.11+).

    python3 bench/ledger.py                      # build, generate, time (5 runs each)
    python3 bench/ledger.py --runs 10 --bin target/release/forge --keep
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
START = dt.datetime(2026, 10, 1, 8, 0, 0, tzinfo=dt.timezone.utc)
ACTORS = ["Ada Tester <ada@example.com>", "Bob Reviewer <bob@example.com>",
          "forge tick <forge@localhost>"]
HARNESSES = [("claude", "claude-sonnet-4-5"), ("codex", "gpt-5-codex"), ("gemini", None)]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def compact(value) -> str:
    # serde_json without preserve_order: object keys sorted, no spaces, UTF-8 as is.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def rfc3339(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class RunFile:
    """One run's ledger file, encoded and hash-chained exactly as src/ledger/line.rs does."""

    def __init__(self, ledger: Path, run: str, actor: str, t: dt.datetime) -> None:
        self.path = ledger / f"{run[0:4]}-{run[4:6]}" / f"{run}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.run, self.actor, self.t = run, actor, t
        self.seq, self.prev = 0, ""
        self.lines: list[str] = []

    def ev(self, kind: str, data: dict, secs: int = 7) -> None:
        prefix = ("{" + f'"ts":{compact(rfc3339(self.t))},"run":{compact(self.run)},'
                  f'"seq":{self.seq},"actor":{compact(self.actor)},"kind":{compact(kind)},'
                  f'"data":{compact(data)},"prev":{compact(self.prev)}')
        digest = hashlib.sha256(prefix.encode()).hexdigest()
        self.lines.append(f'{prefix},"hash":"{digest}"}}\n')
        self.seq += 1
        self.prev = digest
        self.t += dt.timedelta(seconds=secs)

    def flush(self) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.writelines(self.lines)
        self.lines.clear()


def run_id(t: dt.datetime, rng: random.Random) -> str:
    tail = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
    return t.strftime("%Y%m%dT%H%M%S") + f".{rng.randrange(10**6):06d}Z-{tail}"


def fill(f: RunFile, n: int, rng: random.Random, beads: list[str]) -> None:
    """n events of realistic shapes: beads, steps, harness runs, gates, approvals."""
    while f.seq < n:
        bead = rng.choice(beads)
        step = f"{bead}.{rng.randint(1, 4)}"
        harness, model = rng.choice(HARNESSES)
        s = {"step": step, "bead": bead}
        cost = round(rng.uniform(0.05, 2.5), 4) if harness == "claude" else None
        tokens = {"input": rng.randint(1000, 90000), "output": rng.randint(200, 9000),
                  "cache_read": rng.randint(0, 200000), "cache_write": rng.randint(0, 9000),
                  "reported": model is not None}
        story = [
            ("step.claimed", {**s, "state": "claimed", "attempt": 1, "harness": harness,
                              "preset": harness}),
            ("step.worktree", {**s, "state": "preparing", "branch": f"forge/{bead}/1",
                               "base_ref": "refs/heads/main", "base_commit": "0" * 40}),
            ("harness.started", {**s, "state": "running", "harness": harness,
                                 "preset": harness, "program": harness}),
            ("harness.finished", {**s, "state": "checking",
                                  "verdict": {"outcome": "succeeded"}, "exit_code": 0,
                                  "signal": None, "ended_by": "exited",
                                  "duration_ms": rng.randint(20000, 900000),
                                  "session_id": f"sess-{rng.randrange(10**9)}", "model": model,
                                  "tokens": tokens, "cost_usd": cost,
                                  "tool_calls": rng.randint(0, 60),
                                  "permission_denials": [], "escaped_killed": 0}),
            ("step.committed", {**s, "head": "%040x" % rng.getrandbits(160), "files": 4}),
            ("gate.result", {**s, "gate": "tests", "ok": True, "detail": "",
                             "duration_ms": 5120}),
            ("gate.result", {**s, "gate": "secrets", "ok": True, "detail": "",
                             "duration_ms": 12}),
            ("step.awaiting_approval", {**s, "state": "awaiting-approval", "risk": "low",
                                        "head": "%040x" % rng.getrandbits(160), "files": 4}),
            ("step.approved", {**s, "head": "%040x" % rng.getrandbits(160),
                               "approved_by": f.actor, "how": rng.choice(["prompt", "flag"])}),
            ("step.merged", {**s, "state": "merged", "head": "%040x" % rng.getrandbits(160),
                             "merge_commit": "%040x" % rng.getrandbits(160),
                             "base_ref": "refs/heads/main"}),
            ("bead.closed", {"bead": bead, "from": "open", "reason": f"merged ({step})"}),
        ]
        for kind, data in story:
            if f.seq >= n:
                break
            f.ev(kind, data)


def clean_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "GIT_AUTHOR_DATE": "2026-11-21T09:00:00Z",
        "GIT_COMMITTER_DATE": "2026-11-21T09:00:00Z",
    }


def git(repo: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def commit(repo: Path, env: dict[str, str], message: str) -> None:
    git(repo, env, "add", "-A", ".")
    git(repo, env, "commit", "-q", "-m", message)


def make_repo(base: Path, env: dict[str, str], files: int, per_file: int,
              pr_files: int, seed: int) -> Path:
    rng = random.Random(seed)
    repo = base / "repo"
    repo.mkdir()
    git(repo, env, "init", "-q", "-b", "main")
    (repo / ".forge/ledger").mkdir(parents=True)
    (repo / ".forge/config.toml").write_text(
        'schema = 1\n\n[prices."gpt-5"]\ninput = 1.25\noutput = 10.0\ncache = 0.125\n')
    commit(repo, env, "forge")
    ledger = repo / ".forge/ledger"
    beads = [f"fg-{rng.randrange(36**4):04x}" for _ in range(300)]
    t = START
    commits = 20
    for c in range(commits):
        for _ in range(files // commits):
            f = RunFile(ledger, run_id(t, rng), rng.choice(ACTORS), t)
            fill(f, per_file, rng, beads)
            f.flush()
            t += dt.timedelta(hours=1)
        commit(repo, env, f"ledger {c + 1}/{commits}")
    git(repo, env, "checkout", "-q", "-b", "feature")
    # The pull request: new runs, written across several commits as they happen.
    prs = [RunFile(ledger, run_id(t + dt.timedelta(minutes=i), rng), ACTORS[0],
                   t + dt.timedelta(minutes=i)) for i in range(pr_files)]
    chunks = 5
    for c in range(chunks):
        for f in prs:
            fill(f, per_file * (c + 1) // chunks, rng, beads[:20])
            f.flush()
        commit(repo, env, f"pull request {c + 1}/{chunks}")
    return repo


def build(root: Path) -> Path:
    log("building forge (cargo build --release) ...")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    return target / "release" / "forge"


def timed(cmd: list[str], repo: Path, env: dict[str, str], runs: int,
          ok_codes=(0,)) -> tuple[list[float], str]:
    times, out = [], ""
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if p.returncode not in ok_codes:
            sys.exit(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        out = p.stdout
    return times, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", help="forge binary (default: build target/release/forge)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--events-per-file", type=int, default=100)
    ap.add_argument("--pr-files", type=int, default=10,
                    help="run files the pull request adds, EVENTS-PER-FILE each (default 10)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the generated repository")
    args = ap.parse_args()

    forge = str(Path(args.bin).resolve()) if args.bin else str(build(REPO_ROOT))
    base = Path(tempfile.mkdtemp(prefix="forge-bench-ledger-"))
    home = base / "home"
    home.mkdir()
    env = clean_env(home)
    try:
        log(f"generating {args.files * args.events_per_file:,} events in {args.files:,} files "
            f"(+ {args.pr_files * args.events_per_file:,} on a branch) ...")
        t0 = time.perf_counter()
        repo = make_repo(base, env, args.files, args.events_per_file, args.pr_files, args.seed)
        log(f"  done in {time.perf_counter() - t0:.1f}s: {repo}")
        total = (args.files + args.pr_files) * args.events_per_file
        files = args.files + args.pr_files

        # The generator must write exactly what forge writes, or the figures mean nothing.
        _, out = timed([forge, "--json", "ledger", "verify", "--no-quarantine"], repo, env, 1)
        report = json.loads(out)
        if report["events"] != total or report["files"] != files or report["problems"]:
            sys.exit(f"generated ledger does not verify as expected: {out[:2000]}")
        _, out = timed([forge, "--json", "ledger", "render", "--range", "main..feature"],
                       repo, env, 1)
        pr_events = json.loads(out)["events"]
        if pr_events != args.pr_files * args.events_per_file:
            sys.exit(f"render saw {pr_events} events in the pull request")
        root = git(repo, env, "rev-list", "--max-parents=0", "HEAD")

        cases = [
            (f"ledger verify ({total:,} events, {files:,} files)",
             ["ledger", "verify", "--no-quarantine"], 1.0),
            ("ledger verify --range main..feature (5 commits)",
             ["ledger", "verify", "--no-quarantine", "--range", "main..feature"], None),
            ("ledger verify --range ROOT..feature (26 commits)",
             ["ledger", "verify", "--no-quarantine", "--range", f"{root}..feature"], None),
            (f"ledger render main..feature ({pr_events:,} events)",
             ["ledger", "render", "--range", "main..feature"], 0.2),
            (f"--json ledger render main..feature ({pr_events:,} events)",
             ["--json", "ledger", "render", "--range", "main..feature"], 0.2),
            (f"cost --by bead ({total:,} events)", ["cost", "--by", "bead"], None),
        ]
        print(f"forge ledger benchmark: {args.runs} runs each, "
              f"{os.cpu_count()} CPUs, {forge}")
        print(f"{'command':<52} {'median':>9} {'min':>9}  target")
        missed = 0
        for name, cmd, target in cases:
            times, _ = timed([forge, *cmd], repo, env, args.runs)
            med, low = statistics.median(times), min(times)
            verdict = ""
            if target is not None:
                ok = med <= target
                missed += not ok
                verdict = f"<= {target * 1000:.0f} ms {'ok' if ok else 'MISSED'}"
            print(f"{name:<52} {med * 1000:>7.0f}ms {low * 1000:>7.0f}ms  {verdict}")
        if missed:
            sys.exit(1)
    finally:
        if args.keep:
            log(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
