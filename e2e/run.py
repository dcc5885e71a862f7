#!/usr/bin/env python3
"""forge end to end against the real harness CLIs, offline (Python 3.11, standard library only).

    python3 e2e/run.py                      # every CLI
    E2E_CLIS=claude,codex python3 e2e/run.py

Installs each CLI from its registry into a cache directory, builds forge, starts the scripted
model server (e2e/model_server.py) on 127.0.0.1, and for each CLI runs `forge step` in a fresh
git repository with the matching preset:

- edit:  the real CLI edits a file through one of its tools; forge commits it on
         `forge/<bead>/1` with its trailers, records the session id, tokens (and cost where the
         CLI reports one); `forge approve --yes` merges it.
- auth:  the server answers 401; the step fails with an authentication reason, whatever the
         CLI's exit code.
- retry: the server answers 500 (529 for Claude) forever; the CLI retries until forge's
         timeout stops it, and no process of the step survives.

The ACP agents (gemini-acp: `gemini --acp`, claude-acp: `claude-agent-acp`, codex-acp:
`codex-acp`, opencode-acp: `opencode acp`) run through forge's `acp` preset, forge being their
Agent Client Protocol client and permission broker, with `[harness.X.permissions]
execute_deny = ["git push*"]`, and three cases:

- edit:   as above, and forge's `harness.permission` events allowed what the agent asked
          (an edit, but codex-acp asks nothing) and, for the agents that write through
          `fs/write_text_file` (Gemini CLI, opencode), a `harness.wrote` event for the file.
- denied: the model runs `git push origin main` (asking Codex's sandbox for escalation);
          forge refuses it: a `harness.permission` event, outcome denied, names the rule
          `deny-execute git push*`, and nothing was allowed to run.
- auth:   as above, and `harness.finished` has verdict `auth_failed`.

A CLI that cannot be installed is SKIPPED with the reason, never passed. Prints a table and
exits 1 if any case failed.

Environment (all optional):
  E2E_CLIS        comma-separated subset of: claude,codex,gemini,aider,opencode,openhands,
                  gemini-acp,claude-acp,codex-acp,opencode-acp (default: all of them)
  E2E_CACHE       where the CLIs are installed (default ~/.cache/forge-e2e)
  E2E_WORK        where repositories, logs and server logs go (default target/e2e/<time>)
  E2E_TIMEOUT     forge's --timeout for the retry case, seconds (default 20; OpenHands,
                  slow to start, gets at least 45)
  E2E_NETNS       auto (default) | 1 | 0: run the cases in a network namespace with only
                  loopback, so nothing can leave the machine even past the proxy variables
  E2E_FORGE       a forge binary to use instead of building one (`cargo build --locked`)
  E2E_<CLI>_VERSION  the version to install (default: the newest checked here, for claude
                  and codex the December 2026 releases; `latest` for the newest); the ACP
                  agents use their CLI's (gemini, opencode) or E2E_CLAUDE_ACP_VERSION,
                  E2E_CODEX_ACP_VERSION
  E2E_PYTHON312   a Python >= 3.12 for OpenHands (default: searched on PATH and in pyenv)
  E2E_CAPTURE     1: also keep each run's stdout and stderr apart, in <work>/<cli>/capture/
                  (through e2e/tee-streams), to refresh fixtures/harness-output/
  E2E_STRICT      1: a skipped CLI fails the run too (CI: the CLIs it names must run)
  E2E_SANDBOX     on (default) | off: forge's `[sandbox] mode` in the test repositories. On,
                  every case also checks that the harness ran sandboxed, and the edit case
                  that its model requests went through forge's egress proxy
"""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "e2e" / "model_server.py"
API_KEY = "sk-e2e-not-a-real-key-0000"
EDIT_FILE = "agent.txt"
EDIT_TEXT = "Hello from the forge e2e model server.\n"
CASES = ("edit", "auth", "retry", "denied")  # the table's columns
HEADLESS_CASES = ("edit", "auth", "retry")
ACP_CASES = ("edit", "denied", "auth")
DENIED_COMMAND = "git push origin main"

# name: how to install it, and the version HARNESSES.md was checked with.
CLIS = {
    "claude": {"kind": "npm", "package": "@anthropic-ai/claude-code", "version": "2.1.332", "bin": "claude"},
    "codex": {"kind": "npm", "package": "@openai/codex", "version": "0.171.0", "bin": "codex"},
    "gemini": {"kind": "npm", "package": "@google/gemini-cli", "version": "0.61.0", "bin": "gemini"},
    "aider": {"kind": "pip", "package": "aider-chat", "version": "0.86.2", "bin": "aider",
              "python": (3, 10)},
    "opencode": {"kind": "npm", "package": "opencode-ai", "version": "1.18.33", "bin": "opencode"},
    "openhands": {"kind": "pip", "package": "openhands", "version": "1.16.0", "bin": "openhands",
                  "python": (3, 12)},
    # Installed only for the ACP agents below.
    "claude-acp": {"kind": "npm", "package": "@agentclientprotocol/claude-agent-acp",
                   "version": "0.49.0", "bin": "claude-agent-acp"},
    "codex-acp": {"kind": "npm", "package": "@agentclientprotocol/codex-acp", "version": "2.6.0",
                  "bin": "codex-acp"},
}

# Agents run through forge's `acp` preset (forge is their Agent Client Protocol client and
# permission broker): the CLIS entry they install from, the arguments that start ACP mode,
# and the CLI whose endpoint settings (harness_config) they share. See e2e/ACP-NOTES.md.
ACP_AGENTS = {
    "gemini-acp": {"install": "gemini", "args": ["--acp"], "base": "gemini"},
    "claude-acp": {"install": "claude-acp", "args": [], "base": "claude"},
    "codex-acp": {"install": "codex-acp", "args": [], "base": "codex"},
    "opencode-acp": {"install": "opencode", "args": ["acp"], "base": "opencode"},
}
# What E2E_CLIS names (and runs by default).
SUITE = ["claude", "codex", "gemini", "aider", "opencode", "openhands"] + list(ACP_AGENTS)


