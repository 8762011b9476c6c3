"""The watch tests' fixture: a stack started on real podman, then watched in a thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.watch.monitor import HealthMonitor

from support.watching import Ticks, Watcher


@pytest.fixture
def ticks(monkeypatch) -> Ticks:
    """Counts every HealthMonitor's finished ticks (the watcher decides once per tick)."""
    counter = Ticks()
    original = HealthMonitor.tick

    def tick(self: HealthMonitor):
        try:
            return original(self)
        finally:
            counter.bump()

    monkeypatch.setattr(HealthMonitor, "tick", tick)
    return counter


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
