"""Validation cache: unchanged inputs (files, used variables, tool) skip the whole pipeline.

The key hashes every input file and the tool itself; the entry records which variables the
run read and where each came from (values only as digests: secrets never reach the disk),
so a changed process variable misses the cache too.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from phoenix_compose import (
    __version__,
    fileio,  # write_files: the seam tests patch (a read-only .phoenix/)
    stackkey,
)
from phoenix_compose.config.files import Roots, regular_bytes
from phoenix_compose.config.mountfiles import shape
from phoenix_compose.errors import StateError
from phoenix_compose.fileio import read_bytes

_PACKAGE = Path(__file__).resolve().parent


def _tool_stamp() -> str:
    """Version plus the package's own files, so a changed engine never reuses a result."""
    stats = [f"{p.name}:{p.stat().st_mtime_ns}:{p.stat().st_size}"
             for p in sorted(_PACKAGE.glob("*.py"))]
    return __version__ + "|" + "|".join(stats)


def input_key(env: str, files: Iterable[Path], root: Path) -> str:
    digest = hashlib.sha256(f"{_tool_stamp()}\0{env}\0".encode())
    for path in files:
        name = path.relative_to(root) if path.is_relative_to(root) else path  # extra roots
        digest.update(str(name).encode() + b"\0")
        try:  # a file that cannot be read: the build reads it again, and says so, located
            data = regular_bytes(path) or b"\1not a regular file"
        except OSError as exc:
            data = f"\1{exc.errno}".encode()
        digest.update(data + b"\0")
    return digest.hexdigest()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def is_fresh(cache_file: Path, key: str, roots: Roots, process: Mapping[str, str]) -> bool:
    """Is the recorded run still valid?  A damaged cache file is simply stale, and so is one
    that names a file outside ``roots`` (the cache file is in the repository too: it must
    not make us read what the run itself may not)."""
    try:
        entry = json.loads(read_bytes(cache_file).decode("utf-8"))  # never through a link
        return isinstance(entry, dict) and _sealed(roots.root, entry) and \
            entry.get("key") == key and \
            _vars_fresh(entry.get("vars", {}), process) and \
            _files_fresh({roots.root / rel: d for rel, d in entry.get("outputs", {}).items()},
                         roots) and \
            _files_fresh({Path(p): d for p, d in entry.get("inputs", {}).items()}, roots) and \
            all(shape(Path(p)) == s for p, s in entry.get("mounts", {}).items())
    except (OSError, ValueError, TypeError, AttributeError):
        return False


SEAL_DOMAIN = "phoenix-cache/1"


def _canonical(entry: dict) -> bytes:
    return json.dumps({k: v for k, v in entry.items() if k != "mac"}, sort_keys=True).encode()


def _sealed(root: Path, entry: dict) -> bool:
    """The cache is in the repository's folder too: a `.phoenix/` shipped with it (or
    edited) could say "valid" of anything, and `up` would run its compose.yaml.  Only an
    entry sealed with the stack key (kept outside the repository) is trusted."""
    try:
        return stackkey.is_sealed(root, entry.get("mac"), SEAL_DOMAIN, _canonical(entry))
    except (OSError, StateError):
        return False


def _vars_fresh(recorded: dict, process: Mapping[str, str]) -> bool:
    for name, (source, digest) in recorded.items():
        in_process = name in process
        if in_process != (source == "process"):
            return False
        if in_process and _digest(process[name]) != digest:
            return False
    return True


def _files_fresh(files: dict[Path, str], roots: Roots) -> bool:
    return all(roots.holds(path) and path.is_file() and file_digest(path) == digest
               for path, digest in files.items())


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(cache_file: Path, key: str, variables: dict, outputs: dict[Path, str],
           root: Path, warnings: tuple[str, ...] = (), inputs: tuple[Path, ...] = (),
           project: str = "", mounts: tuple[Path, ...] = ()) -> None:
    """``inputs``: files the run read that the key does not cover (include and extends);
    ``mounts``: the secret and config files the run judged (their shape, never content);
    ``project``: the project name the run resolved (a fresh entry answers it)."""
    entry = {
        "key": key,
        "vars": variables,
        "outputs": {str(p.relative_to(root)): _digest(text) for p, text in outputs.items()},
        "inputs": {str(p): file_digest(p) for p in inputs if p.is_file()},
        "warnings": list(warnings),
        "project": project,
        "mounts": {str(p): shape(p) for p in mounts},
    }
    try:
        entry["mac"] = stackkey.seal(root, SEAL_DOMAIN, _canonical(entry))
    except (OSError, StateError):
        pass  # no usable key (no home): the entry is never fresh, every run validates
    fileio.write_files({cache_file: json.dumps(entry, indent=1, sort_keys=True) + "\n"})


def invalidate(cache_file: Path) -> None:
    try:
        os.unlink(cache_file)
    except FileNotFoundError:
        pass