def cases_for(name):
    return ACP_CASES if name in ACP_AGENTS else HEADLESS_CASES


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def tail(text, n=6):
    lines = [l for l in (text or "").strip().splitlines() if l.strip()]
    return " | ".join(lines[-n:])[-600:]


def run(cmd, timeout=None, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


# ---------------------------------------------------------------------------------------------
# Installing.


def pythons():
    """Candidate Python interpreters: PATH first, then pyenv's versions."""
    seen = []
    for name in ("python3", "python3.13", "python3.12", "python3.11", "python3.10"):
        p = shutil.which(name)
        if p:
            seen.append(p)
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    seen.extend(sorted(glob.glob(str(pyenv / "versions" / "*" / "bin" / "python3")), reverse=True))
    seen.insert(0, sys.executable)
    return seen


def python_version(exe):
    try:
        r = run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    try:
        return tuple(int(x) for x in r.stdout.strip().split("."))
    except ValueError:
        return None


def find_python(minimum, maximum=None):
    """This Python if it fits, else the oldest that does (the most likely to be supported)."""
    explicit = os.environ.get("E2E_PYTHON312") if minimum >= (3, 12) else None
    fits = []
    for exe in ([explicit] if explicit else []) + pythons():
        v = python_version(exe)
        if v and v >= minimum and (maximum is None or v <= maximum):
            if exe in (explicit, sys.executable):
                return exe, v
            fits.append((v, exe))
    if fits:
        v, exe = min(fits)
        return exe, v
    return None, None


def wanted_version(name, spec, kind):
    v = os.environ.get(f"E2E_{name.upper().replace('-', '_')}_VERSION") or spec["version"]
    if v != "latest":
        return v
    if kind == "npm":
        r = run(["npm", "view", spec["package"], "version"], timeout=120)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip().splitlines()[-1].strip()
        raise RuntimeError(f"npm view {spec['package']}: {tail(r.stderr)}")
    return "latest"


def install(name, cache):
    """(path to the CLI's program, None) or (None, reason it is skipped)."""
    spec = CLIS[name]
    try:
        version = wanted_version(name, spec, spec["kind"])
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        return None, f"cannot resolve the version: {e}"
    if spec["kind"] == "npm":
        if not shutil.which("npm") or not shutil.which("node"):
            return None, "node and npm are not on PATH"
        prefix = cache / "npm" / f"{name}-{version}"
        program = prefix / "node_modules" / ".bin" / spec["bin"]
        stamp = prefix / ".installed"
        if not stamp.exists():
            shutil.rmtree(prefix, ignore_errors=True)
            prefix.mkdir(parents=True)
            log(f"[install] npm {spec['package']}@{version}")
            try:
                r = run(["npm", "install", "--prefix", str(prefix), "--no-save", "--no-audit",
                         "--no-fund", "--loglevel", "error", f"{spec['package']}@{version}"],
                        timeout=900)
            except subprocess.TimeoutExpired:
                return None, f"npm install {spec['package']}@{version} took over 15 minutes"
            if r.returncode != 0 or not program.exists():
                shutil.rmtree(prefix, ignore_errors=True)
                return None, f"npm install {spec['package']}@{version} failed: {tail(r.stderr or r.stdout, 3)}"
            stamp.write_text(version)
        return program, None
    # pip, in a venv of its own.
    low = spec["python"]
    high = (3, 12) if name == "aider" else None
    exe, v = find_python(low, high)
    if not exe:
        want = f"Python {low[0]}.{low[1]}" + (f"-{high[0]}.{high[1]}" if high else "+")
        return None, f"needs {want}, none found (set E2E_PYTHON312 for OpenHands)"
    venv = cache / "venv" / f"{name}-{version}-py{v[0]}{v[1]}"
    program = venv / "bin" / spec["bin"]
    stamp = venv / ".installed"
    if not stamp.exists():
        shutil.rmtree(venv, ignore_errors=True)
        log(f"[install] pip {spec['package']}=={version} (Python {v[0]}.{v[1]})")
        r = run([exe, "-m", "venv", str(venv)], timeout=300)
        if r.returncode != 0:
            return None, f"python -m venv failed: {tail(r.stderr)}"
        req = spec["package"] if version == "latest" else f"{spec['package']}=={version}"
        try:
            r = run([str(venv / "bin" / "pip"), "install", "--quiet", req], timeout=1800)
        except subprocess.TimeoutExpired:
            return None, f"pip install {req} took over 30 minutes"
        if r.returncode != 0 or not program.exists():
            shutil.rmtree(venv, ignore_errors=True)
            return None, f"pip install {req} failed: {tail(r.stderr or r.stdout, 3)}"
        stamp.write_text(version)
    return program, None


def cli_version(program):
    try:
        r = run([str(program), "--version"], timeout=120, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"? ({e})"
    text = (r.stdout + "\n" + r.stderr).strip()
    m = re.search(r"\d+\.\d+\.\d+[\w.\-]*", text)
    return m.group(0) if m else (tail(text, 1) or "?")


def package_version(program):
    """The version an npm-installed program's package.json gives (claude-agent-acp and
    codex-acp have no `--version`: they start speaking ACP), or None."""
    try:
        target = Path(os.path.realpath(program))
    except OSError:
        return None
    for d in target.parents:
        pj = d / "package.json"
        if pj.exists():
            try:
                return json.loads(pj.read_text()).get("version")
            except (OSError, ValueError):
                return None
        if d.name == "node_modules":
            return None
    return None


def build_forge():
    explicit = os.environ.get("E2E_FORGE")
    if explicit:
        return Path(explicit).resolve()
    log("[build] cargo build --locked")
    r = subprocess.run(["cargo", "build", "--locked", "--quiet"], cwd=ROOT)
    if r.returncode != 0:
        sys.exit("cargo build failed")
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    return (target / "debug" / "forge").resolve()


# ---------------------------------------------------------------------------------------------
# Isolation: a network namespace with only loopback, when the machine allows it.


def loopback_up():
    """Brings `lo` up in the current network namespace (SIOCSIFFLAGS)."""
    import fcntl
    import struct
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s, siocgifflags, ifr)[:18])[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH", b"lo", flags | iff_up))


def netns_works():
    if not shutil.which("unshare"):
        return False, "unshare is not installed"
    probe = ("import sys; sys.path.insert(0, %r); import run; run.loopback_up(); "
             "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
             "socket.create_connection(s.getsockname(), timeout=2); print('ok')") % str(ROOT / "e2e")
    try:
        r = run(["unshare", "--net", sys.executable, "-B", "-c", probe], timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    if r.returncode == 0 and r.stdout.strip() == "ok":
        return True, ""
    return False, tail(r.stderr) or "unshare --net failed"


# ---------------------------------------------------------------------------------------------
# The model server.


class Server:
    def __init__(self, work):
        self.work = work
        self.log = work / "server-requests.jsonl"
        self.proxy_log = work / "proxy-connections.jsonl"
        port_file, proxy_file = work / "server.port", work / "proxy.port"
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "--port-file", str(port_file), "--log", str(self.log),
             "--dump-dir", str(work / "server-dumps"), "--proxy-port-file", str(proxy_file),
             "--proxy-log", str(self.proxy_log), "--edit-file", EDIT_FILE, "--edit-text", EDIT_TEXT,
             "--workdir-prefix", str(work / "repo" / ".git" / "forge" / "worktrees")],
            stdout=open(work / "server.out", "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while not (port_file.exists() and proxy_file.exists()):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the model server did not start: " + (work / "server.out").read_text())
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        self.proxy_port = int(proxy_file.read_text())
        self.url = f"http://127.0.0.1:{self.port}"

    def control(self, **state):
        req = urllib.request.Request(self.url + "/_control", data=json.dumps(state).encode(),
                                     headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=10) as r:
            return json.load(r)

    def requests(self, case):
        return [r for r in read_jsonl(self.log) if r.get("case") == case]

    def proxied(self, case):
        return [r for r in read_jsonl(self.proxy_log) if r.get("case") == case]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def read_jsonl(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except FileNotFoundError:
        pass
    return out


# ---------------------------------------------------------------------------------------------
# Harness configuration, per CLI.


def toml_str(s):
    return json.dumps(s)


def toml_table(d):
    return "{ " + ", ".join(f"{toml_str(k)} = {toml_str(v)}" for k, v in d.items()) + " }"


def harness_config(name, program, server, work):
    """(the `[harness.NAME]` keys, environment forge runs with, files outside the repository
    the harness reads: `[sandbox] read` grants) for one CLI."""
    url = server.url
    proxies = ["ALL_PROXY", "all_proxy"]
    command = [str(program)]
    if os.environ.get("E2E_CAPTURE"):
        command = [str(ROOT / "e2e" / "tee-streams"), str(work / "capture")] + command
    keys = {"preset": name, "command": command, "timeout": 300, "grace": 2}
    env, home_files, pass_env, args = {}, {}, list(proxies), []
    forge_env, reads = {}, []
    if name == "claude":
        env["ANTHROPIC_BASE_URL"] = url
        pass_env.append("ANTHROPIC_API_KEY")
        forge_env["ANTHROPIC_API_KEY"] = API_KEY
    elif name == "codex":
        keys["model"] = "gpt-5.5"
        home_files[".codex/config.toml"] = (
            'model_provider = "e2e"\n\n[model_providers.e2e]\nname = "e2e"\n'
            f'base_url = "{url}/v1"\nenv_key = "E2E_OPENAI_KEY"\nwire_api = "responses"\n')
        pass_env.append("E2E_OPENAI_KEY")
        forge_env["E2E_OPENAI_KEY"] = API_KEY
    elif name == "gemini":
        env["GOOGLE_GEMINI_BASE_URL"] = url
        home_files[".gemini/settings.json"] = json.dumps({
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            "privacy": {"usageStatisticsEnabled": False},
            "telemetry": {"enabled": False},
        }, indent=2) + "\n"
        pass_env.append("GEMINI_API_KEY")
        forge_env["GEMINI_API_KEY"] = API_KEY
    elif name == "aider":
        keys["model"] = "openai/e2e-model"
        metadata = work / "aider-model-metadata.json"
        metadata.write_text(json.dumps({"openai/e2e-model": {
            "max_tokens": 8192, "max_input_tokens": 128000, "max_output_tokens": 8192,
            "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
            "litellm_provider": "openai", "mode": "chat"}}))
        args += ["--openai-api-base", f"{url}/v1", "--model-metadata-file", str(metadata)]
        # Outside the repository: forge's sandbox must be told aider may read it.
        reads.append(str(metadata))
        pass_env.append("OPENAI_API_KEY")
        forge_env["OPENAI_API_KEY"] = API_KEY
    elif name == "opencode":
        keys["model"] = "e2e/e2e-model"
        home_files[".config/opencode/opencode.json"] = json.dumps({
            "$schema": "https://opencode.ai/config.json",
            "autoupdate": False,
            "share": "disabled",
            "provider": {"e2e": {
                "npm": "@ai-sdk/openai-compatible", "name": "e2e",
                "options": {"baseURL": f"{url}/v1", "apiKey": "{env:E2E_OPENAI_KEY}"},
                "models": {"e2e-model": {"name": "e2e model", "tool_call": True,
                                         "cost": {"input": 1, "output": 2}}}}},
        }, indent=2) + "\n"
        pass_env.append("E2E_OPENAI_KEY")
        forge_env["E2E_OPENAI_KEY"] = API_KEY
    elif name == "openhands":
        keys["model"] = "openai/e2e-model"
        env["LLM_BASE_URL"] = f"{url}/v1"
        pass_env.append("LLM_API_KEY")
        forge_env["LLM_API_KEY"] = API_KEY
    keys["pass_env"] = pass_env
    if args:
        keys["args"] = args
    if env:
        keys["env"] = env
    if home_files:
        keys["home_files"] = home_files
    return keys, forge_env, reads


def acp_config(name, program, server, work):
    """harness_config for an ACP agent: its CLI's endpoint settings under `preset = "acp"`,
    plus what the agent needs in ACP mode (e2e/ACP-NOTES.md), and `[harness.NAME.permissions]`
    refusing `git push*` by name (the default policy refuses every command anyway: the rule
    makes the ledger say which)."""
    spec = ACP_AGENTS[name]
    keys, forge_env, reads = harness_config(spec["base"], program, server, work)
    # Not through e2e/tee-streams: forge knows an agent by its program's name.
    keys["command"] = [str(program)] + spec["args"]
    keys["preset"] = "acp"
    model = keys.pop("model", None)
    home_files = keys.get("home_files") or {}
    env = keys.setdefault("env", {})
    if spec["base"] == "codex":
        home_files[".codex/config.toml"] = (
            f'model = "{model or "gpt-5.5"}"\ncheck_for_update_on_startup = false\n'
            + CODEX_ACP_TOP + home_files[".codex/config.toml"]
            + "\n[analytics]\nenabled = false\n\n[features]\nplugins = false\n"
            + CODEX_ACP_PROFILE)
        env["NO_BROWSER"] = "1"
        env.update(CODEX_ACP_ENV)
    elif spec["base"] == "opencode":
        cfg = json.loads(home_files[".config/opencode/opencode.json"])
        cfg["model"] = model
        # opencode allows every tool unless told to ask: ask, so forge decides.
        cfg["permission"] = {"edit": "ask", "bash": "ask", "webfetch": "ask"}
        home_files[".config/opencode/opencode.json"] = json.dumps(cfg, indent=2) + "\n"
    if not env:
        keys.pop("env")
    keys["permissions"] = {"execute_deny": ["git push*"]}
    return keys, forge_env, reads


# codex-acp inside forge's sandbox (ACP-NOTES.md, "Under forge"): Codex's own sandbox
# (bubblewrap) cannot start under Landlock, so in its `workspace-write` mode every command
# fails ("error building bubblewrap command: Permission denied") and `apply_patch` asks
# for approval; `agent-full-access` runs everything but never asks forge. A permission
# profile without restrictions, selected as a mode (codex-acp offers each profile as
# `permission-profile:<id>`, with the config's `approval_policy`), runs commands and edits
# inside forge's sandbox and still sends escalations (`require_escalated`) to forge.
CODEX_ACP_TOP = 'default_permissions = "forge"\napproval_policy = "on-request"\n'
CODEX_ACP_PROFILE = ('\n[permissions.forge.filesystem]\n":root" = "write"\n'
                     '\n[permissions.forge.network]\nenabled = true\n')
CODEX_ACP_ENV = {"INITIAL_AGENT_MODE": "permission-profile:forge"}


# The retry case: settings that make a CLI keep retrying past forge's timeout where its own
# default gives up sooner (forge's presets bound retries on purpose).
RETRY_OVERRIDES = {
    "claude": {"env": {"CLAUDE_CODE_MAX_RETRIES": "100"}},
}
RETRY_STATUS = {"claude": 529}
# The retry case's least timeout per CLI: OpenHands takes 13-23 s to start (before its first
# model request), which leaves a 20 s run no time to retry on a slow first start.
RETRY_MIN_TIMEOUT = {"openhands": 45}


def render_section(section, keys):
    lines = [f"[harness.{section}]"]
    tables = []
    for k, v in keys.items():
        if k == "permissions":
            tables.append(f"\n[harness.{section}.permissions]")
            tables.extend(f"{pk} = [{', '.join(toml_str(x) for x in pv)}]" if isinstance(pv, list)
                          else f"{pk} = {toml_str(pv)}" for pk, pv in v.items())
        elif isinstance(v, dict):
            lines.append(f"{k} = {toml_table(v)}")
        elif isinstance(v, list):
            lines.append(f"{k} = [{', '.join(toml_str(x) for x in v)}]")
        elif isinstance(v, int):
            lines.append(f"{k} = {v}")
        else:
            lines.append(f"{k} = {toml_str(v)}")
    return "\n".join(lines + tables) + "\n"


# Variables forge reads a harness's custom endpoint from (src/step/contain.rs
# `allowed_hosts`): a URL in one of these in `[harness.X] env` is let through forge's proxy
# on its own; any other way of naming the endpoint (a file under HOME, an argument) needs
# `[sandbox] allow_hosts`.
BASE_URL_SUFFIXES = ("_BASE_URL", "_API_BASE", "_BASE")


def needs_allow_hosts(keys, url):
    return not any(k.endswith(BASE_URL_SUFFIXES) and url in v
                   for k, v in (keys.get("env") or {}).items())


def configure_sandbox(config, mode, allow_hosts, read=()):
    """Sets `mode`, `allow_hosts` and `read` in the `[sandbox]` section `forge init` wrote
    (adds the section if there is none), and checks that the file still parses to those
    values."""
    import tomllib
    text = config.read_text()
    toml_list = lambda xs: "[" + ", ".join(toml_str(x) for x in xs) + "]"
    values = {"mode": toml_str(mode), "allow_hosts": toml_list(allow_hosts), "read": toml_list(read)}
    m = re.search(r"(?m)^\[sandbox\][ \t]*\n", text)
    if not m:
        text = text.rstrip("\n") + "\n\n[sandbox]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
    else:
        start = m.end()
        nxt = re.search(r"(?m)^\[", text[start:])
        end = start + nxt.start() if nxt else len(text)
        body = text[start:end]
        for key, value in values.items():
            body, n = re.subn(rf"(?m)^{key}[ \t]*=.*$", f"{key} = {value}", body, count=1)
            if not n:
                body = body.rstrip("\n") + f"\n{key} = {value}\n\n"
        text = text[:start] + body + text[end:]
    config.write_text(text)
    got = tomllib.loads(text).get("sandbox", {})
    if (got.get("mode"), got.get("allow_hosts", []), got.get("read", [])) != (mode, list(allow_hosts), list(read)):
        raise RuntimeError(f"could not set [sandbox] in {config}: {got}")


# ---------------------------------------------------------------------------------------------
# One CLI.


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Repo:
    def __init__(self, work, forge, env):
        self.work, self.forge, self.env = work, forge, env
        self.path = work / "repo"
        self.path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        (self.path / "README").write_text("e2e\n")
        self.git("add", "README")
        self.git("commit", "-q", "-m", "initial")

    def git(self, *args):
        r = run(["git", *args], cwd=self.path, env=self.env, timeout=60)
        if r.returncode != 0:
            raise Failure(f"git {' '.join(args)}: {tail(r.stderr)}")
        return r.stdout

    def forge_run(self, *args, extra_env=None, timeout=900):
        env = dict(self.env, **(extra_env or {}))
        return run([str(self.forge), *args], cwd=self.path, env=env, timeout=timeout,
                   stdin=subprocess.DEVNULL)

    def forge_json(self, *args, expect=0, **kw):
        r = self.forge_run("--json", *args, **kw)
        if expect is not None and r.returncode != expect:
            raise Failure(f"forge {' '.join(args)} exited {r.returncode} (wanted {expect}): "
                          f"{tail(r.stdout, 3)} {tail(r.stderr)}")
        try:
            return json.loads(r.stdout), r
        except ValueError:
            raise Failure(f"forge {' '.join(args)}: no JSON report: {tail(r.stdout)} {tail(r.stderr)}")

    def create_bead(self, title):
        out, _ = self.forge_json("bead", "create", title)
        return out["id"]

    def ledger(self):
        events = []
        for f in sorted(glob.glob(str(self.path / ".forge" / "ledger" / "*" / "*.jsonl"))):
            events.extend(read_jsonl(f))
        return events

    def harness_finished(self, step):
        return self.ledger_event("harness.finished", step)

    def harness_started(self, step):
        return self.ledger_event("harness.started", step)

    def ledger_event(self, kind, step):
        for e in reversed(self.ledger()):
            data = e.get("data") or {}
            if e.get("kind") == kind and data.get("step") == step:
                return data
        return {}


def sandbox_on():
    return (os.environ.get("E2E_SANDBOX") or "on").lower() not in ("off", "0", "no", "false")


def check_contained(repo, step, note, egress_denied):
    """With the sandbox on: the harness ran sandboxed. Notes what forge's egress proxy let
    through and refused (also kept in `egress_denied`, for the report); returns the number
    of connections it let through."""
    started = repo.harness_started(step) if step else {}
    finished = repo.harness_finished(step) if step else {}
    sandbox = started.get("sandbox") or "?"
    if sandbox_on():
        check(sandbox.startswith("sandboxed"), f"the harness did not run sandboxed: {sandbox!r}")
    egress = finished.get("egress") or {}
    denied = egress.get("denied") or {}
    for host, n in denied.items():
        egress_denied[host] = egress_denied.get(host, 0) + n
    if egress:
        note(f"proxy: {egress.get('allowed', 0)} through"
             + (", refused " + ", ".join(f"{h} ({n})" for h, n in sorted(denied.items())) if denied else ""))
    return egress.get("allowed", 0)


def forge_env(work, extra):
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = E2E Tester\n\temail = e2e@example.com\n[init]\n\tdefaultBranch = main\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "NO_COLOR": "1",
    }
    env.update(extra)
    return env


def survivors(step):
    """Live processes whose environment carries this step's FORGE_STEP marker."""
    marker = f"FORGE_STEP={step}".encode() + b"\0"
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                if marker not in f.read() + b"\0":
                    continue
            with open(f"/proc/{d}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state == "Z":
                continue
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            found.append(f"{d} {cmd[:100]}")
        except (OSError, IndexError):
            continue
    return found


def save_log(repo, step, work, case):
    r = repo.forge_run("log", step, timeout=60)
    (work / f"{case}-harness.log").write_text(r.stdout)
    return r.stdout


def case_edit(name, repo, server, work, note, egress):
    server.control(fail_status=0, case="edit")
    bead = repo.create_bead(f"Create {EDIT_FILE}")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "e2e: a bead")
    started = time.time()
    out, r = repo.forge_json("step", "--harness", name, bead, expect=None)
    took = time.time() - started
    cp = out.get("checkpoint") or {}
    step = cp.get("step", "")
    if step:
        save_log(repo, step, work, "edit")
    note(f"{took:.0f}s")
    through = check_contained(repo, step, note, egress)
    check(r.returncode == 0 and cp.get("state") == "awaiting-approval",
          f"step ended {cp.get('state')} (exit {r.returncode}): {cp.get('reason')}")
    if sandbox_on():
        check(through > 0, "no connection went through forge's egress proxy")
    reqs = server.requests("edit")
    calls = [q for q in reqs if str(q.get("answer", "")).startswith("call:")]
    if name == "aider":
        check(any("SEARCH" in str(q.get("answer")) or EDIT_FILE in str(q.get("answer")) for q in reqs),
              "the server never answered aider with an edit")
    else:
        check(calls, f"no request offered a usable tool: {[q.get('tools') for q in reqs][:2]}")
        check(any(q.get("tool_result") for q in reqs), "the tool result never came back to the model")
        note("tool " + calls[0]["answer"][5:])
    branch = f"forge/{bead}/1"
    check(cp.get("branch") == branch, f"branch {cp.get('branch')}, wanted {branch}")
    files = repo.git("show", "--name-only", "--format=", branch).split()
    check(EDIT_FILE in files, f"{branch} does not change {EDIT_FILE}: {files}")
    committed = repo.git("show", f"{branch}:{EDIT_FILE}")
    check(committed.strip() == EDIT_TEXT.strip(), f"{EDIT_FILE} on the branch is {committed!r}")
    junk = [f for f in files if f != EDIT_FILE]
    check(not junk, f"the commit holds files besides {EDIT_FILE}: {junk}")
    message = repo.git("log", "-1", "--format=%B", branch)
    check(f"Forge-Bead: {bead}" in message and f"Forge-Step: {step}" in message,
          f"trailers missing from the commit message: {message!r}")
    session = cp.get("session_id") or ""
    if name != "aider":
        check(session, "no session id was captured")
    tokens = cp.get("tokens") or {}
    check(tokens.get("reported") and tokens.get("output", 0) > 0 and tokens.get("input", 0) > 0,
          f"tokens not captured: {tokens}")
    note(f"session {session[:12] or '-'}, model {cp.get('model') or '-'}, "
         f"tokens in {tokens.get('input')} out {tokens.get('output')}")
    cost = cp.get("cost_usd")
    if name in ACP_AGENTS:
        check_acp_edit(name, repo, step, note)
    if name in ("claude", "opencode", "aider", "claude-acp"):
        check(isinstance(cost, (int, float)) and cost > 0, f"no cost captured: {cost}")
        note(f"cost ${cost:.6f}")
    else:
        check(cost is None, f"a cost the CLI does not report: {cost}")
    # Approve: merged into main.
    out, r = repo.forge_json("approve", "--yes", step, expect=None)
    check(r.returncode == 0, f"forge approve --yes exited {r.returncode}: {tail(r.stdout)} {tail(r.stderr)}")
    on_main = repo.git("show", f"main:{EDIT_FILE}")
    check(on_main.strip() == EDIT_TEXT.strip(), f"main does not have the edit after approve: {on_main!r}")
    steps, _ = repo.forge_json("steps")
    state = next((s.get("state") for s in steps.get("steps", []) if s.get("step") == step), None)
    check(state == "merged", f"the step is {state} after approve")
    left = survivors(step)
    check(not left, f"processes outlived the step: {left}")


def permission_events(repo, step):
    return [e.get("data") or {} for e in repo.ledger()
            if e.get("kind") == "harness.permission" and (e.get("data") or {}).get("step") == step]


def describe_permission(d):
    what = d.get("command") or d.get("title") or ",".join(d.get("paths") or []) or "?"
    return f"{d.get('kind')} {what!r} {d.get('outcome')} ({d.get('rule') or '-'})"


def check_acp_edit(name, repo, step, note):
    """What forge's ACP client recorded for an edit: the permissions it granted (an agent that
    asks before a write: all but codex-acp) and the writes it served (fs/write_text_file:
    Gemini CLI and opencode)."""
    perms = permission_events(repo, step)
    for d in perms:
        note("permission " + describe_permission(d))
    refused = [d for d in perms if d.get("outcome") != "allowed"]
    check(not refused, f"forge refused the edit: {[describe_permission(d) for d in refused]}")
    if name != "codex-acp":  # codex-acp asks only for escalations (ACP-NOTES.md)
        check(any(d.get("kind") == "edit" for d in perms), "no edit permission was recorded")
    wrote = [e.get("data") or {} for e in repo.ledger()
             if e.get("kind") == "harness.wrote" and (e.get("data") or {}).get("step") == step]
    if name in ("gemini-acp", "opencode-acp"):
        check(any(d.get("path") == EDIT_FILE for d in wrote),
              f"no harness.wrote event for {EDIT_FILE}: {wrote}")
        note(f"forge wrote {', '.join(d.get('path', '?') for d in wrote)}")


def case_denied(name, repo, server, work, note, egress):
    """The model asks to run `git push origin main`; forge refuses it by the harness's
    `execute_deny = ["git push*"]`, and the ledger says so."""
    server.control(fail_status=0, case="denied", shell=DENIED_COMMAND, escalate=True)
    try:
        bead = repo.create_bead("Publish the work")
        repo.git("add", "-A")
        repo.git("commit", "-q", "-m", "e2e: a bead to publish")
        started = time.time()
        out, r = repo.forge_json("step", "--harness", name, bead, expect=None)
        took = time.time() - started
    finally:
        server.control(shell=None)
    cp = out.get("checkpoint") or {}
    step = cp.get("step", "")
    if step:
        save_log(repo, step, work, "denied")
    finished = repo.harness_finished(step) if step else {}
    note(f"{took:.0f}s")
    check_contained(repo, step, note, egress)
    check(step, f"no step was run (exit {r.returncode}): {tail(r.stdout)} {tail(r.stderr)}")
    reqs = server.requests("denied")
    check(any(str(q.get("answer", "")).startswith("call:") for q in reqs),
          "the server never answered with the shell call")
    perms = permission_events(repo, step)
    for d in perms:
        note("permission " + describe_permission(d))
    denied = [d for d in perms if d.get("outcome") == "denied"
              and "git push" in (d.get("command") or d.get("title") or "")]
    check(denied, f"no denied `{DENIED_COMMAND}` in the ledger: {[describe_permission(d) for d in perms]}")
    rule = denied[0].get("rule") or ""
    check("git push*" in rule, f"the denial does not name the rule: {rule!r}")
    check(not any(d.get("outcome") == "allowed" and d.get("kind") == "execute" for d in perms),
          "forge allowed a command")
    verdict = finished.get("verdict")
    note(f"step {cp.get('state')}: {(cp.get('reason') or '-')[:120]}; verdict {json.dumps(verdict)[:80]}")
    check(cp.get("state") in ("failed", "awaiting-approval", "no-changes") or r.returncode in (0, 4),
          f"step ended {cp.get('state')} (exit {r.returncode})")
    check(not (cp.get("reason") or "").startswith("timed out"), f"only forge's timeout stopped it")
    left = survivors(step)
    check(not left, f"processes outlived the step: {left}")


def case_auth(name, repo, server, work, note, egress):
    server.control(fail_status=401, fail_count=None, case="auth")
    bead = repo.create_bead("Create auth.txt")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "e2e: another bead")
    started = time.time()
    out, r = repo.forge_json("step", "--harness", name, bead, expect=None)
    took = time.time() - started
    cp = out.get("checkpoint") or {}
    step = cp.get("step", "")
    if step:
        save_log(repo, step, work, "auth")
    finished = repo.harness_finished(step) if step else {}
    note(f"{took:.0f}s, CLI exit {finished.get('exit_code')}")
    check_contained(repo, step, note, egress)
    reqs = server.requests("auth")
    check(reqs, "the CLI never reached the model server")
    check(r.returncode == 4 and cp.get("state") == "failed",
          f"step ended {cp.get('state')} (exit {r.returncode}): {cp.get('reason')}")
    reason = cp.get("reason") or ""
    check(re.search(r"auth|401", reason, re.I), f"the reason does not say authentication: {reason!r}")
    check(not reason.startswith("timed out"), f"only forge's timeout stopped it: {reason!r}")
    note(f"reason: {reason[:90]}")
    if name in ACP_AGENTS:
        verdict = finished.get("verdict")
        kind = verdict if isinstance(verdict, str) else (verdict or {}).get("kind") or \
            (verdict or {}).get("verdict") or json.dumps(verdict)
        check("auth_failed" in str(kind), f"harness.finished verdict {verdict!r}, wanted auth_failed")
    left = survivors(step)
    check(not left, f"processes outlived the step: {left}")


