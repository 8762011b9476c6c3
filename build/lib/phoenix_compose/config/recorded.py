"""Files phoenix recorded and runs again later: a release's ``compose.yaml`` (``rollback``)
and the last valid ``.phoenix/<env>/compose.yaml`` (``down`` with a broken config).

Their seal (see :mod:`phoenix_compose.stackkey`) says phoenix wrote them for this stack;
these checks say they are still what this environment may run: the same schema, semantic
rules and (for production) policy as ``config.validate``, and the environment's own
project name, never the one the file claims.  Problems are located in the recorded file.
"""

from __future__ import annotations

from typing import Any

from phoenix_compose.config import yamlsrc
from phoenix_compose.config.locator import Locator
from phoenix_compose.config.validate import validate_model
from phoenix_compose.errors import ConfigurationError, Loc, Problem


def located_model(text: str, rel: str) -> tuple[dict[str, Any], Locator, list[Problem]]:
    """The model of a recorded file and where each value is in it."""
    fallback = Loc(rel, 1, 1)
    try:
        node = yamlsrc.load(text, yamlsrc.plain_locator(rel))
    except ConfigurationError as exc:
        return {}, Locator({}, fallback), list(exc.problems) or [Problem(fallback, str(exc))]
    model, where = yamlsrc.flatten(node) if node is not None else ({}, {})
    if not isinstance(model, dict):
        return {}, Locator({}, fallback), [Problem(fallback, "not a compose file (a mapping)")]
    return model, Locator(where, fallback), []


def project_problem(model: dict[str, Any], where: Locator, project: str) -> Problem | None:
    """A recorded file must name the environment's own project: one edited to name another
    would have its containers removed as orphans, or replaced."""
    name = model.get("name")
    if name == project:
        return None
    return Problem(where.at(("name",)), f"this file names project '{name}', but the "
                   f"environment's project is '{project}'; refusing to act on another "
                   "project", hint="it was edited after phoenix recorded it: do not use it")


def recorded_problems(text: str, rel: str, project: str, production: bool,
                      profiles: frozenset[str] = frozenset()) -> list[Problem]:
    """Everything wrong with a recorded file, as ``config.validate`` would see it now."""
    model, where, problems = located_model(text, rel)
    if problems:
        return problems
    problems = validate_model(model, where, production, profiles)
    named = project_problem(model, where, project)
    return problems + ([named] if named else [])
