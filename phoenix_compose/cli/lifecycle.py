"""``inv up/down/restart/status/logs/doctor``: the stack lifecycle on podman."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from invoke import Context, Exit, task

from phoenix_compose.cli.common import ENV_HELP, boundary, env_name, err, stack_root

if TYPE_CHECKING:
    from phoenix_compose.runtime.lifecycle import ComposeManager
    from phoenix_compose.runtime.status import ServiceStatus


def _split(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def progress(service: str, state: str, detail: str) -> None:
    print(f"  {service:<20} {state:<12} {detail}".rstrip(), flush=True)


def manager(c: Context, env: str | None) -> ComposeManager:
    from phoenix_compose.runtime.lifecycle import ComposeManager

    return ComposeManager(stack_root(c), env_name(c, env), report=progress,
                          lock_wait=float(c.config.phoenix.lock_wait))


def status_table(rows: list[ServiceStatus]) -> str:
    table = [("SERVICE", "STATUS", "UPTIME", "RESTARTS", "CONTAINER", "PORTS")]
    for r in rows:
        status = r.status + (f" ({r.exit_code})" if r.status == "exited" else "")
        table.append((r.service, status, _duration(r.uptime_s), str(r.restarts), r.container,
                      ", ".join(r.ports)))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in table)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@task(help={"env": ENV_HELP, "services": "comma-separated services (default: all, with deps)",
            "no_wait": "do not wait for the last services to become healthy",
            "timeout": "seconds to wait for health before failing (default 300)",
            "build": "build images with a build: section first",
            "profile": "comma-separated compose profiles to enable"})
def up(c: Context, env: str | None = None, services: str | None = None, no_wait: bool = False,
       timeout: float = 300.0, build: bool = False, profile: str | None = None) -> None:
    """Validate, then start the stack in dependency order, waiting for real health."""
    m = manager(c, env)
    with boundary():
        outcome = m.validate_compose_files()
        print(f"{m.env}: config valid -> {outcome.compose_file.relative_to(m.root)}")
        done = m.start_services(_split(services), wait=not no_wait, timeout=timeout,
                                build=build, profiles=_split(profile))
        print(status_table([r for r in m.get_service_status()
                            if r.service in {p.spec.name for p in done}]))


@task(help={"env": ENV_HELP, "volumes": "also delete the named volumes (data!)",
            "yes": "confirm --volumes on a production environment"})
def down(c: Context, env: str | None = None, volumes: bool = False, yes: bool = False) -> None:
    """Stop and remove the stack's containers; named volumes are kept unless --volumes."""
    m = manager(c, env)
    with boundary():
        m.stop_services(volumes=volumes, confirmed=yes)
    print(f"{m.env}: down" + (" (volumes removed)" if volumes else " (volumes kept)"))


@task(help={"env": ENV_HELP, "services": "comma-separated services (default: all)",
            "timeout": "seconds to wait for health (default 300)"})
def restart(c: Context, env: str | None = None, services: str | None = None,
            timeout: float = 300.0) -> None:
    """Restart services (applying config changes) and wait until they are healthy again."""
    m = manager(c, env)
    with boundary():
        m.restart_services(_split(services), timeout=timeout)
        print(status_table(m.get_service_status()))


@task(help={"env": ENV_HELP, "json": "print a JSON array instead of a table"})
def status(c: Context, env: str | None = None, json_: bool = False) -> None:
    """One row per service: status, uptime, restarts, container, ports."""
    m = manager(c, env)
    with boundary():
        rows = m.get_service_status()
    if json_:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        print(status_table(rows))


@task(positional=["service"], help={"service": "the service whose logs to show",
                                    "env": ENV_HELP, "lines": "how many lines (default 100)",
                                    "follow": "keep printing new lines until Ctrl-C"})
def logs(c: Context, service: str, env: str | None = None, lines: int = 100,
         follow: bool = False) -> None:
    """Show a service's container logs."""
    m = manager(c, env)
    with boundary():
        if not follow:
            print(m.get_service_logs(service, lines), end="")
            return
        try:
            code = m.follow_logs(service, lines, lambda line: print(line, end="", flush=True))
        except KeyboardInterrupt:
            return
    if code:
        raise Exit(code=code)


@task(help={"fix": "apply the safe fixes (a containers.conf drop-in; root only)",
            "quiet": "print only problems and fixes"})
def doctor(c: Context, fix: bool = False, quiet: bool = False) -> None:
    """Check podman: versions, mode, cgroups, healthcheck timers, a real smoke container."""
    from phoenix_compose.runtime import doctor as engine
    from phoenix_compose.runtime.podman import run

    with boundary():
        checks, causes = engine.diagnose(run)
        if fix and causes:
            text = engine.apply_fixes(causes)
            print(f"wrote {engine.DROP_IN}:\n{text}")
            checks, causes = engine.diagnose(run)
    failed = False
    for check in checks:
        mark = {True: "ok  ", False: "FAIL", None: "info"}[check.ok]
        failed |= check.ok is False
        if quiet and check.ok is not False:
            continue
        print(f"{mark} {check.name:<20} {check.detail}")
        if check.fix and check.ok is False:
            print(f"     fix: {check.fix}")
    if failed:
        raise Exit(code=1)


ROOT_TASKS = [up, down, restart, status, logs, doctor]


@task(help={"env": ENV_HELP})
def build(c: Context, env: str | None = None) -> None:
    """Build every service image that has a build: section (base images offline if needed)."""
    from phoenix_compose.runtime.images import build_images

    m = manager(c, env)
    with boundary():
        stack = m.stack()
        built = build_images(stack, run=m.run, report=progress)
    print(f"{m.env}: built {len(built)} image(s)" + (": " + ", ".join(built) if built else ""))
    if not built:
        err(f"{m.env}: no service has a build: section")
