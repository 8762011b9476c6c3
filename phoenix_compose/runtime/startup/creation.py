"""Creating a start's containers: level by level, or in two ``podman-compose`` calls when
many services follow the first level (:func:`batches`), in a background thread
(:class:`Creator`) while earlier levels become healthy."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import zip_longest

from phoenix_compose.runtime import argv, containers, enginesubset
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.statedir import engine_file


def levels(stack: Stack, names: Sequence[str]) -> list[list[str]]:
    """Services grouped by dependency depth (``names`` are in dependency order)."""
    depth: dict[str, int] = {}
    for name in names:
        deps = [d for d in stack.services[name].depends_on if d in names]
        depth[name] = 1 + max((depth[d] for d in deps), default=-1)
    return [[n for n in names if depth[n] == level]
            for level in range(max(depth.values(), default=-1) + 1)]


LATER_FOR_TWO_CALLS = 20  # services after the first level: more, and they come in one call


def batches(levels: list[list[str]]) -> list[list[str]]:
    """The creation calls.  Each ``podman-compose`` call pays its start-up before its first
    ``podman create``: no longer a walk of every dependency path (it reads no
    ``depends_on``), but still about 1 ms for every string in the file, which it
    interpolates defining an Enum and three dataclasses each time (4-5 s for bench/up.py's
    50 services, 2,548 strings); a level starts only once its call is done.  Few services:
    one call per level (each starts as soon as it exists).  Many: the first level alone,
    then all the others in one call made while the first becomes healthy (bench figures in
    docs/benchmarks.md).  podman-compose creates a call's services in file order: no
    dependency is needed, as nothing is started."""
    if len(levels) < 3 or sum(map(len, levels[1:])) <= LATER_FOR_TWO_CALLS:
        return levels
    return [levels[0], [n for level in levels[1:] for n in level]]


def start_lines(stack: Stack, names: Sequence[str], profiles: Sequence[str]
                ) -> list[argv.Argv]:
    """The creation calls (:func:`batches`) and the per-level starts of ``names``, in the
    order a start runs them (``inv plan``, ``up --dry-run``, ``restart --dry-run``)."""
    waves, out = levels(stack, names), []
    for level, batch in zip_longest(waves, batches(waves)):
        if batch:
            out.append(argv.create(stack.compose_file, stack.project, batch, profiles))
        out.append(argv.start(*[c for n in level for c in stack.services[n].containers]))
    return out


@dataclass
class Creator:
    """Creates the containers in :func:`batches` (``podman-compose up --no-start``)."""

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
            for batch in batches(self.levels):
                if self.abort.is_set():
                    return  # the start failed: create nothing more
                engine_copy = enginesubset.subset_file(engine_file(self.stack.compose_file),
                                                       batch)
                with engine_copy as engine:
                    self.run(argv.create(self.stack.compose_file, self.stack.project, batch,
                                         self.profiles, engine=engine), timeout=600)
                with self.lock:
                    self.created.update(batch)
        except BaseException as exc:  # reported by the main loop
            self.error = exc

    def done(self) -> set[str]:
        with self.lock:
            return set(self.created)
