#!/usr/bin/env python3
"""Benchmark forge's git hooks on a large generated repository.

Builds forge in release mode (unless --bin is given), generates a temporary git repository
holding N beads (default 10,000) and E ledger events (default 10,000, in run files of 100
events each, plus one run of --big-run events), commits it, then times
`forge hook pre-commit` - the command the installed hook runs - with only a few `.forge/`
files staged, as a commit normally has them:

  nothing      nothing under .forge/ is staged (the cost every commit pays)
  typical      one bead edited, one bead created, one event appended to a committed ledger
               file of 100 events, one new ledger file of 5 events
  big-ledger   one event appended to the committed run of --big-run events (the whole
               chain of that file is verified)
  refused      `typical` plus a staged conflict marker: the hook refuses the commit

and `forge hook post-commit` on a commit with a `Closes:` trailer. Each run is one child
process timed around `subprocess.run`; the figures are the median, the 90th percentile
and the maximum. The target is a pre-commit under 50 ms.

Standard library only (Python 3.11+).

    python3 bench/hooks.py                        # N = 10,000 beads, 10,000 events
    python3 bench/hooks.py --runs 50 --bin target/release/forge
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 50.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build(root: Path) -> Path:
    log("building forge (cargo build --release) ...")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    if not target.is_absolute():
        target = root / target
    return target / "release" / "forge"


def bead_id(i: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    n = i + 36**4
    while n:
        out = digits[n % 36] + out
        n //= 36
    return "fg-" + out


def bead_toml(bid: str, i: int) -> str:
    # The keys and shapes forge writes (src/bead/mod.rs); plain ASCII strings only.
    return (
        f'schema = 1\nid = "{bid}"\ntitle = "Generated bead {i}"\nkind = "task"\n'
        f'status = "open"\npriority = {i % 5}\nvalue = {i % 101}\nrisk = "low"\n'
        f'labels = ["bench", "group-{i % 17}"]\nauthor = "Bench Runner <bench@example.com>"\n'
        f'created = "2026-11-21T09:00:00Z"\nupdated = "2026-11-21T09:00:00Z"\n'
        f'description = "A bead generated for the hook benchmark."\n'
        f'acceptance = ["it works"]\ndeps = []\n'
    )


def ledger_lines(run: str, start: int, count: int, prev: str) -> tuple[list[str], str]:
    """`count` chained lines of run `run`, from sequence number `start` after hash `prev`."""
    out = []
    for seq in range(start, start + count):
        body = json.dumps(
            {
                "ts": "2026-11-21T09:00:00Z",
                "run": run,
                "seq": seq,
                "actor": "Bench Runner <bench@example.com>",
                "kind": "bench.event",
                "data": {"bead": bead_id(seq), "note": "an event of the hook benchmark"},
                "prev": prev,
            },
            separators=(",", ":"),
        )
        prefix = body[:-1]
        prev = hashlib.sha256(prefix.encode()).hexdigest()
        out.append(f'{prefix},"hash":"{prev}"}}')
    return out, prev


def write_run(ledger: Path, run: str, count: int) -> tuple[Path, str]:
    path = ledger / "2026-11" / f"{run}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines, last = ledger_lines(run, 0, count, "")
    path.write_text("".join(line + "\n" for line in lines))
    return path, last


def append_event(path: Path, run: str, seq: int, prev: str) -> None:
    lines, _ = ledger_lines(run, seq, 1, prev)
    with path.open("a") as f:
        f.write(lines[0] + "\n")


def git(repo: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout


def timed(cmd: list[str], repo: Path, env: dict[str, str], runs: int, expect: int) -> list[float]:
    out = []
    for i in range(runs + 2):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=repo, env=env, capture_output=True)
        dt = (time.perf_counter() - t0) * 1000
        if p.returncode != expect:
            sys.exit(f"{' '.join(cmd)} exited {p.returncode}, expected {expect}:\n"
                     f"{p.stdout.decode()}{p.stderr.decode()}")
        if i >= 2:  # two warm-up runs
            out.append(dt)
    return out


def summary(name: str, ms: list[float]) -> dict:
    ms = sorted(ms)
    p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
    row = {"case": name, "runs": len(ms), "median_ms": statistics.median(ms),
           "p90_ms": p90, "max_ms": ms[-1]}
    mark = "ok" if row["median_ms"] <= TARGET_MS else "OVER TARGET"
    print(f"{name:<22} median {row['median_ms']:7.1f} ms   p90 {p90:7.1f} ms   "
          f"max {ms[-1]:7.1f} ms   ({len(ms)} runs)   {mark}")
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="forge binary to benchmark (skips cargo build --release)")
    ap.add_argument("--beads", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=10_000, help="ledger events in runs of 100")
    ap.add_argument("--big-run", type=int, default=10_000, help="events in the one big run file")
    ap.add_argument("--runs", type=int, default=30, help="timed runs per case (default 30)")
    ap.add_argument("--keep", action="store_true", help="keep the generated repository")
    ap.add_argument("--json-out", help="also write the figures to this JSON file")
    args = ap.parse_args()

    forge = str(Path(args.bin).resolve()) if args.bin else str(build(REPO_ROOT))
    tmp = Path(tempfile.mkdtemp(prefix="forge-bench-hooks-"))
    home = tmp / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Bench Runner",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench Runner",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "NO_COLOR": "1",
    }
    try:
        repo = tmp / "repo"
        repo.mkdir()
        git(repo, env, "-c", "init.defaultBranch=main", "init", "-q")
        subprocess.run([forge, "init", "-q"], cwd=repo, env=env, check=True, capture_output=True)
        t0 = time.perf_counter()
        beads = repo / ".forge" / "beads"
        for i in range(args.beads):
            (beads / f"{bead_id(i)}.toml").write_text(bead_toml(bead_id(i), i))
        ledger = repo / ".forge" / "ledger"
        runs = []
        for r in range(args.events // 100):
            run = f"20261121T090000.{r:06d}Z-benchrun"
            path, last = write_run(ledger, run, 100)
            runs.append((path, run, last))
        big_run = "20261121T100000.000000Z-bigrun00"
        big_path, big_last = write_run(ledger, big_run, args.big_run)
        git(repo, env, "add", "-A")
        git(repo, env, "commit", "-q", "--no-verify", "-m", "generated")
        log(f"generated {args.beads} beads, {args.events + args.big_run} ledger events "
            f"in {len(runs) + 1} files and committed them in {time.perf_counter() - t0:.1f} s")

        hook = [forge, "hook", "pre-commit"]
        results = []
        print(f"forge hook pre-commit, {args.beads} beads, {args.events + args.big_run} events "
              f"({forge})")
        results.append(summary("nothing staged", timed(hook, repo, env, args.runs, 0)))

        # typical: one edit, one new bead, one grown ledger file, one new ledger file
        edited = beads / f"{bead_id(7)}.toml"
        edited.write_text(edited.read_text().replace("Generated bead 7", "Edited bead 7"))
        new = bead_id(args.beads + 1)
        (beads / f"{new}.toml").write_text(bead_toml(new, args.beads + 1))
        path, run, last = runs[3]
        append_event(path, run, 100, last)
        write_run(ledger, "20261121T110000.000000Z-newrun00", 5)
        git(repo, env, "add", "-A")
        staged = git(repo, env, "diff", "--cached", "--name-only").split()
        log(f"typical: {len(staged)} staged files")
        results.append(summary("typical (4 files)", timed(hook, repo, env, args.runs, 0)))

        git(repo, env, "commit", "-q", "--no-verify", "-m", "typical")
        append_event(big_path, big_run, args.big_run, big_last)
        git(repo, env, "add", "-A")
        results.append(summary(f"big-ledger ({args.big_run} ev)", timed(hook, repo, env, args.runs, 0)))
        git(repo, env, "commit", "-q", "--no-verify", "-m", "big")

        edited.write_text(edited.read_text().replace("kind = ", "<<<<<<< HEAD\nkind = ", 1))
        git(repo, env, "add", "-A")
        results.append(summary("refused (marker)", timed(hook, repo, env, args.runs, 7)))
        git(repo, env, "reset", "-q", "--hard")

        # post-commit on a commit that closes one bead
        (repo / "work.txt").write_text("work\n")
        git(repo, env, "add", "work.txt")
        git(repo, env, "commit", "-q", "--no-verify", "-m", f"work\n\nForge-Bead: {bead_id(9)}")
        post = [forge, "hook", "post-commit"]
        print("forge hook post-commit (one Forge-Bead: trailer; writes a ledger event)")
        results.append(summary("post-commit (link)", timed(post, repo, env, args.runs, 0)))

        if args.json_out:
            Path(args.json_out).write_text(json.dumps(results, indent=2) + "\n")
        over = [r for r in results if r["case"] != "post-commit (link)" and r["median_ms"] > TARGET_MS]
        return 1 if over else 0
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
