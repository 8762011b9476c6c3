"""``inv up/down/restart/status/logs/doctor``: the stack lifecycle on podman."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from invoke import Context, Exit, task

from phoenix_compose.cli.common import (
    ENV_HELP,
    boundary,
    env_name,
    err,
    refuse_invoke_flags,
    say,
    stack_root,
    stop_signals,
)
from phoenix_compose.cli.parsing import Task
from phoenix_compose.cli.progress import live, plain
from phoenix_compose.cli.statusview import status_table, with_last_exits

if TYPE_CHECKING:
    from phoenix_compose.runtime.lifecycle import ComposeManager


def split(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def running_services(m: ComposeManager) -> list[str]:
    return [r.service for r in m.get_service_status()
            if r.status in ("healthy", "unhealthy", "starting", "running")]


@contextmanager
def administering(c: Context, task_name: str, m: ComposeManager) -> Iterator[None]:
    """up/down/restart/stop: invoke's own flags refused, stop signals handled (exit 130 or
    143, lock released, audited), typed errors as clean messages."""
    refuse_invoke_flags(c, task_name)
    with stop_signals(lambda: running_services(m)), boundary():
        yield


def manager(c: Context, env: str | None) -> ComposeManager:
    from phoenix_compose.runtime.lifecycle import ComposeManager

    return ComposeManager(stack_root(c), env_name(c, env), report=plain,
                          lock_wait=float(c.config.phoenix.lock_wait))


SERVICES_HELP = ("services (default: all): positional, as many as you like (`up web db`), "
                 "or comma-separated")


@task(klass=Task, positional=["services"],
      short={"wait": "", "no_deps": "", "force_recreate": "", "pull": "", "no_build": ""},
      help={"env": ENV_HELP, "services": SERVICES_HELP + "; with their dependencies",
            "detach": "start and return at once: don't wait for the last services "
                      "(docker compose up -d)",
            "no_wait": "the same as --detach",
            "timeout": "seconds to wait for health before failing (default 300)",
            "wait_timeout": "the same as --timeout (docker compose's name); 0: use --timeout",
            "build": "build every image with a build: section first (default: those "
                     "not here yet)",
            "profile": "comma-separated compose profiles to enable",
            "dry_run": "print the plan (as `inv plan`) and the podman commands that carry it "
                       "out; change nothing",
            "no_rollback": "when the deploy fails, leave it in place (default: roll back to "
                           "the last healthy release and exit 3)",
            "wait": "wait until every service is healthy (the default; wins over -d)",
            "no_deps": "start only the named services, not their dependencies",
            "force_recreate": "recreate the named services (default: all) even if "
                              "unchanged",
            "pull": "pull images first: always, missing or never (default: only what is "
                    "pinned by digest and not here)",
            "no_build": "build nothing, not even an image that is not here"})
# invoke makes one flag of each parameter: docker compose's `up` has that many flags
def up(c: Context, services: str | None = None, env: str | None = None,  # noqa: PLR0913
       detach: bool = False, no_wait: bool = False, timeout: float = 300.0,
       wait_timeout: float = 0.0, build: bool = False, profile: str | None = None,
       dry_run: bool = False, no_rollback: bool = False, wait: bool = False,
       no_deps: bool = False, force_recreate: bool = False, pull: str = "",
       no_build: bool = False) -> None:
    """Validate, then start the stack in dependency order, waiting for real health."""
    from phoenix_compose.runtime.choice import Choice
    from phoenix_compose.runtime.images import PULL_POLICIES

    choice = Choice(no_deps, force_recreate, one_of(pull, PULL_POLICIES, "pull") or None,
                    no_build)
    if build and no_build:
        err("error: --build and --no-build contradict each other")
        raise Exit(code=2)
    m = manager(c, env)
    with administering(c, "up", m):
        announce(m)
        if dry_run:  # the plan `inv plan` prints, and the commands that carry it out
            from phoenix_compose.cli.planview import dry_run_text
            from phoenix_compose.runtime.edgeproc import Edge

            say(dry_run_text(m.env, *m.planned(split(services), split(profile), choice),
                             edge_runs=Edge(m.state).pid() is not None))
            return
        with live() as m.report:
            done = m.start_services(split(services), wait=wait or not (detach or no_wait),
                                    timeout=float(wait_timeout or timeout),
                                    build=True if build else (False if no_build else None),
                                    profiles=split(profile), rollback=not no_rollback,
                                    choice=choice)
        started = {p.spec.name for p in done}
        if started:
            say(status_table([r for r in m.get_service_status() if r.service in started]))
        else:  # the plan's inspection is current: no second one
            say(f"{m.env}: nothing to change: every service is up to date")
            say(status_table(m.get_service_status(m.applied.existing if m.applied else None)))


def announce(m: ComposeManager) -> None:
    """``up``'s first line: the config is valid, and podman's mode."""
    outcome = m.validate_compose_files()
    rootless = os.geteuid() != 0  # podman runs rootless exactly when we are not root
    say(f"{m.env}: config valid -> {outcome.compose_file.relative_to(m.root)} (podman "
        f"{'rootless' if rootless else 'rootful'})")
    if outcome.production and not rootless:
        err(f"warning: production environment '{m.env}' runs rootful (as root); "
            "rootless podman is the production recommendation")


def one_of(value: str, allowed: tuple[str, ...], flag: str) -> str:
    """A flag's value among ``allowed`` ("" when not given): else a usage error, exit 2."""
    if value and value not in allowed:
        err(f"error: --{flag} must be one of {', '.join(allowed)}, not '{value}'")
        raise Exit(code=2)
    return value


