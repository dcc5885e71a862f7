#!/usr/bin/env python3
"""A scripted model server for forge's end-to-end tests (Python 3.11, standard library only).

It listens on 127.0.0.1 and speaks the wire formats the harness CLIs use:

- Anthropic Messages, streamed as SSE or not (`POST …/v1/messages`, `…/count_tokens`): Claude Code
- OpenAI Responses, streamed as SSE (`POST …/responses`): Codex CLI
- OpenAI Chat Completions, streamed or not (`POST …/chat/completions`): aider, opencode, OpenHands
- Gemini `…/models/M:streamGenerateContent?alt=sse`, `:generateContent`, `:countTokens`: Gemini CLI
- `GET …/models`: a one-model list, for clients that ask

The script, the same for every format, decided from the conversation the request carries:

1. a tool result is in the conversation: answer with a short final message;
2. otherwise, if the request offers tools: answer with one tool call that writes the edit file,
   choosing among the offered tools a write tool, then an editor tool that can create files,
   then an apply-patch tool, then a shell tool;
3. otherwise, if the system prompt asks for aider's SEARCH/REPLACE blocks (or whole files),
   answer with one that creates the edit file;
4. otherwise (titles, summaries, classifiers): a short text, or JSON that fits the schema asked for.

Every answer reports token usage. On request the model endpoints fail instead: with a given HTTP
status, a given number of times or forever (`--fail-status`, `--fail-count`, or `POST /_control`).

Every request is logged as one JSON line (`--log`): time, case label, method, path, api, model,
offered tool names, what was answered. `--dump-dir` also keeps each request body.

`--proxy-port-file` starts a second listener meant as HTTP(S)_PROXY/ALL_PROXY for the harness:
it logs what each connection asked for (`CONNECT host:443`, `GET http://…`) and refuses it, so
every connection a harness attempts outside the model server is blocked and recorded.

Control (JSON body, answers the new state): `POST /_control {"fail_status": 401, "fail_count":
null, "case": "auth"}` (`fail_status` null or 0 stops failing; `fail_count` null means forever);
`{"shell": "git push origin main"}` answers the first request offering tools with a shell tool
call running that line instead of the edit (asking a tool that has its own sandbox, Codex's
`exec_command`, for `require_escalated` unless `"escalate": false`; null goes back to the
edit); `{"delay": 30}` holds every model answer that many seconds (0 stops); `GET /_state`;
`GET /_health`.
"""

import argparse
import json
import os
import re
import socket
import socketserver
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

EDIT_FILE = "agent.txt"
EDIT_TEXT = "Hello from the forge e2e model server.\n"
FINAL_TEXT = "Done: I wrote agent.txt."
PLAIN_TEXT = "OK."


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.fail_status = args.fail_status or 0
        self.fail_count = args.fail_count  # None: forever
        self.case = args.case or ""
        self.log_path = args.log
        self.dump_dir = args.dump_dir
        self.workdir_prefix = args.workdir_prefix
        self.edit_file = args.edit_file
        self.edit_text = args.edit_text
        self.shell = args.shell or None  # a command line: call a shell tool with it instead
        self.delay = args.delay or 0.0  # seconds to wait before answering a model request
        # With `shell`: ask a tool that can escalate out of its own sandbox to do so (Codex's
        # `sandbox_permissions: "require_escalated"`), as a model that must reach the network does.
        self.escalate = True
        self.requests = 0
        self.dumps = 0

    def snapshot(self):
        return {
            "fail_status": self.fail_status,
            "fail_count": self.fail_count,
            "case": self.case,
            "shell": self.shell,
            "delay": self.delay,
            "escalate": self.escalate,
            "requests": self.requests,
        }

    def take_failure(self):
        """The status to fail this model request with, or 0."""
        with self.lock:
            if not self.fail_status:
                return 0
            if self.fail_count is not None:
                if self.fail_count <= 0:
                    return 0
                self.fail_count -= 1
            return self.fail_status

    def log(self, record):
        record = {"time": round(time.time(), 3), "case": self.case, **record}
        line = json.dumps(record, ensure_ascii=False)
        with self.lock:
            self.requests += 1
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write(line + "\n")

    def dump(self, path, headers, body):
        """Keeps a request body (and its headers, in a `.headers` file) in the dump dir."""
        if not self.dump_dir:
            return None
        os.makedirs(self.dump_dir, exist_ok=True)
        with self.lock:
            self.dumps += 1
            n = self.dumps
        name = f"{n:04d}-{re.sub(r'[^A-Za-z0-9]+', '_', path)[:60]}.json"
        with open(os.path.join(self.dump_dir, name), "wb") as f:
            f.write(body)
        with open(os.path.join(self.dump_dir, name + ".headers"), "w") as f:
            f.write(str(headers))
        return name


