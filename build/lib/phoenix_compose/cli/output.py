"""Printing for the tasks and for the ``phoenix`` program's quick answers (no invoke here):
a reader that went away (``inv up | head -3``) never fails the operation."""

from __future__ import annotations

import os
import sys
from typing import TextIO

_CLOSED: set[int] = set()  # fds whose reader went away


def write(stream: TextIO, text: object, end: str) -> None:
    """Print, and when the reader has gone away (``inv up | head -3``) drop the output
    instead of failing: the operation itself must complete."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = -1  # a captured stream (tests)
    if fd in _CLOSED:
        return
    try:
        stream.write(f"{text}{end}")
        stream.flush()
    except BrokenPipeError:
        _CLOSED.add(fd)
        if fd >= 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)  # later writes (and the flush at exit) go nowhere
            os.close(devnull)
    except (OSError, ValueError):
        pass


def say(text: object = "", end: str = "\n") -> None:
    write(sys.stdout, text, end)
