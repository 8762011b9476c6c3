"""Which compose project an environment is, and which stack root owns what it creates.

The project name follows docker compose (compose-go's ``withNamePrecedenceLoad`` and
``projectName``): ``COMPOSE_PROJECT_NAME`` (the process environment or an env file, as
compose reads ``.env``) is used as written and must already be a valid name; else the
last top-level ``name:`` of the compose files, interpolated, then normalised; else the
stack folder's name, normalised.  Our stacks hold several environments, so that last
default is ``<folder>-<env>`` (just ``<folder>`` for an env named ``default``): two
envs of one stack never share a project.

The owner is a digest of the stack root's real path and the env: phoenix writes it as a
label on everything it creates, and acts only on what carries it (a checkout elsewhere
with the same project name is another owner).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phoenix_compose.config.files import read
from phoenix_compose.config.interpolate import interpolate
from phoenix_compose.errors import ConfigurationError, Loc, Problem

OWNER_LABEL = "io.phoenix.owner"
PROJECT_VARIABLE = "COMPOSE_PROJECT_NAME"
DEFAULT_ENV_NAME = "default"  # an env named so takes the folder's name as it is
_NOT_ALLOWED = re.compile(r"[^a-z0-9_-]")
VALID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def normalize(name: str) -> str:
    """compose-go's ``NormalizeProjectName``: lowercase, keep only ``[a-z0-9_-]``, and
    drop leading ``_`` and ``-``."""
    return _NOT_ALLOWED.sub("", name.lower()).lstrip("_-")


def folder_default(root: Path, env: str) -> str:
    """The project of an env that names none: the folder's name, plus the env."""
    folder = normalize(Path(os.path.realpath(root)).name)
    if not folder or env == DEFAULT_ENV_NAME:
        return folder
    return f"{folder}-{normalize(env) or 'env'}"


def owner_id(root: Path, env: str) -> str:
    """The owner label's value: a digest of the stack root's real path and the env."""
    return hashlib.sha256(f"{os.path.realpath(root)}\0{env}".encode()).hexdigest()


@dataclass(frozen=True)
class ProjectName:
    value: str
    source: str  # "COMPOSE_PROJECT_NAME", "name:" or "folder"
    loc: Loc | None = None  # where the user wrote it (None: the process or the folder)

    def problem(self, fallback: Loc) -> Problem | None:
        """An invalid name, at the line that set it."""
        if VALID.match(self.value):
            return None
        if self.source == "folder":
            return Problem(fallback, f"the stack folder's name gives no valid project name "
                                     f"('{self.value}')",
                           hint="set COMPOSE_PROJECT_NAME in envs/<env>.env or a top-level "
                                "name: in a compose file")
        return Problem(self.loc or fallback, f"invalid project name '{self.value}': it must "
                                             "be lowercase letters, digits, '-' and '_', "
                                             "starting with a letter or digit",
                       hint="write such a name here" if self.source == "name:" else
                       "set COMPOSE_PROJECT_NAME to such a name")


Lookup = Callable[[str], "str | None"]


def resolve(root: Path, env: str, explicit: tuple[str, Loc | None] | None,
            named: tuple[str, Loc] | None) -> ProjectName:
    """``explicit``: COMPOSE_PROJECT_NAME and where it was set; ``named``: the compose
    files' top-level ``name:`` (interpolated) and where."""
    if explicit is not None and explicit[0]:
        return ProjectName(explicit[0], PROJECT_VARIABLE, explicit[1])
    if named is not None:  # one that normalises to nothing is an error there, as in compose
        return ProjectName(normalize(named[0]) or named[0], "name:", named[1])
    return ProjectName(folder_default(root, env), "folder")


def top_level_name(files: Sequence[tuple[Path, str]], lookup: Lookup,
                   parsed: dict[tuple[Path, str], list[Any]] | None = None
                   ) -> tuple[str, Loc] | None:
    """The last non-empty top-level ``name:`` of the compose files (``(path, name in
    messages)``), interpolated; a file that does not parse is skipped (the pipeline
    reports it), as compose-go does.  Each file's located documents are left in
    ``parsed`` under ``(path, text)``, for the build to take instead of parsing the file
    again."""
    from phoenix_compose.config import yamlsrc  # the YAML parser: not for a cached answer

    found: tuple[str, Loc] | None = None
    for path, rel in files:
        text, _problem = read(path, rel)
        if text is None or "name" not in text:
            continue
        try:
            docs = yamlsrc.load_all(text, yamlsrc.plain_locator(rel))
        except ConfigurationError:
            continue
        if parsed is not None:
            parsed[(path, text)] = docs
        for doc in docs:
            node = doc.value.get("name") if isinstance(doc.value, dict) else None
            if node is not None and isinstance(node.value, (str, int, float)) \
                    and str(node.value):
                found = (interpolate(str(node.value), lookup)[0], node.loc)
    return found


def label_owned(model: dict[str, Any], owner: str) -> None:
    """Write the owner label (in place) on every service, and on every network and volume
    the stack creates (an ``external`` one is someone else's); it overrides a label of
    that name the files wrote.  compose's implicit ``default`` network is declared, so
    that it carries the label too."""
    services = model.get("services")
    if any(isinstance(s, dict) and "networks" not in s and "network_mode" not in s
           for s in (services.values() if isinstance(services, dict) else ())):
        networks = model["networks"] = model.get("networks") or {}
        networks["default"] = networks.get("default") or {}
    sections = [("services", False), ("networks", True), ("volumes", True)]
    for section, skip_external in sections:
        entries = model.get(section)
        if not isinstance(entries, dict):
            continue
        for name in list(entries):
            entry = entries[name] = entries[name] if isinstance(entries[name], dict) else {}
            if skip_external and entry.get("external"):
                continue
            entry["labels"] = _with_label(entry.get("labels"), owner)


def _with_label(labels: Any, owner: str) -> Any:
    if isinstance(labels, list):
        kept = [x for x in labels if not str(x).startswith(f"{OWNER_LABEL}=")]
        return [*kept, f"{OWNER_LABEL}={owner}"]
    return {**(labels if isinstance(labels, dict) else {}), OWNER_LABEL: owner}
