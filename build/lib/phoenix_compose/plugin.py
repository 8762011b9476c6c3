"""What a ``tasks/*.py`` or ``tasks/*/`` plugin imports: the stable surface for writing
project tasks.

A plugin is an invoke module, or a package of them; its tasks become the collection named
after the file or folder (``tasks/db/`` -> ``inv db.*``).  It reaches the stack only
through this module and the podman seam (``phoenix_compose.runtime.commands`` and the argv
builders of ``phoenix_compose.runtime.argv`` and ``.argv_git``).  README, "Writing a
plugin", shows a whole one.

>>> from phoenix_compose.plugin import task, Context, boundary, open_env, say
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke import Context, Exit, task

from phoenix_compose import restoreroles
from phoenix_compose.backups import complete as complete_backups
from phoenix_compose.backups import (
    fsync_dir,
    located,
    prune,
    trusted_copy,
    trusted_copy_started,
    trusted_manifest,
    vouch,
    write_manifest,
)
from phoenix_compose.cli.common import (
    ENV_HELP,
    boundary,
    env_name,
    err,
    say,
    stack_root,
    stop_signals,
)
from phoenix_compose.config.durations import seconds
from phoenix_compose.errors import (
    BackupError,
    CommandError,
    ComposeRuntimeError,
    ConfigurationError,
    PhoenixError,
    StateError,
)
from phoenix_compose.hooks import STOPPING, Emit, WatchJob, pre_deploy, watch_job
from phoenix_compose.runtime import commands
from phoenix_compose.runtime.stopping import cleaning

if TYPE_CHECKING:  # the engine is imported when a task opens an env: `inv --list` is quick
    from phoenix_compose.runtime.lifecycle import ComposeManager
    from phoenix_compose.runtime.status import ServiceStatus

podman = commands  # the seam's name before it was runtime.commands: plugins keep it

__all__ = ["ENV_HELP", "BackupError", "CommandError", "ComposeRuntimeError",
           "ConfigurationError", "Context", "Env", "Exit", "PhoenixError", "Service",
           "StateError", "boundary", "env_name", "err", "located", "open_env", "commands",
           "podman", "say", "stack_root", "task", "Emit", "WatchJob", "watch_job", "pre_deploy",
           "seconds", "STOPPING", "stop_signals", "trusted_manifest", "trusted_copy",
           "trusted_copy_started",
           "restoreroles", "write_manifest",
           "complete_backups", "prune", "fsync_dir", "vouch", "cleaning"]


@dataclass(frozen=True)
class Service:
    """One service of the validated final config (``compose.yaml``), read-only."""

    name: str
    container: str
    image: str | None
    environment: dict[str, str] = field(default_factory=dict)
    named_volumes: tuple[str, ...] = ()  # podman volume names (project-prefixed)
    extensions: dict[str, Any] = field(default_factory=dict)  # its x-* keys
    depends_on: tuple[str, ...] = ()


class Env:
    """One environment of the stack, validated: its services, their status, its releases,
    its audit log, health-gated restarts.  Open it with :func:`open_env`."""

    def __init__(self, manager: ComposeManager, production: bool) -> None:
        self._manager = manager
        self.root, self.name, self.production = manager.root, manager.env, production
        self._stack = manager.stack()  # the manager's prepared Project: read once
        self.project = self._stack.project

    def services(self) -> dict[str, Service]:
        # lazy: the engine is not imported at inv --list (test_startup)
        from phoenix_compose.runtime.plan import named_volumes

        out = {}
        for name, spec in self._stack.services.items():
            out[name] = Service(
                name, spec.container, spec.image,
                {k: "" if v is None else str(v) for k, v in spec.environment.items()},
                tuple(f"{self.project}_{v}" for v in named_volumes(self._stack, name)),
                spec.extensions,
                tuple(spec.depends_on))
        return out

    def status(self) -> dict[str, ServiceStatus]:
        return {r.service: r for r in self._manager.get_service_status()}

    def health(self, service: str) -> str:
        """One service's status (healthy, unhealthy, starting, running, stopped, exited,
        missing) from a single inspect of its container: cheaper than ``status()``."""
        from phoenix_compose.runtime import containers  # lazy: not at inv --list (test_startup)

        container = self._stack.services[service].container
        state = containers.inspect(commands.run, [container]).get(container)
        return "missing" if state is None else str(state.service_state)

    def dependents(self, service: str) -> list[str]:
        """Services that depend on ``service``, directly or not, in dependency order."""
        chosen, out = {service}, []
        for name in self._stack.order():
            if name not in chosen and set(self._stack.services[name].depends_on) & chosen:
                chosen.add(name)
                out.append(name)
        return out

    def restart(self, services: Sequence[str], timeout: float = 300.0) -> None:
        """Restart services and wait until they are healthy (``inv restart``)."""
        self._manager.restart_services(list(services), timeout=timeout)

    def release(self) -> int | None:
        """The current (last healthy) release number, None before the first."""
        from phoenix_compose.runtime import releases  # lazy: not at inv --list (test_startup)

        return releases.current(self._manager.state)

    def state_dir(self) -> Path:
        """``.phoenix/<env>/``: generated state (a plugin may keep files under it)."""
        return self._manager.state.path

    def audited(self, action: str, args: dict[str, Any]) -> AbstractContextManager[None]:
        """A context manager: one line in the env's audit log, with the outcome."""
        from phoenix_compose.runtime import audit  # lazy: not at inv --list (test_startup)

        return audit.audited(self._manager.state.audit_log, action, args)

    def administering(self, action: str, args: dict[str, Any]
                      ) -> AbstractContextManager[None]:
        """The env lock (no ``up``, ``down`` or other action meanwhile) and one audit line,
        as ``inv up`` holds them: for a plugin action that changes what runs."""
        return self._manager.administering(action, args)


def open_env(root: Path, env: str, lock_wait: float = 10.0) -> Env:
    """Validate the env's config (located errors on failure) and open it; ``lock_wait``:
    how long ``Env.administering`` waits for the env lock."""
    # lazy: the engine is not imported at inv --list (test_startup)
    from phoenix_compose.runtime.lifecycle import ComposeManager

    manager = ComposeManager(root, env, lock_wait=lock_wait)
    project = manager.validate_compose_files()  # the typed Project Env reads from
    return Env(manager, project.production)
