"""Pre-flight checks of a start: when one fails, no container has been created.

Every image must be present (a pull would fail or hang offline) and every published host
port of a service that is not already running must be free.  Whether a container is made
from an older build of its image is the plan's decision (:mod:`..plan`), not this one's.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence

from phoenix_compose.config.merge import port_key
from phoenix_compose.config.values import port_range
from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.runtime import containers
from phoenix_compose.runtime.observe import local_ids
from phoenix_compose.runtime.stack import ServiceSpec


def check(run: containers.Runner, specs: Sequence[ServiceSpec], images_known: bool = False
          ) -> None:
    """Raise when an image is missing or a port is taken (``images_known``: the caller
    checked the images just now; only services that publish a port are inspected)."""
    if not images_known:
        image_ids(run, specs)
    publishing = [s for s in specs if host_ports(s.ports)]
    if publishing:
        check_ports(publishing, containers.inspect(run, [s.container for s in publishing]))


def image_ids(run: containers.Runner, specs: Sequence[ServiceSpec],
              known: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ID of every image; none may be missing.  ``known``: ids this deploy observed
    already (its plan's), not asked of podman again."""
    wanted = {s.image: s.name for s in specs if s.image}
    ids = {i: known[i] for i in wanted if known and i in known}
    if len(ids) < len(wanted):
        ids.update(local_ids(run, [i for i in wanted if i not in ids]))
    missing = [f"{image} (service {wanted[image]})" for image in wanted if image not in ids]
    if missing:
        raise ComposeRuntimeError(
            "image not present locally: " + ", ".join(missing),
            hint="build it with `inv images.build` (or `inv up --build`), or "
                 "`podman pull`/`podman load` it; no container was created")
    return ids


def check_ports(specs: Sequence[ServiceSpec],
                existing: Mapping[str, containers.ContainerState]) -> None:
    busy = []
    for spec in specs:
        state = existing.get(spec.container)
        if not spec.containers or (state is not None and state.running):
            continue  # scaled to zero: it publishes nothing
        for ip, port in host_ports(spec.ports):
            if not bindable(ip, port):
                busy.append(f"{ip or '0.0.0.0'}:{port} (service {spec.name})")
    if busy:
        raise ComposeRuntimeError("host port already in use: " + ", ".join(busy),
                                  hint="stop whatever listens there, or change the "
                                       "port in envs/<env>.env; nothing was started")


def host_ports(ports: Sequence[object]) -> list[tuple[str, int]]:
    """(host ip, port) of every published TCP port, ranges expanded."""
    out = []
    for port in ports:
        ip, _target, published, proto = port_key(port)
        if proto != "tcp" or not published:
            continue
        bounds = port_range(published)
        if bounds is not None and 0 < bounds[0] <= bounds[1] <= 65535:
            out += [(ip, p) for p in range(bounds[0], bounds[1] + 1)]
    return out


def bindable(ip: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip or "0.0.0.0", port))
        except OSError:
            return False
    return True
