#!/usr/bin/env python3
"""Benchmark forge's bead commands on large generated repositories.

Builds forge in release mode, generates temporary git repositories holding N beads (written
directly as `.forge/beads/<id>.toml` in exactly the format forge writes), and times the
release binary on them: `ready` (warm cache and no cache), `bead list --json`, `bead show`,
`bead create` and `bead close`. Each run is one child process; its wall time is measured
around `Popen` .. `os.wait4` and its peak RSS comes from the rusage that `wait4` returns.

Standard library only (Python 3.11+). See bench/README.md.

    python3 bench/beads.py                  # full run: N = 10,000 and 100,000
    python3 bench/beads.py --quick          # N = 10,000 only, fewer runs
    python3 bench/beads.py --sizes 1000,50000 --bin target/release/forge
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# The cache trusts no entry whose ctime is within this of the cache's own write time
# (src/bead/cache.rs, RACY_NS). Freshly generated files must age past it before a warm
# cache can be built, or every "warm" run would re-parse them.
RACY_SECONDS = 2.0

# --------------------------------------------------------------------------------------------
# TOML strings, exactly as forge writes them.
#
# forge serialises a bead with the `toml` crate, which picks a string's representation with
# toml_writer's `TomlStringBuilder::as_default` (toml_writer 1.2, src/string.rs). This is a
# port of that choice and of its escaping, so generated files are byte-for-byte what forge
# would write (checked at run time by `check_format`).

_BARE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SUBSET = _BARE | frozenset(b"./ :")


def _escaped(raw: bytes, multiline: bool) -> str:
    max_dq = 2 if multiline else 0
    out = bytearray()
    i, n = 0, len(raw)
    while i < n:
        # One chunk of the Rust loop: its double-quote run counter restarts per chunk.
        dq = 0
        while i < n:
            b = raw[i]
            dq = dq + 1 if b == 0x22 else 0
            if b == 0x22 and dq > max_dq:
                out += b'\\"'
                i += 1
                break
            esc = {0x08: b"\\b", 0x09: b"\\t", 0x0C: b"\\f", 0x0D: b"\\r", 0x5C: b"\\\\"}.get(b)
            if b == 0x0A and not multiline:
                esc = b"\\n"
            if esc is not None:
                out += esc
                i += 1
                break
            if (b <= 0x1F and b != 0x0A) or b == 0x7F:
                out += b"\\u%04X" % b
                i += 1
                break
            out.append(b)
            i += 1
    return out.decode()


def toml_str(s: str) -> str:
    raw = s.encode()
    if all(b in _SUBSET for b in raw):
        return f'"{s}"'
    max_sq = max_dq = sq = dq = 0
    escape = newline = codes = False
    for b in raw:
        sq = sq + 1 if b == 0x27 else 0
        dq = dq + 1 if b == 0x22 else 0
        max_sq, max_dq = max(max_sq, sq), max(max_dq, dq)
        if b == 0x5C:
            escape = True
        elif b == 0x0A:
            newline = True
        elif b != 0x09 and (b <= 0x1F or b == 0x7F):
            codes = True
    nl = "\n" if newline else ""
    if not codes and not escape and max_dq == 0 and not newline:
        return '"' + _escaped(raw, False) + '"'  # basic
    if not codes and max_sq == 0 and not newline:
        return "'" + s + "'"  # literal
    if not codes and not escape and max_dq <= 2:
        return '"""' + nl + _escaped(raw, True) + '"""'  # multi-line basic
    if not codes and max_sq <= 2:
        return "'''" + nl + s + "'''"  # multi-line literal
    if newline:
        return '"""' + nl + _escaped(raw, True) + '"""'
    return '"' + _escaped(raw, False) + '"'


def toml_array(items: list[str]) -> str:
    return "[" + ", ".join(toml_str(x) for x in items) + "]"


@dataclass
class Bead:
    id: str
    title: str
    kind: str
    status: str
    reason: str
    priority: int
    value: int
    risk: str
    labels: list[str]
    author: str
    created: str
    updated: str
    closed: str | None
    description: str
    acceptance: list[str]
    deps: list[tuple[str, str]] = field(default_factory=list)  # (id, type)

    def to_toml(self) -> str:
        """The file text, in the key order of `Bead` in src/bead/mod.rs."""
        lines = [
            "schema = 1",
            f"id = {toml_str(self.id)}",
            f"title = {toml_str(self.title)}",
            f"kind = {toml_str(self.kind)}",
            f"status = {toml_str(self.status)}",
        ]
        if self.reason:
            lines.append(f"reason = {toml_str(self.reason)}")
        lines += [
            f"priority = {self.priority}",
            f"value = {self.value}",
            f"risk = {toml_str(self.risk)}",
            f"labels = {toml_array(self.labels)}",
            f"author = {toml_str(self.author)}",
            f"created = {toml_str(self.created)}",
            f"updated = {toml_str(self.updated)}",
        ]
        if self.closed is not None:
            lines.append(f"closed = {toml_str(self.closed)}")
        lines += [
            f"description = {toml_str(self.description)}",
            f"acceptance = {toml_array(self.acceptance)}",
        ]
        if not self.deps:
            lines.append("deps = []")
        for dep_id, kind in self.deps:
            lines += ["", "[[deps]]", f"id = {toml_str(dep_id)}", f"type = {toml_str(kind)}"]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# A realistic bead population.

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"

VERBS = ["Fix", "Add", "Remove", "Refactor", "Document", "Speed up", "Test", "Harden",
         "Simplify", "Port", "Investigate", "Rename", "Split", "Cache", "Validate"]
OBJECTS = ["the retry loop", "config loading", "the ledger writer", "id resolution",
           "the ready queue", "TOML parsing", "error hints", "the lock file", "the CLI help",
           "the merge driver", "worktree cleanup", "JSON output", "the redactor",
           "dependency cycles", "the progress bar", "shell completions", "timestamp handling",
           "the cache format", "agent prompts", "the review gate"]
AREAS = ["in the store", "for large repos", "on Windows paths", "under concurrency",
         "after a crash", "in CI", "for linked worktrees", "with unicode titles", "", "", ""]
LABELS = ["backend", "cli", "ui", "perf", "docs", "security", "ledger", "store", "graph",
          "tests", "ci", "refactor", "good first issue", "needs-design", "agent", "git",
          "windows", "macos", "regression", "tech-debt", "api", "ux", "infra", "release"]
AUTHORS = ["Ada Lovelace <ada@example.com>", "Grace Hopper <grace@example.com>",
           "Linus Torvalds <linus@example.org>", "Barbara Liskov <barbara@example.net>",
           "Ken Thompson <ken@example.com>", "Margaret Hamilton <margaret@example.org>",
           "agent-claude <agent@forge.invalid>", "Donald Knuth <knuth@example.edu>"]
SENTENCES = [
    "The current behaviour is surprising when the repository has many beads.",
    "We read every file on each invocation, which gets slow as the store grows.",
    "Users reported that the error message does not say which file is broken.",
    "This should keep the on-disk format stable so pull requests stay readable.",
    "See the discussion in the last planning meeting for the trade-offs.",
    "It's not urgent, but it blocks the release checklist from being automated.",
    "Reproduce with a fresh clone, run `forge ready` twice and compare the output.",
    "The fix must not change exit codes; scripts depend on them.",
    "Make sure the \"happy path\" stays a single syscall-light read.",
    "Agents hit this when they run in a linked worktree rather than the main one.",
    "Consider whether the cache should be invalidated on branch switches.",
    "Keep the change small and covered by an integration test in tests/cli.",
    "Measure before and after on the 10k-bead benchmark repository.",
    "The old code path can be deleted once nothing calls it any more.",
    "Edge case: a bead whose title contains quotes or non-ASCII text like café.",
    "Document the new flag in the man page and the README.",
]
BULLETS = ["- check the lock is released on error", "- add a regression test",
           "- update the changelog", "- keep the JSON schema unchanged",
           "- time it on a cold cache", "- review with someone from the store team"]
CRITERIA = ["forge ready lists it", "the integration tests pass",
            "no new clippy warnings", "`forge bead show` prints the new field",
            "documented in the README", "works in a linked worktree",
            "the error names the file and line", "benchmark within target"]
CLOSE_REASONS = ["done", "done", "done", "duplicate", "won't fix", "fixed by a refactor",
                 "obsolete"]
DEFER_REASONS = ["", "", "waiting on upstream", "after the release", "needs design first"]
KINDS = ["task"] * 55 + ["bug"] * 21 + ["feature"] * 15 + ["chore"] * 9
RISKS = ["low"] * 6 + ["medium"] * 3 + ["high"]


def rfc3339(secs: float) -> str:
    return dt.datetime.fromtimestamp(int(secs), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id(rng: random.Random, taken: set[str]) -> str:
    """Like id::pick: random base36 digits, the shortest free prefix of 4 to 6 of them."""
    while True:
        digits = "".join(rng.choice(_B36) for _ in range(6))
        for n in (4, 5, 6):
            candidate = "fg-" + digits[:n]
            if candidate not in taken:
                taken.add(candidate)
                return candidate


def description(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.03:
        return ""
    if r < 0.08:
        return rng.choice(SENTENCES)
    if r < 0.09:  # a Windows path: its backslashes make forge choose a literal string
        return "Fails when the store lives under C:\\Users\\dev\\repo.\n" + rng.choice(SENTENCES)
    paras = [" ".join(rng.sample(SENTENCES, rng.randint(1, 3))) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.4:
        paras.append("Steps:\n" + "\n".join(rng.sample(BULLETS, rng.randint(2, 4))))
    text = "\n\n".join(paras)
    return text + "\n" if rng.random() < 0.3 else text


def generate(n: int, seed: int, now: float) -> list[Bead]:
    """`n` beads in creation order.

    Dependencies only point from a later bead to an earlier one, and an epic is created
    after the children it groups (its children get a `parent` dep on it), so every
    waits-for edge (`blocks`, epic -> open child) points backwards: the graph has no cycle.
    """
    rng = random.Random(seed)
    taken: set[str] = set()
    start = now - 730 * 86400
    step = (729 * 86400) / max(n, 1)
    beads: list[Bead] = []
    parentless: list[int] = []  # non-epic beads without a parent yet, in creation order
    for i in range(n):
        created = start + i * step + rng.random() * step
        # Older beads are more often closed: 30 % closed and 10 % deferred overall.
        r = rng.random()
        p_closed = 0.6 * (1 - i / n)
        status = "closed" if r < p_closed else "deferred" if r < p_closed + 0.1 else "open"
        kind = "epic" if i >= 50 and rng.random() < 0.02 else rng.choice(KINDS)
        updated = created + rng.random() * 20 * 86400 if rng.random() < 0.5 else created
        updated = min(updated, now - 60)
        closed_at = None
        reason = ""
        if status == "closed":
            updated = closed_at = min(created + rng.random() * 60 * 86400, now - 60)
            reason = rng.choice(CLOSE_REASONS)
        elif status == "deferred":
            reason = rng.choice(DEFER_REASONS)
        title = f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(AREAS)}".strip()
        bead = Bead(
            id=new_id(rng, taken), title=title, kind=kind, status=status, reason=reason,
            priority=rng.choices(range(5), weights=[5, 20, 40, 25, 10])[0],
            value=rng.randint(0, 100), risk=rng.choice(RISKS),
            labels=rng.sample(LABELS, rng.choices(range(4), weights=[3, 4, 2, 1])[0]),
            author=rng.choice(AUTHORS), created=rfc3339(created), updated=rfc3339(updated),
            closed=rfc3339(closed_at) if closed_at is not None else None,
            description=description(rng),
            acceptance=rng.sample(CRITERIA, rng.choices(range(4), weights=[4, 3, 2, 1])[0]),
        )
        # About a third of beads wait for 1-3 earlier ones, mostly recent ones.
        if i > 0 and rng.random() < 1 / 3:
            targets: set[int] = set()
            for _ in range(rng.randint(1, 3)):
                if rng.random() < 0.7:
                    targets.add(rng.randrange(max(0, i - 200), i))
                else:
                    targets.add(rng.randrange(i))
            bead.deps += [(beads[t].id, "blocks") for t in sorted(targets)]
        if i > 0 and rng.random() < 0.05:
            bead.deps.append((beads[rng.randrange(i)].id, rng.choice(["related", "discovered-from"])))
        if kind == "epic":
            # Group 5-20 recent parentless beads; `bead dep add` appends the parent link.
            want = rng.randint(5, 20)
            tail = min(len(parentless), max(want * 3, 60))
            first = len(parentless) - tail
            for j in sorted(rng.sample(range(first, len(parentless)), min(want, tail)), reverse=True):
                child = beads[parentless.pop(j)]  # near the end of the list: cheap
                child.deps.append((bead.id, "parent"))
                child.updated = max(child.updated, bead.created)
        else:
            parentless.append(i)
        beads.append(bead)
    return beads


def write_beads(beads_dir: Path, beads: list[Bead]) -> None:
    for b in beads:
        with open(beads_dir / f"{b.id}.toml", "w", encoding="utf-8", newline="\n") as f:
            f.write(b.to_toml())


# --------------------------------------------------------------------------------------------
# Running forge.

@dataclass
class Run:
    wall_ms: float
    maxrss_kib: int
    user_ms: float
    sys_ms: float
    code: int


def clean_env(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "NO_COLOR": "1",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "TZ": "UTC",
    }


# Peak RSS needs care. Linux keeps a process's ru_maxrss across execve and, at exec, raises
# it to the high-water RSS of the memory it leaves: with vfork (what Popen uses) that is the
# parent's whole address space. Children spawned by this script, which holds every generated
# bead, would all report its size. So a small separate Python process (the runner) spawns
# and times every forge run, with Popen + os.wait4, and sends the figures back over a pipe.
# A forge run then reports max(its own peak, the runner's RSS): the runner's RSS, printed as
# the "RSS floor", is the smallest figure the table can show.
RUNNER_CODE = r"""
import json, os, subprocess, sys, time
if "--fork" in sys.argv:
    subprocess._USE_VFORK = False  # plain fork: copies only the runner's anonymous memory
def vmhwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
for line in sys.stdin:
    req = json.loads(line)
    if req.get("floor"):
        print(json.dumps({"floor_kib": vmhwm()}), flush=True)
        continue
    t0 = time.perf_counter()
    p = subprocess.Popen(req["cmd"], cwd=req["cwd"], env=req["env"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()  # only status lines: reading before wait4 cannot deadlock
    _, status, ru = os.wait4(p.pid, 0)
    t1 = time.perf_counter()
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)  # so that Popen never waits on it again
    print(json.dumps({"wall_ms": (t1 - t0) * 1000, "maxrss_kib": ru.ru_maxrss,
                      "user_ms": ru.ru_utime * 1000, "sys_ms": ru.ru_stime * 1000,
                      "code": p.returncode, "stderr": err.decode(errors="replace")}), flush=True)
"""


class Runner:
    """The small process that runs and measures forge (see RUNNER_CODE)."""

    def __init__(self, fork: bool = False) -> None:
        argv = [sys.executable, "-I", "-S", "-c", RUNNER_CODE] + (["--fork"] if fork else [])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def _ask(self, req: dict) -> dict:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError("the runner process died")
        return json.loads(reply)

    def floor_mb(self) -> float:
        return self._ask({"floor": True})["floor_kib"] / 1024

    def run(self, cmd: list[str], cwd: Path, env: dict[str, str]) -> Run:
        r = self._ask({"cmd": cmd, "cwd": str(cwd), "env": env})
        if r["code"] != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {r['code']}: {r['stderr']}")
        return Run(r["wall_ms"], r["maxrss_kib"], r["user_ms"], r["sys_ms"], r["code"])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def capture(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr}")
    return p.stdout


@dataclass
class Result:
    name: str
    n: int
    runs: list[Run]
    time_target_ms: float | None = None
    mem_target_mb: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(r.wall_ms for r in self.runs)

    @property
    def min(self) -> float:
        return min(r.wall_ms for r in self.runs)

    @property
    def rss_mb(self) -> float:
        return max(r.maxrss_kib for r in self.runs) / 1024

    @property
    def cpu_ms(self) -> float:
        return statistics.median(r.user_ms + r.sys_ms for r in self.runs)

    def target_text(self) -> str:
        parts = []
        if self.time_target_ms is not None:
            parts.append(f"<= {self.time_target_ms:g} ms")
        if self.mem_target_mb is not None:
            parts.append(f"<= {self.mem_target_mb:g} MB")
        return ", ".join(parts) or "-"

    def met(self) -> str:
        if self.time_target_ms is None and self.mem_target_mb is None:
            return "-"
        ok = (self.time_target_ms is None or self.median <= self.time_target_ms) and (
            self.mem_target_mb is None or self.rss_mb <= self.mem_target_mb)
        return "yes" if ok else "NO"


# Targets: (command, n) -> ms. Peak memory at >= 100k beads: 100 MB for every command.
TIME_TARGETS = {
    ("ready (warm cache)", 10_000): 20,
    ("ready (warm cache)", 100_000): 200,
    ("ready (no cache)", 10_000): 150,
    ("bead create", 10_000): 15,
    ("bead close", 10_000): 15,
    ("tick (nothing to do)", 10_000): 20,
}
MEM_TARGET_MB = 100
MEM_TARGET_FROM_N = 100_000


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def source_info(root: Path) -> str:
    """The commit the binary was built from, and whether src/ had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "Cargo.toml",
                                "Cargo.lock"], cwd=root, check=True, capture_output=True,
                               text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" plus uncommitted changes in src/" if dirty else "")


