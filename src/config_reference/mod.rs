//! The reference of `.forge/config.toml`: every key with its type, default, meaning and an
//! example, and the prompt template's variables. It is the one source of the
//! `forge-config(5)` man page (`forge generate`), and its tests hold it to the structs in
//! `config/` and `harness/config.rs`: a field missing here, a key that is not a field, an
//! example that does not load or a default that is not the default fails them.

/// What forge uses when a key is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// The key must be set.
    Required,
    /// This TOML value: setting the key to it changes nothing.
    Value(&'static str),
    /// Unset, with what that means.
    Unset(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub key: &'static str,
    /// The TOML type.
    pub ty: &'static str,
    pub default: DefaultValue,
    pub meaning: &'static str,
    /// A TOML value for the key, as it would be written after `key = `.
    pub example: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// The table as written in the file: `[step]`, `[harness.NAME]`, `[[gates]]`; empty
    /// for the keys at the top.
    pub header: &'static str,
    pub about: &'static str,
    pub keys: &'static [Key],
}

/// One variable of a prompt template.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    pub meaning: &'static str,
}

const fn key(
    key: &'static str,
    ty: &'static str,
    default: DefaultValue,
    meaning: &'static str,
    example: &'static str,
) -> Key {
    Key {
        key,
        ty,
        default,
        meaning,
        example,
    }
}

use DefaultValue::{Required, Unset, Value};

