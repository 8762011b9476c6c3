"""The edge in the Quadlet export (issue 26): a service whose replicas are instances of a
template unit (:mod:`.quadletrep`) cannot publish its host port once per instance, so the
edge owns it, as under ``inv up``: the host's HAProxy (Debian's package, the same binary
``up`` runs) as a plain systemd unit ``<project>-edge.service``, with its config
``<project>-edge.haproxy.cfg`` generated beside the units from the same model
(:mod:`phoenix_compose.edge.haproxycfg`).

- Instance ``i`` of such a service publishes each routed container port on
  ``127.0.0.1:<stem><i>`` (``PublishPort=127.0.0.1:3000%i:80``: systemd puts the instance
  number after the stem, the one per-instance value a template has), the stem ``3000 + k``
  for the stack's ``k``-th route: instance 1..9 of the first route on 30001..30009, of the
  second on 30011..30019.  More than 9 replicas do not fit a stem (warned: not routed).
- The edge's config lists every instance as a server, ready; HAProxy's retries and
  redispatch (the model's) send a request that finds an instance down to another.  There
  is no watcher setting servers' states here: a replica that is up but unhealthy still
  gets traffic.
- The unit is Debian's ``haproxy.service`` made ours: ``-Ws`` (master-worker, sd_notify),
  the config checked before start and reload, ``ExecReload`` by ``SIGUSR2``; its stats
  socket (the runtime API) in ``/run/<project>-edge/`` (``RuntimeDirectory=``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from phoenix_compose.config.edgeports import EDGE_MODE
from phoenix_compose.edge.haproxycfg import render as render_config
from phoenix_compose.edge.model import Backend, EdgeConfig, Frontend, Server
from phoenix_compose.integrations import quadletrep
from phoenix_compose.integrations.quadletctr import raw_value
from phoenix_compose.runtime.argv_edge import SBIN as HAPROXY  # Debian's, as `up` runs
from phoenix_compose.runtime.edgeplan import Route, routes
from phoenix_compose.runtime.stack import ServiceSpec, Stack

STEM = 3000  # instance i of route k listens on 127.0.0.1:<STEM + k><i>
MOST = 9  # instances per stem: one digit
CONFIG = "edge.haproxy.cfg"
UNIT = "edge.service"


@dataclass(frozen=True)
class EdgeRoute:
    route: Route
    stem: int  # the instances' loopback ports: <stem><i>

    def port(self, instance: int) -> int:
        return int(f"{self.stem}{instance}")


def edge_routes(stack: Stack, version: str, warnings: list[str] | None = None
                ) -> list[EdgeRoute]:
    """The routes the edge unit serves: the routed ports of the services written as
    template units, in the order of :func:`.edgeplan.routes`."""
    out: list[EdgeRoute] = []
    for route in routes(stack):
        spec = stack.services[route.service]
        if spec.profiles or not spec.image or not quadletrep.templated(spec, version):
            continue
        if quadletrep.replicas(spec) > MOST:
            if warnings is not None:
                warnings.append(f"{spec.name}: ports {route.published}:{route.target} not "
                                f"routed by the edge unit: {quadletrep.replicas(spec)} "
                                f"replicas, the export routes at most {MOST}")
            continue
        stems = {r.route.backend: r.stem for r in out}  # one container port: one stem
        out.append(EdgeRoute(route, stems.get(route.backend, STEM + len(set(stems.values())))))
    return out


def instance_ports(spec: ServiceSpec, found: list[EdgeRoute]) -> list[tuple[str, str]]:
    """The template's ``PublishPort=`` for the edge: each routed port on loopback."""
    return list(dict.fromkeys(("PublishPort", f"127.0.0.1:{r.stem}%i:{r.route.target}")
                              for r in found if r.route.service == spec.name))


Render = Callable[..., str]


def edge_files(stack: Stack, env: str, prefix: str, found: list[EdgeRoute],
               render_unit: Render, version: str) -> dict[str, str]:
    """``<prefix>edge.haproxy.cfg`` and ``<prefix>edge.service`` (none without a route);
    ``render_unit``: :func:`.quadlet.render` (every value checked for the unit format)."""
    if not found:
        return {}
    name = f"{prefix}edge"
    backends: dict[str, list[Server]] = {}
    modes = {r.route.backend: stack.services[r.route.service].raw.get(EDGE_MODE, "http")
             for r in found}  # tcp: a service that serves TLS itself, as under `inv up`
    for r in found:
        spec = stack.services[r.route.service]
        if r.route.backend in backends:
            continue  # a second host port of the same container port: the same servers
        backends.setdefault(r.route.backend, []).extend(
            Server(container, "127.0.0.1", r.port(i))
            for i, container in enumerate(spec.containers, 1))
    config = EdgeConfig(
        socket=f"/run/{name}/admin.sock",
        frontends=tuple(Frontend(r.route.frontend, r.route.published, r.route.backend,
                                 r.route.address) for r in found),
        backends=tuple(Backend(b, tuple(s), mode=modes[b]) for b, s in backends.items()))
    return {f"{prefix}{CONFIG}": render_config(config),
            f"{prefix}{UNIT}": unit_text(stack, env, prefix, found, render_unit, version)}


def unit_text(stack: Stack, env: str, prefix: str, found: list[EdgeRoute],
              render_unit: Render, version: str) -> str:
    """Debian's haproxy.service, on our config (``%E``: /etc, or ~/.config for a user)."""
    cfg = f"%E/containers/systemd/{prefix}{CONFIG}"
    services = sorted({r.route.service for r in found})
    wants = [unit for s in services
             for unit in quadletrep.units_of(stack, s, prefix, version)]
    ports = ", ".join(f"{r.route.address}:{r.route.published}" for r in found)
    description = f"{stack.project} ({env}): the edge (HAProxy) on {ports}"
    unit = [("Description", raw_value(description)),
            ("After", "network-online.target"), ("Wants", "network-online.target"),
            *[(k, u) for u in wants for k in ("Wants", "After")]]
    service = [("Type", "notify"), ("RuntimeDirectory", f"{prefix}edge"),
               ("ExecStartPre", f"{HAPROXY} -c -q -f {cfg}"),
               ("ExecStart", f"{HAPROXY} -Ws -f {cfg}"),
               ("ExecReload", f"{HAPROXY} -c -q -f {cfg}"),
               ("ExecReload", "/bin/kill -USR2 $MAINPID"),
               ("KillMode", "mixed"), ("Restart", "always"), ("RestartSec", "2s")]
    # render_unit is :func:`.quadlet.render`, passed in (quadlet imports this module)
    return render_unit([("Unit", unit), ("Service", service),
                        ("Install", [("WantedBy", "default.target")])], specifiers=True)
