"""Podman 4.3 ignores a healthcheck's ``timeout:``: the start loop and the watcher hold a
check to it themselves, and a check that hangs is a failed check, named."""

from __future__ import annotations

import pytest

from phoenix_compose.errors import StartupError
from phoenix_compose.runtime.commands import run
from phoenix_compose.runtime.containers import CHECK_TIMED_OUT, run_check
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.runtime.startup import Clock
from phoenix_compose.watch.monitor import HealthMonitor

pytestmark = pytest.mark.podman

HANGING = """
services:
  slow:
    image: {image}
    command: ["sleep", "1d"]
    stop_grace_period: 1s
    healthcheck: {{test: ["CMD", "sleep", "30"], interval: 1s, timeout: 1s, retries: 1}}
"""


def test_a_hanging_check_fails_up_naming_the_service_and_the_timeout(
        make_stack, podman_project, busybox_image) -> None:
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": HANGING.format(image=busybox_image)})
    with pytest.raises(StartupError) as info:
        ComposeManager(root, "t", clock=Clock()).start_services(timeout=60)
    message = str(info.value)
    # failed by its hanging check (not by the 60 s start timeout), which the message names
    assert "service 'slow' failed: unhealthy" in message
    assert "health check timed out after 1 s" in message
    assert "left running: slow" in message


def test_the_watcher_sees_a_hanging_check_as_unhealthy(make_stack, podman_project,
                                                       busybox_image) -> None:
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": HANGING.format(image=busybox_image)})
    manager = ComposeManager(root, "t")
    manager.start_services(wait=False, timeout=60)
    container = manager.stack().services["slow"].container
    result = run_check(run, container, 1.0)
    assert result.code == CHECK_TIMED_OUT  # ended at its 1 s, not at the check's sleep 30
    monitor = HealthMonitor(manager.stack(), manager.state, heal=False)
    try:
        observed = monitor.observe()["slow"]
    finally:
        monitor.pool.shutdown(wait=False)
    assert observed.status == "unhealthy"
    assert observed.error == "health check timed out after 1 s (its timeout:)"
