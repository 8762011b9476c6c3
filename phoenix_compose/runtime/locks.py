"""A lock per environment: a second ``up``/``down`` on the same env waits, then fails clearly.

The lock file holds a line naming the holder; ``is_held`` lets the watcher see, without
taking it, that an administrative action is in progress.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from phoenix_compose.errors import LockedError


@contextmanager
def env_lock(path: Path, action: str, wait: float = 10.0,
             poll: float = 0.1) -> Iterator[None]:
    """Hold the lock file ``path`` (``StateDir.lock_file``) for ``inv <action>``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # read-only or full: `down` must still work, unlocked
        print(f"warning: cannot take the lock {path} ({exc.strerror or exc}); going on "
              "without it", file=sys.stderr)
        yield
        return
    try:
        _acquire(fd, path, action, wait, poll)
        os.ftruncate(fd, 0)
        os.write(fd, f"`inv {action}` (pid {os.getpid()})\n".encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, action: str, wait: float, poll: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = path.read_text(encoding="utf-8").strip() or "another process"
                raise LockedError(
                    f"environment '{path.parent.name}' is busy: {holder}",
                    hint=f"wait for it to finish (waited {wait:g} s), then run "
                         f"`inv {action}` again") from None
            time.sleep(poll)


def is_held(path: Path) -> bool:
    """Does some process hold the lock now?  (Probes with a shared, non-blocking lock.)"""
    try:
        with open(path, "rb") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(lock, fcntl.LOCK_UN)
    except FileNotFoundError:
        return False
    return False