/// Every section and key, in the order of the file `forge init` writes.
pub const SECTIONS: &[Section] = &[
    Section {
        header: "",
        about: "Keys at the top of the file, before any table.",
        keys: &[key(
            "schema",
            "integer",
            Required,
            "The version of this file's format. forge refuses a file from a newer version \
             (exit 5) and says to upgrade forge.",
            "1",
        )],
    },
    Section {
        header: "[secrets]",
        about: "What must never reach .forge/ (beads, the ledger, checkpoints). Every text \
                forge writes there goes through the redactor.",
        keys: &[key(
            "env",
            "array of strings",
            Value("[]"),
            "Environment variables whose values are redacted wherever they appear, beyond \
             those whose names look secret (*TOKEN*, *SECRET*, *PASSWORD*, *API_KEY*, ...), \
             which always are.",
            "[\"DATABASE_URL\"]",
        )],
    },
    Section {
        header: "[step]",
        about: "forge step: one bead run through a harness on its own branch and worktree.",
        keys: &[
            key(
                "harness",
                "string",
                Unset("forge step needs --harness NAME"),
                "The [harness.NAME] that forge step (and forge tick) run unless --harness \
                 names another.",
                "\"claude\"",
            ),
            key(
                "base",
                "string",
                Unset("the branch checked out in the main working tree"),
                "The branch steps start from and merge into. It must exist and have a commit.",
                "\"main\"",
            ),
            key(
                "prompt_template",
                "string",
                Unset("the built-in template, under PROMPT TEMPLATE"),
                "A file under .forge/, relative to it, holding the prompt template: the text \
                 the harness receives, with the variables listed under PROMPT TEMPLATE \
                 replaced. An absolute path or one with '..' is refused.",
                "\"prompt.md\"",
            ),
        ],
    },
    Section {
        header: "[plan]",
        about: "forge plan: a planner harness proposes beads for a goal.",
        keys: &[key(
            "harness",
            "string",
            Unset("the [step] harness"),
            "The [harness.NAME] forge plan asks for a plan unless --harness names another.",
            "\"claude\"",
        )],
    },
    Section {
        header: "[harness.NAME]",
        about: "One harness: an agent CLI and how to run it. NAME is yours (forge step \
                --harness NAME). A harness sees only an allowlisted environment (PATH, LANG, \
                TERM, USER, proxies, ...), the variables named in pass_env, its own empty \
                HOME, and FORGE_BEAD, FORGE_STEP, FORGE_RUN, FORGE_REPO, FORGE_OUTBOX. SSH_AUTH_SOCK, \
                DOCKER_HOST and GPG_AGENT_INFO are never passed.",
        keys: &[
            key(
                "preset",
                "string",
                Required,
                "Which CLI, and so how forge builds its command line and reads its output: \
                 claude, codex, gemini, aider, opencode, openhands, acp (any agent that \
                 speaks the Agent Client Protocol over its stdio: forge is its client and \
                 answers its permission requests), or command (any program: each line it \
                 prints is a message, its exit status is the verdict).",
                "\"claude\"",
            ),
            key(
                "command",
                "array of strings",
                Unset("the preset's program: claude, codex, ...; sh for command"),
                "The program and leading arguments. For a known CLI, the preset's arguments \
                 follow. For the command preset this is the whole command line: {prompt} in \
                 an argument is replaced by the prompt; without {prompt} the prompt goes to \
                 stdin. A relative path with a slash is relative to the repository's root \
                 (when a step runs: its worktree).",
                "[\"claude\"]",
            ),
            key(
                "args",
                "array of strings",
                Value("[]"),
                "Arguments appended after the preset's own.",
                "[\"--max-turns\", \"40\"]",
            ),
            key(
                "model",
                "string",
                Unset("the CLI's own default model"),
                "The model the CLI is told to use (its --model or equivalent).",
                "\"claude-sonnet-4-5\"",
            ),
            key(
                "pass_env",
                "array of strings",
                Value("[]"),
                "Variables passed through from forge's environment (API keys, endpoints); \
                 nothing else beyond the allowlist is. forge doctor names the ones that are \
                 not set.",
                "[\"ANTHROPIC_API_KEY\"]",
            ),
            key(
                "env",
                "table of strings",
                Value("{}"),
                "Variables set in the harness's environment (they win over the preset's \
                 own). A *_BASE_URL host is let through the sandbox's proxy.",
                "{ DISABLE_TELEMETRY = \"1\" }",
            ),
            key(
                "timeout",
                "integer (seconds)",
                Value("1800"),
                "Wall-clock limit of one run, 1 to 604800 (a week). When it is reached the \
                 whole process tree is stopped and the step fails. forge step --timeout \
                 overrides it.",
                "3600",
            ),
            key(
                "idle_timeout",
                "integer (seconds)",
                Unset("no limit"),
                "Seconds without any output after which the run is stopped, 1 to 604800.",
                "300",
            ),
            key(
                "grace",
                "integer (seconds)",
                Value("5"),
                "Between asking the harness to stop (TERM) and killing it, 0 to 604800.",
                "10",
            ),
            key(
                "home_files",
                "table of strings",
                Value("{}"),
                "Files written into the harness's HOME before each run, by path relative to \
                 it: each run starts with an empty HOME, so this is how a harness gets the \
                 settings it only reads from there. Paths must stay inside HOME.",
                "{ \".codex/config.toml\" = \"model = 'o4-mini'\" }",
            ),
            key(
                "acp_fs",
                "boolean",
                Unset("true, except fs/read_text_file for Gemini CLI"),
                "acp preset only: whether forge offers the agent its fs/read_text_file and \
                 fs/write_text_file methods, which it serves inside the worktree and records. \
                 Gemini CLI (0.61) is offered only fs/write_text_file by default: it fails to \
                 create new files when fs/read_text_file is offered.",
                "false",
            ),
        ],
    },
    Section {
        header: "[harness.NAME.permissions]",
        about: "acp preset only. forge answers every session/request_permission itself, \
                never the agent's default, and records each request and answer in the \
                ledger (forge approve and forge ledger render show them). A path outside \
                the worktree is always denied, and so is an edit, delete or move whose \
                path forge cannot see. For execute, the command patterns decide first \
                (deny, then ask, then allow; * matches any text), on each simple command \
                of the line (split at ; && || | & newlines and parentheses): a deny or ask \
                pattern matches what a command runs (past VAR=value prefixes, wrappers such \
                as env, nohup or xargs, the program's directory, git's global options) or \
                what it says; an allow pattern must match every command as written; a \
                command forge cannot read (sh -c, eval, $( ), backticks, redirections) is \
                never allowed by a pattern, and is denied when deny patterns exist. Deny \
                patterns are a guard against a model's mistakes, not a wall: the sandbox \
                is what holds a hostile agent, and an allowlist (execute = \"deny\" with \
                execute_allow) is the stronger rule. A fetch to a host the network \
                allowlist would refuse is denied. Otherwise the tool kind's rule decides: \
                allow, deny or ask (ask: the person at the terminal of an interactive forge \
                step is asked; in tick, or with nobody there, the request is denied and the \
                record says a human was needed). forge selects allow_once or reject_once, \
                never an \"always\" option.",
        keys: &[
            key(
                "read",
                "allow|deny|ask",
                Value("\"allow\""),
                "Reading files.",
                "\"allow\"",
            ),
            key(
                "edit",
                "allow|deny|ask",
                Value("\"allow\""),
                "Editing files.",
                "\"allow\"",
            ),
            key(
                "delete",
                "allow|deny|ask",
                Value("\"deny\""),
                "Deleting files.",
                "\"ask\"",
            ),
            key(
                "move",
                "allow|deny|ask",
                Value("\"deny\""),
                "Moving files.",
                "\"allow\"",
            ),
            key(
                "search",
                "allow|deny|ask",
                Value("\"allow\""),
                "Searching.",
                "\"allow\"",
            ),
            key(
                "execute",
                "allow|deny|ask",
                Value("\"deny\""),
                "Running a command no pattern matched.",
                "\"ask\"",
            ),
            key(
                "fetch",
                "allow|deny|ask",
                Value("\"allow\""),
                "Fetching a URL whose host the network allowlist lets through.",
                "\"deny\"",
            ),
            key(
                "think",
                "allow|deny|ask",
                Value("\"allow\""),
                "Thinking.",
                "\"allow\"",
            ),
            key(
                "other",
                "allow|deny|ask",
                Value("\"deny\""),
                "Any other kind (switch_mode, kinds forge does not know).",
                "\"deny\"",
            ),
            key(
                "execute_allow",
                "array of strings",
                Value("[]"),
                "Commands an execute may run.",
                "[\"cargo test*\", \"cargo build*\"]",
            ),
            key(
                "execute_deny",
                "array of strings",
                Value("[]"),
                "Commands refused (see above for how a command is read).",
                "[\"git push*\", \"curl*\"]",
            ),
            key(
                "execute_ask",
                "array of strings",
                Value("[]"),
                "Commands the person at the terminal is asked about.",
                "[\"cargo publish*\"]",
            ),
        ],
    },
    Section {
        header: "[[gates]]",
        about: "Checks run in the step's worktree after the harness, in order; a failing \
                gate fails the step. Gates run in the sandbox with the network open and get \
                no API keys.",
        keys: &[
            key(
                "name",
                "string",
                Required,
                "The gate's name, in reports and the ledger.",
                "\"tests\"",
            ),
            key(
                "run",
                "string",
                Required,
                "The command, run with sh -c in the worktree; exit 0 passes.",
                "\"cargo test\"",
            ),
            key(
                "timeout",
                "integer (seconds)",
                Value("600"),
                "Wall-clock limit, 1 to 604800; a gate that reaches it fails.",
                "1200",
            ),
        ],
    },
    Section {
        header: "[policy]",
        about: "What a step may change, and which steps merge without a person.",
        keys: &[
            key(
                "protected_paths",
                "array of strings",
                Value("[]"),
                "Paths (gitignore syntax) a step may not change; a step that does fails.",
                "[\".github/\", \"Cargo.lock\"]",
            ),
            key(
                "max_diff_lines",
                "integer",
                Value("2000"),
                "The most lines (added plus removed) one step may change.",
                "500",
            ),
            key(
                "auto_approve",
                "array of strings",
                Value("[]"),
                "Risk tiers (low, medium, high) whose steps forge tick merges without a \
                 person once their gates pass; the ledger records such approvals as given \
                 by policy. Empty: every step waits for a human.",
                "[\"low\"]",
            ),
            key(
                "merge",
                "string",
                Value("\"direct\""),
                "How an approved step reaches its base branch. \"direct\": the approval \
                 merges it at once. \"queue\": the approval enqueues it, and the merge queue \
                 (run by `forge approve` and every `forge tick`) merges each approved head onto \
                 the base's current tip in memory, runs the gates on that merged commit in a \
                 scratch worktree, and only then advances the base by compare-and-swap; a \
                 conflict or a failing gate sends the step back to its agent (`forge revise \
                 STEP`). `forge queue` lists and reorders it.",
                "\"queue\"",
            ),
        ],
    },
    Section {
        header: "[tick]",
        about: "forge tick: one round of unattended work, for cron.",
        keys: &[
            key(
                "steps",
                "integer",
                Value("1"),
                "The most steps one tick runs, at least 1 (pause forge with forge pause \
                 instead of 0).",
                "3",
            ),
            key(
                "wall_time",
                "integer (seconds)",
                Unset("no limit"),
                "Seconds after which a tick starts no new step.",
                "3600",
            ),
            key(
                "jobs",
                "integer",
                Value("1"),
                "Steps a tick runs at once, at least 1, each in its own worktree, sandbox and \
                 lease (forge tick --jobs overrides it). Beyond 1, a step starts only while \
                 the day's [budget] covers its reservation besides those of the steps \
                 running (see [budget] reserve_usd).",
                "4",
            ),
            key(
                "commit",
                "boolean",
                Value("false"),
                "Commit forge's own .forge/ changes after each tick (only .forge/ paths, \
                 through a separate index).",
                "true",
            ),
            key(
                "push",
                "string",
                Unset("nothing is pushed"),
                "A remote to push step branches to after each tick.",
                "\"origin\"",
            ),
            key(
                "breaker",
                "integer",
                Value("3"),
                "Consecutive failed steps that trip the circuit breaker, pausing forge until \
                 forge resume; 0 never trips.",
                "5",
            ),
            key(
                "notify",
                "string",
                Unset("no one is notified"),
                "A command run with sh -c, given a JSON description on stdin, whenever \
                 something needs a human (an approval waits, the breaker tripped, a budget \
                 ran out).",
                "\"notify-send forge \\\"$(jq -r .message)\\\"\"",
            ),
            key(
                "remote",
                "string",
                Unset("claims stay on this machine"),
                "A shared git remote on which ticks of several machines claim beads \
                 (refs/forge/claims/<bead>, by compare-and-swap push) and publish each \
                 result (step branch, .forge/ files to refs/forge/state/<base>, release) in \
                 one atomic push; forge tick --remote overrides it. See docs/scale-out.md.",
                "\"origin\"",
            ),
            key(
                "claim_lease",
                "integer (seconds)",
                Value("300"),
                "Seconds a claim on [tick] remote lasts from its last renewal; the holder \
                 renews it every third of that while its step runs, and another machine may \
                 take over a claim whose lease ran out (the old holder's result is then \
                 refused). Clock skew between machines only changes how soon.",
                "120",
            ),
        ],
    },
    Section {
        header: "[budget]",
        about: "Limits on what forge tick spends per UTC day, from what harnesses report \
                (and [prices] estimates); unset means unlimited.",
        keys: &[
            key(
                "money_per_day",
                "float (US dollars)",
                Unset("unlimited"),
                "Dollars per UTC day.",
                "20.0",
            ),
            key(
                "tokens_per_day",
                "integer",
                Unset("unlimited"),
                "Tokens per UTC day.",
                "5000000",
            ),
            key(
                "attempts_per_bead",
                "integer",
                Unset("unlimited"),
                "Attempts (steps) per bead after which forge tick leaves it to a person.",
                "3",
            ),
            key(
                "reserve_usd",
                "float (US dollars)",
                Unset("the mean cost of the harness's last 5 runs"),
                "What a tick running several steps at once ([tick] jobs) sets aside for \
                 each: a step starts only if today's spend plus the reservations of the \
                 running steps and its own stay within money_per_day. With neither this nor \
                 a run of known cost, no step starts beside another. The day's spend can \
                 pass the limit by at most what the steps running after the last start \
                 spend beyond their reservations (or, for a step that started alone, its \
                 whole spend, as with one job).",
                "0.50",
            ),
            key(
                "reserve_tokens",
                "integer",
                Unset("the mean tokens of the harness's last 5 runs"),
                "The same as reserve_usd, for tokens_per_day.",
                "200000",
            ),
        ],
    },
    Section {
        header: "[worktree]",
        about: "How each step's worktree is prepared.",
        keys: &[
            key(
                "copy",
                "array of strings",
                Value("[]"),
                "Ignored files copied from the main working tree into each step's worktree, \
                 relative to its root (no absolute paths, no '..').",
                "[\".env\"]",
            ),
            key(
                "setup",
                "string",
                Unset("no setup"),
                "A command run with sh -c in each new worktree before the harness starts. \
                 It is your command and runs outside the sandbox.",
                "\"npm ci\"",
            ),
            key(
                "setup_timeout",
                "integer (seconds)",
                Unset("600"),
                "Wall-clock limit of setup, 1 to 604800.",
                "1200",
            ),
        ],
    },
    Section {
        header: "[sandbox]",
        about: "The Linux Landlock sandbox every harness, its gates and the planner run in. \
                forge doctor shows what this machine can enforce.",
        keys: &[
            key(
                "mode",
                "string",
                Value("\"on\""),
                "\"on\": enforced, or steps refuse to start and say what is missing; \
                 \"off\": unsandboxed, and every report says UNSANDBOXED.",
                "\"on\"",
            ),
            key(
                "network",
                "string",
                Value("\"allowlist\""),
                "\"allowlist\": only forge's per-step proxy, which lets through the preset's \
                 API hosts, the host of any *_BASE_URL in the harness's env and allow_hosts; \
                 \"open\": any host; \"none\": no network.",
                "\"allowlist\"",
            ),
            key(
                "allow_hosts",
                "array of strings",
                Value("[]"),
                "Hosts (host, host:port, *.domain) reachable through the proxy beyond the \
                 preset's own.",
                "[\"127.0.0.1:8000\"]",
            ),
            key(
                "read",
                "array of strings",
                Value("[]"),
                "Extra paths (absolute, or starting with ~/) a harness may read; its own \
                 installation and the directories on PATH are found on their own.",
                "[\"~/.nvm\"]",
            ),
            key(
                "write",
                "array of strings",
                Value("[]"),
                "Extra paths (absolute, or starting with ~/) a harness may write.",
                "[\"/tmp/models\"]",
            ),
            key(
                "memory_mb",
                "integer (MiB)",
                Unset("no limit"),
                "Memory limit of the harness's whole process tree, through a cgroup where \
                 one is writable, else address space per process (RLIMIT_AS).",
                "4096",
            ),
            key(
                "max_processes",
                "integer",
                Unset("no limit"),
                "The most processes of the harness's tree, through a pids cgroup where one \
                 is writable, else RLIMIT_NPROC.",
                "512",
            ),
        ],
    },
    Section {
        header: "[prices.\"MODEL\"]",
        about: "US dollars per million tokens, for forge cost and [budget] to estimate runs \
                that report tokens but no cost. MODEL is a model name or a prefix of the \
                names a harness reports (claude-sonnet-4-5 prices claude-sonnet-4-5-20250929).",
        keys: &[
            key(
                "input",
                "float",
                Required,
                "Dollars per million input tokens.",
                "3.0",
            ),
            key(
                "output",
                "float",
                Required,
                "Dollars per million output tokens.",
                "15.0",
            ),
            key(
                "cache_read",
                "float",
                Unset("cache, else unknown"),
                "Dollars per million tokens read from the prompt cache.",
                "0.3",
            ),
            key(
                "cache_write",
                "float",
                Unset("cache, else unknown"),
                "Dollars per million tokens written to the prompt cache.",
                "3.75",
            ),
            key(
                "cache",
                "float",
                Unset("unknown"),
                "Sets cache_read and cache_write at once.",
                "0.3",
            ),
        ],
    },
];

