"""From the stack to the edge's config (issue 26, item 2): pure.

Every service the edge fronts (:attr:`.stack.ServiceSpec.edged`: several replicas, or
``update_config.order: start-first``) has its published TCP ports in
``x-phoenix-edge-ports`` of the final file (:mod:`..config.edgeports`), as the user wrote
them.  Each is a :class:`Route`: a frontend on the written address (none written: 0.0.0.0,
docker's default, which is the user's choice) and host port, and a backend of the
service's replicas on that container port.  The replicas publish the container port on
an ephemeral 127.0.0.1 port: the server's address is read back with ``podman port``
(:func:`parse_port`), so the servers are given, not planned.  A port written without a
host port, or as a range, is not routed (there is no single port for the edge to own).
A backend proxies HTTP unless the service says ``x-phoenix-edge-mode: tcp``: a service
that serves HTTPS itself (phoenix-core in prod) is passed through as TCP, its TLS
untouched (an HTTP-mode backend would speak plain HTTP to a TLS port and fail every
request); TCP mode still retries a refused connection on another replica."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from phoenix_compose.config.edgeports import EDGE_MODE, EDGE_PORTS
from phoenix_compose.config.merge import port_key
from phoenix_compose.edge.model import Backend, EdgeConfig, Frontend, Server, State
from phoenix_compose.runtime.stack import Stack

ANY = "0.0.0.0"


@dataclass(frozen=True)
class Route:
    service: str
    target: int  # the container port
    published: int  # the host port the edge owns
    address: str = ANY
    nth: int = 1  # the same host port of the service on another address (IPv4 and IPv6)

    @property
    def backend(self) -> str:
        return f"{self.service}.{self.target}"

    @property
    def frontend(self) -> str:
        return frontend_name(self.service, self.published, self.nth)


def frontend_name(service: str, published: int | str, nth: int = 1) -> str:
    """``in.<service>.<published>``; the same host port on a further address: ``.<nth>``."""
    return f"in.{service}.{published}" + (f".{nth}" if nth > 1 else "")


def routes(stack: Stack) -> list[Route]:
    """The edge's routes, by service in dependency order."""
    out: list[Route] = []
    for name in stack.order():
        spec = stack.services[name]
        if not spec.edged:
            continue
        for port in spec.raw.get(EDGE_PORTS) or ():
            ip, target, published, _proto = port_key(port)
            if published.isdigit() and target.isdigit():
                nth = 1 + sum(r.service == name and r.published == int(published) for r in out)
                out.append(Route(name, int(target), int(published), ip or ANY, nth))
    return out


def edge_config(stack: Stack, socket: str,
                servers: Mapping[str, tuple[Server, ...]] | None = None) -> EdgeConfig:
    """The edge for ``stack``: a frontend per route, a backend per (service, container
    port) with ``servers`` (backend name -> its servers; none: empty, servers are added
    through the runtime API once healthy)."""
    servers = servers or {}
    found = routes(stack)
    backends = {r.backend: Backend(r.backend, tuple(servers.get(r.backend, ())),
                                   mode=stack.services[r.service].raw.get(EDGE_MODE, "http"))
                for r in found}
    return EdgeConfig(socket=socket,
                      frontends=tuple(Frontend(r.frontend, r.published, r.backend, r.address)
                                      for r in found),
                      backends=tuple(backends.values()))


def parse_port(text: str) -> tuple[str, int] | None:
    """``podman port CONTAINER 80/tcp``'s answer (``127.0.0.1:43567``, one per line):
    the first loopback binding, else the first one; None when nothing is published."""
    found = []
    for line in text.splitlines():
        host, _, port = line.strip().rpartition(":")
        if port.isdigit() and host:
            found.append((host.strip("[]"), int(port)))
    loopback = [f for f in found if f[0] == "127.0.0.1"]
    best = loopback or found
    return best[0] if best else None


def server(container: str, address: str, port: int, ready: bool = False) -> Server:
    """A replica's server, named after its container (maintenance until it is healthy)."""
    return Server(container, "127.0.0.1" if address in (ANY, "") else address, port,
                  state=State.READY if ready else State.MAINT)
