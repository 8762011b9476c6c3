"""The watcher's new metrics from its events, served on 127.0.0.1 (a real HTTP scrape)."""

from __future__ import annotations

import urllib.request

from phoenix_compose.watch.events import make_event
from phoenix_compose.watch.metrics import WatchMetrics

from support import free_port


def test_oom_cascade_drift_and_lag_metrics() -> None:
    port = free_port()
    metrics = WatchMetrics(port)
    try:
        metrics.on_event(make_event("oom_killed", "web", limit="64m"))
        metrics.on_event(make_event("restart_succeeded", "app", cascade="db"))
        metrics.on_event(make_event("restart_succeeded", "db"))
        metrics.on_event(make_event("drift_checked", None, drifted=["web", "orphan:x"]))
        metrics.lag.observe(0.02)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    finally:
        metrics.close()
    assert 'phoenix_oom_kills_total{service="web"} 1.0' in text
    assert 'phoenix_cascade_restarts_total{service="app"} 1.0' in text
    assert 'phoenix_cascade_restarts_total{service="db"}' not in text
    assert "phoenix_drift_services 2.0" in text
    assert "phoenix_check_lag_seconds_count 1.0" in text


def test_the_backup_age_grows_from_the_last_backup_taken() -> None:
    import time

    port = free_port()
    metrics = WatchMetrics(port)
    try:
        metrics.on_event(make_event("backup_taken", "revenue-db", at=time.time() - 100))
        metrics.update({})
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    finally:
        metrics.close()
    line = next(x for x in text.splitlines()
                if x.startswith('phoenix_backup_age_seconds{service="revenue-db"}'))
    assert 100 <= float(line.split()[-1]) < 110
