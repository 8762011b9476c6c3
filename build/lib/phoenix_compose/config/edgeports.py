"""The final file's form of a service behind the edge (issue 26), written for podman-compose:

- ``scale: N`` for ``deploy.replicas: N`` (podman-compose 1.6 counts ``deploy.replicas``
  only under ``deploy.mode: replicated``, and then runs one container without a word);
- for a service the edge fronts (several replicas, or ``update_config.order:
  start-first``), each TCP port it publishes moves to ``x-phoenix-edge-ports`` as written
  (the edge listens there), and the replicas publish the container port on 127.0.0.1 with
  an ephemeral host port (``127.0.0.1::TARGET``): HAProxy on the host reaches them, rootful
  and rootless, and no two replicas want the same host port.  A UDP port stays as written
  (the edge is HTTP/TCP), and so does a port without a host port or with a range (no one
  port for the edge to own: moved to loopback, it was reachable from nowhere)."""

from __future__ import annotations

from typing import Any

from phoenix_compose.shapes import as_dict

EDGE_PORTS = "x-phoenix-edge-ports"
# how the edge proxies a service: http (the default: retries of idempotent requests on
# another replica) or tcp (bytes through, for a service that terminates TLS itself)
EDGE_MODE = "x-phoenix-edge-mode"
EDGE_MODES = ("http", "tcp")
LOOPBACK = "127.0.0.1"


def replicas_of(svc: dict[str, Any]) -> int:
    """``scale``, else ``deploy.replicas``, else 1 (validation refuses a disagreement)."""
    for value in (svc.get("scale"), as_dict(svc.get("deploy")).get("replicas")):
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 0)
    return 1


def edged(svc: dict[str, Any]) -> bool:
    """The edge owns its published ports: several replicas, or start-first updates."""
    update = as_dict(as_dict(svc.get("deploy")).get("update_config"))
    return replicas_of(svc) > 1 or update.get("order") == "start-first"


def for_edge(model: dict[str, Any]) -> None:
    """Rewrite the services of the final model in place (see the module's text)."""
    for svc in as_dict(model.get("services")).values():
        if not isinstance(svc, dict):
            continue
        count = replicas_of(svc)
        if count != 1 and "scale" not in svc:  # 0 too: podman-compose then makes none
            svc["scale"] = count
        if edged(svc) and svc.get("ports") and EDGE_PORTS not in svc:
            ports = list(svc["ports"])
            svc[EDGE_PORTS] = [p for p in ports if routed(p)]
            svc["ports"] = [loopback(p) if routed(p) else p for p in ports]
            if not svc[EDGE_PORTS]:
                del svc[EDGE_PORTS]


def user_ports(svc: dict[str, Any]) -> list[Any]:
    """The ports the user wrote, before :func:`for_edge` (what the exports publish)."""
    ports = list(svc.get("ports") or [])
    moved = list(svc.get(EDGE_PORTS) or [])
    out = []
    for port in ports:  # each loopback rewrite back to the port it replaced, in place
        out.append(moved.pop(0) if moved and port == loopback(moved[0]) else port)
    return out + moved


def routed(port: Any) -> bool:
    """A TCP port with one host port and one container port: the edge can own it (a port
    without a host port, or a range, stays as written: there is no one port to own)."""
    from phoenix_compose.config.merge import port_key  # merge loads the YAML parser

    _ip, target, published, proto = port_key(port)
    return proto == "tcp" and target.isdigit() and published.isdigit()


def loopback(port: Any) -> str:
    """``127.0.0.1::TARGET``: the container port on an ephemeral loopback host port."""
    from phoenix_compose.config.merge import port_key

    return f"{LOOPBACK}::{port_key(port)[1]}"
