#!/usr/bin/env python3
"""Parallel tick overhead: `forge tick` running N beads one at a time (`--jobs 1`) against
the same N beads with `--jobs 4`, on a repository of F files, with a harness that sleeps S
seconds and edits a file of its own. Per-step overhead is the wall time beyond the harness's
own sleeping (N*S serial, ceil(N/4)*S with four jobs), divided by N. Prints medians.

Usage: python3 bench/tick_jobs.py [--beads N] [--sleep S] [--files F] [--runs R] [--bin PATH]
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(args, cwd, env):
    return subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def setup(tmp, forge, env, files, sleep):
    repo = tempfile.mkdtemp(prefix="repo-", dir=tmp)
    sh(["git", "init", "-q"], repo, env)
    for i in range(files):
        d = os.path.join(repo, "src", f"d{i // 500:03}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:05}.txt"), "w") as f:
            f.write(f"file {i}\n")
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-q", "-m", "files"], repo, env)
    sh([forge, "init", "-q"], repo, env)
    script = f'sleep {sleep}; echo edit > "$FORGE_BEAD.txt"'
    with open(os.path.join(repo, ".forge", "config.toml"), "a") as f:
        f.write(f'\n[harness.edit]\npreset = "command"\ncommand = ["sh", "-c", {json.dumps(script)}]\n')
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-q", "-m", "forge"], repo, env)
    return repo


def one(tmp, forge, env, a, jobs):
    repo = setup(tmp, forge, env, a.files, a.sleep)
    config = os.path.join(repo, ".forge", "config.toml")
    with open(config) as f:
        text = f.read()
    with open(config, "w") as f:
        f.write(text.replace("steps = 1", f"steps = {a.beads}", 1))
    for i in range(a.beads):
        sh([forge, "-q", "bead", "create", f"bench {i}"], repo, env)
    t = time.perf_counter()
    out = sh([forge, "--json", "tick", "--harness", "edit", "--jobs", str(jobs)], repo, env)
    took = time.perf_counter() - t
    report = json.loads(out.stdout)
    states = [r["state"] for r in report["ran"]]
    if len(states) != a.beads or any(s != "awaiting-approval" for s in states):
        sys.exit(f"--jobs {jobs}: {report['reason']}: {states}")
    shutil.rmtree(repo, ignore_errors=True)
    return took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beads", type=int, default=8)
    ap.add_argument("--sleep", type=float, default=1.0)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=None)
    a = ap.parse_args()
    forge = a.bin
    if not forge:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        forge = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "forge")
    tmp = tempfile.mkdtemp(prefix="forge-bench-tick-jobs-")
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    with open(os.path.join(home, ".gitconfig"), "w") as f:
        f.write("[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n")
    env = {"PATH": os.environ["PATH"], "HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "NO_COLOR": "1"}
    serial, parallel = [], []
    for _ in range(a.runs):
        serial.append(one(tmp, forge, env, a, 1))
        parallel.append(one(tmp, forge, env, a, 4))
    s, p = statistics.median(serial), statistics.median(parallel)
    s_over = (s - a.beads * a.sleep) / a.beads
    p_over = (p - math.ceil(a.beads / 4) * a.sleep) / a.beads
    print(f"{a.beads} beads, harness sleeps {a.sleep}s, {a.files} files, {a.runs} runs, {os.cpu_count()} CPUs")
    print(f"{'':22} {'median wall':>12} {'per-step overhead':>18}")
    print(f"{'tick --jobs 1':22} {s:11.2f}s {s_over*1000:16.0f}ms")
    print(f"{'tick --jobs 4':22} {p:11.2f}s {p_over*1000:16.0f}ms")
    print(f"speed-up: {s / p:.2f}x (ideal {a.beads * a.sleep / (math.ceil(a.beads / 4) * a.sleep):.2f}x)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
