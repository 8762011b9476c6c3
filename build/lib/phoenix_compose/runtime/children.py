"""The podman children of an administrative action, recorded in ``StateDir.children`` while
it runs, so that the next one (under the same env lock) reaps what a killed run left: a
``podman rm`` still running after a ``kill -9`` of ``inv up`` would race the next ``up``
for the container, and leave one that podman no longer knows, holding its port.

Each entry is a pid with its start time: a pid that was reused since is not ours.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from phoenix_compose.fileio import read_json, write_files
from phoenix_compose.runtime import commands
from phoenix_compose.runtime.procs import kill_tree, proc_stat
from phoenix_compose.statedir import StateDir

GRACE = 10.0  # seconds a left-over podman call may take to finish by itself


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


@contextmanager
def watched(state: StateDir, grace: float | None = None) -> Iterator[None]:
    """Reap what a killed run left, then record this action's children while it runs."""
    reap(state, GRACE if grace is None else grace)
    with recorded(state):
        yield


@contextmanager
def recorded(state: StateDir) -> Iterator[None]:
    lock = threading.Lock()

    def save() -> None:
        with lock:  # the latest list wins, whichever thread's child changed
            entries = [{"pid": pid, "start": stat[2], "argv": list(argv[:4])}
                       for pid, argv in commands.running()
                       if (stat := proc_stat(pid)) is not None]
            try:
                write_files({state.children: json.dumps(entries) + "\n"})
            except OSError:
                pass  # a full or read-only disk: only the reaping after a kill -9 is lost

    commands.WATCHERS.append(save)
    try:
        yield
    finally:
        commands.WATCHERS.remove(save)
        save()


def left_over(path: Path) -> list[dict[str, Any]]:
    """The recorded children that still run as recorded (same pid, same start time, a
    podman or podman-compose command line)."""
    data = read_json(path)
    alive = []
    for entry in data if isinstance(data, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("pid"), int):
            continue
        stat = proc_stat(entry["pid"])
        if stat is not None and stat[0] != "Z" and stat[2] == entry.get("start") and \
                _is_podman(entry["pid"]):
            alive.append(entry)
    return alive


def _is_podman(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = handle.read().split(b"\0")[:2]
    except OSError:
        return False
    return any(Path(a.decode(errors="replace")).name.startswith("podman") for a in argv)


def reap(state: StateDir, grace: float = GRACE,
         sleep: Callable[[float], None] = time.sleep) -> list[int]:
    """Wait up to ``grace`` seconds for the podman calls a killed run left to end, then
    kill them (with what they started); returns their pids.  Called under the env lock:
    no live phoenix action of this env owns them."""
    left = left_over(state.children)
    if not left:
        return []
    names = ", ".join(f"pid {e['pid']} ({' '.join(map(str, e.get('argv') or []))})"
                      for e in left)
    _warn(f"a killed run left podman running: {names}; waiting up to {grace:g} s, then "
          "killing it, before touching the containers")
    for _ in range(int(grace * 10)):
        if not left_over(state.children):
            break
        sleep(0.1)
    for entry in left_over(state.children):
        kill_tree(entry["pid"])
    for _ in range(100):  # gone, as the kernel sees it (a hang guard: 10 s)
        if not left_over(state.children):
            break
        sleep(0.1)
    return [e["pid"] for e in left]