@task(help={"env": ENV_HELP, "volumes": "also delete the named volumes (data!)",
            "yes": "confirm --volumes on a production environment",
            "dry_run": "print the podman commands it would run; change nothing",
            "project": "the compose project to remove when the config cannot tell it",
            "rmi": "also remove images: local (those built without an image: name) or all "
                   "(every service's; one another container uses is kept)"})
def down(c: Context, env: str | None = None, volumes: bool = False, yes: bool = False,
         dry_run: bool = False, project: str | None = None, rmi: str = "") -> None:
    """Stop and remove the stack's containers; named volumes are kept unless --volumes."""
    m = manager(c, env)
    one_of(rmi, ("local", "all"), "rmi")
    with administering(c, "down", m):
        if dry_run:
            from phoenix_compose.cli.planview import down_commands, print_plan

            print_plan(down_commands(m.current_stack(), volumes, rmi))
            return
        images = m.stop_services(volumes=volumes, confirmed=yes, project=project, rmi=rmi)
    say(f"{m.env}: down" + (" (volumes removed)" if volumes else " (volumes kept)")
        + (f"; removed image(s) {', '.join(images) or 'none'}" if rmi else ""))


@task(positional=["services"],
      help={"env": ENV_HELP, "services": SERVICES_HELP,
            "timeout": "seconds to wait for health (default 300)",
            "dry_run": "print the podman commands it would run; change nothing"})
def restart(c: Context, services: str | None = None, env: str | None = None,
            timeout: float = 300.0, dry_run: bool = False) -> None:
    """Restart services (applying config changes) and wait until they are healthy again."""
    m = manager(c, env)
    with administering(c, "restart", m):
        if dry_run:
            stack = m.stack()
            selected = stack.select(split(services))
            names = [n for n in selected if n in split(services)] if services else selected
            from phoenix_compose.cli.planview import print_plan, restart_commands

            print_plan(restart_commands(stack, names, m.deployer()))
            return
        with live() as m.report:
            m.restart_services(split(services), timeout=float(timeout))
        say(status_table(m.get_service_status()))


@task(help={"env": ENV_HELP, "json": "print a JSON array instead of a table"})
def status(c: Context, env: str | None = None, json_: bool = False) -> None:
    """One row per service: status, uptime, restarts, container, ports; stale health rechecked."""
    from phoenix_compose.runtime.edgeup import with_edge
    from phoenix_compose.runtime.settle import settled_status

    m = manager(c, env)
    with boundary():
        found, notes = settled_status(m.run, m.current_stack(), m.state)
        rows, edge_notes = with_edge(m.state, with_last_exits(m, found))
        notes = [*notes, *edge_notes]
    if json_:
        say(json.dumps([r.as_dict() for r in rows], indent=2))
        if notes:
            err("\n".join(notes))
    else:
        say(status_table(rows) + "".join(f"\n{note}" for note in notes))


@task(help={"fix": "apply the safe fixes (a containers.conf drop-in, root only; a podman 5 "
                   "quadlet fetched into the user's cache)",
            "quiet": "print only problems and fixes",
            "user": "also check what blocks rootless podman for this user (default: you, "
                    "when you are not root)"})
def doctor(c: Context, fix: bool = False, quiet: bool = False, user: str = "") -> None:
    """Check podman: versions, mode, cgroups, healthcheck timers, a real smoke container."""
    import getpass

    from phoenix_compose.runtime import doctor as engine
    from phoenix_compose.runtime import podmanlocks
    from phoenix_compose.runtime.commands import run

    with boundary():
        user = user or ("" if os.geteuid() == 0 else getpass.getuser())
        rootless, fixed = engine.rootless_checks(user, fix) if user else ([], [])
        checks, causes = engine.diagnose(run)
        quadlet, fetched = engine.quadlet_check(run, fix)
        edge = engine.edge_check(run)
        locks, renumbered = podmanlocks.lock_check(run, fix)
        for line in filter(None, [*fixed, fetched, renumbered]):
            say(f"fixed {line}")
        if fix and engine.fix_drop_in_mode():
            say(f"made {engine.DROP_IN} readable (0644)")
            checks, causes = engine.diagnose(run)
        if fix and causes:
            text = engine.apply_fixes(causes)
            say(f"wrote {engine.DROP_IN}:\n{text}")
            checks, causes = engine.diagnose(run)
    failed = False
    for check in checks + [quadlet, edge, locks] + rootless:
        mark = {True: "ok  ", False: "FAIL", None: "info"}[check.ok]
        failed |= check.ok is False
        if quiet and check.ok is not False:
            continue
        say(f"{mark} {check.name:<20} {check.detail}")
        if check.fix and check.ok is False:
            say(f"     fix: {check.fix}")
    if failed:
        raise Exit(code=1)


ROOT_TASKS = [up, down, restart, status, doctor]


@task(positional=["services"], help={"env": ENV_HELP, "services": SERVICES_HELP,
                                     "no_cache": "build every layer again"})
def build(c: Context, services: str | None = None, env: str | None = None,
          no_cache: bool = False) -> None:
    """Build the images of services with a build: section (base images offline if needed)."""
    from phoenix_compose.runtime.images import build_images

    m = manager(c, env)
    with boundary():
        stack = m.stack()
        names = stack.select(split(services)) if services else None
        with live() as report:
            built = build_images(stack, names, run=m.run, report=report, no_cache=no_cache)
    say(f"{m.env}: built {len(built)} image(s)" + (": " + ", ".join(built) if built else ""))
    if not built:
        err(f"{m.env}: no service has a build: section")
