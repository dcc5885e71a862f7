//! The `.forge/config.toml` that `forge init` writes: every setting, commented.

/// What `forge init` writes: every setting commented, so the file documents itself.
pub const DEFAULT_CONFIG: &str = r#"# forge configuration. People edit this file; forge only reads it.
# Reference: `man 5 forge-config` (every key, its default and meaning) and README.md.

# Version of this file's format. forge refuses files from a newer version.
schema = 1

[secrets]
# Environment variables whose values must never reach .forge/. Variables whose names look
# secret (*TOKEN*, *SECRET*, *PASSWORD*, *API_KEY*, ...) are always redacted.
env = []

[step]
# The harness `forge step` runs unless --harness names another (a [harness.NAME] below).
# harness = "claude"
# The branch steps start from and merge into (default: the branch checked out here).
# base = "main"
# A prompt template under .forge/ ({title}, {description}, {acceptance}, {feedback}, ...).
# prompt_template = "prompt.md"

[plan]
# The harness `forge plan` asks for a plan (default: the [step] harness).
# harness = "claude"

# A harness: preset is one of claude, codex, gemini, aider, opencode, openhands, command.
# [harness.claude]
# preset = "claude"
# command = ["claude"]          # program and leading arguments (default: the preset's)
# args = []                     # appended to the preset's arguments
# model = "claude-sonnet-4-5"
# pass_env = ["ANTHROPIC_API_KEY"]  # variables passed through; nothing else is
# env = { DISABLE_TELEMETRY = "1" }
# timeout = 1800                # seconds of wall-clock time
# idle_timeout = 300            # seconds without output
#
# [harness.script]
# preset = "command"
# command = ["./scripts/agent.sh", "{prompt}"]   # or without {prompt}: prompt on stdin

# Gates run in the step's worktree after the harness; a failing gate fails the step.
# [[gates]]
# name = "tests"
# run = "cargo test"
# timeout = 600

[policy]
# Paths (gitignore syntax) that a step may not change.
protected_paths = []
# The most lines (added plus removed) one step may change.
max_diff_lines = 2000
# Risk tiers (low, medium, high) whose steps merge without a person. The ledger records
# such approvals as given by policy. Empty: every step waits for a human.
auto_approve = []
# How an approved step reaches the base: "direct" (merged at once) or "queue" (merged onto
# the base tip in a scratch worktree, gates re-run on the result, then the base advances).
# merge = "direct"

[tick]
# forge tick, for cron: steps per tick, and seconds after which no new step starts.
steps = 1
# Steps run at once, each in its own worktree and sandbox (`forge tick --jobs`).
# jobs = 1
# wall_time = 3600
# Commit forge's own .forge/ changes after each tick (nothing else is ever touched).
commit = false
# Push step branches to this remote after each tick.
# push = "origin"
# Claim beads on this shared remote, so that ticks on several machines never run one
# twice, and publish every result there (see docs/scale-out.md); a claim's lease in seconds.
# remote = "origin"
# claim_lease = 300
# Consecutive failed steps that pause forge (0: never).
breaker = 3
# Run with a JSON description on stdin whenever something needs a human.
# notify = "notify-send forge \"$(jq -r .message)\""

[budget]
# Limits per UTC day, from what harnesses report; unset means unlimited.
# money_per_day = 20.0
# tokens_per_day = 5000000
# attempts_per_bead = 3
# What a parallel tick sets aside for each step it starts (default: the mean of the
# harness's last 5 runs).
# reserve_usd = 0.5
# reserve_tokens = 200000

[worktree]
# Ignored files copied from this working tree into each step's worktree.
copy = []
# A command run in each new worktree before the harness starts.
# setup = "npm ci"

[sandbox]
# Harnesses, the planner and gates run in a Landlock sandbox: they write only their
# worktree and scratch home, read only system paths, their own installation and the
# worktree, and reach only the hosts allowed below (gates: any host). [worktree] setup is
# your command and runs outside it. If this machine cannot enforce it, steps
# refuse to start; "off" runs them UNSANDBOXED (every report then says so).
mode = "on"
# "allowlist": only the preset's API hosts and allow_hosts, through forge's proxy;
# "open": any host; "none": no network.
network = "allowlist"
allow_hosts = []
# Extra absolute paths a harness may read or write.
# read = ["/opt/models"]
# write = []
# Limits for the harness's whole process tree (a cgroup where forge can make
# one, else rlimits per process; see `forge doctor`).
# memory_mb = 4096
# max_processes = 512
"#;