/// The variables of a prompt template (`[step] prompt_template`).
pub const TEMPLATE_VARIABLES: &[Variable] = &[
    Variable {
        name: "{id}",
        meaning: "The bead's id (fg-...).",
    },
    Variable {
        name: "{title}",
        meaning: "The bead's title.",
    },
    Variable {
        name: "{description}",
        meaning: "The bead's description and a newline, or nothing when it has none.",
    },
    Variable {
        name: "{acceptance}",
        meaning: "The acceptance criteria, one \"- \" line each; without any, a line asking \
                  the agent to use its judgement and say what it checked.",
    },
    Variable {
        name: "{feedback}",
        meaning: "A \"## Feedback from earlier attempts\" section with the reasons earlier \
                  attempts were rejected or revised, or nothing on a first attempt.",
    },
    Variable {
        name: "{rules}",
        meaning: "forge's rules for the agent: work in this tree, do not commit or touch \
                  .forge/, record assumptions with forge assume, say what was changed.",
    },
];

/// A whole configuration, annotated, for the EXAMPLES section (loaded by a test).
pub const EXAMPLE: &str = r#"schema = 1

[step]
harness = "claude"

[harness.claude]
preset = "claude"
pass_env = ["ANTHROPIC_API_KEY"]
timeout = 1800

