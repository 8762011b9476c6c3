"""Extension points that plugins register with (``phoenix_compose.plugin`` re-exports
them): jobs the health watch runs on a schedule, and hooks ``inv up`` calls before it
recreates a service that owns a named volume.  Standard library only, so the watcher and
the runtime can call them without importing any plugin.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Emit = Callable[..., Any]  # emit(type, service, **fields): an event on the watcher's bus


@dataclass(frozen=True)
class WatchJob:
    """``due_in(root, env)``: seconds until the job is due (<= 0: now; None: never, for
    this env); ``run(root, env, emit)``: do it (an exception is reported, never fatal)."""

    name: str
    due_in: Callable[[Path, str], float | None]
    run: Callable[[Path, str, Emit], None]


PreDeploy = Callable[[Path, str, Sequence[str]], dict[str, Any]]
"""``before(root, env, services)``: called before ``inv up`` recreates ``services`` (each
owns a named volume) in a production env; what it returns is recorded in the release.  A
hook acts only on services whose own configuration asks for it (an ``x-*`` key): on a stack
without one it does nothing and returns an empty dict, which is neither recorded nor
reported."""

WATCH_JOBS: dict[str, WatchJob] = {}
STOPPING = threading.Event()
"""Set when the health watch stops: a long job should give up soon (raise); the watch
waits a while for it, so its ``finally`` still removes what it made."""
PRE_DEPLOY: dict[str, PreDeploy] = {}


def watch_job(job: WatchJob) -> WatchJob:
    WATCH_JOBS[job.name] = job
    return job


def pre_deploy(name: str, hook: PreDeploy) -> PreDeploy:
    PRE_DEPLOY[name] = hook
    return hook
