"""Reading the user's files safely: text that is not UTF-8, symlinks that dangle or point
outside the stack root, files that are not regular files, and unreadable files are located
problems, never tracebacks or hangs.

One confinement rule covers every read of the engine: a file is read only when it
resolves, after symlinks, inside the stack root or one of the extra roots that the operator
named (``PHOENIX_EXTRA_ROOTS``, never a stack file).  Anything else is refused before it is
opened, so nothing of it can reach a message."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from phoenix_compose.errors import Loc, Problem

WIDEN_HINT = ("copy the file into the stack; or, as the operator, allow its folder with "
              "PHOENIX_EXTRA_ROOTS or the invoke setting phoenix.extra_roots")


@dataclass(frozen=True)
class Roots:
    """Where the engine may read: the stack root, then the operator's extra roots."""

    root: Path
    extra: tuple[Path, ...] = ()

    def holds(self, path: Path) -> bool:
        """Does ``path`` resolve, after every symlink, inside one of the roots?"""
        real = path.resolve()
        return any(real.is_relative_to(r.resolve()) for r in (self.root, *self.extra))

    def refusal(self, path: Path, name: str, where: Loc) -> Problem | None:
        """The located problem of reading ``path`` (named ``name``), if it is outside."""
        if self.holds(path):
            return None
        real = path.resolve()
        shown = name if str(real) == name else f"{name} (which leads to {real})"
        return Problem(where, f"{shown} is outside the stack root; refusing to read it",
                       hint=WIDEN_HINT)


def decode(data: bytes, name: str) -> tuple[str | None, Problem | None]:
    """``data`` as UTF-8 text, or a problem at the first byte that is not."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Problem(Loc(name, line, column),
                             f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded",
                             hint="save the file as UTF-8")


def read(path: Path, name: str, where: Loc | None = None,
         roots: Roots | None = None) -> tuple[str | None, Problem | None]:
    """A file's text, or a problem (at ``where``, default the file itself).  With ``roots``,
    a file outside them is refused unopened."""
    where = where or Loc(name, 0, 0)
    refused = roots.refusal(path, name, where) if roots is not None else None
    if refused is not None:
        return None, refused
    try:
        data = regular_bytes(path)
    except OSError as exc:
        return None, Problem(where, f"cannot read {name}: {exc.strerror or exc}")
    if data is None:
        return None, Problem(where, f"cannot read {name}: not a regular file")
    return decode(data, name)


def regular_bytes(path: Path) -> bytes | None:
    """The bytes of a regular file; None for anything else.  Opened non-blocking, so a FIFO
    or a device cannot hang the run before it is recognised."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read()
    finally:
        os.close(fd)


def inside(root: Path, path: Path) -> bool:
    return Roots(root).holds(path)


def link_problem(roots: Roots, path: Path, name: str) -> Problem | None:
    """A symlink that dangles, or points outside the roots, is refused."""
    if not path.is_symlink():
        return None
    target = os.readlink(path)
    if not path.exists():
        return Problem(Loc(name, 0, 0), f"dangling symlink: {name} points to {target}, "
                                        "which does not exist")
    if not roots.holds(path):
        return Problem(Loc(name, 0, 0), f"symlink {name} points outside the stack root "
                                        f"({target}); refusing to read it", hint=WIDEN_HINT)
    return None



def capped_bytes(path: Path, limit: int) -> tuple[bytes | None, str]:
    """A regular file's bytes, opened without following a final symlink and without
    blocking (a FIFO or a device is recognised, never waited on), at most ``limit`` bytes;
    else None and why it was refused.  A missing file raises FileNotFoundError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        if path.is_symlink():
            return None, f"{path} is a symlink (not followed)"
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, f"{path} is not a regular file"
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1) if info.st_size <= limit else b""
        if info.st_size > limit or len(data) > limit:
            return None, f"{path} is larger than {limit} bytes"
        return data, ""
    finally:
        os.close(fd)