def case_retry(name, repo, server, work, note, timeout, egress):
    timeout = max(timeout, RETRY_MIN_TIMEOUT.get(name, 0))
    status = RETRY_STATUS.get(name, 500)
    server.control(fail_status=status, fail_count=None, case="retry")
    bead = repo.create_bead("Create retry.txt")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "e2e: a third bead")
    started = time.time()
    out, r = repo.forge_json("step", "--harness", f"{name}-retry", "--timeout", str(timeout), bead,
                             expect=None)
    took = time.time() - started
    cp = out.get("checkpoint") or {}
    step = cp.get("step", "")
    # Whatever forge missed is still running now; give stragglers a moment to show.
    left = survivors(step) if step else []
    time.sleep(1)
    left += [p for p in survivors(step) if p not in left] if step else []
    if step:
        save_log(repo, step, work, "retry")
    reqs = server.requests("retry")
    note(f"{took:.0f}s, {len(reqs)} failed requests ({status})")
    check_contained(repo, step, note, egress)
    check(r.returncode == 4 and cp.get("state") == "failed",
          f"step ended {cp.get('state')} (exit {r.returncode}): {cp.get('reason')}")
    reason = cp.get("reason") or ""
    check(reason.startswith(f"timed out after {timeout}s"),
          f"the CLI stopped before forge's timeout: {reason!r}")
    check(len(reqs) >= 2, f"the CLI did not retry ({len(reqs)} requests)")
    check(took < timeout + 30, f"forge took {took:.0f}s to stop a {timeout}s run")
    check(not left, f"processes outlived the step: {left}")
    finished = repo.harness_finished(step)
    if finished.get("escaped_killed"):
        note(f"{finished['escaped_killed']} escaped processes killed")


