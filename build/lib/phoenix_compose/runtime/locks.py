"""A lock per environment: a second ``up``/``down`` on the same env waits, then fails clearly.

The lock file holds a line naming the holder; ``is_held`` lets the watcher see, without
taking it, that an administrative action is in progress.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from phoenix_compose.errors import LockedError, StateError
from phoenix_compose.fileio import open_nofollow, read_bytes
from phoenix_compose.runtime import stopping

UNLOCKED_OK = frozenset({"down"})  # the one action that goes on without the lock (warned)


@contextmanager
def env_lock(path: Path, action: str, wait: float = 10.0,
             poll: float = 0.1) -> Iterator[None]:
    """Hold the lock file ``path`` (``StateDir.lock_file``) for ``inv <action>``."""
    try:
        fd = open_nofollow(path, os.O_RDWR | os.O_CREAT)  # never truncates through a link
    except OSError as exc:  # read-only, full, or a symlink: `down` must still work, unlocked
        if action not in UNLOCKED_OK:  # anything else would run beside another action
            raise StateError(f"cannot take the lock {path} ({exc.strerror or exc}); "
                             f"`inv {action}` does not run without it",
                             hint="remove what is in the way (a link, a folder) at that "
                                  "path; phoenix makes the lock itself") from None
        print(f"warning: cannot take the lock {path} ({exc.strerror or exc}); going on "
              "without it", file=sys.stderr)
        yield
        return
    try:
        _acquire(fd, path, action, wait, poll)
        _holder(fd, f"`inv {action}` (pid {os.getpid()})\n")
        try:
            yield
        finally:
            _holder(fd, "")
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int, line: str) -> None:
    """The holder line is for messages only: a full disk must not fail the action."""
    try:
        os.ftruncate(fd, 0)
        os.write(fd, line.encode())
    except OSError:
        pass


def _acquire(fd: int, path: Path, action: str, wait: float, poll: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _held_by(path)
                raise LockedError(
                    f"environment '{path.parent.name}' is busy: {holder}",
                    hint=f"wait for it to finish (waited {wait:g} s), then run "
                         f"`inv {action}` again") from None
            stopping.pause(poll)  # a stop signal ends the wait


def _held_by(path: Path) -> str:
    try:
        return read_bytes(path).decode("utf-8", "replace").strip() or "another process"
    except OSError:
        return "another process"


def is_held(path: Path) -> bool:
    """Does some process hold the lock now?  (Probes with a shared, non-blocking lock.)"""
    try:
        fd = open_nofollow(path, os.O_RDONLY)
    except OSError as exc:  # missing: nobody holds it
        # a link or a non-file where the lock goes: `down` may be running without the lock
        # (every other action refuses to), so the watcher must not heal meanwhile
        return exc.errno in (errno.ELOOP, errno.EINVAL)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
