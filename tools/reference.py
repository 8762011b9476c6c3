"""Write docs/reference.md: every task of the namespace (plugins of tasks/ included) with
its one-line description and every flag, from the task list itself.  A test compares the
file with this output, so the reference cannot go stale: `python tools/reference.py`
rewrites it after a task or a flag changes."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = """# Task reference

Generated from the task list by `python tools/reference.py` (and checked by
`tests/test_readme.py`): do not edit by hand. `inv TASK --help` (or `phoenix TASK
--help`) prints the same. Flags take a value unless marked as a switch.
"""


def _flag(arg) -> str:
    long, *short = sorted(arg.names, key=len, reverse=True)
    text = f"--{long}" + "".join(f", -{s}" for s in short)
    return text if arg.kind is bool else f"{text} {long.upper().replace('-', '_')}"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _task(name: str, task) -> list[str]:
    summary = (task.__doc__ or "").strip().split("\n\n")[0]  # the first paragraph
    lines = [f"## `{name}`", "", _cell(summary) or "(no description)", ""]
    args = [a for a in task.get_arguments() if not (a.attr_name or a.name).startswith("_")]
    helps = getattr(task, "phoenix_help", {})  # invoke pops help when it parses: the copy
    if args:
        lines += ["| flag | default | what it does |", "|---|---|---|"]
        for arg in args:
            default = "switch" if arg.kind is bool else (
                "" if arg.default in (None, "") else f"`{arg.default}`")
            keys = (arg.name, str(arg.name).rstrip("_"), *arg.names)
            text = next((helps[k] for k in keys if k in helps), arg.help or "")
            lines.append(f"| `{_flag(arg)}` | {default} | {_cell(text)} |")
        lines.append("")
    return lines


def render(root: Path = ROOT) -> str:
    sys.path.insert(0, str(root))
    from phoenix_compose.cli import build_namespace

    ns = build_namespace(root)
    lines = [HEADER]
    for name in sorted(ns.task_names):
        lines += _task(name, ns.task_with_config(name)[0])
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    (ROOT / "docs" / "reference.md").write_text(render(), encoding="utf-8")
