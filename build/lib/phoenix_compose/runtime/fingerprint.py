"""What a service's container is made from, so that a plan can tell what changed and name it.

A service's fingerprint is its entry in the final compose file plus a digest of the content
of every secret and config file it mounts (never the content itself).  When a container is
created, its fingerprint is stored in ``StateDir.applied`` under podman-compose's
config-hash label of that container: the label says on the container which config made it,
the store says what that config was.  A container whose label is not in the store was not
made by phoenix (or the store was lost): its config is unknown and a plan recreates it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phoenix_compose.config.files import capped_bytes
from phoenix_compose.config.mountfiles import LIMITS
from phoenix_compose.errors import ConfigurationError
from phoenix_compose.fileio import read_json, write_files
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.shapes import as_dict

LIMIT = 200  # remembered configs per env; the oldest go first
_MISSING = object()


@dataclass(frozen=True)
class Fingerprint:
    config: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # "secret NAME" -> sha256 of content

    @property
    def digest(self) -> str:
        text = json.dumps({"config": self.config, "files": self.files}, sort_keys=True,
                          default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {"config": self.config, "files": self.files}

    @classmethod
    def from_dict(cls, data: Any) -> Fingerprint | None:
        if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
            return None
        files = as_dict(data.get("files"))
        return cls(data["config"], {str(k): str(v) for k, v in files.items()})

    def changes(self, new: Fingerprint) -> list[str]:
        """Why ``new`` differs from this one: changed keys (two levels deep) and files."""
        out = [f"config changed: {', '.join(keys)}"] if (
            keys := changed_keys(self.config, new.config)) else []
        for name in sorted(set(self.files) | set(new.files)):
            if self.files.get(name) != new.files.get(name):
                out.append(f"{name} changed")
        return out


def changed_keys(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Changed keys, two levels deep; ``x-phoenix-*`` settings (the watcher's, a plugin's)
    never change a container, so they are not a change."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        if not prefix and str(key).startswith("x-phoenix-"):
            continue
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a == b:
            continue
        if not prefix and isinstance(a, dict) and isinstance(b, dict):
            out += changed_keys(a, b, f"{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


def fingerprint(stack: Stack, name: str, digests: Mapping[str, str] | None = None
                ) -> Fingerprint:
    """``digests``: file path -> sha256 of its content, as :func:`file_digests` read them
    (None: read now)."""
    files = {}
    for label, path in mounted_files(stack, name).items():
        files[label] = digest(Path(path), label) if digests is None else \
            digests.get(path, "missing")
    return Fingerprint(dict(stack.services[name].raw), files)


def mounted_files(stack: Stack, name: str) -> dict[str, str]:
    """``secret NAME`` / ``config NAME`` -> the file it is made from, for one service."""
    spec = stack.services[name]
    files = {}
    for kind, refs in (("secrets", spec.secrets), ("configs", spec.configs)):
        defined = as_dict(stack.top.get(kind))
        for source in refs:
            entry = as_dict(defined.get(source))
            if entry.get("file"):
                files[f"{kind[:-1]} {source}"] = str(entry["file"])
    return files


def file_digests(stack: Stack, names: Iterable[str]) -> dict[str, str]:
    """The digest of every secret and config file the services ``names`` mount."""
    return {path: digest(Path(path), label) for name in names
            for label, path in mounted_files(stack, name).items()}


def digest(path: Path, label: str = "config") -> str:
    """The sha256 of a secret or config file (``label``: ``secret NAME`` / ``config NAME``),
    "missing" when there is none.  Read as validation allows it: never through a final
    symlink, never a FIFO or device (not waited on), at most podman's secret limit for a
    secret and 4 MiB for a config; anything else is a ConfigurationError naming it."""
    try:
        data, why = capped_bytes(path, LIMITS["secrets" if label.startswith("secret ") else
                                               "configs"])
    except OSError:
        return "missing"
    if data is None:
        raise ConfigurationError(f"{label}: refusing to read {why}",
                                 hint="point its `file:` at a regular file inside the stack "
                                      "(`inv config.validate` names the line)")
    return hashlib.sha256(data).hexdigest()


class Applied:
    """The store: podman-compose config hash -> fingerprint, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = read_json(path)
        self.entries: dict[str, Any] = data if isinstance(data, dict) else {}

    def get(self, config_hash: str) -> Fingerprint | None:
        return Fingerprint.from_dict(self.entries.get(config_hash)) if config_hash else None

    def remember(self, made: dict[str, Fingerprint]) -> None:
        for config_hash, print_ in made.items():
            if config_hash:
                self.entries.pop(config_hash, None)
                self.entries[config_hash] = print_.as_dict()
        for old in list(self.entries)[:-LIMIT]:
            del self.entries[old]
        try:
            write_files({self.path: json.dumps(self.entries, sort_keys=False, default=str)
                         + "\n"})
        except OSError as exc:  # a full disk must not fail a deploy that worked
            print(f"warning: {self.path} not written ({exc.strerror or exc}): the next "
                  "plan may recreate these containers", file=sys.stderr)
