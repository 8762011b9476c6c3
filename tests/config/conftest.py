"""Fixtures of the confinement tests: a folder outside the stack root, and the paths under
it that this process opened (an audit hook sees every ``open``, through symlinks too)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

MARK = "outside-value-7731"  # in every outside file: it must never reach a message
_WATCHED: list[tuple[str, list[str]]] = []


def _audit(event: str, args: tuple) -> None:
    if event != "open" or not _WATCHED or isinstance(args[0], int):
        return
    path = os.fsdecode(args[0])
    real = os.path.realpath(path)  # an open through a linked folder is an open outside
    for prefix, seen in _WATCHED:
        if path.startswith(prefix) or real.startswith(prefix):
            seen.append(path)


sys.addaudithook(_audit)  # hooks cannot be removed: this one only looks while a test watches


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the stack, with files that would be valid to read."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "other.yaml").write_text(f"services: {{leak: {{image: 'x:1', hostname: {MARK}}}}}\n")
    (folder / "secret.env").write_text(f"MARK={MARK}\n")
    (folder / "partial.j2").write_text(f"leak: {MARK}\n")
    (folder / "ctx").mkdir()
    (folder / "ctx" / "Containerfile").write_text("FROM scratch\n")
    return folder


@pytest.fixture
def opened(outside: Path):
    """The paths under ``outside`` that this process opened during the test."""
    seen: list[str] = []
    _WATCHED.append((str(outside), seen))
    yield seen
    _WATCHED.remove((str(outside), seen))
