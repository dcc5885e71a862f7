#!/usr/bin/env python3
"""Step overhead: `forge step` + `forge rollback` against the same work done by hand with
the git CLI (worktree add, add -A, commit, worktree remove), on a repository of 20,000
files, with a harness that edits one file and exits. Steps run alternately with the
sandbox on and off (`[sandbox] mode`), in the same run; the sandbox's own set-up is also
timed alone (`forge __sandbox POLICY /bin/true` against `/bin/true`). Prints median and
min wall times.

Usage: python3 bench/step.py [--files N] [--runs N] [--bin PATH]
Targets: forge <= 1.3x the git CLI; the sandbox adds <= 5 ms per step.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(args, cwd, env, check=True):
    return subprocess.run(args, cwd=cwd, env=env, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--bin", default=None)
    a = ap.parse_args()
    forge = a.bin
    if not forge:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        forge = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "forge")
    tmp = tempfile.mkdtemp(prefix="forge-bench-step-")
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    with open(os.path.join(home, ".gitconfig"), "w") as f:
        f.write("[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n")
    env = {"PATH": os.environ["PATH"], "HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "NO_COLOR": "1"}
    repo = os.path.join(tmp, "repo")
    os.makedirs(repo)
    sh(["git", "init", "-q"], repo, env)
    for i in range(a.files):
        d = os.path.join(repo, "src", f"d{i // 500:03}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:05}.txt"), "w") as f:
            f.write(f"file {i}\n" * 5)
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-q", "-m", "files"], repo, env)
    sh([forge, "init", "-q"], repo, env)
    with open(os.path.join(repo, ".forge", "config.toml"), "a") as f:
        f.write('\n[harness.edit]\npreset = "command"\ncommand = ["sh", "-c", "echo edit >> src/d000/f00000.txt"]\n')
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-q", "-m", "forge"], repo, env)

    config = os.path.join(repo, ".forge", "config.toml")

    def sandbox(mode):
        with open(config) as f:
            text = f.read()
        with open(config, "w") as f:
            f.write(text.replace('mode = "on"', f'mode = "{mode}"').replace('mode = "off"', f'mode = "{mode}"'))

    forge_times, off_times, git_times = [], [], []
    for run in range(a.runs):
        for mode, times in (("on", forge_times), ("off", off_times)):
            sandbox(mode)
            bead = sh([forge, "-q", "bead", "create", f"bench {run} {mode}"], repo, env).stdout.strip()
            t = time.perf_counter()
            out = sh([forge, "--json", "step", bead, "--harness", "edit"], repo, env)
            cp = json.loads(out.stdout)["checkpoint"]
            if cp["state"] != "awaiting-approval":
                sys.exit(f"step ended {cp['state']}: {cp.get('reason')}")
            sh([forge, "-q", "rollback", cp["step"]], repo, env)
            times.append(time.perf_counter() - t)

        wt = os.path.join(tmp, f"wt{run}")
        t = time.perf_counter()
        sh(["git", "worktree", "add", "-q", "-b", f"by-hand/{run}", wt, "HEAD"], repo, env)
        with open(os.path.join(wt, "src", "d000", "f00000.txt"), "a") as f:
            f.write("edit\n")
        sh(["git", "add", "-A"], wt, env)
        sh(["git", "commit", "-q", "-m", "by hand"], wt, env)
        sh(["git", "worktree", "remove", "--force", wt], repo, env)
        git_times.append(time.perf_counter() - t)

    fm, om, gm = (statistics.median(x) for x in (forge_times, off_times, git_times))
    print(f"repository: {a.files} files, {a.runs} runs")
    print(f"{'':32} {'median':>9} {'min':>9}")
    print(f"{'forge step + rollback, sandbox':32} {fm*1000:8.0f}ms {min(forge_times)*1000:8.0f}ms")
    print(f"{'forge step + rollback, off':32} {om*1000:8.0f}ms {min(off_times)*1000:8.0f}ms")
    print(f"{'git CLI by hand':32} {gm*1000:8.0f}ms {min(git_times)*1000:8.0f}ms")
    ratio = fm / gm
    print(f"ratio (sandboxed): {ratio:.2f}x (target <= 1.30x): {'met' if ratio <= 1.3 else 'MISSED'}")
    print(f"sandbox on - off, medians: {(fm - om)*1000:+.1f} ms (noisy; see set-up below)")
    trampoline(forge, tmp)
    shutil.rmtree(tmp, ignore_errors=True)


def trampoline(forge, tmp):
    """The sandbox's own cost: forge re-executed as the trampoline, Landlock applied, then
    the program, against the program alone; and the same with a network namespace and its
    forwarder (as root), relaying to a UNIX socket made here."""
    import socket
    scratch = os.path.join(tmp, "scratch")
    os.makedirs(scratch, exist_ok=True)
    bridge = os.path.join(tmp, "bridge.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(bridge)
    listener.listen(64)
    policy = {
        "abi": 7, "read": ["/usr", "/bin", "/lib", "/lib64", "/etc", "/proc", "/dev"],
        "write": [scratch, "/dev/null"], "network": "allowlist", "proxy_port": 9,
        "scoped": True, "memory_bytes": None, "max_processes": None,
    }
    runs = 200

    def median(argv):
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(argv, check=True)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    d = median(["/bin/true"])
    s = median([forge, "__sandbox", json.dumps(policy), "/bin/true"])
    print(f"sandbox set-up ({runs} runs): /bin/true {d*1000:.2f} ms, through the trampoline "
          f"{s*1000:.2f} ms: +{(s - d)*1000:.2f} ms (target <= 5 ms)")
    if os.geteuid() == 0:
        policy["netns"] = {"forward": [18080, bridge]}
        n = median([forge, "__sandbox", json.dumps(policy), "/bin/true"])
        subprocess.run(["pkill", "-f", f"__forward {bridge}"], check=False)
        print(f"  with a network namespace and its forwarder: {n*1000:.2f} ms: "
              f"+{(n - d)*1000:.2f} ms (target <= 5 ms)")
        policy["ptys"] = True
        p = median([forge, "__sandbox", json.dumps(policy), "/bin/true"])
        subprocess.run(["pkill", "-f", f"__forward {bridge}"], check=False)
        print(f"  and terminals of its own (mount namespace, devpts): {p*1000:.2f} ms: "
              f"+{(p - d)*1000:.2f} ms (target <= 5 ms)")
        policy["pids"] = True
        policy["read"] = [r for r in policy["read"] if r != "/proc/self"]
        q = median([forge, "__sandbox", json.dumps(policy), "/bin/true"])
        subprocess.run(["pkill", "-f", f"__forward {bridge}"], check=False)
        print(f"  and a PID namespace of its own (an init, a fresh /proc): {q*1000:.2f} ms: "
              f"+{(q - d)*1000:.2f} ms (target <= 5 ms)")
    policy = {k: v for k, v in policy.items() if k not in ("netns", "ptys")}
    policy["pids"] = False
    a = median([forge, "__sandbox", json.dumps(policy), "/bin/true"])
    policy["pids"] = True
    b = median([forge, "__sandbox", json.dumps(policy), "/bin/true"])
    print(f"  a PID namespace alone: {a*1000:.2f} ms without, {b*1000:.2f} ms with: "
          f"+{(b - a)*1000:.2f} ms")
    listener.close()


if __name__ == "__main__":
    sys.exit(main())
