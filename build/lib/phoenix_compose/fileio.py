"""File output: atomic write-if-changed (all files staged first, then moved into place), and
JSON-lines appends and reads.

A failed run never leaves a half-written file, and a run that fails before ``apply``
leaves every previous output byte-for-byte as it was.

State files (under ``.phoenix/``) are never opened through a symbolic link: every open
here uses ``O_NOFOLLOW``, and the folders from ``.phoenix`` down to the file must be real
directories.  A repository can ship a ``.phoenix`` (or ``.phoenix/<env>/audit.jsonl``)
that links elsewhere; writing through it would truncate or append to whatever it names.
Such a link is an ``OSError`` (ELOOP) with a message that says so, which the callers
already turn into a clear error, or a warning where the action must go on (``down``).
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_FOLDER = ".phoenix"  # statedir.FOLDER (fileio stays below statedir)
NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


def _link(path: Path, name: str) -> OSError:
    return OSError(errno.ELOOP, f"{name} is a symbolic link; refusing to follow it (it "
                                "should be generated here: remove the link)", str(path))


def check_folders(path: Path) -> None:
    """The folders of ``path`` from ``.phoenix`` down are real directories (or do not exist
    yet): a symlink among them is an OSError (ELOOP)."""
    parts = path.parts
    if STATE_FOLDER not in parts[:-1]:
        return
    start = parts.index(STATE_FOLDER)
    _real_folders(Path(*parts[:start]), parts[start:-1])


def check_below(anchor: Path, path: Path) -> None:
    """Every folder of ``path`` below ``anchor`` (``anchor`` itself not included) is a real
    directory or does not exist yet, and ``path`` is inside ``anchor``: a generated output
    of the repository (``deploy/``, ``.vscode/``, ``envs/``) is never written or pruned
    through a link to somewhere else.  Else an OSError (ELOOP, ENOTDIR or EXDEV) naming the
    folder."""
    try:
        parts = path.relative_to(anchor).parts
    except ValueError:
        raise OSError(errno.EXDEV, f"{path} is outside {anchor}", str(path)) from None
    _real_folders(anchor, parts[:-1])


def _real_folders(folder: Path, parts: Sequence[str]) -> None:
    """``folder/parts[0]``, ``folder/parts[0]/parts[1]``... are real directories, up to the
    first that does not exist yet (made later, as a real directory, by mkdir)."""
    for part in parts:
        folder = folder / part
        try:
            mode = os.lstat(folder).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISLNK(mode):
            raise _link(folder, str(folder))
        if not stat.S_ISDIR(mode):
            raise OSError(errno.ENOTDIR, f"{folder} is not a directory", str(folder))


def open_nofollow(path: Path, flags: int, mode: int = 0o644) -> int:
    """``os.open`` that never follows a symlink, at ``path`` or in its ``.phoenix``
    folders; a write (``O_CREAT``) creates the missing folders first."""
    check_folders(path)
    if flags & os.O_CREAT:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, flags | NOFOLLOW | os.O_NONBLOCK, mode)  # a FIFO must not block
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _link(path, "it") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO, a device: never state
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file; refusing it (it should be "
                                    "generated here: remove it)", str(path))
    os.set_blocking(fd, True)
    return fd


def read_bytes(path: Path) -> bytes:
    """A state file's bytes, never through a symlink."""
    fd = open_nofollow(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def _unchanged(path: Path, data: bytes) -> bool:
    try:
        return read_bytes(path) == data
    except OSError:  # missing, or a symlink: replaced by the rename (never written through)
        return False


def write_files(files: dict[Path, str], prune: dict[Path, str] | None = None,
                inside: Path | None = None) -> list[Path]:
    """Write ``files`` atomically; delete the ``prune`` globs' files that were not written.

    With ``inside``, every folder below it on the way to a file or a pruned folder must be
    a real directory (:func:`check_below`), checked before anything is written or pruned;
    the file itself is never followed (read ``O_NOFOLLOW``, replaced by a rename).
    Returns the paths whose content changed.
    """
    if inside is not None:
        for path in [*files, *(folder / pattern for folder, pattern in (prune or {}).items())]:
            check_below(inside, path)
    staged: list[tuple[Path, str]] = []
    try:
        for path, text in files.items():
            data = text.encode("utf-8")
            check_folders(path)
            if _unchanged(path, data):
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
        _prune(folder, pattern, files)
    return [path for path, _tmp in staged]


def _prune(folder: Path, pattern: str, keep: dict[Path, str]) -> None:
    check_folders(folder / pattern)
    real = folder.is_dir() and not folder.is_symlink()  # never pruned through a link
    for stale in folder.glob(pattern) if real else ():
        if stale not in keep:
            stale.unlink()


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
    check_folders(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
    rotation = ROTATION[0]
    try:
        size = path.lstat().st_size
    except FileNotFoundError:
        size = 0
    if rotation.max_bytes and size and size + len(line) > rotation.max_bytes:
        rotate(path, rotation.keep)
    fd = open_nofollow(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        start = os.fstat(fd).st_size
        try:
            if os.write(fd, line) != len(line):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        except OSError:
            os.ftruncate(fd, start)  # a full disk: no half line for the next reader
            raise
    finally:
        os.close(fd)


def read_yaml(path: Path) -> Any:
    """A YAML file phoenix wrote itself (the final compose file): :func:`load_own_yaml`."""
    return load_own_yaml(read_bytes(path).decode("utf-8"))


def load_own_yaml(text: str) -> Any:
    """YAML phoenix wrote itself: libyaml's safe loader, several times faster than the
    pure-Python one on the hot path of every command."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or not JSON."""
    try:
        return json.loads(read_bytes(path).decode("utf-8"))
    except (OSError, ValueError):
        return None


def last_jsonl(path: Path, window: int = 4096) -> dict[str, Any] | None:
    """The last record of a JSON-lines file (reads only its tail), or None."""
    records = tail_jsonl(path, window)
    return records[-1] if records else None


def tail_jsonl(path: Path, window: int = 65536) -> list[dict[str, Any]]:
    """The whole records in the last ``window`` bytes of a JSON-lines file, oldest first
    (a line cut by the window, or one that is not a JSON object, is left out)."""
    try:
        with os.fdopen(open_nofollow(path, os.O_RDONLY), "rb") as handle:
            start = max(0, os.fstat(handle.fileno()).st_size - window)
            handle.seek(start)
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []
    records = []
    for line in lines[1:] if start else lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