def run_cli(name, program, version, forge, work_root, timeout):
    work = work_root / name
    work.mkdir(parents=True)
    cases = cases_for(name)
    results, notes, egress = {}, {c: [] for c in cases}, {}
    server = Server(work)
    try:
        configure = acp_config if name in ACP_AGENTS else harness_config
        keys, extra, reads = configure(name, program, server, work)
        proxy = f"http://127.0.0.1:{server.proxy_port}"
        extra.update({
            "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "ALL_PROXY": proxy,
            "http_proxy": proxy, "https_proxy": proxy, "all_proxy": proxy,
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        })
        env = forge_env(work, extra)
        repo = Repo(work, forge, env)
        r = repo.forge_run("init", timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"forge init: {tail(r.stderr)}")
        retry_keys = json.loads(json.dumps(keys))
        for k, v in RETRY_OVERRIDES.get(name, {}).items():
            if isinstance(v, dict):
                retry_keys.setdefault(k, {}).update(v)
            else:
                retry_keys[k] = v
        config = repo.path / ".forge" / "config.toml"
        # The model server is on a loopback port: where forge cannot see the endpoint in the
        # harness's env (Codex's and opencode's are in files under HOME, aider's in an
        # argument), its proxy must be told to let it through.
        allow = [f"127.0.0.1:{server.port}"] if needs_allow_hosts(keys, server.url) else []
        configure_sandbox(config, "on" if sandbox_on() else "off", allow, reads)
        with open(config, "a") as f:
            f.write("\n" + render_section(name, keys) + "\n" + render_section(f"{name}-retry", retry_keys))
        repo.git("add", "-A")
        repo.git("commit", "-q", "-m", "e2e: forge init and the harness")
        for case in cases:
            note = notes[case].append
            log(f"[{name}] {case} ...")
            try:
                if case == "edit":
                    case_edit(name, repo, server, work, note, egress)
                elif case == "auth":
                    case_auth(name, repo, server, work, note, egress)
                elif case == "denied":
                    case_denied(name, repo, server, work, note, egress)
                else:
                    case_retry(name, repo, server, work, note, timeout, egress)
                results[case] = "PASS"
            except Failure as e:
                results[case] = "FAIL"
                note(str(e))
            except subprocess.TimeoutExpired as e:
                results[case] = "FAIL"
                note(f"hung: {e}")
            log(f"[{name}] {case}: {results[case]} ({'; '.join(notes[case])})")
        # Refused by forge's egress proxy (sandbox on), and by the suite's own refusing proxy,
        # which only a harness that forge did not point at its proxy reaches (sandbox off).
        blocked = sorted(set(egress) | {(p.get("host") or p.get("request", "?"))
                                        for p in read_jsonl(server.proxy_log)})
        return results, notes, blocked
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------


