"""The watch tests' fixture: a stack started on real podman, then watched in a thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_compose.runtime.lifecycle import ComposeManager

from support.watching import Ticks, Watcher, count_ticks


@pytest.fixture
def ticks(monkeypatch) -> Ticks:
    """Counts every HealthMonitor's finished ticks (the watcher decides once per tick)."""
    return count_ticks(monkeypatch)


@pytest.fixture
def up(podman_project, ticks):
    """``up(root, **watch_kwargs)``: start the stack, watch it, wait for a healthy report."""
    watchers: list[Watcher] = []

    def start(root: Path, **kwargs) -> Watcher:
        ComposeManager(root, "t").start_services(timeout=60)
        watcher = Watcher(root, ticks=ticks, **kwargs)
        watchers.append(watcher)
        watcher.wait_for(lambda e: e["type"] == "health_changed" and e["to"] == "healthy", 20)
        return watcher

    yield start
    for watcher in watchers:
        watcher.close()
