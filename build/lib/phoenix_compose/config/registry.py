"""The local registry's address (``PHOENIX_REGISTRY``): HOST:PORT on a loopback address.

It is written into the registry's YAML config and into the ``registries.conf`` that podman
reads for pulls, and it is the prefix of promoted images: so it is parsed, never trusted as
text.  The host is an IPv4 address in 127.0.0.0/8, ``localhost`` or ``[::1]``; the port is
1-65535, digits only.  Anything else (a typo, a line break, a quote) is a located error at
the env-file line that set it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

from phoenix_compose.config.environment import EnvironmentConfig, Variables
from phoenix_compose.errors import ConfigurationError, Loc, Problem

VARIABLE = "PHOENIX_REGISTRY"
DEFAULT_ADDRESS = "127.0.0.1:5000"
_SHAPE = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.]+):(?P<port>[0-9]{1,5})")
RULE = "HOST:PORT with a loopback HOST (127.x.y.z, localhost or [::1]) and a PORT of 1-65535"


@dataclass(frozen=True)
class Address:
    host: str  # 127.x.y.z, localhost, or [::1] (bracketed)
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_address(text: str) -> Address:
    """``text`` as a loopback HOST:PORT; ValueError (a message without the raw text's
    control characters) when it is anything else."""
    match = _SHAPE.fullmatch(text)
    if match is None:
        raise ValueError(f"{_shown(text)} is not {RULE}")
    host, port = match["host"], int(match["port"])
    if not 1 <= port <= 65535:
        raise ValueError(f"the port of {_shown(text)} is out of range (1-65535)")
    if host != "localhost" and not _loopback_ip(host):
        raise ValueError(f"the host of {_shown(text)} is not a loopback address (the local "
                         "registry listens on this machine only: 127.x.y.z, localhost or "
                         "[::1])")
    return Address(host, port)


def _loopback_ip(host: str) -> bool:
    try:
        if host.startswith("["):
            return ipaddress.IPv6Address(host[1:-1]).is_loopback
        return ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


def is_local(host: str) -> bool:
    """Is ``host`` (an image reference's registry part) a loopback HOST:PORT?"""
    try:
        parse_address(host)
    except ValueError:
        return False
    return True


def _shown(text: str) -> str:
    """The value for a message: quoted, control characters escaped, at most 80 chars."""
    shown = text if len(text) <= 80 else text[:77] + "..."
    return repr(shown)


def address_problem(variables: Variables, fallback: Loc) -> Problem | None:
    """The located problem of the env's ``PHOENIX_REGISTRY``, None when it is unset or
    valid.  ``fallback``: where to point when the process environment set it."""
    value = variables.lookup(VARIABLE)
    if value is None:
        return None
    try:
        parse_address(value)
    except ValueError as exc:
        origin = variables.origin(VARIABLE)
        where = "" if origin else " (set in the process environment)"
        return Problem(origin or fallback, f"{VARIABLE}{where}: {exc}",
                       hint=f"set {VARIABLE}={DEFAULT_ADDRESS} (or another port)")
    return None


def registry_address(variables: Variables, fallback: Loc) -> Address:
    """The env's registry address (default 127.0.0.1:5000), or a located error."""
    problem = address_problem(variables, fallback)
    if problem is not None:
        raise ConfigurationError([replace(problem, hint="")], hint=problem.hint)
    return parse_address(variables.lookup(VARIABLE) or DEFAULT_ADDRESS)


def env_address(cfg: EnvironmentConfig) -> Address:
    """``registry_address`` of an environment; a value from the process environment is
    reported at the env's own file."""
    return registry_address(cfg.variables, env_fallback(cfg))


def env_fallback(cfg: EnvironmentConfig) -> Loc:
    return Loc(cfg.stack.rel(cfg.env_files[-1]) if cfg.env_files else "envs", 1, 1)
