"""Healing that understands the stack, on real podman: OOM kills read from the kernel,
dependency cascades, ``unhealthy_for_s``, and crash detection that does not wait a tick."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path

import pytest

from phoenix_compose.cli.statusview import status_table, with_last_exits
from phoenix_compose.runtime import commands
from phoenix_compose.runtime.lifecycle import ComposeManager

from support import LIMITS_APPLY, REPO, inv
from support.watching import is_type
from support.webhooks import Receiver

pytestmark = pytest.mark.podman

CHECK = '["CMD-SHELL", "test ! -f /run/fault/fail"]'
WAIT_FOR_CRASH = 'while [ ! -f /run/fault/crash ]; do sleep 0.2; done; exit 3'


def service(image: str, command: str, extra: str = "", interval: str = "1s") -> str:
    return f"""
                image: {image}
                command: ["sh", "-c", {json.dumps(command)}]
                stop_grace_period: 1s
                tmpfs: [/run/fault]
                healthcheck: {{test: {CHECK}, interval: {interval}, retries: 2}}
                x-phoenix-restart: {{backoff_initial_s: 1}}{extra}"""


def inspect(container: str) -> dict:
    return json.loads(commands.run(("podman", "inspect", "--", container)).stdout)[0]


def event_time(event: dict) -> float:
    return datetime.fromisoformat(event["time"]).timestamp()


def state_time(container: str, key: str) -> float:
    return datetime.fromisoformat(inspect(container)["State"][key][:26].rstrip("Z") +
                                  "+00:00").timestamp()


def fault(project: str, service: str, name: str) -> None:
    commands.run(("podman", "exec", f"{project}_{service}_1", "touch", f"/run/fault/{name}"))


@pytest.mark.skipif(not os.access("/dev/kmsg", os.R_OK),
                    reason="the kernel log is not readable here (podman 4.3 hides OOM kills)")
@pytest.mark.skipif(not LIMITS_APPLY, reason="rootless on cgroups v1: no memory limit")
def test_a_memory_hog_under_a_64m_limit_is_oom_killed_detected_and_restarted(
        make_stack, podman_project, busybox_image, up) -> None:
    hog = ('while [ ! -f /run/fault/hog ]; do sleep 0.2; done; '
           'x=$(head -c 300000000 /dev/zero | tr "\\\\0" a); sleep 1d')
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": "services:\n  web:" + service(
                           busybox_image, hog, "\n    memswap_limit: 64m\n    deploy: "
                           "{resources: {limits: {memory: 64m}}}").replace(
                           "\n" + " " * 16, "\n    ")})
    alerts = Receiver()
    w = up(root, interval=30, hooks={"oom_killed": [{"url": alerts.url, "timeout": 5}]})
    fault(podman_project, "web", "hog")
    killed = w.wait_for(is_type("oom_killed"), 20)
    assert killed["limit"] == "64m" and killed["limit_bytes"] == 64 * 1024 * 1024
    assert killed["main_process"] is True and killed["source"] == "kernel log"
    assert 48 * 1024 * 1024 < killed["peak_bytes"] <= 70 * 1024 * 1024  # about the limit
    restart = w.wait_for(is_type("restart_started"), 5)
    assert restart["detail"] == "oom-killed"
    w.wait_for(is_type("restart_succeeded"), 15)
    m = ComposeManager(root, "t")
    rows = with_last_exits(m, m.get_service_status())  # what `inv status` shows
    assert rows[0].state == "running"  # started again (its first check is due in 30 s)
    assert (rows[0].last_exit, rows[0].memory_limit) == ("oom-killed", "64m")
    assert "(last exit: oom-killed)" in status_table(rows)
    assert not (Path.cwd() / "oom").exists()  # conmon's marker is kept out of the user's dir
    posted = alerts.wait(1)  # the webhook alert arrived
    alerts.close()
    assert [(e["type"], e["service"], e["limit"]) for e in posted] == [
        ("oom_killed", "web", "64m")]


def test_a_restart_cascades_to_restart_true_dependents_each_after_its_dependency_is_healthy(
        make_stack, podman_project, busybox_image, up) -> None:
    sleeper = service(busybox_image, "sleep 1d")
    compose = f"""
            services:
              db:{service(busybox_image, WAIT_FOR_CRASH)}
              app:{sleeper}
                depends_on: {{db: {{condition: service_healthy, restart: true}}}}
              web:{sleeper}
                depends_on: {{app: {{condition: service_healthy, restart: true}}}}
              report:{sleeper}
                depends_on: {{db: {{condition: service_healthy}}}}
            """
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": compose})
    w = up(root, interval=1)
    c = {n: f"{podman_project}_{n}_1" for n in ("db", "app", "web", "report")}
    report_started = inspect(c["report"])["State"]["StartedAt"]
    fault(podman_project, "db", "crash")
    finished = w.wait_for(is_type("cascade_finished", "db"), 60)
    assert finished["restarted"] == ["app", "web"] and finished["skipped"] == {}
    started = w.wait_for(is_type("cascade_started", "db"), 1)
    assert started["services"] == ["app", "web"] and started["cause"]
    order = [e["service"] for e in w.events if e["type"] == "restart_started"]
    assert order == ["db", "app", "web"]
    for dependency, dependent in (("db", "app"), ("app", "web")):
        state = inspect(c[dependency])["State"]
        since = state_time(c[dependency], "StartedAt")
        healthy = [datetime.fromisoformat(e["End"][:26] + "+00:00").timestamp()
                   for e in (state.get("Health") or state["Healthcheck"])["Log"]
                   if e["ExitCode"] == 0]
        first_ok = min(t for t in healthy if t >= since - 0.01)
        assert first_ok <= state_time(c[dependent], "StartedAt"), (dependency, dependent)
    assert inspect(c["report"])["State"]["StartedAt"] == report_started  # not restarted
    w.wait_for(lambda e: e["type"] == "health_changed" and e["service"] == "web"
               and e["to"] == "healthy" and e["from"] not in (None, "-"), 20)


def test_unhealthy_for_s_is_respected(make_stack, podman_project, busybox_image,
                                      up) -> None:
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": "services:\n  web:" + service(
                           busybox_image, "sleep 1d").replace(
                           "{backoff_initial_s: 1}", "{backoff_initial_s: 1, "
                           "unhealthy_for_s: 5}").replace("\n" + " " * 16, "\n    ")})
    w = up(root, interval=1)
    w.wait_for(lambda e: e["type"] == "health_changed" and e["to"] == "healthy", 20)
    injected = time.time()  # no check can fail before this
    fault(podman_project, "web", "fail")
    unhealthy = w.wait_for(lambda e: e["type"] == "health_changed" and e["to"] == "unhealthy",
                           15)  # podman's verdict, after 2 failed checks (retries: 2)
    restart = w.wait_for(is_type("restart_started"), 15)
    assert w.events.index(unhealthy) < w.events.index(restart)  # it did not restart then
    # the watcher's own clock says it waited the 5 s (load can only make that longer)
    assert event_time(restart) - injected >= 4.999  # (its time has milliseconds)


def test_a_crash_is_restarted_by_its_event_not_the_next_30_s_tick(
        make_stack, podman_project, busybox_image, up) -> None:
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": "services:\n  web:" + service(
                           busybox_image, WAIT_FOR_CRASH, interval="30s").replace(
                           "\n" + " " * 16, "\n    ")})
    w = up(root, interval=30)
    w.wait_for(lambda e: e["type"] == "health_changed" and e["to"] == "healthy", 20)
    fault(podman_project, "web", "crash")
    died = w.wait_for(lambda e: e["type"] == "container_event" and e["status"] == "died"
                      and e["service"] == "web", 10)
    # within 10 s of a 30 s interval: the container event woke it, not the next tick
    restart = w.wait_for(is_type("restart_started"), 10)
    assert w.events.index(died) < w.events.index(restart) and restart["reason"] == "stopped"
    w.wait_for(is_type("restart_succeeded"), 15)


def test_drift_a_hand_made_container_and_an_orphan_are_reported_within_one_interval(
        make_stack, podman_project, busybox_image, up) -> None:
    from phoenix_compose.watch.service import check, set_paused

    compose = "x-phoenix-drift-interval: 2\nservices:\n  web:" + service(
        busybox_image, "sleep 1d").replace("\n" + " " * 16, "\n    ") + \
        "\n    environment: {MODE: normal}\n"
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": compose})
    w = up(root, interval=1)
    assert check(root, "t")[1] == {}  # as deployed: no drift
    set_paused(root, "t", "web", True)  # or the watcher would recreate it at once
    web = f"{podman_project}_web_1"
    labels = ("--label", f"io.podman.compose.project={podman_project}",
              "--label", f"com.docker.compose.project={podman_project}")
    commands.run(("podman", "rm", "-f", "-t", "0", "--", web))
    commands.run(("podman", "run", "-d", "--name", web, *labels,
                "--label", "com.docker.compose.service=web", "-e", "MODE=debug",
                "-e", "EXTRA=1", "--", busybox_image, "sleep", "1d"))
    commands.run(("podman", "run", "-d", "--name", f"{podman_project}_ghost_1", *labels,
                "--", busybox_image, "sleep", "1d"))
    # seen by the next check (one every interval: test_drift shows it on a fake clock)
    drifted = w.wait_for(lambda e: e["type"] == "drift_detected" and e["service"] == "web"
                         and any(d["field"] == "environment" for d in e["diff"]), 10)
    orphan = w.wait_for(lambda e: e["type"] == "drift_detected" and e["orphan"], 10)
    fields = {(d["field"], d.get("name"), d.get("change")) for d in drifted["diff"]}
    assert {("environment", "MODE", "changed"), ("environment", "EXTRA", "added"),
            ("config-hash", None, None)} <= fields, drifted["diff"]
    assert "debug" not in json.dumps(drifted)  # names, never values
    assert orphan["orphan"] == f"{podman_project}_ghost_1"
    assert w.of("restart_started") == [] and w.of("restart_started", None) == []  # not fixed
    statuses, drift = check(root, "t")
    assert set(drift) == {"web", f"orphan:{podman_project}_ghost_1"}
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    assert inv(root, "health.check", "--env", "t").returncode == 0  # healthy; drift reported
    strict = inv(root, "health.check", "--env", "t", "--strict")
    assert strict.returncode == 1
    assert "drift: web: environment MODE changed" in strict.stdout
    assert f"drift: orphan {podman_project}_ghost_1: a container the config does not have" \
        in strict.stdout
    assert f"drift: orphan {podman_project}_ghost_1, web" in strict.stderr
