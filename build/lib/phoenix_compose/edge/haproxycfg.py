"""The HAProxy 2.6 config of an edge, as text, from the checked model (:mod:`.model`).

No health check of HAProxy's own: a server is ready, drained or in maintenance because
phoenix's checks say so, through the runtime API.  A failed connection, or a server that
closed it before answering (``empty-response``) or did not answer in time, is retried,
every retry on another server (``option redispatch 1``); in HTTP mode only for the
idempotent methods (``disable-l7-retry`` for the others: a POST that reached a server is
never replayed; a connection that failed before the request was sent is retried for any
method, as HAProxy always does).  Servers are added and removed at runtime (``add
server``/``del server``), which needs a dynamic balancing algorithm: ``roundrobin``."""

from __future__ import annotations

from phoenix_compose.edge.model import Backend, EdgeConfig, Frontend, Mode, Server, State

IDEMPOTENT = "METH_GET METH_HEAD METH_OPTIONS"  # HAProxy's predefined ACLs
RETRY_ON = "conn-failure empty-response response-timeout"
HEADER = "# Written by phoenix-compose (the edge): do not edit; it is generated.\n"


def address(host: str, port: int) -> str:
    """``ipv4@A:P`` or ``ipv6@A:P``: the family is explicit, so no IPv6 literal is read
    as a host name and a port."""
    return f"{'ipv6' if ':' in host else 'ipv4'}@{host}:{port}"


def server_line(server: Server) -> str:
    """The keywords ``add server`` accepts as well (``weight``, ``disabled``)."""
    line = f"server {server.name} {address(server.address, server.port)} " \
           f"weight {server.weight}"
    return line + (" disabled" if server.state is State.MAINT else "")


def _global(config: EdgeConfig) -> list[str]:
    return ["global",
            f"    stats socket '{config.socket}' mode 600 level admin",
            "    stats timeout 30s",
            "    hard-stop-after 30s",  # a soft stop never waits longer than that
            ""]


def _defaults(config: EdgeConfig) -> list[str]:
    t = config.timeouts
    return ["defaults",
            f"    timeout connect {t.connect}ms",
            f"    timeout client {t.client}ms",
            f"    timeout server {t.server}ms",
            f"    timeout queue {t.queue}ms",
            f"    timeout http-request {t.http_request}ms",
            ""]


def _frontend(front: Frontend, mode: Mode) -> list[str]:
    # a reload soft-stops the old worker: without this it closes its idle keep-alive
    # client connections at once, and a client that sends on one then (Python's
    # http.client does not retry) gets no response; with it, the next request is answered
    # with "Connection: close" (configuration.txt, "option idle-close-on-response")
    keep = ["    option idle-close-on-response"] if mode is Mode.HTTP else []
    return [f"frontend {front.name}",
            f"    mode {mode.value}",
            *keep,
            f"    bind {address(front.address, front.port)}",
            f"    default_backend {front.backend}",
            ""]


def _backend(backend: Backend) -> list[str]:
    lines = [f"backend {backend.name}",
             f"    mode {backend.mode.value}",
             "    balance roundrobin",
             f"    retries {backend.retries}",
             "    option redispatch 1"]
    if backend.mode is Mode.HTTP:
        lines += [f"    retry-on {RETRY_ON}",
                  f"    http-request disable-l7-retry unless {IDEMPOTENT.replace(' ', ' || ')}",
                  "    http-reuse safe"]
    return lines + [f"    {server_line(s)}" for s in backend.servers] + [""]


def render(config: EdgeConfig) -> str:
    lines = [*_global(config), *_defaults(config)]
    for front in config.frontends:
        lines += _frontend(front, config.mode_of(front))
    for backend in config.backends:
        lines += _backend(backend)
    return HEADER + "\n".join(lines)
