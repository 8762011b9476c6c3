"""File output: atomic write-if-changed (all files staged first, then moved into place), and
JSON-lines appends and reads.

A failed run never leaves a half-written file, and a run that fails before ``apply``
leaves every previous output byte-for-byte as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def write_files(files: dict[Path, str], prune: dict[Path, str] | None = None) -> list[Path]:
    """Write ``files`` atomically; delete files matching ``prune`` globs that were not written.

    Returns the paths whose content changed.
    """
    staged: list[tuple[Path, str]] = []
    try:
        for path, text in files.items():
            data = text.encode("utf-8")
            if path.is_file() and path.read_bytes() == data:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((path, tmp))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        for _path, tmp in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    for path, tmp in staged:
        os.replace(tmp, path)
    for folder, pattern in (prune or {}).items():
        for stale in folder.glob(pattern) if folder.is_dir() else ():
            if stale not in files:
                stale.unlink()
    return [path for path, _tmp in staged]


@dataclass(frozen=True)
class Rotation:
    """JSON-lines logs (audit, events) rotate by size: ``log`` -> ``log.1`` ... ``log.N``."""

    max_bytes: int = 5_000_000
    keep: int = 3


ROTATION = [Rotation()]  # the process-wide setting (the task layer sets it from config)


def set_rotation(max_bytes: int, keep: int) -> None:
    ROTATION[0] = Rotation(max(0, int(max_bytes)), max(0, int(keep)))


def rotate(path: Path, keep: int) -> None:
    """``path`` becomes ``path.1``, ``path.1`` becomes ``path.2`` ... up to ``keep`` files."""
    for index in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{index}")
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{index + 1}"))
    if keep:
        os.replace(path, path.with_name(f"{path.name}.1"))
    else:
        path.unlink()


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """One write of one line with O_APPEND: concurrent writers never interleave a line.
    Past ``ROTATION``'s size the file is rotated first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
    rotation = ROTATION[0]
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = 0
    if rotation.max_bytes and size and size + len(line) > rotation.max_bytes:
        rotate(path, rotation.keep)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_yaml(path: Path) -> Any:
    """A YAML file phoenix wrote itself (the final compose file): libyaml's safe loader,
    several times faster than the pure-Python one on the hot path of every command."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def last_jsonl(path: Path, window: int = 4096) -> dict[str, Any] | None:
    """The last record of a JSON-lines file (reads only its tail), or None."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - window))
            last = handle.read().decode("utf-8", "replace").strip().splitlines()[-1]
        record = json.loads(last)
    except (OSError, ValueError, IndexError):
        return None
    return record if isinstance(record, dict) else None
