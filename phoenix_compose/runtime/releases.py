"""Releases: every ``up`` that ends healthy records what runs, in
``.phoenix/<env>/releases/<n>/``: the final ``compose.yaml`` and ``release.json`` (time,
user, git revision, and each service's image and image id).  The last ``keep`` are kept;
``current`` names the one running."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from phoenix_compose.errors import CommandError, ComposeRuntimeError
from phoenix_compose.fileio import read_json, write_files
from phoenix_compose.runtime import argv, containers
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.statedir import StateDir

KEEP = 10


@dataclass(frozen=True)
class Release:
    number: int
    time: str
    user: str
    git: str
    images: dict[str, dict[str, str]]  # service -> {"image": ..., "id": ...}
    current: bool = False
    protected: dict[str, Any] | None = None  # what pre-deploy hooks did (a backup's name)

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "time": self.time, "user": self.user, "git": self.git,
                "images": self.images, "current": self.current, "protected": self.protected}


def record(state: StateDir, stack: Stack, names: list[str], run: containers.Runner,
           keep: int = KEEP, protected: dict[str, Any] | None = None) -> int:
    """Record the running ``names`` as the next release; returns its number."""
    number = max(_numbers(state), default=0) + 1
    folder = state.releases / str(number)
    states = containers.inspect(run, [stack.services[n].container for n in names])
    images = {n: {"image": stack.services[n].image or "",
                  "id": getattr(states.get(stack.services[n].container), "image_id", "")}
              for n in names}
    meta = {"number": number, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "user": _user(), "host": socket.gethostname(), "git": _git(state, run),
            "images": images, **({"protected": protected} if protected else {})}
    write_files({folder / "compose.yaml": stack.compose_file.read_text(encoding="utf-8"),
                 folder / "release.json": json.dumps(meta, indent=1, sort_keys=True) + "\n",
                 state.releases / "current": f"{number}\n"})
    for old in sorted(_numbers(state))[:-keep] if keep else ():
        shutil.rmtree(state.releases / str(old), ignore_errors=True)
    return number


def list_releases(state: StateDir) -> list[Release]:
    """The kept releases, oldest first; a damaged one is left out."""
    now = current(state)
    out = []
    for number in sorted(_numbers(state)):
        meta = read_json(state.releases / str(number) / "release.json")
        if not isinstance(meta, dict):
            continue
        out.append(Release(number, str(meta.get("time", "")), str(meta.get("user", "")),
                           str(meta.get("git", "")), dict(meta.get("images") or {}),
                           number == now, meta.get("protected") or None))
    return out


def protected_after(state: StateDir, number: int) -> Release | None:
    """The first release after ``number`` whose deploy ran pre-deploy hooks (a backup of
    the data as it was under ``number``), if any is kept."""
    return next((r for r in list_releases(state) if r.number > number and r.protected), None)


def current(state: StateDir) -> int | None:
    """The number of the release running now (None before the first one)."""
    try:
        return int((state.releases / "current").read_text().strip())
    except (OSError, ValueError):
        return None


def set_current(state: StateDir, number: int) -> None:
    write_files({state.releases / "current": f"{number}\n"})


def find(state: StateDir, number: int | None) -> Release:
    """Release ``number`` (default: the one before the current one)."""
    kept = {r.number: r for r in list_releases(state)}
    if number is None:
        now = current(state)
        older = [n for n in kept if now is None or n < now]
        if not older:
            raise ComposeRuntimeError(
                f"environment '{state.env}' has no release before the current one "
                f"({now or 'none'}) to roll back to",
                hint="`inv releases` lists them; each healthy `inv up` records one")
        number = max(older)
    if number not in kept:
        raise ComposeRuntimeError(
            f"environment '{state.env}' has no release {number}; kept: "
            f"{', '.join(map(str, sorted(kept))) or 'none'}",
            hint="`inv releases` lists them (the last 10 are kept)")
    return kept[number]


def compose_file(state: StateDir, number: int) -> Path:
    return state.releases / str(number) / "compose.yaml"


def _numbers(state: StateDir) -> list[int]:
    if not state.releases.is_dir():
        return []
    return [int(p.name) for p in state.releases.iterdir() if p.is_dir() and p.name.isdigit()]


def _git(state: StateDir, run: containers.Runner) -> str:
    try:
        return run(argv.git_describe(), timeout=30, cwd=state.root).stdout.strip()
    except CommandError:
        return ""


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid())
