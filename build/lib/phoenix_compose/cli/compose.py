"""The compose vocabulary people already type: ``ps``, ``logs``, ``exec``, ``stop``,
``start``, ``rm``, ``kill``, ``pause``/``unpause``, ``pull``, ``port`` (thin tasks over
runtime/operations)."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
import json
import shlex
import sys

from invoke import Context, Exit, task

from phoenix_compose.cli.common import ENV_HELP, boundary, refuse_invoke_flags, say
from phoenix_compose.cli.lifecycle import (
    SERVICES_HELP,
    administering,
    manager,
    split,
    status_table,
)
from phoenix_compose.cli.parsing import Task
from phoenix_compose.cli.progress import live


@task(help={"env": ENV_HELP, "json": "print a JSON array instead of a table",
            "services": "print only the service names",
            "all": "also the services whose container is not running or paused "
                   "(stopped, exited, missing)"})
def ps(c: Context, env: str | None = None, json_: bool = False, services: bool = False,
       all_: bool = False) -> None:
    """List the services whose container runs (or is paused) (docker compose ps; -a: all of
    them, as `inv status` does)."""
    m = manager(c, env)
    with boundary():
        rows = [r for r in m.get_service_status()
                if all_ or r.state in ("running", "paused")]  # as `docker ps` lists them
    if services:
        for row in rows:
            say(row.service)
    elif json_:
        say(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        say(status_table(rows))


INDEX_HELP = "which replica of the service, 1-based (docker compose's --index)"


@task(klass=Task, short={"tail": "n", "index": ""}, positional=["services"],
      help={"services": SERVICES_HELP, "env": ENV_HELP,
            "tail": "how many lines of each, from the end (default: all)",
            "lines": "the same as --tail", "since": "only lines since a time or duration "
                                                    "(e.g. 10m, 2026-11-28T10:00:00)",
            "timestamps": "show each line's time", "follow": "keep printing new lines "
                                                             "until Ctrl-C",
            "index": INDEX_HELP + " (default 0: every replica)"})
def logs(c: Context, services: str | None = None, env: str | None = None,
         timestamps: bool = False, follow: bool = False, tail: int = -1, lines: int = -1,
         since: str = "", index: int = 0) -> None:
    """Show the logs of services, each line prefixed with its service (docker compose logs).
    A service of several replicas: every replica's, each line prefixed with its container."""
    from phoenix_compose.runtime import operations

    m = manager(c, env)
    count = tail if tail >= 0 else (lines if lines >= 0 else None)
    names = split(services)
    with boundary():
        if not follow:
            for line in operations.logs(m, names, tail=count, since=since or None,
                                        timestamps=timestamps, index=index):
                say(line)
            return
        try:
            operations.follow(m, names, say, tail=count, since=since or None,
                              timestamps=timestamps, index=index)
        except KeyboardInterrupt:
            return


@task(klass=Task, short={"index": ""}, name="exec", positional=["service"],
      help={"service": "the service to run in", "env": ENV_HELP,
            "command": "the command as one string (else what follows --; default sh)",
            "index": INDEX_HELP + " (default 0: the first)"})
def exec_(c: Context, service: str, env: str | None = None, command: str = "",
          index: int = 0) -> None:
    """Run a command in a service's container: inv exec SERVICE -- CMD... (interactive).
    --index N: in its replica N (default: the first)."""
    from phoenix_compose.runtime import operations

    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else \
        shlex.split(command or c.remainder or "")
    m = manager(c, env)
    with boundary():
        code = operations.exec_(m, service, argv, index)
    if code:
        raise Exit(code=code)


@task(positional=["services"],
      help={"env": ENV_HELP, "services": SERVICES_HELP,
            "timeout": "seconds to wait for a stop before killing (default 10)",
            "dry_run": "print the podman commands it would run; change nothing"})
def stop(c: Context, services: str | None = None, env: str | None = None,
         timeout: int = 10, dry_run: bool = False) -> None:
    """Stop services, keeping their containers (docker compose stop); the watcher obeys."""
    from phoenix_compose.cli.planview import print_plan, stop_commands
    from phoenix_compose.runtime import operations

    m = manager(c, env)
    with administering(c, "stop", m):
        if dry_run:
            stack = m.current_stack()
            print_plan(stop_commands(stack, operations.named(stack, split(services))))
            return
        stopped = operations.stop(m, split(services), timeout)
    say(f"{m.env}: stopped {', '.join(stopped) or 'nothing'}")


@task(positional=["services"],
      help={"env": ENV_HELP, "services": SERVICES_HELP,
            "stop": "stop running services first (else only stopped ones are removed)",
            "dry_run": "print the podman commands it would run; change nothing"})
def rm(c: Context, services: str | None = None, env: str | None = None, stop: bool = False,
       dry_run: bool = False) -> None:
    """Remove the containers of stopped services, never volumes (docker compose rm)."""
    from phoenix_compose.cli.planview import print_plan, rm_commands
    from phoenix_compose.runtime import operations

    m = manager(c, env)
    with administering(c, "rm", m):
        if dry_run:
            stack = m.current_stack()
            print_plan(rm_commands(stack, operations.named(stack, split(services))))
            return
        removed = operations.rm(m, split(services), stop)
    say(f"{m.env}: removed {', '.join(removed) or 'nothing'}")


