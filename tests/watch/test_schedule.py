"""The check scheduler: checks spread over the interval, never more than the limit at
once, each container once per interval, lag measured.  A fake clock moves only when the
scheduler waits, so the times asserted are the scheduler's decisions, not the machine's
speed."""

from __future__ import annotations

import threading

from phoenix_compose.watch.schedule import CheckResult, CheckScheduler

from support import FakeClock, SyncExecutor


class Recorder:
    """A fake check: records when each container's check started, takes ``duration``."""

    def __init__(self, clock: FakeClock, duration: float = 0.0) -> None:
        self.clock, self.duration = clock, duration
        self.starts: list[tuple[str, float]] = []

    def __call__(self, name: str) -> CheckResult:
        self.starts.append((name, self.clock()))
        self.clock.sleep(self.duration)
        return CheckResult(self.duration)


class Waits:
    """Stands in for the scheduler's wake-up event: each wait moves the fake clock by its
    timeout (nothing else can wake a loop that runs its checks in line), calls ``each``,
    and stops the scheduler once the clock reaches ``until``."""

    def __init__(self, scheduler: CheckScheduler, clock: FakeClock, until: float,
                 each=lambda count: None) -> None:
        self.scheduler, self.clock, self.until, self.each = scheduler, clock, until, each
        self.count = 0

    def wait(self, timeout: float) -> bool:
        self.count += 1
        assert self.count < 100_000, "the scheduler never reached the end"  # a hang guard
        self.clock.sleep(timeout)
        self.each(self.count)
        if self.clock.now >= self.until:
            self.scheduler.stopped.set()
        return False

    def set(self) -> None:
        pass

    def clear(self) -> None:
        pass


def in_line(check: Recorder, interval: float, on_result=lambda n, r: None) -> CheckScheduler:
    """A scheduler on the check's fake clock that runs each check in its own loop."""
    scheduler = CheckScheduler(check, interval, on_result, limit=2, clock=check.clock)
    scheduler.pool.shutdown()
    scheduler.pool = SyncExecutor()
    scheduler.lock = threading.RLock()  # a check run in line finishes under the loop's lock
    return scheduler


def test_checks_are_spread_over_the_interval_once_each_per_interval_on_time() -> None:
    clock = FakeClock()
    check = Recorder(clock, duration=0.05)
    results: list[tuple[str, CheckResult]] = []
    scheduler = in_line(check, 10, lambda n, r: results.append((n, r)))
    names = [f"c{i:02d}" for i in range(10)]
    scheduler.update(names)
    scheduler.kick = Waits(scheduler, clock, until=19.5)  # type: ignore[assignment]
    scheduler.run()
    first = [(n, round(t, 6)) for n, t in check.starts[:10]]
    assert first == [(n, float(i)) for i, n in enumerate(names)]  # 10 s / 10: one a second
    second = [(n, round(t, 6)) for n, t in check.starts[10:]]
    assert second == [(n, float(10 + i)) for i, n in enumerate(names)]  # the same phase
    assert all(r.lag < 1e-6 for _, r in results) and len(results) == 20
    assert len(scheduler.lags) == len(check.starts)


def test_a_late_check_keeps_its_phase_and_reports_its_lag() -> None:
    clock = FakeClock()
    check = Recorder(clock, duration=2.5)  # each check overruns the next one's slot
    results: list[tuple[str, CheckResult]] = []
    scheduler = in_line(check, 4, lambda n, r: results.append((n, r)))
    scheduler.update(["a", "b"])  # a at 0, b at 2
    scheduler.kick = Waits(scheduler, clock, until=7.0)  # type: ignore[assignment]
    scheduler.run()
    assert [(n, round(t, 6)) for n, t in check.starts] == [("a", 0.0), ("b", 2.5),
                                                           ("a", 5.0)]
    assert [round(r.lag, 6) for _, r in results] == [0.0, 0.5, 1.0]


def test_never_more_checks_at_once_than_the_limit() -> None:
    clock = FakeClock()
    check = Recorder(clock)
    done = threading.Condition()
    results: list[str] = []

    def on_result(name: str, _result: CheckResult) -> None:
        with done:
            results.append(name)
            done.notify_all()

    scheduler = CheckScheduler(check, 4, on_result, limit=2, clock=clock)
    scheduler.update(["a", "b", "c", "d"])  # due at 0, 1, 2 and 3
    clock.now = 10.5  # all four overdue at once, none due again before 11; the clock stays
    at_once: list[int] = []
    submit = scheduler.pool.submit

    def counted(fn, *args):
        at_once.append(len(scheduler.running))  # the loop holds its lock: nothing finishes
        return submit(fn, *args)

    scheduler.pool.submit = counted  # type: ignore[method-assign]
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    with done:
        assert done.wait_for(lambda: len(results) >= 4, timeout=30), results  # a hang guard
    scheduler.stop()
    thread.join(30)
    assert sorted(results) == ["a", "b", "c", "d"]  # each once: the next are due from 11
    assert max(at_once) == 2 and len(at_once) == 4


def test_a_new_container_is_checked_at_once_and_a_gone_one_no_more() -> None:
    clock = FakeClock()
    check = Recorder(clock)
    scheduler = in_line(check, 10)
    scheduler.update(["a"])

    def replace(count: int) -> None:
        if count == 1:
            scheduler.update(["b"])  # a is gone, b is new

    scheduler.kick = Waits(scheduler, clock, until=25, each=replace)  # type: ignore[assignment]
    scheduler.run()
    assert [(n, round(t, 6)) for n, t in check.starts] == [("a", 0.0), ("b", 0.0),
                                                           ("b", 10.0), ("b", 20.0)]
    assert set(scheduler.due) == {"b"}
