"""Reading the user's files safely: text that is not UTF-8, symlinks that dangle or point
outside the stack root, and unreadable files are located problems, never tracebacks."""

from __future__ import annotations

import os
from pathlib import Path

from phoenix_compose.errors import Loc, Problem


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


def read(path: Path, name: str, where: Loc | None = None) -> tuple[str | None, Problem | None]:
    """A file's text, or a problem (at ``where``, default the file itself)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, Problem(where or Loc(name, 0, 0),
                             f"cannot read {name}: {exc.strerror or exc}")
    return decode(data, name)


def inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def link_problem(root: Path, path: Path, name: str) -> Problem | None:
    """A symlink that dangles, or points outside the stack root, is refused."""
    if not path.is_symlink():
        return None
    target = os.readlink(path)
    if not path.exists():
        return Problem(Loc(name, 0, 0), f"dangling symlink: {name} points to {target}, "
                                        "which does not exist")
    if not inside(root, path):
        return Problem(Loc(name, 0, 0), f"symlink {name} points outside the stack root "
                                        f"({target}); refusing to read it",
                       hint="copy the file into the stack instead")
    return None