@task(positional=["services"],
      help={"env": ENV_HELP, "services": SERVICES_HELP,
            "timeout": "seconds to wait for health (default 300)"})
def start(c: Context, services: str | None = None, env: str | None = None,
          timeout: float = 300.0) -> None:
    """Start stopped services again, in order and health-gated (docker compose start)."""
    from phoenix_compose.runtime import operations

    m = manager(c, env)
    with administering(c, "start", m):
        with live() as m.report:
            operations.start(m, split(services), float(timeout))
        say(status_table(m.get_service_status()))


@task(positional=["services"], help={"env": ENV_HELP, "services": SERVICES_HELP})
def pull(c: Context, services: str | None = None, env: str | None = None) -> None:
    """Pull the images of services that have no build: section (docker compose pull)."""
    from phoenix_compose.runtime import operations

    m = manager(c, env)
    with boundary(), live() as report:
        images = operations.pull(m, split(services), report=report)
    say(f"{m.env}: pulled {len(images)} image(s)")


@task(klass=Task, short={"index": ""}, positional=["service", "private"],
      help={"service": "the service", "private": "its container port, e.g. 8080 or 53/udp",
            "env": ENV_HELP,
            "index": INDEX_HELP + " (default 0: the edge's address for a port the "
                                  "edge owns, else the first replica's)"})
def port(c: Context, service: str, private: str, env: str | None = None,
         index: int = 0) -> None:
    """Print the host address a service's port is published on (docker compose port).
    A port the edge owns: the edge's address (--index N: that replica's own port)."""
    from phoenix_compose.runtime import operations

    with boundary():
        say(operations.port(manager(c, env), service, private, index))


@task(name="run", positional=["service"],
      help={"service": "the service to run a one-off container of", "env": ENV_HELP,
            "command": "the command as one string (else what follows --; default: the "
                       "service's own)",
            "rm": "remove the container when it exits",
            "no_deps": "don't start its dependencies first",
            "timeout": "seconds to wait for the dependencies' health (default 300)"})
def run_(c: Context, service: str, env: str | None = None, command: str = "",
         rm: bool = False, no_deps: bool = False, timeout: float = 300.0) -> None:
    """A one-off container of a service: inv run [--rm] SERVICE -- CMD... (docker compose
    run); its dependencies are started first, health-gated; exits with its exit code."""
    from phoenix_compose.runtime import operations

    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else \
        shlex.split(command or c.remainder or "")
    m = manager(c, env)
    refuse_invoke_flags(c, "run")
    with boundary():  # no stop_signals: Ctrl-C belongs to the one-off (as in exec)
        code = operations.run_once(m, service, argv, remove=rm, no_deps=no_deps,
                                   timeout=float(timeout))
    if code:
        raise Exit(code=code)


SIGNAL_HELP = {"env": ENV_HELP, "services": SERVICES_HELP,
               "dry_run": "print the podman commands it would run; change nothing"}


@task(klass=Task, short={"signal": "s", "services": ""}, positional=["services"],
      help={**SIGNAL_HELP, "signal": "the signal to send (default KILL; e.g. TERM, SIGINT, 9)"})
def kill(c: Context, services: str | None = None, env: str | None = None,
         signal: str = "KILL", dry_run: bool = False) -> None:
    """Send a signal (default KILL) to the running containers of services (docker compose
    kill); the watcher takes the exit for yours and leaves them down."""
    _signal(c, "kill", services, env, dry_run, signal)


@task(positional=["services"], help=dict(SIGNAL_HELP))
def pause(c: Context, services: str | None = None, env: str | None = None,
          dry_run: bool = False) -> None:
    """Freeze the running containers of services (docker compose pause); the watcher
    leaves them alone until `inv unpause`."""
    _signal(c, "pause", services, env, dry_run)


@task(positional=["services"], help=dict(SIGNAL_HELP))
def unpause(c: Context, services: str | None = None, env: str | None = None,
            dry_run: bool = False) -> None:
    """Thaw paused containers of services (docker compose unpause); the watcher heals
    them again."""
    _signal(c, "unpause", services, env, dry_run)


def _signal(c: Context, action: str, services: str | None, env: str | None,
            dry_run: bool, signal: str = "KILL") -> None:
    from phoenix_compose.cli.planview import print_plan, signal_commands
    from phoenix_compose.runtime import operations

    m = manager(c, env)
    sig = signal.upper().removeprefix("SIG") if not signal.isdigit() else signal
    with administering(c, action, m):
        if dry_run:
            stack = m.current_stack()
            print_plan(signal_commands(stack, operations.named(stack, split(services)),
                                       action, sig))
            return
        done = operations.kill(m, split(services), sig) if action == "kill" else \
            getattr(operations, action)(m, split(services))
    past = {"kill": "killed", "pause": "paused", "unpause": "unpaused"}[action]
    say(f"{m.env}: {past} {', '.join(done) or 'nothing'}")


ROOT_TASKS = [ps, logs, exec_, run_, stop, start, rm, kill, pause, unpause, pull, port]
