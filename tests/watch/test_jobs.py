"""Plugin jobs in the health watch: reported when they fail, and told to give up (then
waited for, so their cleanup runs) when the watch stops."""

from __future__ import annotations

import threading
from pathlib import Path

from phoenix_compose.hooks import STOPPING, WatchJob
from phoenix_compose.watch.jobs import start_jobs, stop_jobs


def test_a_stopping_watch_tells_a_running_job_and_waits_for_its_cleanup(tmp_path) -> None:
    started, cleaned = threading.Event(), []

    def run(root: Path, env: str, emit) -> None:
        started.set()
        try:
            assert STOPPING.wait(30), "never told to stop"  # e.g. waiting for a database
            raise RuntimeError("gave up")
        finally:
            cleaned.append((root, env))  # e.g. removing its throwaway container

    events: list[tuple] = []
    stop = threading.Event()
    thread = start_jobs(tmp_path, "t", lambda *a, **kw: events.append((a, kw)), stop,
                        {"j": WatchJob("j", lambda root, env: 0, run)})
    assert thread is not None and started.wait(10)
    stop.set()
    stop_jobs(thread, 30)
    assert not thread.is_alive() and cleaned == [(tmp_path, "t")]
    assert events == [(("watch_error", None), {"error": "job j: gave up"})]
    assert not STOPPING.is_set()  # ready for the next watch in this process


def test_a_job_that_will_not_end_is_left_after_the_grace(tmp_path) -> None:
    release = threading.Event()
    stop = threading.Event()
    thread = start_jobs(tmp_path, "t", lambda *a, **kw: None, stop,
                        {"j": WatchJob("j", lambda root, env: 0,
                                       lambda root, env, emit: release.wait(30))})
    stop.set()
    stop_jobs(thread, 0.2)
    assert thread is not None and thread.is_alive() and STOPPING.is_set()
    release.set()
    thread.join(10)
    STOPPING.clear()


def test_no_jobs_no_thread(tmp_path) -> None:
    assert start_jobs(tmp_path, "t", print, threading.Event(), {}) is None
    stop_jobs(None, 1)  # nothing to wait for