STATE = None


# ---------------------------------------------------------------------------------------------
# What to answer, independent of the wire format.


def all_strings(value, out):
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            all_strings(v, out)
    elif isinstance(value, list):
        for v in value:
            all_strings(v, out)
    return out


CWD_PATTERNS = [
    r"<cwd>\s*([^<\s]+)\s*</cwd>",
    r"[Ww]orking directory:\s*`?(/[^\s`'\"]+)",
    r"working in the directory:?\s*`?(/[^\s`'\"]+)",
    r"[Cc]urrent (?:working )?directory(?: is)?:?\s*`?(/[^\s`'\"]+)",
    r"<working_dir>\s*(/[^<\s]+)",
]


def find_cwd(texts):
    """The harness's working directory, as its prompt states it (None if it does not)."""
    prefix = STATE.workdir_prefix
    if prefix:
        pat = re.compile(re.escape(prefix.rstrip("/")) + r"/([^/\s\"'`<>]+)")
        for t in texts:
            m = pat.search(t)
            if m:
                return prefix.rstrip("/") + "/" + m.group(1)
    for p in CWD_PATTERNS:
        for t in texts:
            m = re.search(p, t)
            if m:
                return m.group(1).rstrip(".,;:")
    return None


def props(schema):
    if not isinstance(schema, dict):
        return {}
    p = schema.get("properties")
    return p if isinstance(p, dict) else {}


def first_key(properties, names):
    for n in names:
        if n in properties:
            return n
    return None


PATH_KEYS = ["file_path", "filePath", "path", "absolute_path", "filename", "file"]
CONTENT_KEYS = ["content", "file_text", "contents", "text", "new_content"]
SHELL_NAMES = {
    "bash", "shell", "run_shell_command", "execute_bash", "terminal", "exec_command",
    "local_shell", "shell_command", "run_command", "execute_command", "cmd",
}


def shell_line(cwd):
    target = f"{cwd}/{STATE.edit_file}" if cwd else STATE.edit_file
    text = STATE.edit_text.replace("'", "'\\''")
    return f"printf '%s' '{text}' > '{target}'"


def patch_text():
    body = "".join("+" + line + "\n" for line in STATE.edit_text.rstrip("\n").split("\n"))
    return f"*** Begin Patch\n*** Add File: {STATE.edit_file}\n{body}*** End Patch\n"


