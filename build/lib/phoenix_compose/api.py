"""The stable public API of the config engine, for embedding it (and for ``tasks/`` plugins).

Everything here keeps its signature and meaning across releases; the modules behind it may
change.  Errors are :class:`ConfigurationError`, whose ``problems`` each carry ``file``,
``line``, ``column`` and ``message``.

>>> interpolate("${NAME:-web}-1", {})
'web-1'
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from phoenix_compose.config.assemble import assemble, load_documents, raise_errors
from phoenix_compose.config.interpolate import interpolate as _interpolate
from phoenix_compose.config.loading import Context, read_text
from phoenix_compose.config.masking import Masker, masked_problems
from phoenix_compose.config.yamlsrc import load_all, plain_locator
from phoenix_compose.errors import ConfigurationError, Loc, Problem

__all__ = ["ConfigurationError", "Problem", "interpolate", "load_project"]


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with compose's ``${VAR}`` forms substituted from ``variables``.

    Raises ConfigurationError on a bad expression or a missing required variable
    (``${VAR:?message}``); its problem's column is that of the ``$``.
    """
    value, findings = _interpolate(text, variables.get)
    errors = [Problem(Loc("<string>", 1, f.offset + 1), f.message) for f in findings
              if f.severity == "error"]
    if errors:
        raise ConfigurationError(errors)
    return value


def _name_of(path: Path) -> str:
    """A file as locations name it: relative to the current directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_project(files: Sequence[str | Path], variables: Mapping[str, str], *,
                 project_dir: str | Path | None = None, profiles: Sequence[str] = (),
                 validate: bool = False) -> dict[str, Any]:
    """The compose model of ``files``: each loaded with locations and interpolated with
    ``variables``, all merged in order with the compose-spec rules, relative paths resolved
    against ``project_dir`` (default: the folder of the first file, as named: a symlink's
    own folder).  Services whose ``profiles`` are all inactive are left out (a kept service
    that requires one is an error).  With ``validate``, the compose-spec schema and the
    semantic checks apply.  As docker compose: no ``files`` reads ``COMPOSE_FILE`` (split
    on ``COMPOSE_PATH_SEPARATOR``, default ``:``), no ``profiles`` reads
    ``COMPOSE_PROFILES``, and ``${COMPOSE_PROJECT_NAME}`` is the project's name (that
    variable, else the project directory's name, lowercased as compose does).
    Returns plain dicts and lists; raises ConfigurationError with every problem found."""
    paths = [Path(f) for f in files] or compose_file_variable(variables)
    if not paths:
        raise ConfigurationError([Problem(Loc("<files>", 0, 0), "no compose files given")])
    base = Path(os.path.abspath(project_dir if project_dir is not None else
                                os.path.dirname(os.path.abspath(paths[0]))))
    ctx = Context(variables.get, lambda _name: None, _name_of)
    sources = []
    for path in paths:
        text = read_text(path, Loc(_name_of(path), 0, 0), ctx)
        if text is not None:
            sources.append((text, plain_locator(_name_of(path)), path))
    lookup = ctx.lookup = _with_project_name(variables, base, sources)
    docs = load_documents(sources, base, ctx)

    masker = Masker.of(variables, extra=ctx.secrets)  # no secret value in a message
    raise_errors(masked_problems(masker, ctx.problems))
    active = set(profiles) or {p.strip() for p in (variables.get("COMPOSE_PROFILES") or "")
                               .split(",") if p.strip()}
    model, found = assemble(docs, base, Loc(_name_of(paths[0]), 1, 1), validate=validate,
                            lookup=lookup, profiles=active)
    raise_errors(masked_problems(masker, found))
    return model


def compose_file_variable(variables: Mapping[str, str]) -> list[Path]:
    """The files ``COMPOSE_FILE`` names, split on ``COMPOSE_PATH_SEPARATOR`` (default the
    platform's path-list separator), relative to the current directory, as compose-go's
    ``WithConfigFileEnv`` reads them."""
    text = variables.get("COMPOSE_FILE")
    separator = variables.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
    return [Path(os.path.abspath(p)) for p in (text or "").split(separator) if p] if text \
        else []


def _with_project_name(variables: Mapping[str, str], base: Path,
                       sources: list[Any]) -> Any:
    """The variables plus ``COMPOSE_PROJECT_NAME`` as compose-go sets it: the variable,
    else the last top-level ``name:`` of the files (interpolated), else the project
    directory's name, both normalised.  Worked out when first used: it reads the files."""
    found: list[str] = []

    def lookup(key: str) -> str | None:
        if key != "COMPOSE_PROJECT_NAME":
            return variables.get(key)
        if not found:
            found.append(variables.get(key) or normalize_project_name(
                _declared_name(sources, variables) or base.name))
        return found[0]
    return lookup


def _declared_name(sources: list[Any], variables: Mapping[str, str]) -> str:
    found = ""
    for text, locate, _path in sources:
        try:
            docs = load_all(text, locate)
        except ConfigurationError:
            continue  # reported when the file is loaded
        for doc in docs:
            node = doc.value.get("name") if isinstance(doc.value, dict) else None
            if node is not None and isinstance(node.value, str) and node.value:
                found = _interpolate(node.value, variables.get)[0]
    return found


def normalize_project_name(text: str) -> str:
    """compose-go's ``NormalizeProjectName``: lowercase, only ``[a-z0-9_-]``, starting with
    a letter or digit."""
    kept = re.sub(r"[^a-z0-9_-]", "", text.lower())
    return re.sub(r"^[^a-z0-9]+", "", kept)
