"""A podman-compose call that names its services reads a file of those services alone.

podman-compose parses and interpolates every service of the file it reads before it does
anything: its ``var_interpolate`` (1.6) defines an Enum and three dataclasses for every
string of the file, about 45 ms of CPU a service here, so a call on bench/up.py's 12
services took 1.0 s where one on a single service takes 0.47 s.  A call that creates named
services (:func:`subset_file`: a start's levels, a start-first update's new replicas)
reads a copy of the engine file
(:mod:`phoenix_compose.config.enginefile`) with only those services and the ones they name
(``network_mode``/``ipc``/``pid: service:X``, ``volumes_from``, ``links``, a build's
``additional_contexts`` ``service:X``), and those whose ``links`` name them (the alias
goes on the linked service): podman-compose needs those to resolve them.  Each
service's entry is the engine file's, so podman-compose's config-hash of it (a hash of
that entry alone) is the same in both, and it recreates nothing the other made; every
top-level section but ``services`` is kept whole.  Every other call reads the whole engine
file (``down``: its ``--remove-orphans`` removes the containers of services the file does
not name).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from phoenix_compose import fileio
from phoenix_compose.statedir import engine_file

PREFIX = ".podman-compose-"  # .phoenix/<env>/.podman-compose-<pid>-<random>.yaml
STALE_S = 600  # a copy this old was left by a killed call (a call reads it at its start)
_REFERENCE_KEYS = ("network_mode", "ipc", "pid")


def named(service: Mapping[str, Any]) -> set[str]:
    """The services one service's entry names (podman-compose 1.6 resolves
    ``network_mode``, ``links`` and build contexts; the others are kept for safety)."""
    out = {str(v)[len("service:"):] for k in _REFERENCE_KEYS
           if str(v := service.get(k) or "").startswith("service:")}
    for entry in service.get("volumes_from") or ():
        text = str(entry)
        if not text.startswith("container:"):
            out.add(text.split(":", 1)[0])
    out.update(str(link).split(":", 1)[0] for link in service.get("links") or ())
    build = service.get("build")
    contexts = build.get("additional_contexts") if isinstance(build, dict) else None
    values = contexts.values() if isinstance(contexts, dict) else \
        (str(c).split("=", 1)[-1] for c in contexts or ())
    out.update(str(v)[len("service:"):] for v in values if str(v).startswith("service:"))
    return out


def closure(services: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """``names``, every service they name, and every service whose ``links`` name one of
    those (podman-compose gives a link's alias to the linked service's network: the
    linking service must be in the file for the alias to be there), recursively, in the
    file's order."""
    entries = {n: e if isinstance(e, dict) else {} for n, e in services.items()}
    linked_by: dict[str, set[str]] = {}
    for name, entry in entries.items():
        for link in entry.get("links") or ():
            linked_by.setdefault(str(link).split(":", 1)[0], set()).add(name)
    wanted, todo = set(), [n for n in names if n in entries]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo += [n for n in named(entries[name]) | linked_by.get(name, set())
                     if n in entries]
    return [n for n in services if n in wanted]


def subset(model: Any, names: Iterable[str]) -> dict[str, Any] | None:
    """The engine file's ``model`` with only ``names`` and what they need; None when that
    is every service (the engine file itself serves)."""
    services = model.get("services") if isinstance(model, dict) else None
    if not isinstance(services, dict):
        return None
    keep = closure(services, names)
    if len(keep) == len(services):
        return None
    return {**model, "services": {n: services[n] for n in keep}}


@contextmanager
def subset_file(compose_file: Path, names: Iterable[str]) -> Iterator[Path]:
    """The file a call naming ``names`` gives podman-compose: a copy of the engine file of
    the final file ``compose_file`` with those services, beside it (podman-compose's
    working directory, and so its labels and relative paths, stay the same), of this call
    alone, removed after it; the engine file itself when the copy would hold every service
    or the engine file cannot be read (podman-compose then says why)."""
    import yaml

    from phoenix_compose.config.dump import dump_yaml

    whole = engine_file(compose_file)
    try:
        model = subset(fileio.read_yaml(whole), names)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        model = None
    if model is None:
        yield whole
        return
    _prune(whole.parent)
    path = whole.with_name(f"{PREFIX}{os.getpid()}-{secrets.token_hex(6)}.yaml")
    fileio.write_files({path: dump_yaml(model)})
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _prune(folder: Path) -> None:
    """Copies a killed call left (older than :data:`STALE_S`); never through a link."""
    now = time.time()
    for old in folder.glob(f"{PREFIX}*.yaml"):
        try:
            if not old.is_symlink() and now - old.lstat().st_mtime > STALE_S:
                old.unlink()
        except OSError:
            pass