def build(root: Path) -> Path:
    log("building forge (cargo build --release) ...")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    if not target.is_absolute():
        target = root / target
    return target / "release" / "forge"


def make_repo(base: Path, forge: str, env: dict[str, str], n: int, seed: int) -> tuple[Path, list[Bead]]:
    repo = base / f"repo-{n}"
    repo.mkdir()
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "config", "user.name", "Bench Runner"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "config", "user.email", "bench@example.com"], cwd=repo, env=env, check=True)
    capture([forge, "init", "-q"], repo, env)
    t0 = time.perf_counter()
    beads = generate(n, seed, time.time())
    t1 = time.perf_counter()
    write_beads(repo / ".forge" / "beads", beads)
    t2 = time.perf_counter()
    size = sum(len(b.to_toml()) for b in beads[:1000]) / min(n, 1000)
    log(f"  N={n}: generated in {t1 - t0:.1f} s, wrote {n} files in {t2 - t1:.1f} s "
        f"(mean {size:.0f} bytes per file)")
    return repo, beads


def check_format(repo: Path, forge: str, env: dict[str, str], beads: list[Bead]) -> int:
    """Has forge rewrite a sample of beads (priority changed and changed back) and checks that
    only the `updated` line differs from what this script wrote: the generated files are
    exactly what forge itself would write."""
    picks: dict[str, Bead] = {}
    want = {
        "epic": lambda b: b.kind == "epic",
        "child": lambda b: any(k == "parent" for _, k in b.deps),
        "blocks": lambda b: any(k == "blocks" for _, k in b.deps),
        "related": lambda b: any(k in ("related", "discovered-from") for _, k in b.deps),
        "closed": lambda b: b.status == "closed",
        "deferred-with-reason": lambda b: b.status == "deferred" and b.reason,
        "no-deps": lambda b: not b.deps,
        "backslash": lambda b: "\\" in b.description,
        "quotes": lambda b: '"' in b.description,
        "empty-description": lambda b: b.description == "",
        "trailing-newline": lambda b: b.description.endswith("\n"),
        "no-labels": lambda b: not b.labels,
        "apostrophe-reason": lambda b: "'" in b.reason,
    }
    for what, pred in want.items():
        match = next((b for b in beads if pred(b) and b.id not in picks), None)
        if match is None:  # only with very small N
            log(f"  (format check: no generated bead is {what})")
            continue
        picks[match.id] = match
    for b in picks.values():
        path = repo / ".forge" / "beads" / f"{b.id}.toml"
        before = path.read_text()
        other = (b.priority + 1) % 5
        capture([forge, "bead", "update", b.id, "-p", str(other)], repo, env)
        capture([forge, "bead", "update", b.id, "-p", str(b.priority)], repo, env)
        after = path.read_text()
        strip = lambda t: [l for l in t.splitlines() if not l.startswith("updated = ")]
        if strip(before) != strip(after):
            import difflib
            diff = "\n".join(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  "generated", "rewritten by forge", lineterm=""))
            raise RuntimeError(f"format check failed for {b.id}:\n{diff}")
        path.write_text(before)  # restore the original `updated`
    return len(picks)


