"""ComposeManager: the stack lifecycle (the design's interface), always from a validated file.

Every method re-renders and re-validates first (cheap when the cache hits), so an invalid
config never starts anything, and always hands podman-compose the single file
``.phoenix/<env>/compose.yaml`` with an explicit ``-f`` and project name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import containers, podman
from .audit import audited
from .errors import ConfigurationError, PhoenixError
from .locks import env_lock
from .pipeline import Outcome, prepare
from .stack import Stack, load_stack
from .startup import Progress, Report, Startup


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    container: str
    state: str  # podman's container state, or "missing"
    status: str  # healthy|unhealthy|starting|running|stopped|exited|missing
    uptime_s: float | None
    restarts: int
    ports: tuple[str, ...]
    exit_code: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _quiet(service: str, state: str, detail: str) -> None:
    pass


class ComposeManager:
    def __init__(self, root: Path, env: str, *, run: containers.Runner = podman.run,
                 report: Report = _quiet, lock_wait: float = 10.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.root = root
        self.env = env
        self.run = run
        self.report = report
        self.lock_wait = lock_wait
        self.clock = clock
        self.sleep = sleep

    @property
    def folder(self) -> Path:
        return self.root / ".phoenix" / self.env

    def validate_compose_files(self) -> Outcome:
        return prepare(self.root, self.env)

    def stack(self) -> tuple[Outcome, Stack]:
        outcome = self.validate_compose_files()
        return outcome, load_stack(outcome.compose_file, outcome.project_name)

    def current_stack(self) -> Stack:
        """For stop/status: the current config, or the last valid one if it is now broken."""
        try:
            return self.stack()[1]
        except ConfigurationError:
            compose_file = self.folder / "compose.yaml"
            if not compose_file.is_file():
                raise
            import yaml

            name = (yaml.safe_load(compose_file.read_text()) or {}).get("name")
            return load_stack(compose_file, name or f"phoenix-{self.env}")

    # -- lifecycle -------------------------------------------------------------------------
    def start_services(self, services: Sequence[str] = (), *, wait: bool = True,
                       timeout: float = 300.0, build: bool = False,
                       profiles: Sequence[str] = ()) -> list[Progress]:
        args = {"services": list(services), "wait": wait, "timeout": timeout, "build": build,
                "profiles": list(profiles)}
        with env_lock(self.folder, "up", self.lock_wait), \
                audited(self.folder, "up", args):
            _outcome, stack = self.stack()
            names = stack.select(services, profiles)
            if build:
                from .images import build_images

                build_images(stack, names, run=self.run, report=self.report)
            running = self._running(stack)
            done = self._startup(stack, names, timeout, wait).execute()
            return done + self._restore_dependents(stack, names, running, timeout)

    def _startup(self, stack: Stack, names: Sequence[str], timeout: float,
                 wait: bool = True) -> Startup:
        return Startup(stack, names, run=self.run, report=self.report, timeout=timeout,
                       wait=wait, profiles=_profiles_of(stack, names), clock=self.clock,
                       sleep=self.sleep)

    def _running(self, stack: Stack) -> set[str]:
        by_container = {s.container: n for n, s in stack.services.items()}
        states = containers.inspect(self.run, list(by_container))
        return {by_container[c] for c, state in states.items() if state.running}

    def _restore_dependents(self, stack: Stack, names: Sequence[str], running: set[str],
                            timeout: float) -> list[Progress]:
        """podman-compose recreates the running dependents of a recreated service (podman
        links them as container dependencies) but, with --no-start, leaves them stopped:
        start again what was running before."""
        lost = sorted((running - set(names)) - self._running(stack))
        if not lost:
            return []
        return self._startup(stack, [n for n in stack.order() if n in lost], timeout).execute()

    def stop_services(self, graceful: bool = True, *, volumes: bool = False,
                      confirmed: bool = False) -> None:
        args = {"volumes": volumes, "graceful": graceful}
        with env_lock(self.folder, "down", self.lock_wait), \
                audited(self.folder, "down", args):
            production = self._production()
            if volumes and production and not confirmed:
                raise PhoenixError(
                    f"refusing to delete the volumes of production environment '{self.env}'",
                    hint="add --yes to confirm that its data may be destroyed")
            try:
                stack = self.current_stack()
            except ConfigurationError:
                self._remove_by_label(self._project_name(), volumes)
                return
            every_profile = _profiles_of(stack, list(stack.services))
            self.run(podman.down(stack.compose_file, stack.project, volumes, every_profile,
                                 None if graceful else 0), timeout=600)

    def restart_services(self, services: Sequence[str] = (), *,
                         timeout: float = 300.0) -> list[Progress]:
        args = {"services": list(services), "timeout": timeout}
        with env_lock(self.folder, "restart", self.lock_wait), \
                audited(self.folder, "restart", args):
            _outcome, stack = self.stack()
            names = [n for n in stack.order() if n in services] if services else \
                stack.select()
            stack.select(names)  # unknown names are an error
            running = self._running(stack)
            self.run(podman.stop(*[stack.services[n].container for n in names]),
                     ok_codes=(0, 125), timeout=120)
            done = self._startup(stack, names, timeout).execute()
            return done + self._restore_dependents(stack, names, running, timeout)

    # -- observation -----------------------------------------------------------------------
    def get_service_status(self) -> list[ServiceStatus]:
        stack = self.current_stack()
        states = containers.project_containers(self.run, stack.project)
        now = datetime.now(timezone.utc)
        rows = []
        for name in stack.order():
            spec = stack.services[name]
            state = states.get(spec.container)
            if state is None and spec.profiles:
                continue  # behind a profile that is not running
            rows.append(_status_row(name, spec.container, state, now))
        return rows

    def get_service_logs(self, service: str, lines: int = 100) -> str:
        stack = self.current_stack()
        container = self._container(stack, service)
        result = self.run(podman.logs(container, lines), timeout=60)
        return result.stdout + result.stderr

    def follow_logs(self, service: str, lines: int, on_line: Callable[[str], None]) -> int:
        stack = self.current_stack()
        return podman.stream(podman.logs(self._container(stack, service), lines, True), on_line)

    def _container(self, stack: Stack, service: str) -> str:
        stack.select([service])
        return stack.services[service].container

    def _production(self) -> bool:
        from .environment import load_environment

        try:
            return load_environment(self.root, self.env).production
        except ConfigurationError:  # a broken env file: be strict
            return True

    def _project_name(self) -> str:
        from .environment import load_environment

        try:
            return load_environment(self.root, self.env).project_name
        except ConfigurationError:
            return f"phoenix-{self.env}"

    def _remove_by_label(self, project: str, volumes: bool) -> None:
        """`down` without a usable compose file: remove what carries the project's label."""
        self.report("*", "config invalid", f"removing project {project} by label")
        kinds = ("container", "network") + (("volume",) if volumes else ())
        for kind in kinds:
            ids = self.run(podman.labelled(kind, project), timeout=60).stdout.split()
            if not ids:
                continue
            if kind == "container":
                self.run(podman.remove(*ids), timeout=600)
            else:
                self.run(("podman", kind, "rm", "--force", *ids), timeout=120)


def _profiles_of(stack: Stack, names: Sequence[str]) -> list[str]:
    return sorted({p for n in names for p in stack.services[n].profiles})


def _status_row(name: str, container: str, state: containers.ContainerState | None,
                now: datetime) -> ServiceStatus:
    if state is None:
        return ServiceStatus(name, container, "missing", "missing", None, 0, ())
    if state.running:
        status = state.health or "running"
        uptime = round((now - state.started_at).total_seconds(), 1) if state.started_at \
            else None
    elif state.status == "exited":
        status, uptime = "exited", None
    else:
        status, uptime = "stopped", None
    return ServiceStatus(name, container, state.status, status, uptime, state.restarts,
                         state.ports, None if state.running else state.exit_code)
