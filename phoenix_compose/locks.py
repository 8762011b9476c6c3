"""A lock per environment: a second ``up``/``down`` on the same env waits, then fails clearly."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ComposeRuntimeError


class LockedError(ComposeRuntimeError):
    pass


@contextmanager
def env_lock(folder: Path, action: str, wait: float = 10.0,
             poll: float = 0.1) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = path.read_text(encoding="utf-8").strip() or "another process"
                    raise LockedError(
                        f"environment '{folder.name}' is busy: {holder}",
                        hint=f"wait for it to finish (waited {wait:g} s), then run "
                             f"`inv {action}` again") from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.write(fd, f"`inv {action}` (pid {os.getpid()})\n".encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
