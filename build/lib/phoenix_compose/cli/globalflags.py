"""docker compose's global flags, before the task, for the ``phoenix`` program: ``-f/--file``
(repeatable), ``-p/--project-name``, ``--project-directory`` and ``--profile``
(repeatable).  They become what docker compose makes of them: ``COMPOSE_FILE`` (the files,
in order; the project directory is the first one's folder unless ``--project-directory``
names it), ``COMPOSE_PROJECT_NAME`` and ``COMPOSE_PROFILES`` in our own process
environment, which is the operator's (a repository's env files cannot set what a flag
set: the process wins).  ``-f`` selects a compose project's files; a stack root
(``compose/``) has its own and refuses it.  invoke would otherwise read ``-f`` as its
config file and ``-p`` as ``--pty``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

TAKES = {"-f": "file", "--file": "file", "-p": "name", "--project-name": "name",
         "--project-directory": "directory", "--profile": "profile"}


@dataclass
class Globals:
    files: list[str] = field(default_factory=list)
    name: str | None = None
    directory: str | None = None
    profiles: list[str] = field(default_factory=list)

    def root(self, cwd: Path) -> Path | None:
        """The project directory the flags name (None: find it from ``cwd`` as usual)."""
        if self.directory:
            return (cwd / self.directory).resolve()
        if self.files:
            return (cwd / self.files[0]).parent.resolve()
        return None

    def environment(self, cwd: Path) -> dict[str, str]:
        out = {}
        if self.files:
            out["COMPOSE_FILE"] = os.pathsep.join(os.path.normpath(cwd / f)
                                                  for f in self.files)
            out["COMPOSE_PATH_SEPARATOR"] = os.pathsep
        if self.name is not None:
            out["COMPOSE_PROJECT_NAME"] = self.name
        if self.profiles:
            out["COMPOSE_PROFILES"] = ",".join(self.profiles)
        return out


def take(args: list[str], tasks: set[str]) -> tuple[Globals, list[str]]:
    """The global flags before the first task, and the arguments without them; a flag
    that cannot be taken is a ValueError with its one-line message (exit 2)."""
    found, rest, i = Globals(), list[str](), 0
    while i < len(args):
        arg = args[i]
        flag, eq, inline = arg.partition("=")
        if arg in tasks or flag not in TAKES:
            if arg in tasks:
                return found, rest + args[i:]
            rest.append(arg)
            i += 1
            continue
        if eq:
            value = inline
        elif i + 1 < len(args):
            value, i = args[i + 1], i + 1
        else:
            raise ValueError(f"error: {flag} needs a value")
        _set(found, TAKES[flag], flag, value)
        i += 1
    return found, rest


def _set(found: Globals, what: str, flag: str, value: str) -> None:
    if not value or "\0" in value or "\n" in value:
        raise ValueError(f"error: {flag} needs a value")
    if what == "file":
        found.files.append(value)
    elif what == "profile":
        found.profiles += [p for p in value.split(",") if p]
    elif what == "name":
        found.name = value
    else:
        found.directory = value
