"""The health watch against real podman: fault injection on tiny busybox services."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phoenix_compose.runtime import argv, commands
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.statedir import StateDir
from phoenix_compose.watch.monitor import StateStore
from phoenix_compose.watch.service import READY_LINE, check, set_paused

from support import REPO
from support.watching import Watcher, is_type

pytestmark = pytest.mark.podman

CHECK = '["CMD-SHELL", "test ! -f /run/fault/fail && test ! -f /tmp/fail"]'


def web_stack(make_stack, project: str, image: str, policy: str, interval: str = "1s",
              retries: int = 2) -> Path:
    return make_stack({
        "envs/t.env": f"COMPOSE_PROJECT_NAME={project}\n",
        "compose/app.yaml": f"""
            services:
              web:
                image: {image}
                command: ["sh", "-c", "while [ ! -f /run/fault/crash ]; do sleep 0.2; done; exit 3"]
                stop_grace_period: 1s
                tmpfs: [/run/fault]
                healthcheck: {{test: {CHECK}, interval: {interval}, retries: {retries}}}
                x-phoenix-restart: {policy}
              other:
                image: {image}
                command: ["sleep", "1d"]
                stop_grace_period: 1s
            """,
    })


def container(project: str, service: str = "web") -> str:
    return f"{project}_{service}_1"


def inject(project: str, path: str = "/run/fault/fail") -> None:
    commands.run(("podman", "exec", container(project), "touch", path))


def test_an_unhealthy_service_is_restarted_in_time_and_heals(
        make_stack, podman_project, busybox_image, up) -> None:
    root = web_stack(make_stack, podman_project, busybox_image, "{backoff_initial_s: 1}")
    w = up(root, interval=1)
    inject(podman_project)
    unhealthy = w.wait_for(lambda e: e["type"] == "health_changed" and e["to"] == "unhealthy",
                           10)
    restart = w.wait_for(is_type("restart_started"), 10)
    # in time: restarted by the tick that saw podman's verdict (after `retries` failed
    # checks), or the next one, not some ticks later
    assert w.tick_of(restart) - w.tick_of(unhealthy) <= 1
    assert restart["reason"] == "unhealthy"
    w.wait_for(is_type("restart_succeeded"), 15)
    w.wait_for(lambda e: e["type"] == "health_changed" and e["service"] == "web"
               and e["to"] == "healthy" and e["from"] != "-" and e["from"] is not None, 15)
    assert w.of("restart_started", "other") == []
    records = StateStore(StateDir(root, "t")).read()
    assert records["web"].restart_count == 1
    lines = (root / ".phoenix/t/events.jsonl").read_text().splitlines()
    assert {"type", "service", "time"} <= set(json.loads(lines[-1]))


def test_a_crashed_container_is_restarted_but_a_user_stop_is_respected(
        make_stack, podman_project, busybox_image, up, ticks) -> None:
    root = web_stack(make_stack, podman_project, busybox_image, "{backoff_initial_s: 1}")
    w = up(root, interval=1)
    inject(podman_project, "/run/fault/crash")  # the service exits 3 by itself
    restart = w.wait_for(is_type("restart_started"), 10)
    assert restart["reason"] == "stopped"
    w.wait_for(is_type("restart_succeeded"), 15)
    commands.run(argv.stop(container(podman_project, "other"), timeout=1))
    w.wait_for(lambda e: e["type"] == "health_changed" and e["service"] == "other"
               and e["to"] == "stopped", 10)
    ticks.wait(3)  # three more looks at it, and no restart
    assert w.of("restart_started", "other") == []


def test_a_removed_container_is_recreated(make_stack, podman_project, busybox_image,
                                          up) -> None:
    root = web_stack(make_stack, podman_project, busybox_image, "{backoff_initial_s: 1}")
    w = up(root, interval=1)
    commands.run(argv.remove(container(podman_project, "other"), timeout=0))
    w.wait_for(lambda e: e["type"] == "health_changed" and e["service"] == "other"
               and e["to"] == "missing", 10)
    w.wait_for(is_type("restart_succeeded", "other"), 30)
    w.wait_for(lambda e: e["type"] == "health_changed" and e["service"] == "other"
               and e["to"] == "running", 10)


def test_after_inv_down_nothing_is_recreated(make_stack, podman_project, busybox_image,
                                             up, ticks) -> None:
    root = web_stack(make_stack, podman_project, busybox_image, "{backoff_initial_s: 1}")
    w = up(root, interval=1)
    ComposeManager(root, "t").stop_services()
    w.wait_for(lambda e: e["type"] == "health_changed" and e["to"] == "missing", 15)
    ticks.wait(3)
    assert w.of("restart_started") == [] and w.of("restart_started", "other") == []


def test_backoff_intervals_grow_and_the_circuit_opens_after_exactly_max_restarts(
        make_stack, podman_project, busybox_image, up, ticks) -> None:
    root = web_stack(make_stack, podman_project, busybox_image,
                     "{max_restarts: 4, window_s: 300, backoff_initial_s: 1, backoff_max_s: 8}",
                     retries=1)
    w = up(root, interval=0.5)
    inject(podman_project, "/tmp/fail")  # survives restarts: the fault persists
    w.wait_for(is_type("circuit_open"), 60)
    starts = [time.mktime(time.strptime(e["time"][:19], "%Y-%m-%dT%H:%M:%S"))
              + float("0." + e["time"][20:23]) for e in w.of("restart_started")]
    assert len(starts) == 4
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    # backoff 1, 2, 4 s with equal jitter: at least half of each.  (That the intervals grow
    # whatever the jitter is shown without podman in test_decide; here the first gap is
    # the detection time, which load can stretch past the third backoff's floor.)
    assert gaps[0] >= 0.5 and gaps[1] >= 1.0 and gaps[2] >= 2.0, gaps
    ticks.wait(6)  # six more ticks that see it failing, and no restart
    assert len(w.of("restart_started")) == 4  # open: no more restarts
    (status,) = [s for s in check(root, "t")[0] if s.service_name == "web"]
    assert (status.circuit, status.status, status.restart_count) == ("open", "unhealthy", 4)


def test_after_the_window_the_circuit_half_opens_and_a_success_closes_it(
        make_stack, podman_project, busybox_image, up) -> None:
    root = web_stack(make_stack, podman_project, busybox_image,
                     "{max_restarts: 1, window_s: 4, backoff_initial_s: 0.2}", retries=1)
    w = up(root, interval=0.5)
    inject(podman_project, "/tmp/fail")
    first_open = w.wait_for(is_type("circuit_open"), 20)
    w.wait_for(lambda e: is_type("restart_started")(e) and e["time"] > first_open["time"], 15)
    w.wait_for(lambda e: is_type("circuit_open")(e) and e["time"] > first_open["time"], 15)
    commands.run(("podman", "exec", container(podman_project), "rm", "/tmp/fail"))
    w.wait_for(is_type("circuit_closed"), 15)


def test_a_paused_service_is_left_alone_until_resumed(make_stack, podman_project,
                                                      busybox_image, up, ticks) -> None:
    root = web_stack(make_stack, podman_project, busybox_image, "{backoff_initial_s: 1}")
    w = up(root, interval=1)
    set_paused(root, "t", "web", True)
    inject(podman_project)
    w.wait_for(lambda e: e["type"] == "health_changed" and e["to"] == "unhealthy", 10)
    ticks.wait(3)  # three ticks that saw it unhealthy, and no restart
    assert w.of("restart_started") == []
    set_paused(root, "t", "web", False)
    w.wait_for(is_type("restart_started"), 10)


def test_a_restarted_watcher_resumes_from_persisted_state(make_stack, podman_project,
                                                          busybox_image, up, ticks) -> None:
    root = web_stack(make_stack, podman_project, busybox_image,
                     "{max_restarts: 1, window_s: 300, backoff_initial_s: 0.2}", retries=1)
    w = up(root, interval=0.5)
    inject(podman_project, "/tmp/fail")
    w.wait_for(is_type("circuit_open"), 20)
    w.close()
    again = Watcher(root, interval=0.5, ticks=ticks)
    try:
        again.wait_for(is_type("watch_started", None), 10)
        ticks.wait(4)  # four ticks that see it failing, and no restart
        assert again.of("restart_started") == [] and again.of("circuit_open") == []
    finally:
        again.close()
    assert StateStore(StateDir(root, "t")).read()["web"].circuit == "open"


def test_hooks_get_the_event_and_a_slow_hook_times_out(make_stack, podman_project,
                                                       busybox_image, up, tmp_path) -> None:
    root = web_stack(make_stack, podman_project, busybox_image, "{backoff_initial_s: 1}")
    received = tmp_path / "received.json"
    record = tmp_path / "record.sh"
    record.write_text(f"#!/bin/sh\ncat > {received}\n")
    slow = tmp_path / "slow.sh"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    for script in (record, slow):
        script.chmod(0o755)
    w = up(root, interval=1, hooks={"restart_started": [str(record)],
                                    "health_changed": [str(slow)]}, hook_timeout=0.5)
    inject(podman_project)
    w.wait_for(is_type("restart_succeeded"), 20)
    deadline = time.monotonic() + 5
    while not received.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    event = json.loads(received.read_text())
    assert (event["type"], event["service"]) == ("restart_started", "web")
    failed = w.wait_for(is_type("hook_failed", None), 5)
    assert "hook for health_changed failed" in failed["error"]
    assert "timed out after 0.5 s" in failed["error"]


def test_sigint_stops_the_watch_cleanly(make_stack, podman_project, busybox_image) -> None:
    root = web_stack(make_stack, podman_project, busybox_image, "{}")
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    ComposeManager(root, "t").start_services(timeout=60)
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "health.watch", "--env", "t",
                             "--interval", "30"], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.startswith(READY_LINE):
                break
        proc.send_signal(signal.SIGINT)
        # the loop waits on an event, not a sleep: the stop cannot wait out the 30 s
        # interval (10 s: a hang guard)
        code = proc.wait(timeout=10)
        assert code == 0, proc.stderr.read()
    finally:
        proc.kill()
    events = [json.loads(x) for x in (root / ".phoenix/t/events.jsonl").read_text().splitlines()]
    assert events[0]["type"] == "watch_started" and events[-1]["type"] == "watch_stopped"


def test_health_check_exits_non_zero_when_a_service_is_not_healthy(
        make_stack, podman_project, busybox_image) -> None:
    root = web_stack(make_stack, podman_project, busybox_image, "{}", retries=1)
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    ComposeManager(root, "t").start_services(timeout=60)
    ok = subprocess.run([sys.executable, "-m", "invoke", "health.check", "--env", "t", "--json"],
                        cwd=root, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    rows = {r["service"]: r for r in json.loads(ok.stdout)}
    assert rows["web"]["status"] == "healthy" and rows["other"]["status"] == "running"
    assert set(rows["web"]) >= {"service", "status", "last_check", "response_time_s",
                                "error", "restarts", "uptime_s"}  # status --json's names
    inject(podman_project)
    bad = subprocess.run([sys.executable, "-m", "invoke", "health.check", "--env", "t"],
                         cwd=root, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "not healthy: web" in bad.stderr


def test_metrics_are_served_on_loopback_labelled_by_service(
        make_stack, podman_project, busybox_image, up, ticks) -> None:
    import urllib.request

    from support import free_port

    root = web_stack(make_stack, podman_project, busybox_image, "{backoff_initial_s: 1}")
    port = free_port()
    w = up(root, interval=1, metrics_port=port)
    inject(podman_project)
    w.wait_for(is_type("restart_succeeded"), 20)
    ticks.wait(2)  # each tick updates the gauges

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            return reply.read().decode()

    text = scrape()
    for _ in range(50):  # the counter follows the event through the bus: on a busy
        if 'phoenix_restarts_total{result="succeeded",service="web"}' in text:  # machine,
            break  # a moment later
        ticks.wait(1)
        text = scrape()
    assert 'phoenix_health_checks_total{service="web",status="healthy"}' in text
    assert 'phoenix_restarts_total{result="succeeded",service="web"} 1.0' in text
    assert 'phoenix_circuit_state{service="web"} 0.0' in text
    assert 'phoenix_service_healthy{service="other"} 1.0' in text
    assert "container" not in text.split("# HELP")[-1]  # labelled by service, not container
    with open("/proc/net/tcp") as tcp:
        listening = [line.split()[1] for line in tcp.readlines()[1:] if line.split()[3] == "0A"]
    assert f"0100007F:{port:04X}" in listening and f"00000000:{port:04X}" not in listening


def test_container_events_make_the_watcher_react_without_waiting_a_tick(
        make_stack, podman_project, busybox_image, up) -> None:
    root = web_stack(make_stack, podman_project, busybox_image, "{backoff_initial_s: 1}")
    w = up(root, interval=30)
    inject(podman_project, "/run/fault/crash")
    died = w.wait_for(lambda e: e["type"] == "container_event" and e["status"] == "died"
                      and e["service"] == "web", 10)
    assert died["exit_code"] == 3
    # within 10 s of a 30 s interval: the next tick would have come after 30 s
    restart = w.wait_for(is_type("restart_started"), 10)
    assert w.tick_of(restart) - w.tick_of(died) <= 1  # the event woke it, no tick waited
