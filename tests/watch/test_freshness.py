"""Which containers a tick inspects (watch/freshness.py): with the event stream up, only
those an event (or an exec check) named since the last look, all of them every 6 ticks or
30 s, and all of them every tick while the stream is down.  Counted in ticks and podman
calls, on a fake clock."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from phoenix_compose.watch import service
from phoenix_compose.watch.events import EventBus
from phoenix_compose.watch.freshness import FULL_EVERY_TICKS, Freshness, Stream
from phoenix_compose.watch.observe import Observer
from phoenix_compose.watch.schedule import CheckResult

from support import FakeClock, FakePodman

NAMES = [f"p_s{i}_1" for i in range(5)]


def _fresh(clock: FakeClock | None = None, up: bool = True) -> Freshness:
    fresh = Freshness(clock or FakeClock())
    fresh.stream = lambda: up
    return fresh


def _stack() -> SimpleNamespace:
    services = {f"s{i}": SimpleNamespace(name=f"s{i}", container=name, containers=(name,),
                                         health=None, probe=None, replicas=1, profiles=())
                for i, name in enumerate(NAMES)}
    return SimpleNamespace(services=services)


def _observer(fresh: Freshness) -> tuple[Observer, FakePodman]:
    podman = FakePodman({})
    podman.started = list(NAMES)
    observer = Observer(_stack(), podman, pool=None)  # type: ignore[arg-type]
    observer.fresh = fresh
    observer.sleep = lambda _s: None  # a stop's evidence is not waited for
    return observer, podman


def _inspected(podman: FakePodman) -> list[list[str]]:
    """The containers of each ``podman container inspect`` so far, in order."""
    return [list(c[c.index("--") + 1:]) for c in podman.calls
            if c[:3] == ("podman", "container", "inspect")]


def test_an_unchanged_tick_inspects_nothing_after_the_first_full_look() -> None:
    observer, podman = _observer(_fresh())
    for _ in range(3):
        observed = observer.observe(set(), run_checks=False)
        assert {o.status for o in observed.values()} == {"starting"}
        assert len(observed) == len(NAMES)  # the last look's states, reused
    assert _inspected(podman) == [NAMES]


def test_an_event_makes_only_its_container_inspected_at_the_next_tick() -> None:
    fresh = _fresh()
    observer, podman = _observer(fresh)
    observer.observe(set(), run_checks=False)
    podman.exits[NAMES[2]] = 137  # it crashed: podman logs "died"
    fresh.event("died", NAMES[2])
    fresh.event("exec", NAMES[3])  # not a change of state
    observed = observer.observe(set(), run_checks=False)
    assert _inspected(podman) == [NAMES, [NAMES[2]]]
    assert observed["s2"].status == "stopped" and observed["s3"].status == "starting"
    observer.observe(set(), run_checks=False)  # seen once: not again
    assert len(_inspected(podman)) == 2


def test_an_exec_checks_result_makes_its_container_inspected() -> None:
    fresh = _fresh()
    observer, podman = _observer(fresh)
    observer.observe(set(), run_checks=False)
    observer.record(NAMES[1], CheckResult(0.1, None, False))  # podman's health changed
    observer.observe(set(), run_checks=False)
    assert _inspected(podman) == [NAMES, [NAMES[1]]]


def test_the_safety_net_full_look_comes_every_n_ticks() -> None:
    fresh = _fresh()
    looks = [len(fresh.plan(NAMES)) for _ in range(3 * FULL_EVERY_TICKS + 1)]
    full = [i for i, n in enumerate(looks) if n == len(NAMES)]
    assert full == [0, FULL_EVERY_TICKS, 2 * FULL_EVERY_TICKS, 3 * FULL_EVERY_TICKS]
    assert (fresh.full_looks, fresh.partial_looks) == (4, 3 * (FULL_EVERY_TICKS - 1))


def test_the_safety_net_full_look_comes_after_30_s_when_ticks_are_longer() -> None:
    clock = FakeClock()
    fresh = _fresh(clock)
    assert fresh.plan(NAMES) == NAMES
    clock.sleep(29.0)
    assert fresh.plan(NAMES) == []
    clock.sleep(1.0)
    assert fresh.plan(NAMES) == NAMES


def test_with_the_stream_down_every_tick_is_a_full_look() -> None:
    fresh = _fresh(up=False)
    assert all(fresh.plan(NAMES) == NAMES for _ in range(FULL_EVERY_TICKS + 2))
    assert fresh.partial_looks == 0


def test_a_rename_or_a_failed_inspect_makes_the_next_look_full() -> None:
    fresh = _fresh()
    fresh.plan(NAMES)
    fresh.event("rename", NAMES[0])  # a start-first swap moved a name
    assert fresh.plan(NAMES) == NAMES
    fresh.failed()
    assert fresh.plan(NAMES) == NAMES
    assert fresh.plan(NAMES) == []


class _Follower:
    def __init__(self) -> None:
        self.running, self.stopped = True, False

    def alive(self) -> bool:
        return self.running

    def stop(self) -> None:
        self.stopped = True


def test_an_ended_stream_is_started_again_and_that_tick_looks_at_everything() -> None:
    fresh = _fresh()
    started: list[_Follower] = []

    def start(_since: float) -> _Follower:
        started.append(_Follower())
        return started[-1]

    stream = Stream(start, fresh, now=lambda: 100.0)
    assert fresh.plan(NAMES) == NAMES  # the first look
    assert fresh.plan(NAMES) == []
    started[0].running = False  # podman events ended
    assert fresh.plan(NAMES) == NAMES
    assert len(started) == 2 and started[0].stopped and stream.restarts == 1
    assert fresh.plan(NAMES) == []  # the new stream is up


def test_a_stream_that_cannot_start_means_a_full_look_every_tick() -> None:
    fresh = _fresh()
    Stream(lambda _since: None, fresh)
    assert all(fresh.plan(NAMES) == NAMES for _ in range(3))


def test_the_watchers_podman_events_mark_their_containers_stale(monkeypatch) -> None:
    lines: list = []

    def follow(_argv, on_line) -> _Follower:
        lines.append(on_line)
        return _Follower()

    monkeypatch.setattr(service.commands, "follow", follow)
    fresh = Freshness(FakeClock())
    monitor = SimpleNamespace(observer=SimpleNamespace(fresh=fresh),
                              owner=SimpleNamespace(owns=lambda _o, _w: True),
                              stack=SimpleNamespace(project="p"))
    wake = threading.Event()
    stream = service._container_events(monitor, EventBus(), wake)  # type: ignore[arg-type]
    assert fresh.plan(NAMES) == NAMES  # the stream just started: a full look
    lines[0]('{"Status": "died", "Name": "p_s3_1", "Attributes": {}}')
    assert wake.is_set() and fresh.plan(NAMES) == ["p_s3_1"]
    assert fresh.plan(NAMES) == []
    stream.stop()


def test_a_finished_restart_makes_its_containers_inspected_at_the_next_tick() -> None:
    """The tick after a restart must not judge the state from before it (which would
    restart again, or open the circuit) because its start event is not in yet."""
    from concurrent.futures import Future

    from phoenix_compose.watch.monitor import HealthMonitor

    fresh = _fresh()
    fresh.plan(NAMES)  # the first, full look
    done: Future = Future()
    done.set_result(None)
    monitor = SimpleNamespace(
        observer=SimpleNamespace(fresh=fresh, units={
            "s1": SimpleNamespace(container="p_s1_1"), "s2": SimpleNamespace(container="p_s2_1")}),
        bus=EventBus(), restarts={}, pool=None, cascade=SimpleNamespace(launch=lambda *_a: None))
    HealthMonitor._finished(monitor, ["s1", "s2"], done, "unhealthy")  # type: ignore[arg-type]
    assert fresh.plan(NAMES) == ["p_s1_1", "p_s2_1"]
