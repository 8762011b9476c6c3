"""The config pipeline: env files + compose files + Jinja overlays -> one validated file.

``build`` is pure (no writes); ``prepare`` is what every command calls: it consults the
cache, builds, and only when everything is valid writes the overlays and
``.phoenix/<env>/compose.yaml`` atomically.  Data flows one way, to podman.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phoenix_compose import (
    fileio,  # write_files: the seam tests patch (a read-only .phoenix/)
    stackkey,
)
from phoenix_compose.config import cache, enginefile
from phoenix_compose.config.environment import EnvironmentConfig, load_environment
from phoenix_compose.config.files import inside
from phoenix_compose.config.mountfiles import mount_paths
from phoenix_compose.config.project import Project
from phoenix_compose.config.services import load_stack
from phoenix_compose.config.stackfiles import is_compose_project
from phoenix_compose.errors import ConfigurationError, Loc, Problem, StateError
from phoenix_compose.fileio import read_bytes, read_json, read_yaml
from phoenix_compose.statedir import LAST_VALID, StateDir

if TYPE_CHECKING:
    from phoenix_compose.config.building import Built


def build(cfg: EnvironmentConfig) -> Built:
    """Render, interpolate, merge and validate (:mod:`.building`, imported only when the
    cache does not answer); raises ConfigurationError with every problem."""
    from phoenix_compose.config.building import build as build_model

    return build_model(cfg)


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


def _vouched(state: StateDir, root: Path, entry: dict[str, Any]) -> dict[str, Any] | None:
    """The final model from ``compose.json`` when the sealed cache entry vouches for these
    very bytes (their digest is among its outputs), else None: the YAML is read."""
    digest = entry.get("outputs", {}).get(str(state.compose_json.relative_to(root)))
    try:
        data = read_bytes(state.compose_json) if digest else b""  # never through a link
    except OSError:
        return None
    if not data or hashlib.sha256(data).hexdigest() != digest:
        return None
    try:
        model = json.loads(data)
    except ValueError:
        return None
    return model if isinstance(model, dict) else None


def _ignored(cfg: EnvironmentConfig) -> dict[Path, str]:
    """In a compose project (someone else's folder), ``.phoenix/`` ignores itself for git,
    as our stack roots' ``.gitignore`` does: state is not source."""
    path = cfg.state.path.parent / ".gitignore"
    if os.path.lexists(path) or not is_compose_project(cfg.stack.root):
        return {}
    return {path: "# written by phoenix-compose: generated state, not source\n*\n"}


def _answered(cfg: EnvironmentConfig, root: Path) -> Project | None:
    """The project as the fresh cache holds it (nothing built or written), else None."""
    state = cfg.state
    if not cache.is_fresh(state.cache_file, _key(cfg), cfg.roots, cfg.variables.process):
        return None
    entry = _cached(state.cache_file)
    enginefile.cached(state, root, entry.get("outputs"))
    # the name the run that wrote the file resolved (sealed with it): not read again from
    # every compose file
    project = str(entry.get("project") or cfg.project_name)
    return Project(cfg.name, state.compose_file, project, cfg.production, True,
                   tuple(entry.get("warnings", [])), cfg,
                   load_stack(state.compose_file, project, model=_vouched(state, root, entry)))


def prepare(root: Path, env: str, *, use_cache: bool = True,
            process: Mapping[str, str] | None = None) -> Project:
    """Validate ``env`` and write its output (skipped when the cache says nothing changed);
    the typed project, its final file read once."""
    cfg = load_environment(root, env, process)
    if use_cache and (answer := _answered(cfg, root)) is not None:
        return answer
    state = cfg.state
    compose_file, cache_file = state.compose_file, state.cache_file
    key = _key(cfg)
    try:
        built = build(cfg)
    except ConfigurationError:
        cache.invalidate(cache_file)
        raise
    as_json = {state.compose_json: built.compose_json} if built.compose_json else {}
    # the final data read back once, from its JSON twin (faster than the YAML), for both
    # podman-compose's copy and the typed project
    model = json.loads(built.compose_json) if built.compose_json else None
    files = {**built.overlays, **enginefile.files(compose_file, built.compose_text, model),
             **as_json, **_sealed(cfg, built.compose_text)}
    _refuse_outside(root, (state.path, state.overlays))
    try:
        fileio.write_files(files, prune={state.overlays: "*.yaml",
                                         state.path: state.compose_json.name})
        fileio.write_files(_ignored(cfg))
        snapshot = cfg.variables.snapshot(cfg.variables.used)
        cache.record(cache_file, key, snapshot, files, root, built.warnings, built.inputs,
                     project=cfg.project_name, mounts=mount_paths(built.model))
    except OSError as exc:
        raise StateError(f"cannot write {state.path.relative_to(root)}: "
                         f"{exc.strerror or exc}") from None
    return Project(env, compose_file, cfg.project_name, cfg.production, False, built.warnings,
                   cfg, load_stack(compose_file, cfg.project_name, model=model))


