"""The steps every compose model goes through, shared by the pipeline and the public API:
load each file with locations, interpolate it, cast typed fields, import its ``include``
entries, resolve its ``extends``, merge all in order, resolve relative paths and
validate.  Problems are collected, never raised, so one run reports all of them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from phoenix_compose.config import yamlsrc
from phoenix_compose.config.bare import resolve_bare_environment
from phoenix_compose.config.extends import apply_extends
from phoenix_compose.config.files import Roots
from phoenix_compose.config.implicit import add_implicit_dependencies
from phoenix_compose.config.include import apply_include
from phoenix_compose.config.interpolate import Lookup
from phoenix_compose.config.loading import Context, parse
from phoenix_compose.config.locator import Locator
from phoenix_compose.config.merge import merge_all, resolve_paths
from phoenix_compose.config.secretuse import secret_use_problems
from phoenix_compose.config.shellwords import split_operator_commands
from phoenix_compose.config.validate import validate_model
from phoenix_compose.errors import ConfigurationError, Loc, Problem

Source = tuple[str, yamlsrc.Locator, Path]  # text, how its lines map to Locs, its file


def load_documents(sources: Sequence[Source], project_dir: Path,
                   ctx: Context) -> list[yamlsrc.N]:
    """Every document of every source, interpolated, cast, with its ``include`` entries
    imported and its ``extends`` resolved (their paths relative to ``project_dir``);
    problems go to ``ctx.problems``."""
    docs: list[yamlsrc.N] = []
    for text, locate, file in sources:
        for doc in parse(text, locate, ctx, file):
            apply_include(doc, project_dir, ctx)
            apply_extends(doc, file, project_dir, ctx)
            docs.append(doc)
    return docs


def assemble(docs: list[yamlsrc.N], project_dir: Path, fallback: Loc, *, validate: bool = True,
             production: bool = False, lookup: Lookup = lambda _name: None,
             profiles: set[str] | None = None,
             roots: Roots | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """Merge ``docs`` in order, resolve paths against ``project_dir`` and bare environment
    keys with ``lookup``, validate the result (the files it names must be in ``roots``)."""
    model, _where, problems = assemble_located(docs, project_dir, fallback, validate=validate,
                                               production=production, lookup=lookup,
                                               profiles=profiles, roots=roots)
    return model, problems


def assemble_located(docs: list[yamlsrc.N], project_dir: Path, fallback: Loc, *,
                     validate: bool = True, production: bool = False,
                     lookup: Lookup = lambda _name: None, profiles: set[str] | None = None,
                     roots: Roots | None = None) -> tuple[dict[str, Any], Locator,
                                                          list[Problem]]:
    """:func:`assemble`, with where each value of the model was written."""
    merged = merge_all(docs)
    if merged is None:
        return {}, Locator({}, fallback), []
    resolve_paths(merged, project_dir)
    resolve_bare_environment(merged, lookup)
    implicit = add_implicit_dependencies(merged)
    model, where = yamlsrc.flatten(merged)
    drop_empty_names(model)
    split_operator_commands(model.get("services"))
    locator = Locator(where, fallback)
    defined = _names(model)
    problems = apply_profiles(model, locator, profiles) if profiles is not None else []
    if validate:
        problems += implicit
        active = frozenset(p.strip() for p in (lookup("COMPOSE_PROFILES") or "").split(","))
        left_out = frozenset(defined - _names(model))
        problems += validate_model(model, locator, production, active - {""}, roots, left_out)
        problems += secret_use_problems(locator, production)
    return model, locator, problems


def drop_empty_names(model: dict[str, Any]) -> None:
    """An empty ``image`` of a service, or ``name`` of a network, volume, secret or config
    (``${UNSET}``), is absent, as compose-go leaves it out: a service builds its image, a
    resource is named by its key (in place)."""
    for section in ("services", "networks", "volumes", "secrets", "configs"):
        entries = model.get(section)
        for spec in entries.values() if isinstance(entries, dict) else ():
            key = "image" if section == "services" else "name"
            if isinstance(spec, dict) and spec.get(key) == "":
                del spec[key]


def _names(model: dict[str, Any]) -> set[str]:
    services = model.get("services")
    return set(services) if isinstance(services, dict) else set()


def apply_profiles(model: dict[str, Any], where: Locator, active: set[str]) -> list[Problem]:
    """Leave out the services whose profiles are all inactive (in place); a kept service
    that requires a left-out one is an error, as the spec says."""
    services = model.get("services")
    if not isinstance(services, dict):
        return []

    def enabled(svc: Any) -> bool:
        profiles = svc.get("profiles") if isinstance(svc, dict) else None
        return not profiles or bool(active.intersection(profiles))

    kept = {n: s for n, s in services.items() if enabled(s)}
    problems = []
    for name, svc in kept.items():
        deps = svc.get("depends_on") if isinstance(svc, dict) else None
        for dep, cfg in (deps.items() if isinstance(deps, dict) else ()):
            required = not (isinstance(cfg, dict) and cfg.get("required") is False)
            if dep in services and dep not in kept and required:
                problems.append(Problem(
                    where.at(("services", name, "depends_on", dep), key=True),
                    f"service '{name}' depends on '{dep}', which the active profiles "
                    f"({', '.join(sorted(active)) or 'none'}) leave out",
                    hint="enable one of its profiles, or set `required: false`"))
    model["services"] = kept
    return problems


def has_errors(problems: Sequence[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def raise_errors(problems: Sequence[Problem]) -> tuple[str, ...]:
    """Raise all problems when any is an error; else return the warnings as lines."""
    ordered = sorted(set(problems), key=lambda p: p.loc)
    if has_errors(ordered):
        raise ConfigurationError(ordered)
    return tuple(str(p) for p in ordered)
