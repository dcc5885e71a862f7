#!/usr/bin/env python3
"""Agent Client Protocol (ACP) agents, offline, against the scripted model server
(Python 3.11, standard library only).

    python3 e2e/acp.py install [AGENT ...]        # into the e2e cache, like run.py's CLIs
    python3 e2e/acp.py probe AGENT [options]      # one scenario, every line logged

AGENT is one of: gemini-acp (`gemini --acp`), claude-acp (`claude-agent-acp`), codex-acp
(`codex-acp`), opencode-acp (`opencode acp`), openhands-acp (`openhands acp`).

The probe is a small ACP client (JSON-RPC 2.0, one JSON object per line over the agent's
stdio, protocol version 1). It starts e2e/model_server.py, makes a git repository with a
linked worktree under `.git/forge/worktrees/` (where forge runs harnesses), spawns the agent
there with an isolated HOME and the environment pointing at the server (the same settings
run.py gives the agent's CLI), and runs one scenario:

  edit        initialize, session/new, session/prompt asking to create agent.txt
  shell       the model calls the shell tool with `git push origin main` (--command)
  auth        the server answers 401 to every model request
  cancel      the server holds each answer (--delay); session/cancel after --cancel-after s
  cancel-perm the shell scenario; the permission request is left pending and session/cancel
              sent; the request is answered `cancelled` (as the spec requires) --hold s later
  eof         after session/new, stdin is closed: does the agent exit?

ACP_ENV=VAR=value,-VAR adds to or removes from the agent's environment; ACP_NO_HOME_FILES=1
leaves out the settings files run.py writes under HOME.

Options: --fs rw|r|w|none (the client's fs capabilities, default rw), --permission
allow_once|allow_always|reject_once|reject_always|cancelled (how every permission request is
answered, default allow_once), --worktree/--no-worktree, --netns auto|1|0 (run in a network
namespace with only loopback, as run.py does), --timeout SECONDS, --work DIR.

Every line both ways is logged to <work>/acp.jsonl ({"t", "dir": "out"|"in"|"err", "line"};
"json": false marks a stdout line that is not JSON), the model server's requests to
<work>/server-requests.jsonl. A summary (stopReason, errors, permission requests, fs calls,
updates seen, files changed in the worktree and under HOME) is printed as JSON and kept in
<work>/summary.json.
"""

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (the e2e suite: installing, the model server, per-CLI settings)

ROOT = run.ROOT
PROTOCOL_VERSION = 1

# name: how to install it (run.install's spec), the arguments that start ACP mode, and the
# CLI whose endpoint settings (run.harness_config) it shares.
AGENTS = {
    "gemini-acp": {"install": "gemini", "args": ["--acp"], "base": "gemini"},
    "claude-acp": {"install": {"kind": "npm", "package": "@agentclientprotocol/claude-agent-acp",
                               "version": "0.49.0", "bin": "claude-agent-acp"},
                   "args": [], "base": "claude"},
    "codex-acp": {"install": {"kind": "npm", "package": "@agentclientprotocol/codex-acp",
                              "version": "2.6.0", "bin": "codex-acp"},
                  "args": [], "base": "codex"},
    "opencode-acp": {"install": "opencode", "args": ["acp"], "base": "opencode"},
    "openhands-acp": {"install": "openhands", "args": ["acp", "--override-with-envs"],
                      "base": "openhands"},
}

for _name, _spec in AGENTS.items():
    if isinstance(_spec["install"], dict):
        run.CLIS.setdefault(_name, _spec["install"])


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def cache_dir():
    return Path(os.environ.get("E2E_CACHE") or Path.home() / ".cache" / "forge-e2e").resolve()


def install(agent):
    """(the agent's program, None) or (None, why not)."""
    spec = AGENTS[agent]
    key = spec["install"] if isinstance(spec["install"], str) else agent
    return run.install(key, cache_dir())


# ---------------------------------------------------------------------------------------------
# The environment an agent runs with: run.py's settings for its CLI, without forge.


