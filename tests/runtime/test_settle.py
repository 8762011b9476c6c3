"""``status`` settles a health no one checks (issue 24): a service whose last check is older
than its interval is checked once, now, and said so; one checked lately is not asked again.
The fast cases use a fake podman; the last one runs ``up -d`` then ``status`` on podman."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from phoenix_compose.runtime import argv, commands
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.nativehealth import NativeHealth
from phoenix_compose.runtime.settle import settle
from phoenix_compose.runtime.stack import load_stack

from support import inv
from support.planner_cases import box

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
APP = ("services:\n"
       "  db: {image: 'img:1', healthcheck: {test: [CMD, 'true'], interval: 10s, timeout: 2s}}\n"
       "  web: {image: 'img:1'}\n")


class Checks:
    """podman for ``settle``: a ``healthcheck run`` answers ``code``; an inspect after it
    reports the container ``healthy`` or ``unhealthy`` accordingly, checked at NOW."""

    def __init__(self, code: int) -> None:
        self.code, self.calls = code, []

    def __call__(self, argv, *_args, **_kwargs) -> Result:
        argv = tuple(argv)
        self.calls.append(argv[:3])
        name = argv[-1]
        if argv[:3] == ("podman", "healthcheck", "run"):
            return Result(argv, self.code, "", "")
        health = {"Status": "healthy" if self.code == 0 else "unhealthy",
                  "Log": [{"End": NOW.isoformat(), "Output": "said so"}]}
        item = {"Name": name, "State": {"Status": "running", "Health": health},
                "Config": {"Labels": {"com.docker.compose.service": "db"}}}
        return Result(argv, 0, json.dumps([item]), "")


def settled(tmp_path: Path, code: int, **db):
    (tmp_path / "app.yaml").write_text(APP)
    stack = load_stack(tmp_path / "app.yaml", "p")
    states = {b.name: b for b in (box(stack, "db", **db), box(stack, "web"))}
    states = {n: replace(s, started_at=NOW - timedelta(hours=1)) for n, s in states.items()}
    fake = Checks(code)
    out, notes = settle(fake, stack, states, NativeHealth.for_stack(stack), NOW)
    return out["p_db_1"], notes, fake.calls


@pytest.mark.parametrize(("db", "why"), [
    ({"health": "starting", "checked_at": None}, "never checked"),
    ({"health": "healthy", "checked_at": NOW - timedelta(seconds=13)}, "last checked 13 s ago"),
])
def test_a_health_no_one_checks_is_checked_now_and_said_so(tmp_path: Path, db, why) -> None:
    state, notes, calls = settled(tmp_path, 0, **db)
    assert state.health == "healthy" and state.checked_at == NOW
    assert notes == [f"db: checked now ({why}, and no watcher checks it every 10 s): passed"]
    assert calls == [("podman", "healthcheck", "run"), ("podman", "container", "inspect")]


def test_a_failing_fresh_check_shows_in_the_status(tmp_path: Path) -> None:
    state, notes, _calls = settled(tmp_path, 1, health="healthy", checked_at=None)
    assert state.health == "unhealthy" and notes[0].endswith(": failed")


def test_a_health_checked_within_its_interval_is_not_asked_again(tmp_path: Path) -> None:
    state, notes, calls = settled(tmp_path, 1, health="healthy",
                                  checked_at=NOW - timedelta(seconds=11))
    assert (state.health, notes, calls) == ("healthy", [], [])


class Together(Checks):
    """Every ``healthcheck run`` waits until two are in flight (a barrier): one after the
    other, the first would wait forever (the barrier's guard breaks it)."""

    def __init__(self) -> None:
        super().__init__(0)
        self.barrier = threading.Barrier(2, timeout=30)

    def __call__(self, argv, *args, **kwargs) -> Result:
        if tuple(argv[:3]) == ("podman", "healthcheck", "run"):
            self.barrier.wait()
        return super().__call__(argv, *args, **kwargs)


def test_due_checks_run_side_by_side(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    web = "  web: {image: 'img:1', healthcheck: {test: [CMD, 'true'], interval: 10s}}"
    (tmp_path / "app.yaml").write_text(APP.replace("  web: {image: 'img:1'}", web))
    stack = load_stack(tmp_path / "app.yaml", "p")
    states = {b.name: b for b in (box(stack, "db", checked_at=None),
                                  box(stack, "web", checked_at=None))}
    _out, notes = settle(Together(), stack, states, NativeHealth.for_stack(stack), NOW)
    assert [n.split(":")[0] for n in notes] == ["db", "web"]  # in the stack's order


@pytest.mark.podman
def test_after_up_detached_status_reports_real_health(inv_stack, podman_project: str,
                                                      busybox_image: str) -> None:
    """After ``up -d`` nothing checks the service (podman runs no checks by itself here, no
    watcher runs): once its last check is older than its interval, ``status`` checks it
    and says so, instead of repeating a health no one settled.  The check then fails."""
    root = inv_stack(f"""
        services:
          web:
            image: {busybox_image}
            command: [sh, -c, 'touch /tmp/ok; exec sleep 1d']
            stop_grace_period: 1s
            healthcheck: {{test: [CMD, test, -f, /tmp/ok], interval: 1s, timeout: 1s,
                           retries: 1}}
        """)
    up = inv(root, "up", "--env", "t", "-d", timeout=120)
    assert up.returncode == 0, up.stderr
    container = f"{podman_project}_web_1"
    commands.run(argv.exec_(container, ["rm", "-f", "/tmp/ok"]), timeout=60)
    time.sleep(2.5)  # its last check goes stale: older than interval + timeout
    shown = inv(root, "status", "--env", "t", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [r["status"] for r in json.loads(shown.stdout)] == ["unhealthy"], shown.stdout
    assert "web: checked now (" in shown.stderr and "no watcher checks it every 1 s): " \
           "failed" in shown.stderr, shown.stderr


@pytest.mark.parametrize(("text", "utc"), [
    ("2026-12-07T12:00:00.123456789+01:00", "2026-12-07T11:00:00.123456+00:00"),
    ("2026-12-07T06:00:00-05:00", "2026-12-07T11:00:00+00:00"),
    ("2026-12-07T11:00:00.5Z", "2026-12-07T11:00:00.500000+00:00"),
])
def test_podmans_time_in_the_hosts_zone_counts_its_offset(text: str, utc: str) -> None:
    """Podman writes a check's End (and StartedAt) in the host's zone: read as UTC, a check
    of a host at -05:00 looked 5 hours old (status rechecked it every time) and at +01:00
    an hour in the future (never stale)."""
    from phoenix_compose.runtime.containers import _time

    assert _time(text) == datetime.fromisoformat(utc)


class Interrupted(Checks):
    """db's check is interrupted (^C); every other check hangs until podman is ended."""

    def __init__(self) -> None:
        super().__init__(0)
        self.ended, self.ran, self.waited_out = threading.Event(), [], []

    def __call__(self, argv, *args, **kwargs) -> Result:
        if tuple(argv[:3]) == ("podman", "healthcheck", "run"):
            self.ran.append(argv[-1])
            if argv[-1] == "p_db_1":
                raise KeyboardInterrupt
            if not self.ended.wait(10):  # the guard: a hanging podman, never ended
                self.waited_out.append(argv[-1])
        return super().__call__(argv, *args, **kwargs)


def test_an_interrupted_settle_ends_the_checks_in_flight(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    checked = "{image: 'img:1', healthcheck: {test: [CMD, 'true'], interval: 10s}}"
    (tmp_path / "app.yaml").write_text(APP.replace("  web: {image: 'img:1'}",
                                                   f"  web: {checked}\n  api: {checked}"))
    stack = load_stack(tmp_path / "app.yaml", "p")
    states = {b.name: b for b in (box(stack, n, checked_at=None) for n in ("db", "web", "api"))}
    fake = Interrupted()
    monkeypatch.setattr(commands, "terminate_all", fake.ended.set)
    with pytest.raises(KeyboardInterrupt):
        settle(fake, stack, states, NativeHealth.for_stack(stack), NOW)
    assert fake.waited_out == []  # ended, not waited for (the pool's exit waited for all)
