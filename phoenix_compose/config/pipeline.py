"""The config pipeline: env files + compose files + Jinja overlays -> one validated file.

``build`` is pure (no writes); ``prepare`` is what every command calls: it consults the
cache, builds, and only when everything is valid writes the overlays and
``.phoenix/<env>/compose.yaml`` atomically.  Data flows one way, to podman.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phoenix_compose import (
    fileio,  # write_files: the seam tests patch (a read-only .phoenix/)
    stackkey,
)
from phoenix_compose.config import cache, enginefile, identity, yamlsrc
from phoenix_compose.config.assemble import (
    assemble_located,
    has_errors,
    load_documents,
    raise_errors,
)
from phoenix_compose.config.dump import dump_compose
from phoenix_compose.config.edgenames import edge_name_problems
from phoenix_compose.config.edgeports import for_edge
from phoenix_compose.config.environment import EnvironmentConfig, load_environment
from phoenix_compose.config.files import inside
from phoenix_compose.config.loading import Context, read_text
from phoenix_compose.config.locator import Locator
from phoenix_compose.config.masking import Masker, masked_problems
from phoenix_compose.config.mountfiles import mount_paths
from phoenix_compose.config.project import Project
from phoenix_compose.config.registry import address_problem, env_fallback
from phoenix_compose.config.services import load_stack
from phoenix_compose.config.stackfiles import is_compose_project
from phoenix_compose.config.templates import render_templates
from phoenix_compose.errors import ConfigurationError, Loc, Problem, StateError
from phoenix_compose.fileio import read_json, read_yaml
from phoenix_compose.statedir import LAST_VALID


@dataclass(frozen=True)
class Built:
    cfg: EnvironmentConfig
    model: dict[str, Any]
    overlays: dict[Path, str]
    compose_text: str
    warnings: tuple[str, ...]
    inputs: tuple[Path, ...] = ()  # files read through include and extends
    where: Locator | None = None  # where each value of the model was written
    secrets: frozenset[str] = frozenset()  # secrets of the env files ``include`` reads


@dataclass(frozen=True)
class Outcome:
    """What ``prepare`` produced: the one file podman-compose will receive."""

    env: str
    compose_file: Path
    project_name: str
    production: bool
    cached: bool
    warnings: tuple[str, ...]
    cfg: EnvironmentConfig | None = field(default=None, compare=False, repr=False)


def build(cfg: EnvironmentConfig) -> Built:
    """Render, interpolate, merge and validate; raises ConfigurationError with every problem."""
    stack = cfg.stack
    rendered, problems = _rendered(cfg)
    docs, found, inputs, secrets = _documents(cfg, rendered)
    problems += found
    model: dict[str, Any] = {}
    first = stack.compose_files[0] if stack.compose_files else None
    fallback = Loc(stack.rel(first) if first else "compose", 1, 1)
    where = Locator({}, fallback)
    if not has_errors(problems):
        model, where, found = assemble_located(docs, _project_dir(cfg), fallback,
                                               production=cfg.production, lookup=lookup(cfg),
                                               roots=cfg.roots)
        problems += found + edge_name_problems(model, where, cfg.project_name)
    named = cfg.project.problem(Loc(stack.rel(cfg.env_files[-1]) if cfg.env_files else "envs",
                                    1, 1))
    registry = address_problem(cfg.variables, env_fallback(cfg))
    warnings = raise_errors(_masked(cfg, problems + [p for p in (named, registry) if p],
                                    secrets))
    model = {"name": cfg.project_name, **{k: v for k, v in model.items() if k != "name"}}
    identity.label_owned(model, cfg.owner)
    _for_podman_compose(model)
    for_edge(model)  # replicas and the ports the edge owns
    return Built(cfg, model, {cfg.state.overlays / r.name: r.text for r in rendered},
                 dump_compose(model), warnings, inputs, where, frozenset(secrets))


def _rendered(cfg: EnvironmentConfig) -> tuple[list[Any], list[Problem]]:
    """The rendered templates (no Jinja, no child process without one)."""
    if not cfg.stack.templates:
        return [], []

    return render_templates(cfg)


def _masked(cfg: EnvironmentConfig, problems: list[Problem],
            secrets: set[str]) -> list[Problem]:
    """No secret value in a message: problems may quote values (a cast that failed), from
    the env files, the process (``GITHUB_TOKEN``) or the env files ``include`` reads."""
    return masked_problems(Masker.of(cfg.variables, extra=secrets), problems)


BUILT_IN = "COMPOSE_PROJECT_NAME"


def lookup(cfg: EnvironmentConfig) -> Callable[[str], str | None]:
    """The variables of ``cfg`` plus the one docker compose defines for interpolation
    (compose-go's ``projectName`` sets it): ``COMPOSE_PROJECT_NAME``, the project's name
    however it was chosen."""
    def find(name: str) -> str | None:
        return cfg.project_name if name == BUILT_IN else cfg.variables.lookup(name)
    return find


def _project_dir(cfg: EnvironmentConfig) -> Path:
    """compose/ (the folder of the first compose file): relative paths resolve against it."""
    files = cfg.stack.compose_files
    return files[0].parent if files else cfg.stack.root / "compose"


def _documents(cfg: EnvironmentConfig,
               rendered: list[Any]) -> tuple[list[Any], list[Problem], tuple[Path, ...],
                                             set[str]]:
    """The located documents of the compose files and the rendered overlays (an overlay
    counts as a file of the project directory, for its include and extends paths)."""
    stack = cfg.stack
    ctx = Context(lookup(cfg), cfg.variables.origin, stack.rel, roots=cfg.roots)
    sources = []
    for path in stack.compose_files:
        text = read_text(path, Loc(stack.rel(path), 1, 1), ctx)
        if text is not None:
            sources.append((text, yamlsrc.plain_locator(stack.rel(path)), path))
    project_dir = _project_dir(cfg)
    sources += [(r.text, r.locator(), project_dir / r.name) for r in rendered]
    docs = load_documents(sources, project_dir, ctx)
    if not stack.compose_files and not stack.templates:  # (a failed template is its own error)
        ctx.problems.append(Problem(Loc("compose", 0, 0), "no compose files found",
                                    hint="add compose/*.yaml or templates/*.yaml.j2"))
    return docs, ctx.problems + list(cfg.warnings), tuple(sorted(ctx.read)), ctx.secrets


START_INTERVAL = "x-phoenix-start-interval"


def _for_podman_compose(model: dict[str, Any]) -> None:
    """podman-compose turns ``healthcheck.start_interval`` into ``--health-startup-interval``,
    a flag of podman's separate startup healthchecks that podman < 4.4 rejects.  Our own
    start loop honours start_interval, so the file keeps it under an extension key."""
    for svc in (model.get("services") or {}).values():
        health = svc.get("healthcheck") if isinstance(svc, dict) else None
        if isinstance(health, dict) and "start_interval" in health:
            health[START_INTERVAL] = health.pop("start_interval")


def _errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def _refuse_outside(root: Path, folders: tuple[Path, ...]) -> None:
    """Generated files are written only inside the stack root: a symlinked .phoenix/ (or
    overlays/) pointing elsewhere would have them, and the prune, land there."""
    for folder in folders:
        if (folder.exists() or folder.is_symlink()) and not inside(root, folder):
            rel = folder.relative_to(root)
            raise ConfigurationError([Problem(
                Loc(str(rel), 0, 0), f"{rel} leads outside the stack root (a symlink to "
                                     f"{folder.resolve()}); refusing to write there",
                hint=f"remove the symlink: rm {rel}")])


def _sealed(cfg: EnvironmentConfig, text: str) -> dict[Path, str]:
    """The last valid file's MAC under the stack key (outside the stack), for ``down`` with
    a broken config.  Without a usable key (no writable home) there is none, and such a
    ``down`` removes by the env's project label instead."""
    try:
        mac = stackkey.seal(cfg.stack.root, LAST_VALID, cfg.name.encode(), text.encode())
    except (OSError, StateError):
        return {}
    return {cfg.state.compose_seal: mac + "\n"}


def _key(cfg: EnvironmentConfig) -> str:
    """The cache key: the tool, the env, the operator's settings, and every file of envs/,
    compose/ and templates/ the run can read (partials that templates include or import).
    Only files inside the roots are read for it (``load_environment`` refused the rest), and
    the walk of templates/ never follows a symlinked folder."""
    files = cfg.env_files + cfg.stack.compose_files + cfg.stack.templates
    files += tuple(p for p in _partials(cfg) if p not in cfg.stack.templates)
    return cache.input_key(f"{cfg.name}\0{cfg.operator.stamp()}\0{cfg.owner}",
                           [p for p in files if cfg.roots.holds(p)], cfg.stack.root)


def _partials(cfg: EnvironmentConfig) -> tuple[Path, ...]:
    """The regular files under templates/, found without following a symlink."""
    folder = cfg.stack.root / "templates"
    if not folder.is_dir() or not cfg.roots.holds(folder):
        return ()
    found = [Path(top) / name for top, _dirs, names in os.walk(folder) for name in names]
    return tuple(sorted(p for p in found if not p.is_symlink()))


def final_model(root: Path, env: str) -> dict[str, Any]:
    """The final model of ``env`` without writing anything: the cached output when it is
    fresh, else a pure build (for readers such as ``vscode.tasks --check``)."""
    cfg = load_environment(root, env)
    state = cfg.state
    key = _key(cfg)
    if cache.is_fresh(state.cache_file, key, cfg.roots, cfg.variables.process):
        return read_yaml(state.compose_file) or {}
    return build(cfg).model


def _cached(cache_file: Path) -> dict[str, Any]:
    """The cache entry (read never through a link; ``is_fresh`` read it just before)."""
    entry = read_json(cache_file)
    return entry if isinstance(entry, dict) else {}


def check(root: Path, env: str, *, use_cache: bool = True) -> Outcome:
    """Validate ``env`` and write nothing: a fresh cache answers, else a pure build."""
    cfg = load_environment(root, env)
    state = cfg.state
    if use_cache and cache.is_fresh(state.cache_file, _key(cfg), cfg.roots,
                                    cfg.variables.process):
        warnings = tuple(_cached(state.cache_file).get("warnings", []))
        return Outcome(env, state.compose_file, cfg.project_name, cfg.production, True,
                       warnings)
    built = build(cfg)
    return Outcome(env, state.compose_file, cfg.project_name, cfg.production, False,
                   built.warnings)


def _ignored(cfg: EnvironmentConfig) -> dict[Path, str]:
    """In a compose project (someone else's folder), ``.phoenix/`` ignores itself for git,
    as our stack roots' ``.gitignore`` does: state is not source."""
    path = cfg.state.path.parent / ".gitignore"
    if os.path.lexists(path) or not is_compose_project(cfg.stack.root):
        return {}
    return {path: "# written by phoenix-compose: generated state, not source\n*\n"}


def prepare(root: Path, env: str, *, use_cache: bool = True,
            process: Mapping[str, str] | None = None) -> Project:
    """Validate ``env`` and write its output (skipped when the cache says nothing changed);
    the typed project, its final file read once."""
    cfg = load_environment(root, env, process)
    state = cfg.state
    compose_file, cache_file = state.compose_file, state.cache_file
    key = _key(cfg)
    if use_cache and cache.is_fresh(cache_file, key, cfg.roots, cfg.variables.process):
        entry = _cached(cache_file)
        enginefile.cached(state, root, entry.get("outputs"))
        # the name the run that wrote the file resolved (sealed with it): not read again
        # from every compose file
        project = str(entry.get("project") or cfg.project_name)
        return Project(env, compose_file, project, cfg.production, True,
                       tuple(entry.get("warnings", [])), cfg, load_stack(compose_file, project))
    try:
        built = build(cfg)
    except ConfigurationError:
        cache.invalidate(cache_file)
        raise
    files = {**built.overlays, **enginefile.files(compose_file, built.compose_text),
             **_sealed(cfg, built.compose_text)}
    _refuse_outside(root, (state.path, state.overlays))
    try:
        fileio.write_files(files, prune={state.overlays: "*.yaml"})
        fileio.write_files(_ignored(cfg))
        snapshot = cfg.variables.snapshot(cfg.variables.used)
        cache.record(cache_file, key, snapshot, files, root, built.warnings, built.inputs,
                     project=cfg.project_name, mounts=mount_paths(built.model))
    except OSError as exc:
        raise StateError(f"cannot write {state.path.relative_to(root)}: "
                         f"{exc.strerror or exc}") from None
    return Project(env, compose_file, cfg.project_name, cfg.production, False, built.warnings,
                   cfg, load_stack(compose_file, cfg.project_name))


