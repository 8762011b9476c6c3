"""``deploy.replicas`` in Quadlet (see :mod:`.quadlet`): a service with more than one
replica is a template unit ``<name>@.container`` whose instances ``<name>@1`` …
``<name>@N`` are started by a ``<name>.target`` (the one unit to enable; a dependent
service requires each instance).  Each instance's container is
``<project>_<service>_<i>``, as docker compose names replicas; they share the service's
network alias.  A host port cannot be published twice, so a replicated service's
``ports:`` are not published (warned): put a proxy in front."""

from __future__ import annotations

from collections.abc import Sequence

from phoenix_compose.integrations.kubepod import dns
from phoenix_compose.integrations.quadletctr import Items, raw_value
from phoenix_compose.integrations.quadletkeys import parse
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.shapes import as_dict

TEMPLATES_SINCE = (5, 0)  # Quadlet's template units (foo@.container) came with podman 5.0


def replicas(spec: ServiceSpec) -> int:
    value = as_dict(spec.raw.get("deploy")).get("replicas")
    return 1 if value is None else int(value)


def templated(spec: ServiceSpec, version: str, warnings: list[str] | None = None) -> bool:
    """Whether the service is written as a template (more than one replica, and a podman
    whose Quadlet has templates; else one container, warned)."""
    count = replicas(spec)
    if count <= 1:
        return False
    if parse(version) < TEMPLATES_SINCE:
        if warnings is not None:
            warnings.append(f"{spec.name}: deploy.replicas {count} is not carried: Quadlet "
                            f"templates need podman 5.0 (target: {version}); one container")
        return False
    return True


def units_of(stack: Stack, name: str, prefix: str, version: str) -> list[str]:
    """The systemd services a dependent of ``name`` requires: its one service, or each
    instance of its template."""
    spec = stack.services[name]
    if not templated(spec, version):
        return [f"{prefix}{dns(name)}.service"]
    return [f"{prefix}{dns(name)}@{i}.service" for i in range(1, replicas(spec) + 1)]


def instance_body(stack: Stack, spec: ServiceSpec, body: Items, warnings: list[str],
                  edge: Sequence[tuple[str, str]] = ()) -> Items:
    """The template's [Container]: the container named per instance (``%i``), no host
    port published but ``edge``'s (:mod:`.quadletedge`: the loopback ports the edge unit
    forwards the user's to, which it publishes)."""
    out: Items = []
    routed = {value.rsplit(":", 1)[1] for _key, value in edge}
    for key, value in body:
        if key == "ContainerName":
            out.append((key, f"{raw_value(stack.project)}_{raw_value(spec.name)}_%i"))
        elif key == "PublishPort" and _target(value) in routed:
            continue  # the edge unit publishes it
        elif key == "PublishPort":
            warnings.append(f"{spec.name}: ports {value} not published by its "
                            f"{replicas(spec)} replicas (one host port cannot be published "
                            "twice): put a proxy in front")
        else:
            out.append((key, value))
    return out + list(edge)


def _target(value: str) -> str:
    """The container port of a TCP ``PublishPort=`` with a host port ("" otherwise)."""
    text, _, proto = value.partition("/")
    parts = text.rsplit(":", 2)
    return parts[-1] if proto in ("", "tcp") and len(parts) > 1 and parts[-2] else ""


def target_keys(stack: Stack, spec: ServiceSpec, env: str, prefix: str) -> Items:
    """The [Unit] of ``<name>.target``: wants every instance."""
    items: Items = [("Description", raw_value(f"{stack.project} ({env}): {spec.name}, "
                                              f"{replicas(spec)} replicas"))]
    for i in range(1, replicas(spec) + 1):
        unit = f"{prefix}{dns(spec.name)}@{i}.service"
        items += [("Wants", unit), ("After", unit)]
    return items
