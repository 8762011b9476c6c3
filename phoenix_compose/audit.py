"""Audit log: every administrative action appends one JSON line to .phoenix/<env>/audit.jsonl."""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """One write of one line with O_APPEND: concurrent writers never interleave a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid())


@contextmanager
def audited(folder: Path, action: str, args: dict[str, Any]) -> Iterator[None]:
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
        record["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise
    else:
        record["result"] = "ok"
    finally:
        record["duration_s"] = round(time.monotonic() - started, 3)
        append_jsonl(folder / "audit.jsonl", record)