def choose_call(tools, cwd, command=None):
    """(tool name, arguments dict or raw string, kind) for the edit, or None.

    `tools` is a list of (name, json schema or None, kind) with kind "function" or "custom".
    With `command`, only a shell tool is chosen, to run that command line."""
    if command:
        return shell_call(tools, cwd, command)
    abs_path = f"{cwd}/{STATE.edit_file}" if cwd else STATE.edit_file
    by_name = {t[0]: t for t in tools}
    # 1. A write tool: a path and a content property.
    for name, schema, kind in tools:
        p = props(schema)
        pk, ck = first_key(p, PATH_KEYS), first_key(p, CONTENT_KEYS)
        if kind == "function" and pk and ck and "command" not in p and "old_string" not in p:
            if re.search(r"write|create|save", name, re.I):
                return name, {pk: abs_path, ck: STATE.edit_text}, kind
    # 2. An editor tool whose `command` can be `create` (OpenHands' file editor).
    for name, schema, kind in tools:
        p = props(schema)
        cmd = p.get("command") if isinstance(p.get("command"), dict) else None
        if kind == "function" and cmd and "create" in (cmd.get("enum") or []):
            pk, ck = first_key(p, PATH_KEYS), first_key(p, CONTENT_KEYS)
            if pk and ck:
                args = {"command": "create", pk: abs_path, ck: STATE.edit_text}
                if "security_risk" in p:
                    args["security_risk"] = "LOW"
                return name, args, kind
    # 3. apply_patch, freeform or as a function.
    if "apply_patch" in by_name:
        name, schema, kind = by_name["apply_patch"]
        if kind == "custom":
            return name, patch_text(), kind
        p = props(schema)
        key = first_key(p, ["input", "patch"]) or "input"
        return name, {key: patch_text()}, kind
    # 4. A shell tool.
    return shell_call(tools, cwd, shell_line(cwd))


def shell_call(tools, cwd, line):
    for name, schema, kind in tools:
        if name in SHELL_NAMES or name.lower() in SHELL_NAMES or \
                name.rsplit("__", 1)[-1].lower() in SHELL_NAMES:
            p = props(schema)
            if kind == "custom":
                return name, line, kind
            key = first_key(p, ["command", "cmd", "commands", "script"]) or "command"
            value = line
            spec = p.get(key) if isinstance(p.get(key), dict) else {}
            if spec.get("type") == "array":
                value = ["bash", "-lc", line]
            args = {key: value}
            if "description" in p:
                args["description"] = "Write the file" if line == shell_line(cwd) else "Run a command"
            if "security_risk" in p:
                args["security_risk"] = "LOW"
            if "is_input" in p:
                args["is_input"] = False
            if "workdir" in p and cwd:
                args["workdir"] = cwd
            if "sandbox_permissions" in p and STATE.shell and line == STATE.shell and STATE.escalate:
                args["sandbox_permissions"] = "require_escalated"
                if "justification" in p:
                    args["justification"] = "Run this command outside the sandbox?"
            return name, args, kind
    return None


def aider_answer(system_text):
    """An aider edit in the format its system prompt asks for, or None."""
    if "SEARCH/REPLACE" in system_text:
        return (
            f"I will create {STATE.edit_file}.\n\n{STATE.edit_file}\n```\n<<<<<<< SEARCH\n=======\n"
            f"{STATE.edit_text}>>>>>>> REPLACE\n```\n"
        )
    if "file listing" in system_text or "entire content" in system_text.lower():
        return f"I will create {STATE.edit_file}.\n\n{STATE.edit_file}\n```\n{STATE.edit_text}```\n"
    if "udiff" in system_text or "unified diff" in system_text.lower():
        lines = "".join("+" + l + "\n" for l in STATE.edit_text.rstrip("\n").split("\n"))
        return f"```diff\n--- /dev/null\n+++ {STATE.edit_file}\n@@ ... @@\n{lines}```\n"
    return None


def from_schema(schema, key=""):
    """A value that fits a JSON schema (for structured-output side requests)."""
    if not isinstance(schema, dict):
        return "user"
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    t = (t or "").lower()
    if "enum" in schema and schema["enum"]:
        enum = schema["enum"]
        for preferred in ("user", "flash", "no", "false"):
            if preferred in enum:
                return preferred
        return enum[0]
    if t == "object" or "properties" in schema:
        return {k: from_schema(v, k) for k, v in props(schema).items()}
    if t == "array":
        return []
    if t in ("integer", "number"):
        low = schema.get("minimum", 1)
        return max(low, 1) if t == "integer" else float(max(low, 1))
    if t == "boolean":
        return False
    return f"e2e {key}".strip()


