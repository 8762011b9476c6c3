"""The edge's command lines (HAProxy 2.6, Debian's package), as data.  Debian installs it
in /usr/sbin, which a user's PATH may leave out: ``PHOENIX_HAPROXY``, then PATH, then
/usr/sbin/haproxy."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

Argv = tuple[str, ...]
SBIN = "/usr/sbin/haproxy"


def haproxy_binary() -> str | None:
    named = os.environ.get("PHOENIX_HAPROXY")
    if named:
        return named if Path(named).is_file() else None
    return shutil.which("haproxy") or (SBIN if Path(SBIN).is_file() else None)


def _haproxy() -> str:
    return haproxy_binary() or "haproxy"  # a missing one fails in commands.run, named


def haproxy_check(config: str) -> Argv:
    """Check the config and exit (0 valid, else its errors on stdout/stderr)."""
    return (_haproxy(), "-c", "-f", config)


def haproxy_serve(config: str) -> Argv:
    """Master-worker, in the foreground (``-db``: never daemonize): the pid we start is the
    master's, and its workers die with it."""
    return (_haproxy(), "-W", "-db", "-f", config)


def haproxy_version() -> Argv:
    return (_haproxy(), "-v")
