"""Audit log: every administrative action appends one JSON line to ``StateDir.audit_log``."""

from __future__ import annotations

import getpass
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from phoenix_compose.fileio import append_jsonl, last_jsonl, tail_jsonl
from phoenix_compose.shapes import as_dict, as_list


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid())


@contextmanager
def audited(path: Path, action: str, args: dict[str, Any],
            mask: Callable[[str], str] = str) -> Iterator[None]:
    """Append one record for ``action`` to ``path`` when it ends: ok, error or interrupted
    (an error's text passes through ``mask``: no secret value reaches the log)."""
    started = time.monotonic()
    record: dict[str, Any] = {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "user": _user(),
        "host": socket.gethostname(),
        "action": action,
        "args": args,
    }
    try:
        yield
    except BaseException as exc:
        record["result"] = "interrupted" if isinstance(exc, KeyboardInterrupt) else "error"
        record["error"] = mask(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
        raise
    else:
        record["result"] = "ok"
    finally:
        record["duration_s"] = round(time.monotonic() - started, 3)
        try:
            append_jsonl(path, record)
        except OSError as exc:  # a read-only or full .phoenix/ must not fail the action
            print(f"warning: audit line not written to {path}: {exc.strerror or exc}",
                  file=sys.stderr)


def taken_down(path: Path) -> bool:
    """Was the last action a successful ``down``?  Then the stack is meant to be down."""
    record = last_jsonl(path)
    return record is not None and record.get("action") == "down" and \
        record.get("result") == "ok"


def removed_by_user(path: Path, services: list[str]) -> set[str]:
    """The services the last successful ``inv rm`` removed (all of ``services`` when it
    named none): missing on purpose, not to be recreated."""
    record = last_jsonl(path)
    if record is None or record.get("action") != "rm" or record.get("result") != "ok":
        return set()
    args = as_dict(record.get("args"))
    named = as_list(args.get("services"))
    return {str(n) for n in named} or set(services)


def note_stops(path: Path, services: Sequence[str]) -> None:
    """Note, before podman is asked, that we are stopping ``services``: the watcher may see
    the exit before the action (and its audit line) ends.  A record that cannot be written
    costs a warning: the watcher may then restart what we stopped, never lose data."""
    record = {"time": datetime.now(timezone.utc).isoformat(), "services": list(services)}
    try:
        append_jsonl(path, record)
    except OSError as exc:
        print(f"warning: stop not noted in {path}: {exc.strerror or exc}", file=sys.stderr)


def resuming(path: Path, services: Sequence[str]) -> None:
    """Note that ``services`` run again without a new start (``unpause``): an earlier note
    of ours (its ``pause``) no longer explains an exit that comes later."""
    record = {"time": datetime.now(timezone.utc).isoformat(), "resumed": list(services)}
    try:
        append_jsonl(path, record)
    except OSError as exc:
        print(f"warning: resume not noted in {path}: {exc.strerror or exc}", file=sys.stderr)


def stopped_by_us(path: Path, service: str, since: datetime) -> bool:
    """Did we stop ``service`` at or after ``since`` (the container's last start)?  podman
    4.3 logs no event for every ``podman stop``, so our own note (``note_stops``) is the
    evidence that a stop we made was meant; the watcher then leaves the container alone
    (``pause`` and ``kill`` are noted the same way; an ``unpause`` note ends a pause's)."""
    for record in reversed(tail_jsonl(path)):
        try:
            when = datetime.fromisoformat(str(record.get("time")))
        except ValueError:
            continue
        if when < since:
            return False  # older notes are from before this run of the container
        if service in map(str, as_list(record.get("resumed"))):
            return False  # unpaused since our last note: a later exit is not ours
        if service in map(str, as_list(record.get("services"))):
            return True
    return False
