"""The files that top-level ``secrets:`` and ``configs:`` name (``file:``): read by
podman-compose into the containers and fingerprinted by ``plan``, so each follows the rule
of a service's ``env_file``: it resolves inside the stack root (or an operator's extra
root), else a located error at its ``file:`` line and it is never opened; and when it
exists it is a regular file (not a FIFO, a device or a folder), not a symlink (``plan``
reads it without following one), and no larger than the limit below.

Limits: a secret, podman's own (512000 bytes, ``podman secret create``); a config, 4 MiB
(a configuration file, never a data set: a larger one is most likely a mistake)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from phoenix_compose.config.files import Roots
from phoenix_compose.errors import Problem

if TYPE_CHECKING:  # the YAML parser, for the build alone: a cached answer needs shape()
    from phoenix_compose.config.locator import Locator

LIMITS = {"secrets": 512_000, "configs": 4 * 1024 * 1024}
HINT = "point `file:` at a regular file inside the stack"


def mounted_file_problems(model: dict[str, Any], where: Locator,
                          roots: Roots | None) -> list[Problem]:
    out: list[Problem] = []
    for section, limit in LIMITS.items():
        declared = model.get(section)
        for key, spec in declared.items() if isinstance(declared, dict) else ():
            name = spec.get("file") if isinstance(spec, dict) else None
            if not isinstance(name, str) or not name:
                continue
            loc = where.at((section, key, "file"))
            refused = roots.refusal(Path(name), name, loc) if roots is not None else None
            why = None if refused else _why(Path(name), limit)
            what = f"{section[:-1]} file {name} of '{key}'"
            out += [refused] if refused else [Problem(loc, f"{what} {why}", hint=HINT)] \
                if why else []
    return out


def _why(path: Path, limit: int) -> str | None:
    """Why ``path`` cannot be a secret or config file (None: it can, or it is absent)."""
    if path.is_symlink():
        return "is a symlink: plan reads secret and config files without following one"
    if not path.exists():
        return None  # unchanged: podman-compose reports it at up
    if not path.is_file():
        return "is not a regular file"
    if path.stat().st_size > limit:
        return f"is larger than {limit} bytes"
    return None


def mount_paths(model: dict[str, Any]) -> tuple[Path, ...]:
    """Every secret and config ``file:`` of the final model (absolute paths)."""
    return tuple(Path(spec["file"]) for section in LIMITS
                 for spec in (model.get(section) or {}).values()
                 if isinstance(spec, dict) and isinstance(spec.get("file"), str))


def shape(path: Path) -> str:
    """What validation judged of a mounted file, from ``lstat`` alone (never opened): the
    cache records it, so a file swapped for a FIFO, a link or a larger one is validated
    again."""
    import stat

    try:
        info = path.lstat()
    except OSError:
        return "absent"
    if stat.S_ISREG(info.st_mode):
        return f"file:{info.st_size}:{info.st_mtime_ns}"
    return "link" if stat.S_ISLNK(info.st_mode) else "other"