def main():
    if "--inner" in sys.argv:
        return inner(json.loads(sys.argv[sys.argv.index("--inner") + 1]))
    wanted = [c.strip() for c in (os.environ.get("E2E_CLIS") or ",".join(SUITE)).split(",") if c.strip()]
    unknown = [c for c in wanted if c not in SUITE]
    if unknown:
        sys.exit(f"unknown CLI(s): {', '.join(unknown)}; known: {', '.join(SUITE)}")
    cache = Path(os.environ.get("E2E_CACHE") or Path.home() / ".cache" / "forge-e2e").resolve()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if not os.environ.get("E2E_WORK"):
        prune(ROOT / "target" / "e2e", keep=4)
    work = Path(os.environ.get("E2E_WORK") or ROOT / "target" / "e2e" / stamp).resolve()
    work.mkdir(parents=True, exist_ok=True)
    timeout = int(os.environ.get("E2E_TIMEOUT") or 20)
    started = time.time()
    forge = build_forge()
    plan = {"work": str(work), "forge": str(forge), "timeout": timeout, "clis": []}
    for name in wanted:
        program, reason = install(ACP_AGENTS[name]["install"] if name in ACP_AGENTS else name, cache)
        version = (package_version(program) or cli_version(program)) if program else "-"
        plan["clis"].append({"name": name, "program": str(program) if program else None,
                             "version": version, "skip": reason})
        log(f"[install] {name}: " + (f"{version}" if program else f"SKIP: {reason}"))
    plan["install_seconds"] = round(time.time() - started)
    mode = (os.environ.get("E2E_NETNS") or "auto").lower()
    isolation = "proxy variables only"
    use_netns = False
    if mode in ("auto", "1", "yes", "true"):
        ok, why = netns_works()
        if ok:
            use_netns, isolation = True, "network namespace (loopback only) + refusing proxy"
        elif mode != "auto":
            sys.exit(f"E2E_NETNS={mode} but a network namespace is not available: {why}")
        else:
            isolation += f" (no network namespace: {why})"
    plan["isolation"] = isolation + ("; forge's sandbox on" if sandbox_on()
                                     else "; forge's sandbox OFF (E2E_SANDBOX=off)")
    results_file = work / "results.json"
    plan["results_file"] = str(results_file)
    if use_netns:
        r = subprocess.run(["unshare", "--net", sys.executable, str(Path(__file__).resolve()),
                            "--inner", json.dumps(plan)])
        code = r.returncode
    else:
        code = inner(plan)
    if not results_file.exists():
        sys.exit(f"the test run produced no results (exit {code})")
    results = json.loads(results_file.read_text())
    report(results, plan, time.time() - started)
    bad = {"FAIL", "SKIP"} if os.environ.get("E2E_STRICT") == "1" else {"FAIL"}
    return 1 if any(v in bad for c in results for v in c["results"].values()) else 0


