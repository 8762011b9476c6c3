"""What counts as a deliberate stop (issue 27): a stop we made or podman logged, never an
exit code alone.  A main process killed from the host (exit 137, as an admin's ``kill -9``,
a watchdog or a global OOM kill would) is a crash and is healed; ``podman stop`` and
``podman kill`` are left alone."""

from __future__ import annotations

import json
import os
import signal
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from phoenix_compose.runtime import commands
from phoenix_compose.runtime.audit import stopped_by_us
from phoenix_compose.runtime.commands import Result
from phoenix_compose.watch.observe import SETTLE_POLLS, Observer

from support.watching import is_type

STARTED = datetime(2026, 12, 7, 2, 0, 0, 500000, tzinfo=timezone.utc)


def _observer(*answers: str) -> tuple[Observer, list, list]:
    """An Observer whose podman answers ``events`` with each of ``answers`` in turn."""
    calls: list = []
    sleeps: list = []

    def run(argv, **kwargs):
        calls.append(argv)
        return Result(tuple(argv), 0, answers[min(len(calls), len(answers)) - 1], "")

    stack = SimpleNamespace(services={"web": SimpleNamespace(name="web", container="p_web_1",
                                                             containers=("p_web_1",),
                                                             health=None)})
    observer = Observer(stack, run, pool=None)  # type: ignore[arg-type]
    observer.sleep = sleeps.append
    return observer, calls, sleeps


def _exited(code: int) -> SimpleNamespace:
    return SimpleNamespace(name="p_web_1", id="c0ffee", status="exited", exit_code=code,
                           started_at=STARTED)


@pytest.mark.parametrize(("events", "meant"), [
    ("start died cleanup", False),           # kill -9 from the host: conmon's cleanup alone
    ("start died cleanup cleanup", True),    # podman stop (4.3 logs no stop event)
    ("start kill died cleanup", True),       # podman kill
    ("start stop died cleanup", True),       # a podman that logs its stops
    ("start died cleanup start died cleanup", False),  # a restart, then a crash
    ("start restart died cleanup", True),    # podman restart (the watcher's own)
])
def test_only_podmans_evidence_or_our_record_makes_an_exit_deliberate(events, meant) -> None:
    observer, _calls, _sleeps = _observer(events)
    assert observer.deliberate(_exited(137)) is meant  # the same exit code either way


def test_podman_is_asked_about_the_container_by_its_id_not_its_name() -> None:
    """A name a start-first swap moved on also named the old container, whose stop was
    not this one's (tests/watch/test_edge_watch.py shows it on real podman)."""
    observer, calls, _sleeps = _observer("start died cleanup")
    observer.deliberate(_exited(137))
    assert calls[0][-4:] == ("--filter", "container=c0ffee", "--format", "{{.Status}}")


def test_an_exit_code_alone_is_no_evidence_of_intent() -> None:
    for code in (0, 130, 137, 143):  # read as "stopped by the user" before
        observer, _calls, _sleeps = _observer("start died cleanup")
        assert observer.deliberate(_exited(code)) is False


def test_the_verdict_waits_for_podmans_exit_cleanup_counting_polls_not_time() -> None:
    """``died`` comes first; the cleanups (one from conmon, a second from ``podman stop``)
    a moment later: the watcher asks again until it has seen them."""
    observer, calls, sleeps = _observer("start died", "start died", "start died cleanup cleanup")
    assert observer.deliberate(_exited(143)) is True
    assert len(calls) == 3 and len(sleeps) == 2
    observer, calls, sleeps = _observer("start died", "start died cleanup")
    assert observer.deliberate(_exited(137)) is False
    assert len(calls) == 3  # one more look after the first cleanup: no second one came
    observer, calls, sleeps = _observer("start died")  # podman never cleans up: a crash
    assert observer.deliberate(_exited(137)) is False and len(calls) == SETTLE_POLLS
    assert observer.deliberate(_exited(137)) is False and len(calls) == SETTLE_POLLS  # kept


def test_our_own_stop_is_evidence_without_asking_podman(tmp_path) -> None:
    """We note a stop before podman is asked (the exit may be seen before the action ends);
    a note from before the container's last start is about an earlier run."""
    from phoenix_compose.runtime.audit import note_stops

    log = tmp_path / "stops.jsonl"
    log.write_text(json.dumps({"time": "2026-12-07T01:00:00+00:00", "services": ["web"]}) + "\n")
    note_stops(log, ["db"])  # now: after the start
    assert not stopped_by_us(log, "web", STARTED)  # its only note is from before the start
    assert stopped_by_us(log, "db", STARTED)
    note_stops(log, ["web"])
    assert stopped_by_us(log, "web", STARTED)
    observer, calls, _sleeps = _observer("start died cleanup")
    observer.stopped_by_us = lambda service, since: stopped_by_us(log, service, since)
    assert observer.deliberate(_exited(137)) is True and calls == []


SERVICE = """
  {name}:
    image: {image}
    command: ["sleep", "1d"]
    stop_grace_period: 1s
    healthcheck: {{test: ["CMD", "true"], interval: 1s}}
    x-phoenix-restart: {{backoff_initial_s: 0.5}}"""


@pytest.mark.podman
def test_a_kill_from_the_host_is_healed_and_podman_stop_and_kill_are_left_alone(
        make_stack, podman_project, busybox_image, up) -> None:
    compose = "services:" + "".join(
        SERVICE.format(name=n, image=busybox_image) for n in ("crashed", "stopped", "killed"))
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": compose})
    w = up(root, interval=1)
    for name in ("crashed", "stopped", "killed"):
        w.wait_for(lambda e, n=name: e["type"] == "health_changed" and e["service"] == n
                   and e["to"] == "healthy", 20)
    pid = json.loads(commands.run(("podman", "inspect", "--", f"{podman_project}_crashed_1"))
                     .stdout)[0]["State"]["Pid"]
    commands.run(("podman", "stop", "-t", "1", "--", f"{podman_project}_stopped_1"))
    commands.run(("podman", "kill", "--", f"{podman_project}_killed_1"))
    os.kill(pid, signal.SIGKILL)  # the main process, from the host: exit 137, no podman event
    for name in ("stopped", "killed"):
        w.wait_for(lambda e, n=name: e["type"] == "health_changed" and e["service"] == n
                   and e["to"] in ("stopped", "exited"), 20)
    healed = w.wait_for(is_type("restart_succeeded", "crashed"), 30)
    # ticks go on: the restarted one's first check reports it healthy again, and every
    # tick until then decided about the other two as well
    w.wait_for(lambda e: e["type"] == "health_changed" and e["service"] == "crashed"
               and e["to"] == "healthy" and w.events.index(e) > w.events.index(healed), 20)
    w.close()
    assert w.of("restart_started", "stopped") == [] and w.of("restart_started", "killed") == []
