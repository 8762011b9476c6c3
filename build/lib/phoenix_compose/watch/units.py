"""What the watcher heals: one unit per container.  A service's first (or only) container
is the unit named after the service (its records, events and ``health.pause`` are the
service's, as before replicas); each further replica of a service with ``deploy.replicas``
(``ServiceSpec.containers``) is a unit of its own, named after its container, with its own
record, backoff and circuit under the service's restart policy (issue 26, item 4).  A
missing replica is recreated by ``podman-compose up --no-deps SERVICE``, which creates
only the service's missing containers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.watch.restart_policy import RestartPolicy


@dataclass(frozen=True)
class Unit:
    name: str  # the service's name (its first container), or the replica's container name
    spec: ServiceSpec
    container: str

    @property
    def grace(self) -> int:
        """Its ``stop_grace_period`` in whole seconds (``podman restart --time``)."""
        return int(self.spec.stop_grace)


def units(stack: Stack) -> dict[str, Unit]:
    """Every unit of ``stack``, by name, in the services' order."""
    out = {}
    for spec in stack.services.values():
        out[spec.name] = Unit(spec.name, spec, spec.container)
        for container in spec.containers:
            if container != spec.container:
                out[container] = Unit(container, spec, container)
    return out


def unit_policies(stack: Stack, overrides: dict[str, Any] | None,
                  warnings: list[tuple[str, str]]) -> dict[str, RestartPolicy]:
    """Each unit's restart policy: its service's (a warning about it is the service's,
    once, in ``warnings``)."""
    by_service = {n: RestartPolicy.from_config(s.restart_policy, overrides, _warner(warnings, n))
                  for n, s in stack.services.items()}
    return {n: by_service[u.spec.name] for n, u in units(stack).items()}


def _warner(warnings: list[tuple[str, str]], name: str) -> Callable[[str], None]:
    return lambda text: warnings.append((name, text))