def decide(tools, has_result, texts, system_text, json_schema=None):
    """The answer: ("call", name, args, kind) | ("text", text)."""
    if has_result:
        return ("text", FINAL_TEXT)
    if tools:
        call = choose_call(tools, find_cwd(texts), STATE.shell)
        if call:
            return ("call",) + call
    edit = aider_answer(system_text)
    if edit:
        return ("text", edit)
    if json_schema is not None:
        return ("text", json.dumps(from_schema(json_schema)))
    return ("text", PLAIN_TEXT)


def count_tokens(body):
    return max(1, len(body) // 4)


# ---------------------------------------------------------------------------------------------
# HTTP.


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "forge-e2e-model/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    # -- plumbing --

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            return self.rfile.read(n)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def send_json(self, status, obj, extra_headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_e2e_" + uuid.uuid4().hex[:12])
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self):
        """Starts a `text/event-stream` answer in chunked transfer encoding (`end_sse` ends it)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("request-id", "req_e2e_" + uuid.uuid4().hex[:12])
        self.end_headers()
        self.sse_open = True

    def sse(self, data, event=None):
        chunk = ""
        if event:
            chunk += f"event: {event}\n"
        chunk += "data: " + (data if isinstance(data, str) else json.dumps(data)) + "\n\n"
        raw = chunk.encode()
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def end_sse(self):
        if getattr(self, "sse_open", False):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            self.sse_open = False

    # -- routing --

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/_health":
            return self.send_json(200, {"ok": True})
        if path == "/_state":
            return self.send_json(200, STATE.snapshot())
        STATE.log({"method": "GET", "path": self.path, "api": "other"})
        if path.endswith("/models"):
            model = "e2e-model"
            return self.send_json(200, {
                "object": "list",
                "data": [{"id": model, "object": "model", "created": 0, "owned_by": "e2e"}],
                "models": [{"name": f"models/{model}", "slug": model}],
            })
        return self.send_json(404, {"error": {"message": f"no route for GET {path}"}})

    def do_POST(self):
        self.sse_open = False
        try:
            self.post()
        finally:
            self.end_sse()

    def post(self):
        raw = self.body()
        split = urlsplit(self.path)
        path = split.path
        if path == "/_control":
            try:
                req = json.loads(raw or b"{}")
            except ValueError:
                return self.send_json(400, {"error": "bad json"})
            with STATE.lock:
                if "fail_status" in req:
                    STATE.fail_status = int(req["fail_status"] or 0)
                if "fail_count" in req:
                    STATE.fail_count = req["fail_count"]
                if "case" in req:
                    STATE.case = req["case"] or ""
                if "shell" in req:
                    STATE.shell = req["shell"] or None
                if "delay" in req:
                    STATE.delay = float(req["delay"] or 0)
                if "escalate" in req:
                    STATE.escalate = bool(req["escalate"])
            return self.send_json(200, STATE.snapshot())
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            req = {}
        if not isinstance(req, dict):
            req = {}
        dumped = STATE.dump(path, self.headers, raw)
        if STATE.delay and not path.endswith(("count_tokens", ":countTokens")):
            time.sleep(STATE.delay)
        if path.endswith("/messages/count_tokens"):
            STATE.log({"method": "POST", "path": self.path, "api": "anthropic-count", "dump": dumped})
            return self.send_json(200, {"input_tokens": count_tokens(raw)})
        if path.endswith("/messages"):
            return self.anthropic(req, raw, dumped)
        if path.endswith("/responses"):
            return self.openai_responses(req, raw, dumped)
        if path.endswith("/chat/completions"):
            return self.chat(req, raw, dumped)
        if ":countTokens" in path:
            STATE.log({"method": "POST", "path": self.path, "api": "gemini-count", "dump": dumped})
            return self.send_json(200, {"totalTokens": count_tokens(raw)})
        m = re.search(r"/models/([^/:]+):(streamGenerateContent|generateContent)$", path)
        if m:
            return self.gemini(req, raw, dumped, m.group(1), m.group(2) == "streamGenerateContent")
        STATE.log({"method": "POST", "path": self.path, "api": "other", "dump": dumped})
        return self.send_json(404, {"error": {"message": f"no route for POST {path}"}})

    def log_request_record(self, api, model, tools, has_result, answer, dumped, status=200, stream=None):
        STATE.log({
            "method": self.command,
            "path": self.path,
            "api": api,
            "model": model,
            "stream": stream,
            "tools": [t[0] for t in tools],
            "tool_result": has_result,
            "status": status,
            "answer": (answer[0] + ":" + answer[1]) if answer and answer[0] == "call" else
                      (("text:" + answer[1][:60]) if answer else None),
            "dump": dumped,
        })

    # -- Anthropic Messages --

    def anthropic(self, req, raw, dumped):
        model = req.get("model") or "claude-sonnet-4-5"
        tools = []
        for t in req.get("tools") or []:
            if isinstance(t, dict) and t.get("name"):
                tools.append((t["name"], t.get("input_schema"), "function"))
        has_result = False
        texts = []
        for m in req.get("messages") or []:
            content = m.get("content") if isinstance(m, dict) else None
            if isinstance(content, list):
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        has_result = True
            all_strings(content, texts)
        system = req.get("system")
        system_text = "\n".join(all_strings(system, []))
        texts = [system_text] + texts
        stream = bool(req.get("stream"))
        status = STATE.take_failure()
        if status:
            self.log_request_record("anthropic", model, tools, has_result, None, dumped, status, stream)
            kind = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error",
                    529: "overloaded_error", 400: "invalid_request_error"}.get(status, "api_error")
            message = {401: "invalid x-api-key", 529: "Overloaded", 429: "Rate limited"}.get(
                status, "Internal server error")
            return self.send_json(status, {"type": "error", "error": {"type": kind, "message": message}})
        answer = decide(tools, has_result, texts, system_text)
        self.log_request_record("anthropic", model, tools, has_result, answer, dumped, 200, stream)
        usage_in = count_tokens(raw)
        usage_out = 25
        msg_id = "msg_e2e_" + uuid.uuid4().hex[:16]
        if answer[0] == "call":
            block = {"type": "tool_use", "id": "toolu_e2e_" + uuid.uuid4().hex[:16],
                     "name": answer[1], "input": answer[2]}
            stop = "tool_use"
        else:
            block = {"type": "text", "text": answer[1]}
            stop = "end_turn"
        usage = {"input_tokens": usage_in, "output_tokens": usage_out,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        if not stream:
            return self.send_json(200, {
                "id": msg_id, "type": "message", "role": "assistant", "model": model,
                "content": [block], "stop_reason": stop, "stop_sequence": None, "usage": usage,
            })
        self.start_sse()
        start_usage = dict(usage, output_tokens=1)
        self.sse({"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": start_usage}}, "message_start")
        if block["type"] == "tool_use":
            self.sse({"type": "content_block_start", "index": 0, "content_block": {
                "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}},
                "content_block_start")
            self.sse({"type": "content_block_delta", "index": 0, "delta": {
                "type": "input_json_delta", "partial_json": json.dumps(block["input"])}},
                "content_block_delta")
        else:
            self.sse({"type": "content_block_start", "index": 0,
                      "content_block": {"type": "text", "text": ""}}, "content_block_start")
            self.sse({"type": "content_block_delta", "index": 0,
                      "delta": {"type": "text_delta", "text": block["text"]}}, "content_block_delta")
        self.sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self.sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                  "usage": {"output_tokens": usage_out}}, "message_delta")
        self.sse({"type": "message_stop"}, "message_stop")

    # -- OpenAI Responses --

    def openai_responses(self, req, raw, dumped):
        model = req.get("model") or "gpt-5-codex"
        tools = []
        for t in req.get("tools") or []:
            if not isinstance(t, dict):
                continue
            kind = t.get("type")
            if kind == "function" and t.get("name"):
                tools.append((t["name"], t.get("parameters"), "function"))
            elif kind == "custom" and t.get("name"):
                tools.append((t["name"], None, "custom"))
            elif kind == "local_shell":
                tools.append(("local_shell", None, "local_shell"))
        has_result = False
        texts = [req.get("instructions") or ""]
        inp = req.get("input")
        if isinstance(inp, list):
            for item in inp:
                if isinstance(item, dict) and item.get("type") in (
                        "function_call_output", "custom_tool_call_output", "local_shell_call_output"):
                    has_result = True
            all_strings(inp, texts)
        elif isinstance(inp, str):
            texts.append(inp)
        status = STATE.take_failure()
        if status:
            self.log_request_record("responses", model, tools, has_result, None, dumped, status, True)
            return self.send_json(status, openai_error(status))
        answer = decide(tools, has_result, texts, texts[0])
        self.log_request_record("responses", model, tools, has_result, answer, dumped, 200,
                                bool(req.get("stream")))
        resp_id = "resp_e2e_" + uuid.uuid4().hex[:16]
        usage = {"input_tokens": count_tokens(raw), "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 25, "output_tokens_details": {"reasoning_tokens": 0}}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        if answer[0] == "call":
            call_id = "call_e2e_" + uuid.uuid4().hex[:12]
            if answer[3] == "custom":
                item = {"type": "custom_tool_call", "id": "ctc_" + call_id, "call_id": call_id,
                        "name": answer[1], "input": answer[2], "status": "completed"}
            else:
                item = {"type": "function_call", "id": "fc_" + call_id, "call_id": call_id,
                        "name": answer[1], "arguments": json.dumps(answer[2]), "status": "completed"}
        else:
            item = {"type": "message", "id": "msg_e2e_" + uuid.uuid4().hex[:12], "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": answer[1], "annotations": []}]}
        base = {"id": resp_id, "object": "response", "created_at": int(time.time()), "model": model}
        if not req.get("stream"):
            return self.send_json(200, dict(base, status="completed", output=[item], usage=usage))
        self.start_sse()
        seq = iter(range(1, 1000))
        self.sse({"type": "response.created", "sequence_number": next(seq),
                  "response": dict(base, status="in_progress", output=[])}, "response.created")
        self.sse({"type": "response.in_progress", "sequence_number": next(seq),
                  "response": dict(base, status="in_progress", output=[])}, "response.in_progress")
        added = dict(item)
        if item["type"] == "message":
            added = dict(item, content=[], status="in_progress")
        self.sse({"type": "response.output_item.added", "sequence_number": next(seq), "output_index": 0,
                  "item": added}, "response.output_item.added")
        if item["type"] == "message":
            text = item["content"][0]["text"]
            self.sse({"type": "response.content_part.added", "sequence_number": next(seq),
                      "item_id": item["id"], "output_index": 0, "content_index": 0,
                      "part": {"type": "output_text", "text": "", "annotations": []}},
                     "response.content_part.added")
            self.sse({"type": "response.output_text.delta", "sequence_number": next(seq),
                      "item_id": item["id"], "output_index": 0, "content_index": 0, "delta": text},
                     "response.output_text.delta")
            self.sse({"type": "response.output_text.done", "sequence_number": next(seq),
                      "item_id": item["id"], "output_index": 0, "content_index": 0, "text": text},
                     "response.output_text.done")
        self.sse({"type": "response.output_item.done", "sequence_number": next(seq), "output_index": 0,
                  "item": item}, "response.output_item.done")
        self.sse({"type": "response.completed", "sequence_number": next(seq),
                  "response": dict(base, status="completed", output=[item], usage=usage)},
                 "response.completed")

    # -- OpenAI Chat Completions --

    def chat(self, req, raw, dumped):
        model = req.get("model") or "e2e-model"
        tools = []
        for t in req.get("tools") or []:
            f = t.get("function") if isinstance(t, dict) else None
            if isinstance(f, dict) and f.get("name"):
                tools.append((f["name"], f.get("parameters"), "function"))
        has_result = False
        texts = []
        system_text = ""
        for m in req.get("messages") or []:
            if not isinstance(m, dict):
                continue
            if m.get("role") == "tool":
                has_result = True
            strings = all_strings(m.get("content"), [])
            if m.get("role") == "system":
                system_text += "\n".join(strings)
            texts.extend(strings)
        stream = bool(req.get("stream"))
        status = STATE.take_failure()
        if status:
            self.log_request_record("chat", model, tools, has_result, None, dumped, status, stream)
            return self.send_json(status, openai_error(status))
        schema = None
        rf = req.get("response_format")
        if isinstance(rf, dict) and rf.get("type") == "json_schema":
            schema = (rf.get("json_schema") or {}).get("schema") or {}
        answer = decide(tools, has_result, texts, system_text, schema)
        self.log_request_record("chat", model, tools, has_result, answer, dumped, 200, stream)
        chat_id = "chatcmpl-e2e" + uuid.uuid4().hex[:16]
        created = int(time.time())
        prompt_tokens = count_tokens(raw)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": 25,
                 "total_tokens": prompt_tokens + 25}
        if answer[0] == "call":
            args = answer[2] if isinstance(answer[2], str) else json.dumps(answer[2])
            call = {"id": "call_e2e_" + uuid.uuid4().hex[:12], "type": "function",
                    "function": {"name": answer[1], "arguments": args}}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": answer[1]}
            finish = "stop"
        if not stream:
            return self.send_json(200, {
                "id": chat_id, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage})
        self.start_sse()
        base = {"id": chat_id, "object": "chat.completion.chunk", "created": created, "model": model}
        self.sse(dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                                      "finish_reason": None}]))
        if answer[0] == "call":
            call = message["tool_calls"][0]
            self.sse(dict(base, choices=[{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": call["id"], "type": "function",
                 "function": {"name": call["function"]["name"], "arguments": ""}}]},
                "finish_reason": None}]))
            self.sse(dict(base, choices=[{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": call["function"]["arguments"]}}]},
                "finish_reason": None}]))
        else:
            self.sse(dict(base, choices=[{"index": 0, "delta": {"content": answer[1]},
                                          "finish_reason": None}]))
        self.sse(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": finish}]))
        self.sse(dict(base, choices=[], usage=usage))
        self.sse("[DONE]")

    # -- Gemini --

    def gemini(self, req, raw, dumped, model, stream):
        tools = []
        for group in req.get("tools") or []:
            if not isinstance(group, dict):
                continue
            for f in group.get("functionDeclarations") or group.get("function_declarations") or []:
                if isinstance(f, dict) and f.get("name"):
                    schema = f.get("parametersJsonSchema") or f.get("parameters")
                    tools.append((f["name"], lower_types(schema), "function"))
        has_result = False
        texts = []
        for c in req.get("contents") or []:
            for part in (c.get("parts") or []) if isinstance(c, dict) else []:
                if isinstance(part, dict) and ("functionResponse" in part or "function_response" in part):
                    has_result = True
            all_strings(c, texts)
        system_text = "\n".join(all_strings(req.get("systemInstruction") or req.get("system_instruction"), []))
        texts = [system_text] + texts
        status = STATE.take_failure()
        if status:
            self.log_request_record("gemini", model, tools, has_result, None, dumped, status, stream)
            gstatus = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED",
                       503: "UNAVAILABLE"}.get(status, "INTERNAL")
            message = {401: "API key not valid. Please pass a valid API key.",
                       429: "Resource has been exhausted (e.g. check quota). Please retry in 30s."}.get(
                status, "Internal error encountered.")
            return self.send_json(status, {"error": {"code": status, "message": message, "status": gstatus}})
        gc = req.get("generationConfig") or {}
        schema = None
        if gc.get("responseMimeType") == "application/json":
            schema = gc.get("responseJsonSchema") or gc.get("responseSchema") or {}
            schema = lower_types(schema)
        answer = decide(tools, has_result, texts, system_text, schema)
        self.log_request_record("gemini", model, tools, has_result, answer, dumped, 200, stream)
        if answer[0] == "call":
            part = {"functionCall": {"name": answer[1], "args": answer[2]}}
        else:
            part = {"text": answer[1]}
        prompt_tokens = count_tokens(raw)
        body = {
            "candidates": [{"content": {"parts": [part], "role": "model"}, "finishReason": "STOP",
                            "index": 0}],
            "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": 25,
                              "totalTokenCount": prompt_tokens + 25},
            "modelVersion": model,
            "responseId": "e2e" + uuid.uuid4().hex[:12],
        }
        if not stream:
            return self.send_json(200, body)
        self.start_sse()
        self.sse(body)


def lower_types(schema):
    """Gemini schemas may spell types in capitals (`OBJECT`): lower them for `from_schema`."""
    if isinstance(schema, dict):
        out = {}
        for k, v in schema.items():
            if k == "type" and isinstance(v, str):
                out[k] = v.lower()
            else:
                out[k] = lower_types(v)
        return out
    if isinstance(schema, list):
        return [lower_types(v) for v in schema]
    return schema


def openai_error(status):
    if status == 401:
        return {"error": {"message": "Incorrect API key provided: sk-e2e***. You can find your API key at https://platform.openai.com/account/api-keys.",
                          "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
    if status == 429:
        return {"error": {"message": "Rate limit reached. Please try again in 20s.",
                          "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
    return {"error": {"message": "The server had an error while processing your request.",
                      "type": "server_error", "param": None, "code": None}}


# ---------------------------------------------------------------------------------------------
# The refusing proxy.


class ProxyHandler(socketserver.StreamRequestHandler):
    def handle(self):
        self.connection.settimeout(5)
        try:
            line = self.rfile.readline(8192).decode("latin-1").strip()
            host = ""
            for _ in range(100):
                h = self.rfile.readline(8192).decode("latin-1")
                if h in ("\r\n", "\n", ""):
                    break
                if h.lower().startswith("host:"):
                    host = h.split(":", 1)[1].strip()
        except (OSError, UnicodeError):
            line = line if "line" in locals() else ""
            host = ""
        record = {"time": round(time.time(), 3), "case": STATE.case, "request": line, "host": host}
        path = self.server.log_path
        if path:
            with STATE.lock:
                with open(path, "a") as f:
                    f.write(json.dumps(record) + "\n")
        try:
            body = b"blocked by the forge e2e proxy\n"
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
                             b"Connection: close\r\nContent-Length: " + str(len(body)).encode()
                             + b"\r\n\r\n" + body)
        except OSError:
            pass


class ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.replace(tmp, path)


def main():
    global STATE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    ap.add_argument("--log", help="append one JSON line per request here")
    ap.add_argument("--dump-dir", help="keep every request body here")
    ap.add_argument("--fail-status", type=int, default=int(os.environ.get("E2E_FAIL_STATUS") or 0))
    ap.add_argument("--fail-count", type=int, default=None, help="fail this many times (default forever)")
    ap.add_argument("--case", default="")
    ap.add_argument("--workdir-prefix", help="the harness's cwd is the first path under this in its prompt")
    ap.add_argument("--edit-file", default=EDIT_FILE)
    ap.add_argument("--edit-text", default=EDIT_TEXT)
    ap.add_argument("--shell", help="answer with a shell tool call running this command line")
    ap.add_argument("--delay", type=float, default=0.0, help="wait this long before each answer")
    ap.add_argument("--proxy-port-file", help="also run the refusing proxy; write its port here")
    ap.add_argument("--proxy-log", help="append one JSON line per proxy connection here")
    args = ap.parse_args()
    STATE = State(args)
    server = ModelServer(("127.0.0.1", args.port), Handler)
    if args.proxy_port_file:
        proxy = ProxyServer(("127.0.0.1", 0), ProxyHandler)
        proxy.log_path = args.proxy_log
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        write_port(args.proxy_port_file, proxy.server_address[1])
    if args.port_file:
        write_port(args.port_file, server.server_address[1])
    else:
        print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
