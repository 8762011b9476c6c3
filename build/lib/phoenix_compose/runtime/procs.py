"""Processes as /proc shows them: what a podman child started, and whether a recorded pid
is still the process that was recorded (a pid is reused; its start time is not).

Podman children stay in our process group (no ``start_new_session``): a Ctrl-C at the
terminal, a ``kill`` of the group, a CI runner's timeout or systemd's stop reaches them as
it reaches us, so they die with us.  A session of their own once let us ``killpg`` a
podman-compose with its podman, but also let them outlive a ``kill -9`` of our group (a
``podman rm`` still running, racing the next ``up`` for the container).  So the tree to
kill is found here instead.  What a ``kill -9`` of our pid alone leaves behind is reaped
by the next administrative action (:mod:`.children`).  PR_SET_PDEATHSIG would need a
``preexec_fn``, which is not safe with the watcher's threads and costs the fast
posix_spawn path of every call."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc): podman-compose's podman, conmon, ..."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) is not None:
            parents.setdefault(stat[1], []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """State, parent pid and start time (clock ticks after boot) of ``pid``, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return fields[0].decode(), int(fields[1]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and everything below it."""
    for each in [pid, *descendants(pid)]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(each, signal.SIGKILL)


def workdir() -> str:
    """Where podman runs: conmon 2.1.6 (here, with podman 4.3) writes an empty ``oom`` file
    into its working directory when a container is OOM-killed, so never the user's own
    (their repository).  A private directory per user under the temp dir."""
    path = Path(tempfile.gettempdir()) / f"phoenix-podman-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return tempfile.gettempdir()
    return str(path)


# podman 4.3: a container that stops by itself between ``--time``'s SIGTERM and the SIGKILL
# fails ``rm --force``/``stop`` ("sending SIGKILL ...: container state improper: stopped");
# asked again, podman finds it stopped and does the job.
_STOP_RACE = re.compile(r"sending SIGKILL .*state improper: stopped")


def raced(argv: tuple[str, ...], code: int, stderr: str) -> bool:
    """Whether a failed podman ``rm``/``stop`` lost that race (``commands.run`` runs it
    once more)."""
    return (code > 0 and argv[0] == "podman" and argv[1:2] in (("rm",), ("stop",))
            and _STOP_RACE.search(stderr) is not None)
