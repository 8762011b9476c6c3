"""The config pipeline: env files + compose files + Jinja overlays -> one validated file.

``build`` is pure (no writes); ``prepare`` is what every command calls: it consults the
cache, builds, and only when everything is valid writes the overlays and
``.phoenix/<env>/compose.yaml`` atomically.  Data flows one way, to podman.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cache
from .environment import EnvironmentConfig, load_environment
from .errors import ConfigurationError, Loc, Problem
from .yamlsrc import N

_TOP_ORDER = ("name", "services", "networks", "volumes", "secrets", "configs")
MASK = "********"
_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^/:@\s]*:)[^@\s]+@")


@dataclass(frozen=True)
class Built:
    cfg: EnvironmentConfig
    model: dict[str, Any]
    overlays: dict[Path, str]
    compose_text: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """What ``prepare`` produced: the one file podman-compose will receive."""

    env: str
    compose_file: Path
    project_name: str
    production: bool
    cached: bool
    warnings: tuple[str, ...]


def build(cfg: EnvironmentConfig) -> Built:
    """Render, interpolate, merge and validate; raises ConfigurationError with every problem."""
    from . import yamlsrc
    from .interpolate import interpolate_tree
    from .merge import merge_all, resolve_paths
    from .render import overlay_paths, render_templates
    from .validate import Locator, validate_model

    stack = cfg.stack
    rendered, problems = render_templates(cfg)
    sources: list[tuple[str, yamlsrc.Locator]] = [
        (path.read_text(encoding="utf-8"), yamlsrc.plain_locator(stack.rel(path)))
        for path in stack.compose_files
    ] + [(r.text, r.locator()) for r in rendered]
    docs: list[N] = []
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
        problems += interpolate_tree(doc, cfg.variables.lookup, cfg.variables.origin)
        docs.append(doc)
    if not stack.compose_files and not rendered:
        problems.append(Problem(Loc("compose", 0, 0), "no compose files found",
                                hint="add compose/*.yaml or templates/*.yaml.j2"))
    merged = merge_all(docs) if not _errors(problems) else None
    if merged is not None:
        project_dir = stack.compose_files[0].parent if stack.compose_files else stack.root
        resolve_paths(merged, project_dir)
        model, where = yamlsrc.flatten(merged)
        fallback = Loc(stack.rel(stack.compose_files[0]) if stack.compose_files else "compose",
                       1, 1)
        problems += validate_model(model, Locator(where, fallback), cfg.production)
    if _errors(problems):
        raise ConfigurationError(sorted(set(problems), key=lambda p: p.loc))
    model = {"name": cfg.project_name, **{k: v for k, v in model.items() if k != "name"}}
    _for_podman_compose(model)
    return Built(cfg, model, overlay_paths(cfg, rendered), dump_compose(model),
                 tuple(str(p) for p in sorted(set(problems), key=lambda p: p.loc)))


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


def prepare(root: Path, env: str, *, use_cache: bool = True,
            process: Mapping[str, str] | None = None) -> Outcome:
    """Validate ``env`` and write its output (skipped when the cache says nothing changed)."""
    from .output import write_files

    cfg = load_environment(root, env, process)
    out = cfg.output_dir
    compose_file = out / "compose.yaml"
    cache_file = out / "cache.json"
    inputs = cfg.env_files + cfg.stack.compose_files + cfg.stack.templates
    key = cache.input_key(env, inputs, root)
    if use_cache and cache.is_fresh(cache_file, key, root, cfg.variables.process):
        warnings = tuple(json.loads(cache_file.read_text(encoding="utf-8")).get("warnings", []))
        return Outcome(env, compose_file, cfg.project_name, cfg.production, True, warnings)
    try:
        built = build(cfg)
    except ConfigurationError:
        cache.invalidate(cache_file)
        raise
    files = {**built.overlays, compose_file: built.compose_text}
    write_files(files, prune={out / "overlays": "*.yaml"})
    snapshot = cfg.variables.snapshot(cfg.variables.used)
    cache.record(cache_file, key, snapshot, files, root, built.warnings)
    return Outcome(env, compose_file, cfg.project_name, cfg.production, False, built.warnings)


def dump_compose(model: dict[str, Any]) -> str:
    """Fixed key order (top level first, then sorted), every literal ``$`` escaped."""
    ordered = {k: _sorted(model[k]) for k in _TOP_ORDER if k in model}
    ordered.update({k: _sorted(model[k]) for k in sorted(model) if k not in ordered})
    return dump_yaml(_escape(ordered))


def dump_yaml(data: Any) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _escape(value: Any) -> Any:
    """Re-escape every literal ``$`` so podman-compose does not interpolate a second time."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {_escape(k): _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def mask_secrets(value: Any, key: str = "") -> Any:
    """Mask the values of secret-like keys (``*PASSWORD*``, ``*TOKEN*``, ``*_KEY`` ...)."""
    from .validate import SECRET_KEY

    if isinstance(value, dict):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    if key and SECRET_KEY.search(key) and not key.upper().endswith("_FILE") and value:
        return MASK
    if isinstance(value, str) and "=" in value and not key:
        name, _, rest = value.partition("=")
        if SECRET_KEY.search(name) and not name.upper().endswith("_FILE") and rest:
            return f"{name}={MASK}"
    if isinstance(value, str):
        return _URL_PASSWORD.sub(rf"\1{MASK}@", value)
    return value


def show(root: Path, env: str, fmt: str = "yaml") -> str:
    """The final config, like ``docker compose config``, with secret values masked."""
    import yaml

    outcome = prepare(root, env)
    model = yaml.safe_load(outcome.compose_file.read_text(encoding="utf-8"))
    masked = mask_secrets(model)
    if fmt == "json":
        return json.dumps(masked, indent=2) + "\n"
    if fmt != "yaml":
        raise ConfigurationError(f"unknown format '{fmt}'", hint="use --format yaml or json")
    return dump_yaml(masked)
