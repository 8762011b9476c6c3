"""What the watcher heals: one unit per container.  A service's first (or only) container
is the unit named after the service (its records, events and ``health.pause`` are the
service's, as before replicas); each further replica of a service with ``deploy.replicas``
(``ServiceSpec.containers``) is a unit of its own, named after its container, with its own
record, backoff and circuit under the service's restart policy (issue 26, item 4)."""

from __future__ import annotations

from dataclasses import dataclass

from phoenix_compose.runtime.stack import ServiceSpec, Stack


@dataclass(frozen=True)
class Unit:
    name: str  # the service's name (its first container), or the replica's container name
    spec: ServiceSpec
    container: str


def units(stack: Stack) -> dict[str, Unit]:
    """Every unit of ``stack``, by name, in the services' order."""
    out = {}
    for spec in stack.services.values():
        out[spec.name] = Unit(spec.name, spec, spec.container)
        for container in spec.containers:
            if container != spec.container:
                out[container] = Unit(container, spec, container)
    return out
