#!/usr/bin/env python3
"""Scale-out over a shared remote (`forge tick --remote origin`), on loopback: a bare
repository as the remote, clones of it on this machine.

1. Claim-and-release overhead per step: one-step ticks with `--remote origin` against the
   same ticks without it (median per tick; the difference is the fetches, the claim push,
   the release's atomic push and the ledger publish), then with 4 clones ticking at once.
2. Throughput: 4 clones x `--jobs 2` against 1 clone x `--jobs 8`, over the same beads,
   wall time until every bead has a result.

The harness writes one file and exits. Prints figures; asserts nothing about time.

Usage: python3 bench/scale.py [--runs N] [--beads N] [--bin PATH]
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(args, cwd, env, check=True):
    return subprocess.run(args, cwd=cwd, env=env, check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


class Bench:
    def __init__(self, forge, tmp):
        self.forge = forge
        self.tmp = tmp
        self.home = os.path.join(tmp, "home")
        os.makedirs(self.home)
        with open(os.path.join(self.home, ".gitconfig"), "w") as f:
            f.write("[user]\n\tname = Bench\n\temail = bench@example.com\n"
                    "[init]\n\tdefaultBranch = main\n")
        self.env = {"PATH": os.environ["PATH"], "HOME": self.home, "GIT_CONFIG_NOSYSTEM": "1",
                    "NO_COLOR": "1"}
        self.n = 0

    def remote(self, beads, steps):
        """A bare remote with `beads` beads and a one-line harness; returns its path."""
        self.n += 1
        seed = os.path.join(self.tmp, f"seed{self.n}")
        os.makedirs(seed)
        sh(["git", "init", "-q"], seed, self.env)
        with open(os.path.join(seed, "README"), "w") as f:
            f.write("bench\n")
        sh(["git", "add", "-A"], seed, self.env)
        sh(["git", "commit", "-q", "-m", "initial"], seed, self.env)
        sh([self.forge, "init", "-q"], seed, self.env)
        cfg = os.path.join(seed, ".forge", "config.toml")
        text = open(cfg).read().replace("steps = 1", f"steps = {steps}")
        text = text.replace('# harness = "claude"', 'harness = "one"')
        text += ('\n[harness.one]\npreset = "command"\n'
                 'command = ["sh", "-c", "echo done > \\"$FORGE_BEAD.txt\\""]\n')
        open(cfg, "w").write(text)
        for i in range(beads):
            sh([self.forge, "-q", "bead", "create", f"Bead {i}"], seed, self.env)
        sh(["git", "add", "-A"], seed, self.env)
        sh(["git", "commit", "-q", "-m", "beads"], seed, self.env)
        remote = os.path.join(self.tmp, f"remote{self.n}.git")
        sh(["git", "clone", "-q", "--bare", seed, remote], self.tmp, self.env)
        return remote

    def clone(self, remote):
        self.n += 1
        path = os.path.join(self.tmp, f"clone{self.n}")
        sh(["git", "clone", "-q", remote, path], self.tmp, self.env)
        return path

    def tick(self, clone, args):
        start = time.perf_counter()
        sh([self.forge, "-q", "tick"] + args, clone, self.env)
        return time.perf_counter() - start

    def released(self, remote):
        out = sh(["git", "--git-dir", remote, "for-each-ref", "--format=%(contents:subject)",
                  "refs/forge/claims/"], self.tmp, self.env).stdout
        return sum(1 for line in out.splitlines() if ": released" in line)


def ms(xs):
    return f"median {statistics.median(xs) * 1000:7.1f} ms, min {min(xs) * 1000:7.1f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--beads", type=int, default=32)
    ap.add_argument("--bin", default=None)
    a = ap.parse_args()
    forge = a.bin
    if not forge:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        forge = os.path.join(target, "release", "forge")
    b = Bench(forge, tempfile.mkdtemp(prefix="forge-bench-scale-"))

    # 1. Overhead of one step's claim and release.
    local = b.clone(b.remote(a.runs, 1))
    shared = b.clone(b.remote(a.runs, 1))
    plain = [b.tick(local, []) for _ in range(a.runs)]
    remote = [b.tick(shared, ["--remote", "origin"]) for _ in range(a.runs)]
    print(f"one-step tick, no remote:        {ms(plain)}")
    print(f"one-step tick, --remote origin:  {ms(remote)}")
    print(f"claim-and-release overhead:      "
          f"{(statistics.median(remote) - statistics.median(plain)) * 1000:7.1f} ms per step (median)")

    # ... with 4 clones contending for the same remote.
    r = b.remote(4 * a.runs, 1)
    clones = [b.clone(r) for _ in range(4)]
    times = []
    lock = threading.Lock()

    def loop(clone):
        for _ in range(a.runs):
            t = b.tick(clone, ["--remote", "origin"])
            with lock:
                times.append(t)

    threads = [threading.Thread(target=loop, args=(c,)) for c in clones]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"one-step tick, 4 clones at once: {ms(times)}")
    print(f"overhead with 4 clones:          "
          f"{(statistics.median(times) - statistics.median(plain)) * 1000:7.1f} ms per step "
          f"(median; includes waiting for the CPU: 4 ticks share {os.cpu_count()} cores)")

    # 2. Throughput: 4 clones x 2 jobs against 1 clone x 8 jobs.
    def until_done(remote, clones, jobs):
        start = time.perf_counter()
        while b.released(remote) < a.beads:
            ts = [threading.Thread(target=b.tick, args=(c, ["--remote", "origin", "--jobs", str(jobs)]))
                  for c in clones]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        return time.perf_counter() - start

    r4 = b.remote(a.beads, a.beads)
    four = until_done(r4, [b.clone(r4) for _ in range(4)], 2)
    r1 = b.remote(a.beads, a.beads)
    one = until_done(r1, [b.clone(r1)], 8)
    print(f"{a.beads} beads, 4 clones x 2 jobs:   {four:6.2f} s ({a.beads / four:5.2f} steps/s)")
    print(f"{a.beads} beads, 1 clone x 8 jobs:    {one:6.2f} s ({a.beads / one:5.2f} steps/s)")


if __name__ == "__main__":
    main()
