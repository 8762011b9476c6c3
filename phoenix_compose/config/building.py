"""``build``: render, interpolate, merge and validate an environment into its final model.

Pure (no writes).  Its own module so that a command the validation cache answers
(``pipeline.prepare`` with a fresh cache) imports none of the parsing, merging and
validation code (``tests/cli/test_startup.py`` guards it, ``bench/cli.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phoenix_compose.config import identity, yamlsrc
from phoenix_compose.config.assemble import (
    assemble_located,
    has_errors,
    load_documents,
    raise_errors,
)
from phoenix_compose.config.dump import dump_final
from phoenix_compose.config.edgenames import edge_name_problems
from phoenix_compose.config.edgeports import for_edge
from phoenix_compose.config.environment import EnvironmentConfig
from phoenix_compose.config.loading import Context, read_text
from phoenix_compose.config.locator import Locator
from phoenix_compose.config.masking import Masker, masked_problems
from phoenix_compose.config.registry import address_problem, env_fallback
from phoenix_compose.errors import Loc, Problem


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
    compose_json: str | None = None  # the same as JSON (``dump.dump_final``)


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
    text, as_json = dump_final(model)
    return Built(cfg, model, {cfg.state.overlays / r.name: r.text for r in rendered},
                 text, warnings, inputs, where, frozenset(secrets), as_json)


def _rendered(cfg: EnvironmentConfig) -> tuple[list[Any], list[Problem]]:
    """The rendered templates (no Jinja, no child process, not even their module without
    one)."""
    if not cfg.stack.templates:
        return [], []
    from phoenix_compose.config.templates import render_templates

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
    cfg.project  # noqa: B018 (resolved first: the files it parsed for a name are not again)
    ctx = Context(lookup(cfg), cfg.variables.origin, stack.rel, roots=cfg.roots,
                  parsed=cfg.parsed)
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


