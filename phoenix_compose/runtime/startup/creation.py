"""Creating a start's containers: one ``podman-compose`` call per dependency level, in a
background thread (:class:`Creator`) while earlier levels become healthy.

Each call pays podman-compose's start-up before its first ``podman create``, which grows
with the file it reads: 1.6 interpolates every string of it, defining an Enum and three
dataclasses each time (about 45 ms a service here).  So each call reads a copy with its
level's services alone (:mod:`..enginesubset`): a level starts as soon as its own call is
done.  (Session 12 measured the alternative, the first level alone and then every other
level in one call, at 50 services in 5 levels: 27.2 s and 26.7 s to all healthy, against
23.3 s and 22.9 s level by level: docs/benchmarks.md.)"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from phoenix_compose.runtime import argv, containers, enginesubset
from phoenix_compose.runtime.stack import Stack


def levels(stack: Stack, names: Sequence[str]) -> list[list[str]]:
    """Services grouped by dependency depth (``names`` are in dependency order)."""
    depth: dict[str, int] = {}
    for name in names:
        deps = [d for d in stack.services[name].depends_on if d in names]
        depth[name] = 1 + max((depth[d] for d in deps), default=-1)
    return [[n for n in names if depth[n] == level]
            for level in range(max(depth.values(), default=-1) + 1)]


STARTERS, SPLIT_FROM = 2, 4  # podman start calls at once, from this many containers


def start_parts(chosen: Sequence[str]) -> list[list[str]]:
    """The containers of each ``podman start`` call that starts ``chosen``: podman starts
    those of one call in turn, so many are split in :data:`STARTERS` calls run at once
    (10 containers: 0.95 s in one call, 0.69 s in two, here).  None for no container (a
    level of services scaled to zero): the start loop runs no ``podman start --``."""
    if not chosen:
        return []
    if len(chosen) < SPLIT_FROM:
        return [list(chosen)]
    return [list(chosen[i::STARTERS]) for i in range(STARTERS)]


def start_lines(stack: Stack, names: Sequence[str], profiles: Sequence[str]
                ) -> list[argv.Argv]:
    """The creation call and the start of each level of ``names``, in the
    order a start runs them (``inv plan``, ``up --dry-run``, ``restart --dry-run``)."""
    out = []
    for level in levels(stack, names):
        out.append(argv.create(stack.compose_file, stack.project, level, profiles))
        out += [argv.start(*part) for part in
                start_parts([c for n in level for c in stack.services[n].containers])]
    return out


@dataclass
class Creator:
    """Creates the containers level by level (``podman-compose up --no-start``)."""

    stack: Stack
    levels: list[list[str]]
    run: containers.Runner
    profiles: tuple[str, ...]
    stale: list[str] = field(default_factory=list)
    created: set[str] = field(default_factory=set)
    error: BaseException | None = None
    abort: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> None:
        try:
            if self.stale:
                self.run(argv.remove(*self.stale), timeout=120)
            for batch in self.levels:
                if self.abort.is_set():
                    return  # the start failed: create nothing more
                with enginesubset.subset_file(self.stack.compose_file, batch) as engine:
                    self.run(argv.create(self.stack.compose_file, self.stack.project, batch,
                                         self.profiles, engine=engine), timeout=600)
                with self.lock:
                    self.created.update(batch)
        except BaseException as exc:  # reported by the main loop
            self.error = exc

    def done(self) -> set[str]:
        with self.lock:
            return set(self.created)
