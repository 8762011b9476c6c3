"""What a test needs from the host, by marker (``podman``, ``quadlet``, ``haproxy``,
``root``), and what becomes of it on a host without it.  A plain checkout (``pip install
-e .[test]``, no root, no podman) skips it, naming what is missing.  CI has everything
(``./dev test`` sets ``PHOENIX_REQUIRE=podman,quadlet,haproxy,root``): there a missing
one fails the test, so nothing is skipped silently.  ``PHOENIX_SKIP_PODMAN=1`` leaves the
podman tests out on purpose."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

Verdict = tuple[Literal["skip", "fail"], str]
# where the host's tools are: kept in every test's environment (the guard clears the rest of
# PHOENIX_*), so that a test sees the same quadlet its marker was checked against
HOST_TOOLS = ("PHOENIX_QUADLET", "PHOENIX_HAPROXY")


def _quadlet_missing() -> str | None:
    from phoenix_compose.integrations.quadletcheck import quadlet_binary

    if quadlet_binary() is None:
        return "no quadlet binary: ./dev setup fetches one (or set PHOENIX_QUADLET)"
    if shutil.which("systemd-analyze") is None:
        return "no systemd-analyze on PATH (the quadlet check runs it)"
    return None


def _haproxy_missing() -> str | None:
    from phoenix_compose.runtime.argv_edge import haproxy_binary

    return None if haproxy_binary() else \
        "no haproxy (PATH or /usr/sbin): ./dev setup installs it (or set PHOENIX_HAPROXY)"


# marker -> why this host lacks it (None: it has it)
NEEDS: dict[str, Callable[[], str | None]] = {
    "podman": lambda: None if shutil.which("podman") else
    "podman is not on PATH: ./dev setup installs it",
    "haproxy": _haproxy_missing,
    "quadlet": _quadlet_missing,
    "root": lambda: None if os.geteuid() == 0 else "needs root (CI runs as root)",
}


def required(env: Mapping[str, str]) -> frozenset[str]:
    """The needs named by ``PHOENIX_REQUIRE`` (comma-separated); a name we do not know is
    a ValueError, so a typo never turns a required need into a skip."""
    names = frozenset(n.strip() for n in env.get("PHOENIX_REQUIRE", "").split(",") if n.strip())
    if names - set(NEEDS):
        raise ValueError(f"PHOENIX_REQUIRE={env['PHOENIX_REQUIRE']}: the known needs are "
                         f"{', '.join(NEEDS)}")
    return names


def verdict(marks: Iterable[str], env: Mapping[str, str],
            missing: Callable[[str], str | None]) -> Verdict | None:
    """What becomes of a test with these marker names: None runs it."""
    marked, wanted = set(marks), required(env)
    for need in (n for n in NEEDS if n in marked):
        if need == "podman" and env.get("PHOENIX_SKIP_PODMAN") == "1":
            return "skip", "PHOENIX_SKIP_PODMAN=1"
        why = missing(need)
        if why is None:
            continue
        if need in wanted:
            return "fail", f"{why} (PHOENIX_REQUIRE names {need})"
        return "skip", why
    return None