def validate(repo: Path, forge: str, env: dict[str, str], beads: list[Bead]) -> None:
    ids = [b.id for b in beads]
    assert len(set(ids)) == len(ids), "duplicate ids"
    assert all(re.fullmatch(r"fg-[0-9a-z]{4,6}", i) for i in ids), "bad id"
    listed = json.loads(capture([forge, "bead", "list", "--all", "--json"], repo, env))["beads"]
    if len(listed) != len(beads):
        raise RuntimeError(f"bead list --all shows {len(listed)} beads, wrote {len(beads)}")
    ready = json.loads(capture([forge, "ready", "--json"], repo, env))["ready"]
    if not ready:
        raise RuntimeError("forge ready returned an empty list")
    checked = check_format(repo, forge, env, beads)
    n_open = sum(b.status == "open" for b in beads)
    log(f"  valid: list --all shows {len(listed)}; ready shows {len(ready)} of {n_open} open; "
        f"{checked} sampled files byte-identical to forge's own rewrite (but `updated`)")


def stats_line(beads: list[Bead]) -> str:
    n = len(beads)
    st = {s: sum(b.status == s for b in beads) for s in ("open", "closed", "deferred")}
    epics = sum(b.kind == "epic" for b in beads)
    children = sum(any(k == "parent" for _, k in b.deps) for b in beads)
    blocked = sum(any(k == "blocks" for _, k in b.deps) for b in beads)
    ndeps = sum(len(b.deps) for b in beads)
    return (f"  N={n}: {st['open'] / n:.0%} open, {st['closed'] / n:.0%} closed, "
            f"{st['deferred'] / n:.0%} deferred; {epics} epics with {children} children; "
            f"{blocked / n:.0%} with blocks deps; {ndeps} deps in all")


