"""``inv health.*``: the watch loop that heals the stack, a one-shot check, pause/resume."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
import json

from invoke import Context, Exit, task

from phoenix_compose.cli.common import ENV_HELP, boundary, env_name, number, say, stack_root


@task(help={"env": ENV_HELP, "interval": "seconds between ticks (default 5)",
            "no_restart": "observe and report only, never restart",
            "once": "run a single tick and exit",
            "metrics_port": "serve Prometheus metrics on 127.0.0.1:PORT",
            "json": "print events as JSON lines",
            "max_restarts": "override x-phoenix-restart.max_restarts",
            "window": "override x-phoenix-restart.window_s (seconds)",
            "backoff_initial": "override x-phoenix-restart.backoff_initial_s",
            "backoff_max": "override x-phoenix-restart.backoff_max_s",
            "check_limit": "health checks run at once at most (default: the number of cores)"})
def watch(c: Context, env: str | None = None, interval: float = 5.0, no_restart: bool = False,
          once: bool = False, metrics_port: int | None = None, json_: bool = False,
          max_restarts: int | None = None, window: float | None = None,
          backoff_initial: float | None = None, backoff_max: float | None = None,
          check_limit: int | None = None) -> None:
    """Watch the stack in the foreground and heal it: restarts with backoff and a circuit."""
    from phoenix_compose.watch.service import watch as run_watch

    def optional(value: object, name: str) -> float | None:
        return None if value in (None, "") else number(value, name)  # invoke passes text

    port = optional(metrics_port, "metrics_port")
    limit = optional(check_limit, "check_limit")
    overrides = {"max_restarts": optional(max_restarts, "max_restarts"),
                 "window_s": optional(window, "window"),
                 "backoff_initial_s": optional(backoff_initial, "backoff_initial"),
                 "backoff_max_s": optional(backoff_max, "backoff_max"),
                 "check_limit": None if limit is None else max(1, int(limit))}
    with boundary():
        run_watch(stack_root(c), env_name(c, env), interval=float(interval),
                  heal=not no_restart, once=once, metrics_port=None if port is None else int(port),
                  as_json=json_, overrides=overrides, hooks=dict(c.config.phoenix.hooks),
                  hook_timeout=float(c.config.phoenix.hook_timeout),
                  out=lambda line: say(line))


@task(help={"env": ENV_HELP, "json": "print a JSON array (each service with its drift)",
            "strict": "exit 1 on drift too: containers that differ from compose.yaml, "
                      "orphans, missing services"})
def check(c: Context, env: str | None = None, json_: bool = False, strict: bool = False
          ) -> None:
    """Check every service once and report drift; exit 1 when any is not healthy."""
    from phoenix_compose.watch.service import check as run_check
    from phoenix_compose.watch.service import describe

    with boundary():
        statuses, drift = run_check(stack_root(c), env_name(c, env))
    if json_:
        rows = [{**s.as_dict(), "drift": drift.get(s.service_name, [])} for s in statuses]
        rows += [{"service": None, "orphan": key.split(":", 1)[1], "status": "orphan",
                  "drift": diffs} for key, diffs in drift.items() if key.startswith("orphan:")]
        say(json.dumps(rows, indent=2))
    else:
        for s in statuses:
            extra = f"  {s.error_message.splitlines()[0][:100]}" if s.error_message and \
                not s.ok else ""
            say(f"{s.service_name:<20} {s.status:<10} restarts={s.restart_count} "
                  f"circuit={s.circuit}{' paused' if s.paused else ''}{extra}")
        for key, diffs in sorted(drift.items()):
            for diff in diffs:
                say(f"drift: {key.replace('orphan:', 'orphan ')}: {describe(diff)}")
    bad = [s.service_name for s in statuses if not s.ok]
    if bad:
        raise Exit(f"not healthy: {', '.join(bad)}", code=1)
    if strict and drift:
        raise Exit(f"drift: {', '.join(k.replace('orphan:', 'orphan ') for k in sorted(drift))}",
                   code=1)


@task(positional=["service"], help={"service": "the service to leave alone", "env": ENV_HELP})
def pause(c: Context, service: str, env: str | None = None) -> None:
    """Tell the watcher to leave a service alone (manual override)."""
    from phoenix_compose.watch.service import set_paused

    with boundary():
        set_paused(stack_root(c), env_name(c, env), service, True)
    say(f"{service}: paused (the watcher will not restart it)")


@task(positional=["service"], help={"service": "the service to watch again", "env": ENV_HELP})
def resume(c: Context, service: str, env: str | None = None) -> None:
    """Let the watcher heal a paused service again."""
    from phoenix_compose.watch.service import set_paused

    with boundary():
        set_paused(stack_root(c), env_name(c, env), service, False)
    say(f"{service}: resumed")
