"""Plugin jobs in the health watch (``phoenix_compose.hooks.WATCH_JOBS``), e.g. scheduled
backups: each run when its ``due_in`` says so, in a thread of their own so a long job never
delays a tick; a failing job is a ``watch_error``, never fatal."""

from __future__ import annotations

import threading
from pathlib import Path

from phoenix_compose.hooks import STOPPING, WATCH_JOBS, Emit, WatchJob


def start_jobs(root: Path, env: str, emit: Emit, stop: threading.Event,
               jobs: dict[str, WatchJob] | None = None) -> threading.Thread | None:
    jobs = WATCH_JOBS if jobs is None else jobs
    if not jobs:
        return None
    STOPPING.clear()
    thread = threading.Thread(target=_loop, args=(root, env, emit, stop, jobs),
                              name="phoenix-jobs", daemon=True)
    thread.start()
    return thread


def _loop(root: Path, env: str, emit: Emit, stop: threading.Event,
          jobs: dict[str, WatchJob]) -> None:
    while not stop.is_set():
        waits = [60.0]
        for job in list(jobs.values()):
            try:
                due = job.due_in(root, env)
                if due is not None and due <= 0:
                    job.run(root, env, emit)
                    due = job.due_in(root, env)
            except Exception as exc:  # noqa: BLE001 - a plugin's failure is reported only
                text = (str(exc) or type(exc).__name__).splitlines()[0]
                emit("watch_error", None, error=f"job {job.name}: {text}")
                due = 60.0
            if due is not None:
                waits.append(max(1.0, due))
        stop.wait(min(waits))


def stop_jobs(thread: threading.Thread | None, grace_s: float) -> None:
    """Tell a running job to give up, and wait up to ``grace_s`` for its cleanup."""
    if thread is not None:
        STOPPING.set()
        thread.join(grace_s)
        if not thread.is_alive():
            STOPPING.clear()  # for a later watch or a plugin task in this process
