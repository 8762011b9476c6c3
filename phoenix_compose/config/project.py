"""The steps every compose model goes through, shared by the pipeline and the public API:
load each file with locations, interpolate it, cast typed fields, merge all in order,
resolve relative paths and validate.  Problems are collected, never raised, so one run
reports all of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from phoenix_compose.config import yamlsrc
from phoenix_compose.config.interpolate import Lookup, interpolate_tree
from phoenix_compose.config.locator import Locator
from phoenix_compose.config.merge import merge_all, resolve_paths
from phoenix_compose.config.typecast import cast_tree
from phoenix_compose.config.validate import validate_model
from phoenix_compose.errors import ConfigurationError, Loc, Problem

Source = tuple[str, yamlsrc.Locator]  # a file's text, and how its lines map to Locs
Origin = Callable[[str], Loc | None]


def load_documents(sources: Sequence[Source], lookup: Lookup,
                   origin: Origin) -> tuple[list[yamlsrc.N], list[Problem]]:
    """Every source parsed and interpolated (in place); empty files are skipped."""
    docs: list[yamlsrc.N] = []
    problems: list[Problem] = []
    for text, locate in sources:
        try:
            doc = yamlsrc.load(text, locate)
        except ConfigurationError as exc:
            problems += exc.problems
            continue
        if doc is None:
            continue
        if not isinstance(doc.value, dict):
            problems.append(Problem(doc.loc, "a compose file must be a mapping at the top level"))
            continue
        problems += interpolate_tree(doc, lookup, origin)
        problems += cast_tree(doc)
        docs.append(doc)
    return docs, problems


def assemble(docs: list[yamlsrc.N], project_dir: Path, fallback: Loc, *, validate: bool = True,
             production: bool = False) -> tuple[dict[str, Any], list[Problem]]:
    """Merge ``docs`` in order, resolve paths against ``project_dir``, validate the result."""
    merged = merge_all(docs)
    if merged is None:
        return {}, []
    resolve_paths(merged, project_dir)
    model, where = yamlsrc.flatten(merged)
    if not validate:
        return model, []
    return model, validate_model(model, Locator(where, fallback), production)


def has_errors(problems: Sequence[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def raise_errors(problems: Sequence[Problem]) -> tuple[str, ...]:
    """Raise all problems when any is an error; else return the warnings as lines."""
    ordered = sorted(set(problems), key=lambda p: p.loc)
    if has_errors(ordered):
        raise ConfigurationError(ordered)
    return tuple(str(p) for p in ordered)
