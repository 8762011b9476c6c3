"""The watch tests' fixture: a stack started on real podman, then watched in a thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_compose.runtime.lifecycle import ComposeManager

from support.watching import Watcher


@pytest.fixture
def up(podman_project):
    """``up(root, **watch_kwargs)``: start the stack, watch it, wait for a healthy report."""
    watchers: list[Watcher] = []

    def start(root: Path, **kwargs) -> Watcher:
        ComposeManager(root, "t").start_services(timeout=60)
        watcher = Watcher(root, **kwargs)
        watchers.append(watcher)
        watcher.wait_for(lambda e: e["type"] == "health_changed" and e["to"] == "healthy", 20)
        return watcher

    yield start
    for watcher in watchers:
        watcher.close()
