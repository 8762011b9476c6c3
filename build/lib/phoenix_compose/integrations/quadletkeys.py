"""What each podman release's Quadlet accepts, as data (``quadlet_keys.json``, read from
podman's own source by ``tools/quadlet_keys.py``), and the check of unit files against
it: every key of ``[Container]``, ``[Volume]`` and ``[Network]`` must exist in the
targeted version, and ``Notify=healthy`` needs podman 5.0."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

DATA = Path(__file__).with_name("quadlet_keys.json")
DEFAULT_VERSION = "5.4"  # Debian trixie's podman, whose quadlet checks our units here
VALUE_SINCE = {("Container", "Notify", "healthy"): (5, 0)}
_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)\s*=(.*)$")


@functools.cache
def table() -> dict[tuple[int, int], dict[str, frozenset[str]]]:
    data = json.loads(DATA.read_text(encoding="utf-8"))["versions"]
    return {parse(v): {g: frozenset(k) for g, k in groups.items()}
            for v, groups in data.items()}


def parse(version: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.\d+)?\s*", str(version))
    if not match:
        raise ValueError(f"not a podman version: {version!r} (say 5.4 or 4.9.3)")
    return int(match.group(1)), int(match.group(2))


def keys_for(version: str) -> dict[str, frozenset[str]]:
    """The keys of the newest release at or below ``version``; ValueError below 4.4."""
    wanted = parse(version)
    known = [v for v in sorted(table()) if v <= wanted]
    if not known:
        oldest = ".".join(map(str, min(table())))
        raise ValueError(f"podman {version} has no Quadlet (it came with {oldest})")
    return table()[known[-1]]


def has(version: str, group: str, key: str) -> bool:
    return key in keys_for(version).get(group, frozenset())


def entries(text: str) -> Iterator[tuple[int, str, str, str]]:
    """(line, group, key, value) of a unit file, continuation lines joined."""
    group, pending = "", ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = pending + raw
        if raw.rstrip().endswith("\\"):
            pending, start = line.rstrip()[:-1] + " ", start or number
            continue
        first, pending, start = start or number, "", 0
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            group = stripped[1:-1]
            continue
        match = _LINE.match(line)
        if match:
            yield first, group, match.group(1), match.group(2).strip()


def problems(units: Mapping[str, str], version: str) -> list[str]:
    """``FILE:LINE:1: error: ...`` for every key the targeted podman lacks."""
    accepted = keys_for(version)
    wanted = parse(version)
    out = []
    for file, text in sorted(units.items()):
        for line, group, key, value in entries(text):
            if group not in accepted:
                continue
            if key not in accepted[group]:
                out.append(f"{file}:{line}:1: error: [{group}] {key}= is not a Quadlet key of "
                           f"podman {version} (podman-systemd.unit(5))")
            since = VALUE_SINCE.get((group, key, value.lower()))
            if since and wanted < since:
                out.append(f"{file}:{line}:1: error: {key}={value} needs podman "
                           f"{'.'.join(map(str, since))} or later (target: {version})")
    return out