def cpu_busy(interval: float = 1.0) -> float:
    """The fraction of all CPU time that was busy over `interval` seconds (Linux)."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle
    try:
        t0, i0 = sample()
        time.sleep(interval)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return 0.0
    return 1 - (i1 - i0) / max(t1 - t0, 1)


IDLE_WAIT = {"limit": 0.0, "deadline": 0.0}  # seconds; set by --wait-idle


def wait_for_idle(quick: bool = False) -> None:
    """On a shared machine, waits until other work quietens: for a second before each
    command, a quarter second before each run, and at most --wait-idle seconds in all per
    command."""
    if not quick:
        IDLE_WAIT["deadline"] = time.time() + IDLE_WAIT["limit"]
    deadline = IDLE_WAIT["deadline"]
    while IDLE_WAIT["limit"] > 0:
        busy = cpu_busy(0.25 if quick else 1.0)
        if busy < 0.15:
            return
        if time.time() > deadline:
            if not quick or busy >= 0.5:
                log(f"  (machine still {busy:.0%} busy; measuring anyway)")
            return
        log(f"  (machine {busy:.0%} busy: waiting)")
        time.sleep(4)


def wait_out_racy_window(repo: Path) -> None:
    newest = max(e.stat().st_ctime for e in os.scandir(repo / ".forge" / "beads"))
    delay = newest + RACY_SECONDS + 0.5 - time.time()
    if delay > 0:
        time.sleep(delay)


def bench_size(runner: Runner, forge: str, base: Path, home: Path, n: int, runs: int,
               seed: int) -> list[Result]:
    env = clean_env(home)
    log(f"N={n}: generating repository ...")
    repo, beads = make_repo(base, forge, env, n, seed)
    log(stats_line(beads))
    validate(repo, forge, env, beads)
    cache = repo / ".git" / "forge" / "cache"
    rng = random.Random(seed + 1)
    results: list[Result] = []

    def measure(name: str, make_cmd, before=None, warmup: bool = False) -> None:
        wait_for_idle()
        if warmup:
            if before:
                before()
            runner.run(make_cmd(-1), repo, env)
        rs = []
        for k in range(runs):
            if k:
                wait_for_idle(quick=True)
            if before:
                before()
            rs.append(runner.run(make_cmd(k), repo, env))
        baseline = name == "forge --version"  # process start-up alone: no target
        res = Result(name, n, rs, TIME_TARGETS.get((name, n)),
                     MEM_TARGET_MB if n >= MEM_TARGET_FROM_N and not baseline else None)
        results.append(res)
        log(f"  {name:<22} median {res.median:8.1f} ms  min {res.min:8.1f} ms  "
            f"cpu {res.cpu_ms:8.1f} ms  peak RSS {res.rss_mb:6.1f} MB")

    wait_out_racy_window(repo)
    measure("forge --version", lambda k: [forge, "--version"])
    # The warm-up run parses every file and writes the cache; the runs after it read it.
    measure("ready (warm cache)", lambda k: [forge, "ready"], warmup=True)
    measure("bead list --json", lambda k: [forge, "bead", "list", "--json"], warmup=True)
    show_ids = rng.sample([b.id for b in beads], runs)
    measure("bead show", lambda k: [forge, "bead", "show", show_ids[k]])
    # The warm-up run brings every bead file back into the page cache: "no cache" means no
    # forge cache, not a cold page cache (which depends on the machine, not on forge).
    measure("ready (no cache)", lambda k: [forge, "ready"], warmup=True,
            before=lambda: shutil.rmtree(cache, ignore_errors=True))
    measure("bead create", lambda k: [forge, "bead", "create", "bench bead"])
    open_ids = rng.sample([b.id for b in beads if b.status == "open"], runs)
    measure("bead close", lambda k: [forge, "bead", "close", open_ids[k]])
    # An idle tick, as cron runs it most of the time: every open bead deferred by hand, so
    # the tick reads the whole index and finds nothing ready.
    defer_all(repo)
    wait_out_racy_window(repo)
    measure("tick (nothing to do)", lambda k: [forge, "tick"], warmup=True)
    return results


def defer_all(repo: Path) -> None:
    for entry in os.scandir(repo / ".forge" / "beads"):
        path = Path(entry.path)
        text = path.read_text()
        deferred = text.replace('\nstatus = "open"\n', '\nstatus = "deferred"\n', 1)
        if deferred != text:
            path.write_text(deferred)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu})"


def print_table(results: list[Result]) -> None:
    head = ["command", "N", "median ms", "min ms", "peak RSS MB", "target", "met"]
    rows = [[r.name, f"{r.n:,}", f"{r.median:.1f}", f"{r.min:.1f}", f"{r.rss_mb:.1f}",
             r.target_text(), r.met()] for r in results]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    right = {1, 2, 3, 4}
    fmt = lambda row: "| " + " | ".join(
        (str(c).rjust(w) if i in right else str(c).ljust(w)) for i, (c, w) in enumerate(zip(row, widths))) + " |"
    print(fmt(head))
    print("|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2))
                         for i, w in enumerate(widths)) + "|")
    for row in rows:
        print(fmt(row))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="forge binary to benchmark (skips cargo build --release)")
    ap.add_argument("--quick", action="store_true", help="N = 10,000 only, 5 runs per command")
    ap.add_argument("--sizes", help="comma-separated bead counts (default 10000,100000)")
    ap.add_argument("--runs", type=int, help="runs per command (default 15 below 100k, else 7)")
    ap.add_argument("--seed", type=int, default=42, help="seed of the generated repository")
    ap.add_argument("--tmpdir", help="where to create the repositories (default: system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the generated repositories")
    ap.add_argument("--fork", action="store_true",
                    help="spawn with fork, not vfork: RSS floor ~6 MB instead of ~11 MB, "
                         "but ~0.7 ms more per run")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                    help="for each command, wait up to this long in all for other processes "
                         "to leave the CPUs idle (for shared machines)")
    ap.add_argument("--json-out", help="also write the raw figures to this JSON file")
    args = ap.parse_args()
    # Let `kill` clean up the temp dir: SIGTERM raises SystemExit, which runs `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    IDLE_WAIT["limit"] = args.wait_idle
    sizes = [10_000] if args.quick else [10_000, 100_000]
    if args.sizes:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    source = f"--bin {args.bin}" if args.bin else f"{REPO_ROOT} at {source_info(REPO_ROOT)}"
    forge = str(Path(args.bin).resolve()) if args.bin else str(build(REPO_ROOT))
    if not os.access(forge, os.X_OK):
        ap.error(f"{forge} is not an executable")

    base = Path(tempfile.mkdtemp(prefix="forge-bench-", dir=args.tmpdir))
    home = base / "home"
    home.mkdir()
    log(f"binary: {forge}\nwork dir: {base}")
    runner = Runner(fork=args.fork)  # started while this process is still small
    load_before = os.getloadavg()[0]
    results: list[Result] = []
    try:
        for n in sizes:
            runs = args.runs or (5 if args.quick else 15 if n < 100_000 else 7)
            results += bench_size(runner, forge, base, home, n, runs, args.seed)
        floor = runner.floor_mb()
    finally:
        runner.close()
        if args.keep:
            log(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)

    load_after = os.getloadavg()[0]
    print(f"\nforge bead benchmark, {dt.date.today().isoformat()}, {machine()}")
    print(f"binary: {source}; load average {load_before:.2f} before, {load_after:.2f} after")
    print("wall time of each forge process, spawn included; peak RSS = max ru_maxrss over the")
    print(f"runs; RSS floor {floor:.1f} MB: a figure at the floor means \"at most that\" "
          f"(see RUNNER_CODE)\n")
    print_table(results)
    missed = [r for r in results if r.met() == "NO"]
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(), "binary": forge, "source": source, "rss_floor_mb": floor,
            "results": [{"command": r.name, "n": r.n, "median_ms": r.median, "min_ms": r.min,
                         "cpu_ms": r.cpu_ms, "peak_rss_mb": r.rss_mb, "target": r.target_text(),
                         "met": r.met(), "runs": [vars(x) for x in r.runs]} for r in results],
        }, indent=2) + "\n")
    if missed:
        print("\nmissed: " + "; ".join(f"{r.name} at N={r.n:,}" for r in missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
