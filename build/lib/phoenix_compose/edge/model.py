"""The edge's typed model: frontends (one per published port), backends (one per service)
and their servers.  Every value is checked here, once, so that the config text
(:mod:`.haproxycfg`) and the runtime API commands (:mod:`.api`) only splice values that
cannot change the meaning of a line: names from a safe charset, addresses that parse as IP
literals, ports and weights in range, paths without quotes or control characters."""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass, field

from phoenix_compose.config.edgenames import NAME, NAME_RULE
from phoenix_compose.errors import ConfigurationError

MAX_WEIGHT = 256  # HAProxy's server weight range is 0..256
# sun_path is 108 bytes with its NUL, but HAProxy binds ``<path>.<pid>.tmp`` first and
# renames it: 2.6.12 refuses a longer one, "socket path ... too long (max 97)"
SOCKET_PATH_MAX = 97


class Mode(str, enum.Enum):
    HTTP = "http"
    TCP = "tcp"


class State(str, enum.Enum):
    """A server's administrative state, as ``set server ... state`` names it."""

    READY = "ready"
    DRAIN = "drain"
    MAINT = "maint"


def _refuse(what: str, value: object, rule: str) -> ConfigurationError:
    return ConfigurationError(f"error: edge: {what} {value!r} is refused: {rule}",
                              hint="the edge's names come from the service and replica names")


def check_name(what: str, name: str) -> str:
    if not isinstance(name, str) or NAME.fullmatch(name) is None:
        raise _refuse(what, name, NAME_RULE)
    return name


def check_address(what: str, address: str) -> str:
    """An IPv4 or IPv6 literal (a dynamic server is never resolved: HAProxy 2.6 makes it
    with ``init-addr none``), returned in its canonical form.  No IPv6 scope (``%eth0``):
    Python takes any text after the ``%``, spaces, ``;`` and newlines included, which would
    end a config line or a runtime API command."""
    try:
        if "%" in str(address):
            raise ValueError(address)
        return str(ipaddress.ip_address(address))
    except ValueError:
        raise _refuse(what, address, "an IPv4 or IPv6 address (no host name, no scope)") \
            from None


def check_port(what: str, port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise _refuse(what, port, "a port from 1 to 65535")
    return port


def check_weight(weight: int) -> int:
    if isinstance(weight, bool) or not isinstance(weight, int) or \
            not 0 <= weight <= MAX_WEIGHT:
        raise _refuse("the weight", weight, f"an integer from 0 to {MAX_WEIGHT}")
    return weight


def check_path(what: str, path: str) -> str:
    """An absolute path written between single quotes in the config: no quote, no control
    character (single quotes in HAProxy 2.6 expand nothing and escape nothing)."""
    if not path.startswith("/") or re.search(r"['\"\\\x00-\x1f\x7f]", path):
        raise _refuse(what, path, "an absolute path without quotes, backslashes or "
                                  "control characters")
    return path


@dataclass(frozen=True)
class Server:
    name: str
    address: str
    port: int
    weight: int = 100
    state: State = State.READY

    def __post_init__(self) -> None:
        check_name("the server name", self.name)
        object.__setattr__(self, "address", check_address("the server address",
                                                          self.address))
        check_port("the server port", self.port)
        check_weight(self.weight)
        object.__setattr__(self, "state", State(self.state))
        if self.state is State.DRAIN:
            raise _refuse("the starting state", "drain", "a server starts ready or maint; "
                          "drain is a change made through the runtime API")


@dataclass(frozen=True)
class Timeouts:
    """Milliseconds.  ``connect`` also bounds the pause before a retry on the same server
    (HAProxy waits min(timeout connect, 1 s)).  Every server is a local replica, so a
    connect that takes long is to one that just died (its published port still forwards
    to a network namespace going away: the SYN is dropped); 500 ms, then the retry goes
    to another replica.  2 s made every request caught by a kill wait 2 s (the bench's
    p99 during a kill -9 was 344x the steady one)."""

    connect: int = 500
    client: int = 30000
    server: int = 30000
    queue: int = 5000
    http_request: int = 10000

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or \
                    not 1 <= value <= 24 * 3600 * 1000:
                raise _refuse(f"timeout {name}", value, "milliseconds, from 1 to a day")


@dataclass(frozen=True)
class Backend:
    name: str  # the service
    servers: tuple[Server, ...] = ()
    mode: Mode = Mode.HTTP
    retries: int = 3

    def __post_init__(self) -> None:
        check_name("the backend name", self.name)
        object.__setattr__(self, "mode", Mode(self.mode))
        object.__setattr__(self, "servers", tuple(self.servers))
        names = [s.name for s in self.servers]
        if len(set(names)) != len(names):
            raise _refuse("the servers of backend", self.name, "each server name once")
        if isinstance(self.retries, bool) or not 0 <= self.retries <= 10:
            raise _refuse("retries", self.retries, "an integer from 0 to 10")


@dataclass(frozen=True)
class Frontend:
    """One published port: ``address:port`` routed to ``backend``."""

    name: str
    port: int
    backend: str
    address: str = "127.0.0.1"

    def __post_init__(self) -> None:
        check_name("the frontend name", self.name)
        check_port("the published port", self.port)
        check_name("the frontend's backend", self.backend)
        object.__setattr__(self, "address", check_address("the published address",
                                                          self.address))


@dataclass(frozen=True)
class EdgeConfig:
    socket: str  # the stats socket (the runtime API), in the env's state dir
    frontends: tuple[Frontend, ...] = ()
    backends: tuple[Backend, ...] = ()
    timeouts: Timeouts = field(default_factory=Timeouts)

    def __post_init__(self) -> None:
        check_path("the stats socket path", self.socket)
        if len(self.socket.encode()) > SOCKET_PATH_MAX:
            raise _refuse("the stats socket path", self.socket,
                          f"at most {SOCKET_PATH_MAX} bytes (HAProxy's limit for a UNIX "
                          "socket): move the stack to a shorter path")
        object.__setattr__(self, "frontends", tuple(self.frontends))
        object.__setattr__(self, "backends", tuple(self.backends))
        self._check_names()

    def _check_names(self) -> None:
        backends = {b.name: b for b in self.backends}
        if len(backends) != len(self.backends):
            raise _refuse("the backends", [b.name for b in self.backends], "each name once")
        names = [f.name for f in self.frontends]
        if len(set(names)) != len(names) or set(names) & set(backends):
            raise _refuse("the frontends", names, "each name once, none a backend's name")
        binds = [(f.address, f.port) for f in self.frontends]
        if len(set(binds)) != len(binds):
            raise _refuse("the published ports", binds, "each address and port once")
        for front in self.frontends:
            if front.backend not in backends:
                raise _refuse("the frontend's backend", front.backend, "a backend of the edge")

    def backend(self, name: str) -> Backend:
        return next(b for b in self.backends if b.name == name)

    def mode_of(self, front: Frontend) -> Mode:
        return self.backend(front.backend).mode