def prune(root, keep):
    """Removes all but the newest `keep` default work directories (`YYYYmmdd-HHMMSS`)."""
    runs = sorted(p for p in root.glob("[0-9]" * 8 + "-" + "[0-9]" * 6) if p.is_dir())
    for old in runs[:-keep] if keep else runs:
        shutil.rmtree(old, ignore_errors=True)


def inner(plan):
    if "--inner" in sys.argv:
        loopback_up()
    work = Path(plan["work"])
    out = []
    for cli in plan["clis"]:
        entry = {"name": cli["name"], "version": cli["version"], "results": {}, "notes": {},
                 "blocked": []}
        if cli["skip"]:
            entry["results"] = {c: "SKIP" for c in cases_for(cli["name"])}
            entry["notes"] = {c: [cli["skip"]] for c in cases_for(cli["name"])}
        else:
            t = time.time()
            try:
                entry["results"], entry["notes"], entry["blocked"] = run_cli(
                    cli["name"], Path(cli["program"]), cli["version"], Path(plan["forge"]), work,
                    plan["timeout"])
            except Exception as e:  # the harness of the harness broke: a failure, not a skip
                entry["results"] = {c: entry["results"].get(c, "FAIL") for c in cases_for(cli["name"])}
                entry["notes"] = {c: [f"{type(e).__name__}: {e}"] for c in cases_for(cli["name"])}
            entry["seconds"] = round(time.time() - t)
        out.append(entry)
        Path(plan["results_file"]).write_text(json.dumps(out, indent=2))
    Path(plan["results_file"]).write_text(json.dumps(out, indent=2))
    return 0


def report(results, plan, seconds):
    print()
    print(f"forge e2e: {plan['work']}")
    print(f"isolation: {plan['isolation']}; install/build {plan['install_seconds']}s, "
          f"total {seconds:.0f}s")
    print()
    head = ["CLI", "version"] + list(CASES) + ["time"]
    rows = [[r["name"], r["version"]] + [r["results"].get(c, "-") for c in CASES]
            + [f"{r.get('seconds', 0)}s" if "seconds" in r else "-"] for r in results]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    print(line(head))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    print()
    for r in results:
        if r["results"] and all(v == "SKIP" for v in r["results"].values()):
            print(f"{r['name']} SKIP: {'; '.join(next(iter(r['notes'].values()), []))}")
            continue
        for c in CASES:
            notes = r["notes"].get(c) or []
            if notes:
                print(f"{r['name']} {c} {r['results'].get(c)}: {'; '.join(notes)}")
        if r.get("blocked"):
            print(f"{r['name']}: blocked connections to {', '.join(r['blocked'])}")
    print()


if __name__ == "__main__":
    sys.exit(main())
