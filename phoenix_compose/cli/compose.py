"""The compose vocabulary people already type: ``ps``, ``logs``, ``exec``, ``stop``,
``start``, ``pull``, ``build``, ``port`` (thin tasks over runtime/operations)."""

from __future__ import annotations

import json
import shlex
import sys

from invoke import Context, Exit, task

from phoenix_compose.cli.common import ENV_HELP, boundary, say
from phoenix_compose.cli.lifecycle import (
    administering,
    manager,
    split,
    status_table,
)
from phoenix_compose.cli.progress import live

SERVICES_HELP = "comma-separated services (default: all)"


@task(help={"env": ENV_HELP, "json": "print a JSON array instead of a table",
            "services": "print only the service names"})
def ps(c: Context, env: str | None = None, json_: bool = False, services: bool = False) -> None:
    """List the services and their containers (docker compose ps; the same as status)."""
    m = manager(c, env)
    with boundary():
        rows = m.get_service_status()
    if services:
        for row in rows:
            say(row.service)
    elif json_:
        say(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        say(status_table(rows))


@task(positional=["services"],
      help={"services": SERVICES_HELP, "env": ENV_HELP,
            "tail": "how many lines of each, from the end (default: all)",
            "lines": "the same as --tail", "since": "only lines since a time or duration "
                                                    "(e.g. 10m, 2026-11-28T10:00:00)",
            "timestamps": "show each line's time", "follow": "keep printing new lines "
                                                             "until Ctrl-C"})
def logs(c: Context, services: str | None = None, env: str | None = None,
         timestamps: bool = False, follow: bool = False, tail: int = -1, lines: int = -1,
         since: str = "") -> None:
    """Show the logs of services, each line prefixed with its service (docker compose logs)."""
    from phoenix_compose.runtime import operations

    m = manager(c, env)
    count = tail if tail >= 0 else (lines if lines >= 0 else None)
    names = split(services)
    with boundary():
        if not follow:
            for line in operations.logs(m, names, tail=count, since=since or None,
                                        timestamps=timestamps):
                say(line)
            return
        try:
            operations.follow(m, names, say, tail=count, since=since or None,
                              timestamps=timestamps)
        except KeyboardInterrupt:
            return


@task(name="exec", positional=["service"],
      help={"service": "the service to run in", "env": ENV_HELP,
            "command": "the command as one string (else what follows --; default sh)"})
def exec_(c: Context, service: str, env: str | None = None, command: str = "") -> None:
    """Run a command in a service's container: inv exec SERVICE -- CMD... (interactive)."""
    from phoenix_compose.runtime import operations

    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else \
        shlex.split(command or c.remainder or "")
    m = manager(c, env)
    with boundary():
        code = operations.exec_(m, service, argv)
    if code:
        raise Exit(code=code)


@task(help={"env": ENV_HELP, "services": SERVICES_HELP,
            "timeout": "seconds to wait for a stop before killing (default 10)",
            "dry_run": "print the podman commands it would run; change nothing"})
def stop(c: Context, env: str | None = None, services: str | None = None,
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


@task(help={"env": ENV_HELP, "services": SERVICES_HELP,
            "stop": "stop running services first (else only stopped ones are removed)",
            "dry_run": "print the podman commands it would run; change nothing"})
def rm(c: Context, env: str | None = None, services: str | None = None, stop: bool = False,
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


@task(help={"env": ENV_HELP, "services": SERVICES_HELP,
            "timeout": "seconds to wait for health (default 300)"})
def start(c: Context, env: str | None = None, services: str | None = None,
          timeout: float = 300.0) -> None:
    """Start stopped services again, in order and health-gated (docker compose start)."""
    from phoenix_compose.runtime import operations

    m = manager(c, env)
    with administering(c, "start", m):
        with live() as m.report:
            operations.start(m, split(services), float(timeout))
        say(status_table(m.get_service_status()))


@task(help={"env": ENV_HELP, "services": SERVICES_HELP})
def pull(c: Context, env: str | None = None, services: str | None = None) -> None:
    """Pull the images of services that have no build: section (docker compose pull)."""
    from phoenix_compose.runtime import operations

    m = manager(c, env)
    with boundary(), live() as report:
        images = operations.pull(m, split(services), report=report)
    say(f"{m.env}: pulled {len(images)} image(s)")


@task(positional=["service", "private"],
      help={"service": "the service", "private": "its container port, e.g. 8080 or 53/udp",
            "env": ENV_HELP})
def port(c: Context, service: str, private: str, env: str | None = None) -> None:
    """Print the host address a service's port is published on (docker compose port)."""
    from phoenix_compose.runtime import operations

    with boundary():
        say(operations.port(manager(c, env), service, private))


ROOT_TASKS = [ps, logs, exec_, stop, start, rm, pull, port]
