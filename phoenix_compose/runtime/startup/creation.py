"""Creating a start's containers: level by level, or in two ``podman-compose`` calls when
its start-up would cost more than a level's wait (:func:`batches`), in a background thread
(:class:`Creator`) while earlier levels become healthy."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import zip_longest

from phoenix_compose.runtime import argv, containers
from phoenix_compose.runtime.stack import Stack


def levels(stack: Stack, names: Sequence[str]) -> list[list[str]]:
    """Services grouped by dependency depth (``names`` are in dependency order)."""
    depth: dict[str, int] = {}
    for name in names:
        deps = [d for d in stack.services[name].depends_on if d in names]
        depth[name] = 1 + max((depth[d] for d in deps), default=-1)
    return [[n for n in names if depth[n] == level]
            for level in range(max(depth.values(), default=-1) + 1)]


WALKS_FOR_ONE_CALL = 10_000  # podman-compose start-up: about 50 us a walk (6.5 s at 123k)


def batches(stack: Stack, levels: list[list[str]]) -> list[list[str]]:
    """The creation calls.  Each ``podman-compose`` call pays its start-up, whose
    ``rec_deps`` walks every dependency path of every service in the file: 0.85 s for
    bench/up.py's 12 services (96 walks), 6.5 s for its 50 in 5 levels of 10, each needing
    the whole level below (about 123,000).  A graph that cheap is created level by level
    (each level starts as soon as it exists); a costlier one in two calls: the first level
    alone, then every other one, made while the first becomes healthy.  podman-compose
    creates a call's services in dependency order (a dependent has more recursive
    dependencies than what it needs)."""
    if len(levels) < 3 or dependency_walks(stack) <= WALKS_FOR_ONE_CALL:
        return levels
    return [levels[0], [n for level in levels[1:] for n in level]]


def dependency_walks(stack: Stack) -> int:
    """How many steps podman-compose's ``rec_deps`` takes over the whole file: a service
    walks each of its dependencies, and everything that one walks, again for every path."""
    walks: dict[str, int] = {}
    for name in stack.order():  # dependencies first (the config is acyclic)
        walks[name] = sum(1 + walks.get(d, 0) for d in stack.services[name].depends_on
                          if d in stack.services)
    return sum(walks.values())


def start_lines(stack: Stack, names: Sequence[str], profiles: Sequence[str]
                ) -> list[argv.Argv]:
    """The creation calls (:func:`batches`) and the per-level starts of ``names``, in the
    order a start runs them (``inv plan``, ``up --dry-run``, ``restart --dry-run``)."""
    waves, out = levels(stack, names), []
    for level, batch in zip_longest(waves, batches(stack, waves)):
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
            for batch in batches(self.stack, self.levels):
                if self.abort.is_set():
                    return  # the start failed: create nothing more
                self.run(argv.create(self.stack.compose_file, self.stack.project, batch,
                                     self.profiles), timeout=600)
                with self.lock:
                    self.created.update(batch)
        except BaseException as exc:  # reported by the main loop
            self.error = exc

    def done(self) -> set[str]:
        with self.lock:
            return set(self.created)
