"""Atomic, write-if-changed output: all files are staged first, then moved into place.

A failed run never leaves a half-written file, and a run that fails before ``apply``
leaves every previous output byte-for-byte as it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
