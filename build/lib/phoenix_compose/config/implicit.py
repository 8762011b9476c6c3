"""Implicit dependencies, as compose-go's ``loader/normalize.go`` adds them: a service that
``links`` to another, shares its namespace (``network_mode``, ``ipc``, ``pid``, ``uts`` or
``cgroup`` set to ``service:X``) or mounts its volumes (``volumes_from: [X]``, not
``container:X``) depends on it, for ordering and health gating, as if ``depends_on`` named
it (condition ``service_started``; ``restart: true`` except for ``volumes_from``).  An
explicit ``depends_on`` entry wins.  A reference to a service that does not exist is a
located error at the reference."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from phoenix_compose.config.yamlsrc import N
from phoenix_compose.errors import Problem

NAMESPACES = ("network_mode", "ipc", "pid", "uts", "cgroup")
SERVICE_PREFIX, CONTAINER_PREFIX = "service:", "container:"


def add_implicit_dependencies(doc: N) -> list[Problem]:
    """Add every implicit dependency to ``depends_on`` (in place); the problems of the
    references to undefined services."""
    services = doc.value.get("services") if isinstance(doc.value, dict) else None
    if services is None or not isinstance(services.value, dict):
        return []
    problems = []
    for name, svc in services.value.items():
        if not isinstance(svc.value, dict):
            continue
        for dep, node, restart, what in references(svc.value):
            if dep not in services.value:
                close = difflib.get_close_matches(dep, list(services.value), n=1)
                problems.append(Problem(node.loc, f"service '{name}' {what} undefined "
                                                  f"service '{dep}'",
                                        hint=f"did you mean '{close[0]}'?" if close else
                                        "define that service, or remove the reference"))
                continue
            _depend(svc.value, dep, node, restart)
    return problems


def references(svc: dict[str, N]) -> Iterator[tuple[str, N, bool, str]]:
    """(service, the node naming it, restart, how it is named) of each implicit one."""
    links = svc.get("links")
    for item in links.value if links is not None and isinstance(links.value, list) else ():
        if isinstance(item.value, str):
            parts = item.value.split(":")
            yield (parts[0] if len(parts) == 2 else item.value), item, True, "links to"
    for key in NAMESPACES:
        node = svc.get(key)
        if node is not None and isinstance(node.value, str) \
                and node.value.startswith(SERVICE_PREFIX):
            yield node.value[len(SERVICE_PREFIX):], node, True, f"takes {key} from"
    mounts = svc.get("volumes_from")
    for item in mounts.value if mounts is not None and isinstance(mounts.value, list) else ():
        if isinstance(item.value, str) and not item.value.startswith(CONTAINER_PREFIX):
            yield item.value.split(":")[0], item, False, "mounts the volumes of"


def _depend(svc: dict[str, N], dep: str, node: N, restart: bool) -> None:
    deps = svc.get("depends_on")
    if deps is None:
        deps = svc["depends_on"] = N({}, node.loc, node.loc)
    if not isinstance(deps.value, dict) or dep in deps.value:
        return  # the schema reports a malformed depends_on; an explicit entry wins
    deps.value[dep] = N({"condition": N("service_started", node.loc, node.loc),
                         "restart": N(restart, node.loc, node.loc),
                         "required": N(True, node.loc, node.loc)}, node.loc, node.loc)
