"""Which replica a compose command means (issue 26): docker compose's ``--index`` of
``logs``, ``exec`` and ``port`` (1-based), and the address a client uses for a port the
edge owns.  Pure: the stack in, container names and addresses out.

- ``exec``/``port`` without ``--index`` mean replica 1 (docker compose's default), except
  that ``port`` of a port the edge owns answers the edge's address: what a client uses
  (``--index N``: that replica's own loopback port, what the edge forwards to);
- ``logs`` without ``--index`` reads every replica; a service of several replicas has
  its lines prefixed with each container's name (docker compose does so), a service of
  one with its service name, as before;
- an index beyond the service's replicas is a :class:`~phoenix_compose.errors.UsageError`
  (exit 2) naming the service and its count."""

from __future__ import annotations

from collections.abc import Sequence

from phoenix_compose.errors import UsageError
from phoenix_compose.runtime.edgeplan import routes
from phoenix_compose.runtime.stack import Stack

NOT_GIVEN = 0  # ``--index`` not typed (docker compose's own default of 0)


def replica(stack: Stack, service: str, index: int = NOT_GIVEN) -> str:
    """The container of ``service``'s replica ``index`` (1-based; not given: the first)."""
    stack.select([service])  # an unknown name is an error
    spec = stack.services[service]
    names = spec.containers
    number = 1 if index == NOT_GIVEN else index
    if not 1 <= number <= len(names):
        raise UsageError(f"--index {index}: service '{service}' has {len(names)} "
                         f"replica(s)" + (f" (1 to {len(names)})" if names else ""))
    return names[number - 1]


def sources(stack: Stack, services: Sequence[str],
            index: int = NOT_GIVEN) -> list[tuple[str, str]]:
    """``(prefix, container)`` of each log ``logs`` reads: every replica of ``services``
    (in their order), or only replica ``index`` of each."""
    out = []
    for name in services:
        spec = stack.services[name]
        chosen = spec.containers if index == NOT_GIVEN else (replica(stack, name, index),)
        for container in chosen:
            out.append((container if spec.replicas > 1 else name, container))
    return out


def edge_address(stack: Stack, service: str, private: str) -> str | None:
    """``HOST:PORT`` the edge listens on for ``service``'s container port ``private``
    (``80`` or ``80/tcp``), as written (none written: 0.0.0.0, docker's default); None
    when the edge does not own that port."""
    number, _, proto = private.partition("/")
    if proto not in ("", "tcp") or not number.isdigit():
        return None
    for route in routes(stack):
        if route.service == service and route.target == int(number):
            return f"{route.address}:{route.published}"
    return None
