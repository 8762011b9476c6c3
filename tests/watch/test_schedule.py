"""The check scheduler: checks spread over the interval, never more than the limit at
once, each container once per interval, lag measured (real threads, a fake check)."""

from __future__ import annotations

import threading
import time

from phoenix_compose.watch.schedule import CheckResult, CheckScheduler


class Recorder:
    def __init__(self, duration: float = 0.01, failing: frozenset = frozenset()) -> None:
        self.starts: list[tuple[str, float]] = []
        self.active = self.peak = 0
        self.lock = threading.Lock()
        self.duration, self.failing = duration, failing

    def __call__(self, name: str) -> CheckResult:
        with self.lock:
            self.starts.append((name, time.monotonic()))
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.duration)
        with self.lock:
            self.active -= 1
        return CheckResult(self.duration, ok=name not in self.failing)


def run_for(scheduler: CheckScheduler, seconds: float) -> None:
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    time.sleep(seconds)
    scheduler.stop()
    thread.join(2)


def test_checks_are_spread_over_the_interval_once_each_and_never_over_the_limit() -> None:
    check = Recorder(duration=0.05)
    results: list[tuple[str, CheckResult]] = []
    scheduler = CheckScheduler(check, 0.5, lambda n, r: results.append((n, r)), limit=2)
    names = [f"c{i:02d}" for i in range(10)]
    scheduler.update(names)
    started = time.monotonic()
    run_for(scheduler, 0.95)
    first = [t - started for _, t in check.starts[:10]]
    assert sorted(n for n, _ in check.starts[:10]) == names  # each once in the first round
    assert first[-1] - first[0] >= 0.35  # spread over the 0.5 s interval, not a burst
    assert check.peak <= 2
    counts = {n: sum(1 for m, _ in check.starts if m == n) for n in names}
    assert set(counts.values()) <= {1, 2}  # once per interval, over ~2 intervals
    assert all(r.lag < 0.2 for _, r in results) and len(scheduler.lags) == len(check.starts)


def test_a_new_container_is_checked_at_once_and_a_gone_one_no_more() -> None:
    check = Recorder()
    scheduler = CheckScheduler(check, 10, lambda n, r: None, limit=2)
    scheduler.update(["a"])
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    time.sleep(0.1)
    scheduler.update(["b"])  # a is gone, b is new
    time.sleep(0.1)
    scheduler.stop()
    thread.join(2)
    assert [n for n, _ in check.starts] == ["a", "b"]
    assert set(scheduler.due) == {"b"}
