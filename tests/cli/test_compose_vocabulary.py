"""The compose vocabulary, as a user types it, against real podman."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support import inv
from support.watching import Ticks, count_ticks

pytestmark = pytest.mark.podman


@pytest.fixture
def stack(inv_stack, busybox_image) -> Path:
    root = inv_stack(f"""
            services:
              db:
                image: {busybox_image}
                command: ["sh", "-c", "echo db ready; exec sleep 1d"]
                stop_grace_period: 1s
              web-frontend:
                image: {busybox_image}
                command: ["sh", "-c", "echo serving; exec httpd -f -p 8080"]
                ports: ["127.0.0.1::8080"]
                depends_on: [db]
                stop_grace_period: 1s
            """)
    assert inv(root, "up", "--env", "t").returncode == 0
    return root


def test_ps_lists_services_and_names(stack: Path) -> None:
    rows = json.loads(inv(stack, "ps", "--env", "t", "--json").stdout)
    assert [(r["service"], r["status"]) for r in rows] == [("db", "running"),
                                                          ("web-frontend", "running")]
    assert inv(stack, "ps", "--env", "t", "--services").stdout.split() == ["db",
                                                                          "web-frontend"]


def test_logs_of_every_service_are_prefixed_and_aligned(stack: Path) -> None:
    lines = inv(stack, "logs", "--env", "t").stdout.splitlines()
    assert lines == ["db           | db ready", "web-frontend | serving"]
    only = inv(stack, "logs", "web-frontend", "--env", "t", "--tail", "1").stdout
    assert only == "web-frontend | serving\n"
    stamped = inv(stack, "logs", "db", "--env", "t", "-t").stdout
    assert stamped.startswith("db | 20") and stamped.rstrip().endswith("db ready")


def test_exec_runs_in_the_container_and_returns_its_exit_code(stack: Path) -> None:
    result = inv(stack, "exec", "db", "--env", "t", "--", "sh", "-c", "echo hi from $0; exit 3")
    assert result.stdout == "hi from sh\n" and result.returncode == 3


def test_port_names_the_published_address(stack: Path) -> None:
    address = inv(stack, "port", "web-frontend", "8080", "--env", "t").stdout.strip()
    assert address.startswith("127.0.0.1:") and int(address.split(":")[1]) > 0
    missing = inv(stack, "port", "db", "5432", "--env", "t")
    assert missing.returncode == 1 and "publishes no port 5432" in missing.stderr


@contextmanager
def watching(stack: Path, ticks: Ticks) -> Iterator[list[str]]:
    """The health watch running on ``stack`` (0.5 s ticks); yields its JSON event lines
    once it has looked at the stack once."""
    from phoenix_compose.watch.service import watch

    stop_watch = threading.Event()
    events: list[str] = []
    watcher = threading.Thread(target=watch, args=(stack, "t"), kwargs=dict(
        interval=0.5, as_json=True, out=events.append, stop=stop_watch), daemon=True)
    watcher.start()
    try:
        ticks.wait(1)
        yield events
    finally:
        stop_watch.set()
        watcher.join(10)


def test_stop_is_respected_by_the_watcher_and_start_brings_it_back(stack: Path,
                                                                    monkeypatch) -> None:
    ticks = count_ticks(monkeypatch)
    with watching(stack, ticks) as events:
        stopped = inv(stack, "stop", "--env", "t", "--services", "web-frontend")
        assert stopped.returncode == 0 and "stopped web-frontend" in stopped.stdout
        ticks.wait(4)  # four looks at it stopped, and no restart
        assert not [e for e in events if '"restart_started"' in e]
        rows = {r["service"]: r["status"] for r in
                json.loads(inv(stack, "ps", "--env", "t", "--json", "-a").stdout)}
        assert rows == {"db": "running", "web-frontend": "exited"}
    started = inv(stack, "start", "--env", "t", "--services", "web-frontend")
    assert started.returncode == 0, started.stderr
    rows = {r["service"]: r["status"] for r in
            json.loads(inv(stack, "ps", "--env", "t", "--json").stdout)}
    assert rows == {"db": "running", "web-frontend": "running"}
    actions = [json.loads(line)["action"] for line in
               (stack / ".phoenix/t/audit.jsonl").read_text().splitlines()]
    assert actions[-2:] == ["stop", "start"]


def test_pull_of_an_image_no_registry_has_fails_clearly(stack: Path) -> None:
    (stack / "compose" / "extra.yaml").write_text(
        "services: {cache: {image: 'registry.invalid/nothing:1', profiles: [x]}}\n")
    result = inv(stack, "pull", "--env", "t", "--services", "cache")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "pulling      registry.invalid/nothing:1" in result.stdout


def test_status_json_into_a_closed_pipe_is_no_traceback(stack: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "invoke", "status", "--env", "t", "--json"],
                            cwd=stack, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={k: v for k, v in os.environ.items()
                                            if k != "PYTHONUNBUFFERED"})  # as in a shell
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head`: nobody reads
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in proc.stderr.read()


def test_rm_removes_only_stopped_containers_and_never_volumes(stack: Path) -> None:
    kept = inv(stack, "rm", "--env", "t")
    assert kept.returncode == 0 and "removed nothing" in kept.stdout  # all running
    assert inv(stack, "stop", "--env", "t", "--services", "web-frontend").returncode == 0
    removed = inv(stack, "rm", "--env", "t", "--services", "web-frontend")
    assert removed.returncode == 0 and "removed web-frontend" in removed.stdout
    rows = {r["service"]: r["status"] for r in
            json.loads(inv(stack, "ps", "--env", "t", "--json", "--all").stdout)}
    assert rows == {"db": "running", "web-frontend": "missing"}  # nothing else went


def test_the_watcher_does_not_recreate_what_rm_removed(stack: Path, monkeypatch) -> None:
    ticks = count_ticks(monkeypatch)
    with watching(stack, ticks) as events:
        assert inv(stack, "stop", "--env", "t", "--services", "web-frontend").returncode == 0
        assert inv(stack, "rm", "--env", "t", "--services", "web-frontend").returncode == 0
        ticks.wait(4)  # four looks at it missing, and no recreation
    assert not [e for e in events if '"restart_started"' in e]
    rows = {r["service"]: r["status"] for r in
            json.loads(inv(stack, "ps", "--env", "t", "--json", "-a").stdout)}
    assert rows["web-frontend"] == "missing"