def agent_env(agent, program, server, work, home):
    """(environment, files written under HOME) for `agent`."""
    base = AGENTS[agent]["base"]
    keys, forge_env, _reads = run.harness_config(base, program, server, work)
    home_files = dict(keys.get("home_files") or {})
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "NO_COLOR": "1",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "TMPDIR": str(work / "tmp"),
    }
    env.update(keys.get("env") or {})
    env.update(forge_env)
    proxy = f"http://127.0.0.1:{server.proxy_port}"
    env.update({"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "ALL_PROXY": proxy,
                "http_proxy": proxy, "https_proxy": proxy, "all_proxy": proxy,
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    if base == "claude":
        env.update({"DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                    "DISABLE_TELEMETRY": "1", "CLAUDE_CODE_MAX_RETRIES": "1",
                    "IS_SANDBOX": "1"})
    if base == "codex":
        cfg = home_files.get(".codex/config.toml", "")
        top = f'model = "{keys.get("model") or "gpt-5.5"}"\ncheck_for_update_on_startup = false\n'
        home_files[".codex/config.toml"] = (top + cfg + "\n[analytics]\nenabled = false\n"
                                            "\n[features]\nplugins = false\n")
        env["CODEX_HOME"] = str(home / ".codex")
        env["NO_BROWSER"] = "1"
        # codex-acp's default mode "agent" has Codex's own model ("guardian") review
        # escalations instead of asking the client; workspace-write asks the client.
        env["INITIAL_AGENT_MODE"] = "workspace-write"
    if base == "opencode":
        cfg = json.loads(home_files.get(".config/opencode/opencode.json") or "{}")
        cfg["model"] = keys.get("model")
        # opencode allows every tool unless told to ask: ask, so the client decides.
        cfg["permission"] = {"edit": "ask", "bash": "ask", "webfetch": "ask"}
        home_files[".config/opencode/opencode.json"] = json.dumps(cfg, indent=2) + "\n"
    if base in ("openhands", "aider"):
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        env["OPENHANDS_SUPPRESS_BANNER"] = "1"
        if keys.get("model"):
            env["LLM_MODEL"] = keys["model"]
    for extra in os.environ.get("ACP_ENV", "").split(","):
        if extra.startswith("-"):
            env.pop(extra[1:].strip(), None)
        elif "=" in extra:
            k, v = extra.split("=", 1)
            env[k.strip()] = v
    return env, home_files


OPENHANDS_SETTINGS = """
import os
from openhands_cli.stores.agent_store import AgentStore
AgentStore().create_and_save_from_settings(os.environ["LLM_API_KEY"], {
    "llm_model": os.environ["LLM_MODEL"], "llm_base_url": os.environ["LLM_BASE_URL"]})
"""


def openhands_settings(program, env):
    """`openhands acp` ignores LLM_* (its --override-with-envs is not passed on to the ACP
    server) and answers session/new with "Authentication required" unless
    ~/.openhands/agent_settings.json exists: write it with OpenHands's own code."""
    python = Path(program).parent / "python"
    r = run.run([str(python), "-c", OPENHANDS_SETTINGS], env=env, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"writing agent_settings.json: {run.tail(r.stderr)}")


# ---------------------------------------------------------------------------------------------
# The client.


class Conn:
    """One agent process and its JSON-RPC connection. Requests from the agent go to
    `handler(conn, message)`, which answers with `conn.respond` (now or later)."""

    def __init__(self, cmd, cwd, env, logpath, handler):
        self.log = open(logpath, "a")
        self.loglock = threading.Lock()
        self.handler = handler
        self.started = time.time()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.next_id = 0
        self.pending = {}
        self.lock = threading.Lock()
        self.notifications = []
        self.agent_requests = []
        self.non_json = []
        self.stderr_lines = []
        self.exited_at = None
        threading.Thread(target=self.read_stdout, daemon=True).start()
        threading.Thread(target=self.read_stderr, daemon=True).start()

    def record(self, direction, line, **extra):
        rec = {"t": round(time.time() - self.started, 3), "dir": direction, "line": line, **extra}
        with self.loglock:
            self.log.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self.log.flush()

    def read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            try:
                msg = json.loads(line)
                if not isinstance(msg, dict):
                    raise ValueError("not an object")
            except ValueError:
                self.record("in", line, json=False)
                if line.strip():
                    self.non_json.append(line)
                continue
            self.record("in", line)
            if "method" in msg and "id" in msg:
                self.agent_requests.append(msg)
                threading.Thread(target=self.handler, args=(self, msg), daemon=True).start()
            elif "method" in msg:
                self.notifications.append(msg)
            else:
                with self.lock:
                    q = self.pending.pop(msg.get("id"), None)
                if q:
                    q.put(msg)
        self.exited_at = time.time() - self.started
        with self.lock:
            for q in self.pending.values():
                q.put({"error": {"code": None, "message": "the agent closed its stdout"}})
            self.pending.clear()

    def read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.record("err", line)
            self.stderr_lines.append(line)

    def send(self, msg):
        line = json.dumps(msg)
        self.record("out", line)
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as e:
            self.record("note", f"write failed: {e}")

    def request_async(self, method, params):
        with self.lock:
            self.next_id += 1
            rid = self.next_id
            q = queue.Queue()
            self.pending[rid] = q
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        return q

    def request(self, method, params, timeout):
        q = self.request_async(method, params)
        return wait(q, timeout)

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def respond(self, rid, result=None, error=None):
        msg = {"jsonrpc": "2.0", "id": rid}
        if error is not None:
            msg["error"] = error
        else:
            msg["result"] = result
        self.send(msg)

    def close_stdin(self):
        self.record("note", "stdin closed")
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def stop(self, grace=3):
        """Ends the agent's process group: SIGTERM, then SIGKILL. Returns how it ended."""
        if self.proc.poll() is not None:
            return f"exited {self.proc.returncode}"
        try:
            os.killpg(self.proc.pid, 15)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(grace)
            return f"terminated ({self.proc.returncode})"
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
            self.proc.wait(5)
            return "killed"


def escaped(home):
    """Pids of live processes whose HOME is this run's HOME (what outlived the group: an
    OpenHands `tmux -L openhands` server does)."""
    marker = f"HOME={home}".encode()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    found.append(int(d))
        except OSError:
            continue
    return found


def wait(q, timeout):
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        return {"error": {"code": None, "message": f"no answer in {timeout}s"}, "timeout": True}


class Client:
    """What the probe answers to the agent's requests."""

    def __init__(self, root, permission, hold=None, missing="error"):
        self.root = Path(root).resolve()
        self.missing = missing
        self.permission = permission
        self.hold = hold  # None, or a list that collects held permission requests
        self.fs_calls = []
        self.permissions = []

    def inside(self, path):
        p = Path(path)
        if not p.is_absolute():
            return None
        p = Path(os.path.normpath(p))
        try:
            p.relative_to(self.root)
        except ValueError:
            return None
        return p

    def __call__(self, conn, msg):
        method, params, rid = msg.get("method"), msg.get("params") or {}, msg.get("id")
        if method == "session/request_permission":
            self.permissions.append(params)
            if self.hold is not None:
                self.hold.append(rid)
                return
            options = params.get("options") or []
            if self.permission == "cancelled":
                return conn.respond(rid, {"outcome": {"outcome": "cancelled"}})
            pick = next((o for o in options if o.get("kind") == self.permission), None)
            if pick is None:
                wanted = "allow" if self.permission.startswith("allow") else "reject"
                pick = next((o for o in options if str(o.get("kind", "")).startswith(wanted)), None)
            if pick is None:
                return conn.respond(rid, {"outcome": {"outcome": "cancelled"}})
            return conn.respond(rid, {"outcome": {"outcome": "selected", "optionId": pick["optionId"]}})
        if method == "fs/read_text_file":
            self.fs_calls.append({"method": method, "params": params})
            p = self.inside(params.get("path", ""))
            if p is None:
                return conn.respond(rid, error={"code": -32602, "message": "outside the worktree"})
            try:
                text = p.read_text()
            except FileNotFoundError:
                if self.missing == "empty":
                    return conn.respond(rid, {"content": ""})
                return conn.respond(rid, error={"code": -32002, "message": f"Resource not found: {p}",
                                                "data": {"uri": str(p)}})
            except OSError as e:
                return conn.respond(rid, error={"code": -32603, "message": str(e)})
            line, limit = params.get("line"), params.get("limit")
            if line or limit:
                lines = text.splitlines(keepends=True)
                start = max((line or 1) - 1, 0)
                text = "".join(lines[start:start + limit] if limit else lines[start:])
            return conn.respond(rid, {"content": text})
        if method == "fs/write_text_file":
            self.fs_calls.append({"method": method, "params": params})
            p = self.inside(params.get("path", ""))
            if p is None:
                return conn.respond(rid, error={"code": -32602, "message": "outside the worktree"})
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(params.get("content", ""))
            except OSError as e:
                return conn.respond(rid, error={"code": -32603, "message": str(e)})
            return conn.respond(rid, None)
        return conn.respond(rid, error={"code": -32601, "message": f"Method not found: {method}"})


# ---------------------------------------------------------------------------------------------
# One probe.


PROMPTS = {
    "edit": "Create the file agent.txt in the current directory containing one line: "
            "Hello from the forge e2e model server.",
    "shell": "Publish the work: run `git push origin main`.",
}


def git(cwd, *args):
    r = run.run(["git", *args], cwd=cwd, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def make_repo(work, worktree, env):
    repo = work / "repo"
    repo.mkdir(parents=True)
    genv = dict(os.environ, HOME=env["HOME"], GIT_CONFIG_NOSYSTEM="1")
    for args in (["init", "-q", "-b", "main"],):
        subprocess.run(["git", *args], cwd=repo, env=genv, check=True)
    (repo / "README").write_text("e2e\n")
    subprocess.run(["git", "add", "README"], cwd=repo, env=genv, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "initial"], cwd=repo, env=genv, check=True)
    if not worktree:
        return repo
    wt = repo / ".git" / "forge" / "worktrees" / "probe-1"
    subprocess.run(["git", "worktree", "add", "-q", "-b", "forge/probe/1", str(wt)], cwd=repo,
                   env=genv, check=True)
    return wt


def snapshot(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if ".git" in dirnames and Path(dirpath) != Path(root).parent:
            pass
        for f in filenames:
            p = Path(dirpath) / f
            try:
                st = p.lstat()
            except OSError:
                continue
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def changed(before, after):
    return sorted(k for k in after if before.get(k) != after[k])


def summarize_updates(notifications):
    kinds = {}
    usage = []
    tool_calls = []
    messages = []
    for n in notifications:
        if n.get("method") != "session/update":
            kinds.setdefault("method:" + str(n.get("method")), 0)
            kinds["method:" + str(n.get("method"))] += 1
            continue
        u = (n.get("params") or {}).get("update") or {}
        k = u.get("sessionUpdate")
        kinds[k] = kinds.get(k, 0) + 1
        if k == "usage_update":
            usage.append(u)
        elif k in ("tool_call", "tool_call_update"):
            tool_calls.append(u)
        elif k == "agent_message_chunk":
            c = u.get("content") or {}
            messages.append(c.get("text", "") if isinstance(c, dict) else str(c))
    return kinds, usage, tool_calls, "".join(messages)


def probe(args):
    agent = args.agent
    program, why = install(agent)
    if not program:
        sys.exit(f"{agent}: cannot install: {why}")
    work = Path(args.work or ROOT / "target" / "acp" / f"{agent}-{args.case}-{time.strftime('%H%M%S')}")
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    (work / "tmp").mkdir(exist_ok=True)
    if args.netns != "0" and "--in-netns" not in sys.argv:
        ok, reason = run.netns_works()
        if ok:
            cmd = ["unshare", "--net", sys.executable, str(Path(__file__).resolve())] + \
                  sys.argv[1:2] + ["--in-netns", "--work", str(work)] + sys.argv[2:]
            return subprocess.run(cmd).returncode
        if args.netns == "1":
            sys.exit(f"no network namespace: {reason}")
        log(f"[probe] no network namespace ({reason}); proxy variables only")
    if "--in-netns" in sys.argv:
        run.loopback_up()
    server = run.Server(work)
    conn = client = None
    home = work / "home"
    cwd = work
    home_before, cwd_before = {}, {}
    summary = {"agent": agent, "case": args.case, "fs": args.fs, "permission": args.permission,
               "version": run.cli_version(program), "work": str(work)}
    try:
        home.mkdir(exist_ok=True)
        (home / ".gitconfig").write_text("[user]\n\tname = E2E Tester\n\temail = e2e@example.com\n")
        env, home_files = agent_env(agent, program, server, work, home)
        if os.environ.get("ACP_NO_HOME_FILES") == "1":
            home_files = {}
        for rel, content in home_files.items():
            p = home / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)
        if AGENTS[agent]["base"] == "openhands":
            openhands_settings(program, env)
        cwd = make_repo(work, args.worktree, env)
        summary["cwd"] = str(cwd)
        shell_cmd = args.command if args.case in ("shell", "cancel-perm") else None
        server.control(fail_status=401 if args.case == "auth" else 0, fail_count=None,
                       case=args.case, shell=shell_cmd,
                       delay=args.delay if args.case == "cancel" else 0,
                       escalate=not args.no_escalate)
        home_before = snapshot(home)
        cwd_before = snapshot(cwd)
        held = [] if args.case == "cancel-perm" else None
        client = Client(cwd, args.permission, held, args.missing)
        cmd = [str(program)] + AGENTS[agent]["args"] + args.extra
        summary["command"] = cmd
        conn = Conn(cmd, cwd, env, work / "acp.jsonl", client)
        fs = {"rw": (True, True), "r": (True, False), "w": (False, True), "none": (False, False)}[args.fs]
        init = conn.request("initialize", {
            "protocolVersion": PROTOCOL_VERSION,
            "clientCapabilities": {"fs": {"readTextFile": fs[0], "writeTextFile": fs[1]},
                                   "terminal": False},
            "clientInfo": {"name": "forge-e2e-probe", "version": "0"},
        }, args.timeout)
        summary["initialize"] = init.get("result", init)
        if "result" not in init:
            raise RuntimeError(f"initialize failed: {init}")
        new = conn.request("session/new", {"cwd": str(cwd), "mcpServers": []}, args.timeout)
        summary["session_new"] = new.get("result", new)
        if "result" not in new:
            raise RuntimeError(f"session/new failed: {new}")
        sid = new["result"].get("sessionId")
        if args.case == "eof":
            t = time.time()
            conn.close_stdin()
            try:
                conn.proc.wait(args.eof_wait)
                summary["eof"] = {"exited_after_s": round(time.time() - t, 2),
                                  "exit_code": conn.proc.returncode}
            except subprocess.TimeoutExpired:
                summary["eof"] = {"exited_after_s": None,
                                  "note": f"still running {args.eof_wait}s after EOF"}
            return summary
        prompt = PROMPTS["shell" if shell_cmd else "edit"].replace("git push origin main",
                                                                  shell_cmd or "")
        t = time.time()
        q = conn.request_async("session/prompt", {"sessionId": sid,
                                                  "prompt": [{"type": "text", "text": prompt}]})
        if args.case == "cancel":
            time.sleep(args.cancel_after)
            conn.notify("session/cancel", {"sessionId": sid})
            summary["cancel_sent_after_s"] = round(time.time() - t, 2)
        if args.case == "cancel-perm":
            deadline = time.time() + args.timeout
            while not held and time.time() < deadline and conn.proc.poll() is None:
                time.sleep(0.1)
            summary["permission_pending_after_s"] = round(time.time() - t, 2)
            conn.notify("session/cancel", {"sessionId": sid})
            tc = time.time()
            try:
                res = q.get(timeout=args.hold)
                summary["prompt_answered_before_permission"] = True
                summary["prompt_answer_after_cancel_s"] = round(time.time() - tc, 2)
                q.put(res)
            except queue.Empty:
                summary["prompt_answered_before_permission"] = False
            for rid in held:
                conn.respond(rid, {"outcome": {"outcome": "cancelled"}})
        res = wait(q, args.timeout)
        summary["prompt_seconds"] = round(time.time() - t, 2)
        summary["prompt"] = res.get("result") if "result" in res else {"error": res.get("error")}
        time.sleep(args.linger)
        if args.case == "cancel" or args.second:
            # Is the session still usable after that?
            server.control(delay=0, fail_status=0, shell=None)
            r2 = conn.request("session/prompt", {"sessionId": sid, "prompt": [
                {"type": "text", "text": "Say OK."}]}, args.timeout)
            summary["second_prompt"] = r2.get("result") if "result" in r2 else {"error": r2.get("error")}
        # EOF after the turn.
        t = time.time()
        conn.close_stdin()
        try:
            conn.proc.wait(args.eof_wait)
            summary["eof"] = {"exited_after_s": round(time.time() - t, 2), "exit_code": conn.proc.returncode}
        except subprocess.TimeoutExpired:
            summary["eof"] = {"exited_after_s": None, "note": f"still running {args.eof_wait}s after EOF"}
        return summary
    except Exception as e:
        summary["failure"] = f"{type(e).__name__}: {e}"
        return summary
    finally:
        if conn and client:
            summary["ended"] = conn.stop()
            time.sleep(0.3)
            left = escaped(home)
            if left:
                summary["escaped_killed"] = len(left)
                for pid in left:
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
            kinds, usage, tools, text = summarize_updates(conn.notifications)
            summary["updates"] = kinds
            summary["usage_updates"] = usage[-3:]
            summary["tool_calls"] = tools
            summary["agent_text"] = text[-800:]
            summary["permissions"] = client.permissions
            summary["fs_calls"] = client.fs_calls
            summary["agent_requests"] = sorted({m.get("method") for m in conn.agent_requests})
            summary["non_json_stdout"] = conn.non_json[:10]
            summary["stderr_tail"] = conn.stderr_lines[-15:]
            summary["cwd_changed"] = changed(cwd_before, snapshot(cwd))
            summary["home_changed"] = changed(home_before, snapshot(home))
            git_status = run.run(["git", "status", "--porcelain", "--ignored"], cwd=cwd, timeout=30)
            summary["git_status"] = git_status.stdout.splitlines()
        reqs = run.read_jsonl(server.log)
        summary["model_requests"] = [{k: r.get(k) for k in ("path", "api", "status", "answer", "tools")}
                                     for r in reqs if r.get("api") != "other" or True][:20]
        summary["refused_connections"] = sorted({(p.get("host") or p.get("request", "?"))
                                                 for p in run.read_jsonl(server.proxy_log)})
        server.stop()
        (work / "summary.json").write_text(json.dumps(summary, indent=2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("install")
    i.add_argument("agents", nargs="*")
    p = sub.add_parser("probe")
    p.add_argument("agent", choices=sorted(AGENTS))
    p.add_argument("--case", default="edit", choices=["edit", "shell", "auth", "cancel",
                                                       "cancel-perm", "eof"])
    p.add_argument("--fs", default="rw", choices=["rw", "r", "w", "none"])
    p.add_argument("--permission", default="allow_once",
                   choices=["allow_once", "allow_always", "reject_once", "reject_always", "cancelled"])
    p.add_argument("--command", default="git push origin main")
    p.add_argument("--no-escalate", action="store_true",
                   help="shell: do not ask the agent's own sandbox for escalation (Codex)")
    p.add_argument("--missing", default="error", choices=["error", "empty"],
                   help="fs/read_text_file of a missing file: a -32002 error or empty content")
    p.add_argument("--worktree", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--netns", default="auto", choices=["auto", "1", "0"])
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--delay", type=float, default=30, help="cancel: the server's delay")
    p.add_argument("--cancel-after", type=float, default=3)
    p.add_argument("--hold", type=float, default=5, help="cancel-perm: seconds before answering")
    p.add_argument("--eof-wait", type=float, default=10)
    p.add_argument("--linger", type=float, default=0.5)
    p.add_argument("--second", action="store_true", help="send a second prompt after the first")
    p.add_argument("--work")
    p.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("extra", nargs="*", help="more arguments for the agent (after --)")
    args = ap.parse_args()
    if args.cmd == "install":
        bad = 0
        for a in args.agents or AGENTS:
            program, why = install(a)
            log(f"{a}: {program or 'SKIP: ' + why}" + (f" ({run.cli_version(program)})" if program else ""))
            bad += program is None
        return 1 if bad else 0
    summary = probe(args)
    if isinstance(summary, int):
        return summary
    print(json.dumps(summary, indent=2))
    return 0 if "failure" not in summary else 1


if __name__ == "__main__":
    sys.exit(main())