# Any program: the prompt replaces {prompt}
[harness.script]
preset = "command"
command = ["./scripts/agent.sh", "{prompt}"]

# Gemini CLI over the Agent Client Protocol, forge answering its permission requests
[harness.gemini-acp]
preset = "acp"
command = ["gemini", "--acp"]
pass_env = ["GEMINI_API_KEY"]

[harness.gemini-acp.permissions]
execute_allow = ["cargo test*", "cargo build*"]
execute_deny = ["git push*", "curl*"]

# Codex against a model server on this machine
[harness.local]
preset = "codex"
model = "qwen3-coder"
pass_env = ["LOCAL_LLM_KEY"]

[harness.local.home_files]
".codex/config.toml" = """
model_provider = "local"
[model_providers.local]
name = "local"
base_url = "http://127.0.0.1:8000/v1"
env_key = "LOCAL_LLM_KEY"
wire_api = "responses"
"""

[[gates]]
name = "tests"
run = "cargo test"

[policy]
protected_paths = [".github/"]

[sandbox]
allow_hosts = ["127.0.0.1:8000"]
"#;

/// Escapes text for roff: backslashes, minus signs and double quotes, and a leading dot or
/// apostrophe.
fn roff(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\e")
        .replace('-', "\\-")
        .replace('"', "\\(dq");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// The `forge-config(5)` man page.
pub fn man_page() -> String {
    let mut m = String::new();
    let mut line = |s: &str| {
        m.push_str(s);
        m.push('\n');
    };
    line(&format!(
        ".TH FORGE\\-CONFIG 5 \"\" \"forge {}\"",
        env!("CARGO_PKG_VERSION")
    ));
    line(".SH NAME");
    line("forge\\-config \\- the configuration file of forge, .forge/config.toml");
    line(".SH SYNOPSIS");
    line("\\fI.forge/config.toml\\fR");
    line(".SH DESCRIPTION");
    for para in [
        "forge reads its settings from .forge/config.toml at the root of the repository: a \
         TOML file written by people and committed with the code. forge never rewrites it. \
         forge init writes one with every setting commented.",
        "A key forge does not know, a value of the wrong type or out of range, or a path \
         that leaves the repository is refused with the file, line and column (exit 5); \
         forge doctor checks the file. Tables forge does not know are kept for later \
         features.",
        "Each key below is given as KEY = TYPE, with what forge uses when it is not set \
         (Default) and an example (Example).",
    ] {
        line(".PP");
        line(&roff(para));
    }
    line(".SH KEYS");
    for section in SECTIONS {
        let title = if section.header.is_empty() {
            "Top level"
        } else {
            section.header
        };
        line(&format!(".SS \"{}\"", roff(title)));
        line(&roff(section.about));
        for k in section.keys {
            line(".TP");
            line(&format!("\\fB{}\\fR = \\fI{}\\fR", roff(k.key), roff(k.ty)));
            line(&roff(k.meaning));
            line(".br");
            let default = match k.default {
                Required => "Default: none, the key is required.".to_owned(),
                Value(v) => format!("Default: {v}"),
                Unset(what) => format!("Default: unset ({what})"),
            };
            line(&roff(&default));
            line(".br");
            line(&format!(
                "Example: \\fB{} = {}\\fR",
                roff(k.key),
                roff(k.example)
            ));
        }
    }
    line(".SH \"PROMPT TEMPLATE\"");
    line(&roff(
        "The prompt a harness receives is a template with these variables replaced. \
         [step] prompt_template names a file under .forge/ that replaces the built-in \
         template; a variable may appear any number of times, or not at all. For the \
         command preset, {prompt} in an argument of command is replaced by the whole \
         prompt.",
    ));
    for v in TEMPLATE_VARIABLES {
        line(".TP");
        line(&format!("\\fB{}\\fR", roff(v.name)));
        line(&roff(v.meaning));
    }
    line(".PP");
    line("The built\\-in template:");
    line(".PP");
    line(".nf");
    line(".RS 4");
    for l in crate::step::prompt::DEFAULT_TEMPLATE.lines() {
        line(&roff(l));
    }
    line(".RE");
    line(".fi");
    line(".SH EXAMPLES");
    line(".nf");
    line(".RS 4");
    for l in EXAMPLE.lines() {
        line(&roff(l));
    }
    line(".RE");
    line(".fi");
    line(".SH FILES");
    line(".TP");
    line("\\fI.forge/config.toml\\fR");
    line("This file.");
    line(".TP");
    line("\\fI.forge/\\fR");
    line(&roff(
        "Beads, the ledger, assumptions and checkpoints, committed with the code.",
    ));
    line(".SH \"SEE ALSO\"");
    line(&roff(
        "forge(1), forge-init(1), forge-step(1), forge-doctor(1), forge-cost(1)",
    ));
    m
}

#[cfg(test)]
mod tests;
