#!/usr/bin/env python3
"""Turns the captures of an `E2E_CAPTURE=1` run into fixtures/harness-output/<preset>/real-*.

    E2E_CAPTURE=1 E2E_WORK=target/e2e/capture python3 e2e/run.py
    python3 e2e/capture_fixtures.py target/e2e/capture

Each CLI's `capture/<step>.stdout|.stderr` (written by e2e/tee-streams) becomes
`real-<case>.jsonl|.txt` and `real-<case>.stderr`, the case found from the bead's title
(`Create agent.txt` is edit, `Create auth.txt` auth, `Create retry.txt` retry). Redacted:
the machine's paths (work directory, install cache, home), the server's port. OpenHands'
summary box, which repeats the whole system prompt after an error, is cut to a few lines.
For OpenHands the conversation's `base_state.json` (where its token counts are) is kept too,
as `real-<case>.base_state.json`.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "harness-output"
TITLES = {"Create agent.txt": "edit", "Create auth.txt": "auth", "Create retry.txt": "retry"}
TEXT_PRESETS = {"aider", "openhands"}


def redact(text, cli_dir):
    repo = str(cli_dir / "repo")
    text = text.replace(repo, "/home/dev/project")
    # Claude Code names its project directories after the path, `/` as `-`.
    text = text.replace(repo.replace("/", "-"), "-home-dev-project")
    text = text.replace(str(cli_dir), "/home/dev")
    # Rich wraps long paths over several lines: the same replacement, piecewise, is not worth
    # it; wrapped fragments of the work directory are replaced by what they were part of.
    text = re.sub(r"/root/\.cache/forge-e2e/npm/[^/\s]+/node_modules", "/usr/lib/node_modules", text)
    text = re.sub(r"/root/\.cache/forge-e2e/venv/[^/\s]+", "/opt/venv", text)
    text = re.sub(r"/root/\.pyenv/versions/[^/\s]+", "/usr", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:8080", text)
    text = text.replace("/root", "/home/dev")
    return text


def cut_box(text, keep=6):
    """Rich's summary box (`╭─ Agent` … `╰`): the first lines, then a note of what was cut."""
    out, inside, kept, cut = [], False, 0, 0
    for line in text.split("\n"):
        if "╭─ Agent" in line:
            inside, kept, cut = True, 0, 0
            out.append(line)
            continue
        if inside and "╰" in line:
            if cut:
                out.append(f"│ … {cut} more lines …")
            inside = False
            out.append(line)
            continue
        if inside:
            if kept < keep:
                out.append(line)
                kept += 1
            else:
                cut += 1
            continue
        out.append(line)
    return "\n".join(out)


def unwrap_paths(text, cli_dir):
    """Joins Rich's hard-wrapped stderr log lines where a wrapped fragment of the work dir
    would leak: any line holding part of it is replaced by a marker."""
    frag = str(cli_dir)[:12]
    return "\n".join(l if frag not in l else re.sub(re.escape(frag) + r"\S*", "/home/dev/…", l)
                     for l in text.split("\n"))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    work = Path(sys.argv[1]).resolve()
    for cli_dir in sorted(p for p in work.iterdir() if (p / "capture").is_dir()):
        preset = cli_dir.name
        for out_file in sorted((cli_dir / "capture").glob("*.stdout")):
            step = out_file.name[: -len(".stdout")]
            bead = step.rsplit(".", 1)[0]
            bead_file = cli_dir / "repo" / ".forge" / "beads" / f"{bead}.toml"
            title = re.search(r'^title = "(.*)"$', bead_file.read_text(), re.M)
            case = TITLES.get(title.group(1) if title else "")
            if not case:
                continue
            ext = "txt" if preset in TEXT_PRESETS else "jsonl"
            for src, dst in ((out_file, f"real-{case}.{ext}"),
                             (out_file.with_suffix(".stderr"), f"real-{case}.stderr")):
                text = src.read_text(errors="replace") if src.exists() else ""
                text = redact(text, cli_dir)
                text = unwrap_paths(text, cli_dir)
                if preset == "openhands":
                    text = cut_box(text)
                target = OUT / preset / dst
                if text.strip():
                    target.write_text(text)
                    print(f"{target.relative_to(ROOT)} ({len(text)} bytes)")
                elif target.exists():
                    target.unlink()
            # OpenHands keeps its token counts in the conversation's state file only.
            states = sorted((cli_dir / "repo" / ".git" / "forge" / "steps" / step / "home").glob(
                ".openhands/conversations/*/base_state.json"))
            if preset == "openhands" and states:
                target = OUT / preset / f"real-{case}.base_state.json"
                target.write_text(redact(states[0].read_text(), cli_dir) + "\n")
                print(f"{target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
