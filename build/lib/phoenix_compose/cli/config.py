"""``inv config.*``: render, validate and show the final compose file of an environment."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
from invoke import Context, Exit, task

from phoenix_compose.cli.common import (
    ENV_HELP,
    boundary,
    env_name,
    err,
    say,
    stack_root,
    warn_bad_env_files,
)


@task(help={"env": ENV_HELP, "all": "validate every environment in envs/",
            "no_cache": "ignore the validation cache",
            "no_write": "write nothing (.phoenix/ stays as it is): for hooks on any checkout"})
def validate(c: Context, env: str | None = None, all_: bool = False,
             no_cache: bool = False, no_write: bool = False) -> None:
    """Validate an environment's config (schema, semantics, policy); exit 1 when invalid."""
    from phoenix_compose.config.environment import list_environments
    from phoenix_compose.integrations.precommit import validate_envs

    root = stack_root(c)
    names = list_environments(root) if all_ else [env_name(c, env)]
    if all_:
        warn_bad_env_files(root)
    with boundary():
        failed = validate_envs(root, names, use_cache=not no_cache, collect=len(names) > 1,
                               write=not no_write)
    if failed:
        raise Exit("invalid: " + "; ".join(failed), code=1)


@task(help={"env": ENV_HELP})
def render(c: Context, env: str | None = None) -> None:
    """Render overlays and write .phoenix/<env>/compose.yaml (always, ignoring the cache)."""
    from phoenix_compose.config.pipeline import prepare

    root = stack_root(c)
    with boundary():
        outcome = prepare(root, env_name(c, env), use_cache=False)
    for warning in outcome.warnings:
        err(warning)
    say(outcome.compose_file.relative_to(root))


@task(help={"env": ENV_HELP, "format": "yaml (default) or json",
            "services": "print only the service names", "images": "print only the images",
            "quiet": "print nothing: the exit code says whether the config is valid"})
def show(c: Context, env: str | None = None, format: str = "yaml", services: bool = False,
         images: bool = False, quiet: bool = False) -> None:
    """Print the final config, like `docker compose config`, with secrets masked."""
    from phoenix_compose.config.show import show as show_config

    part = "services" if services else "images" if images else ""
    with boundary():
        text = show_config(stack_root(c), env_name(c, env), format, part)
    if not quiet:
        say(text, end="")


@task(help={"env": ENV_HELP, "apply": "re-run `up` for the services whose config changed",
            "debounce_ms": "wait this long for more changes (default 300)",
            "json": "print events as JSON lines"})
def watch(c: Context, env: str | None = None, apply: bool = False, debounce_ms: int = 300,
          json_: bool = False) -> None:
    """Re-validate on every change to compose/, templates/, envs/ (hot reload with --apply)."""
    from phoenix_compose.watch.hotreload import config_watch

    with boundary():
        try:
            config_watch(stack_root(c), env_name(c, env), apply=apply,
                         debounce_ms=int(debounce_ms), as_json=json_,
                         out=lambda line: say(line))
        except KeyboardInterrupt:
            pass
