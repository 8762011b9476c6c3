"""``inv health.watch``, ``health.check`` and ``health.pause``: the wiring of monitor, event
bus, event log, hooks, metrics, signals and container events.

The watch runs in the foreground until Ctrl-C or SIGTERM, then writes ``watch_stopped`` and
returns within about a second (the loop waits on an event, not a sleep).
"""

from __future__ import annotations

import json
import os
import select
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from phoenix_compose.config.identity import OWNER_LABEL
from phoenix_compose.config.masking import Masker
from phoenix_compose.errors import CommandError, ConfigurationError, shown
from phoenix_compose.runtime import argv, commands, stopping
from phoenix_compose.runtime.containers import WORKING_DIR_LABEL
from phoenix_compose.runtime.fingerprint import Applied
from phoenix_compose.runtime.lifecycle import ComposeManager, masker
from phoenix_compose.shapes import as_dict
from phoenix_compose.watch.drift import Diff, detect
from phoenix_compose.watch.events import Event, EventBus, EventLog, HookRunner
from phoenix_compose.watch.freshness import Stream
from phoenix_compose.watch.metrics import WatchMetrics
from phoenix_compose.watch.monitor import HealthMonitor
from phoenix_compose.watch.observe import HealthStatus, statuses
from phoenix_compose.watch.state import ServiceRecord
from phoenix_compose.watch.webhook import check_url

Print = Callable[[str], None]
BEGIN_LINE = "phoenix-watch: watching"
READY_LINE = "phoenix-watch: checked"


def monitor_for(root: Path, env: str, **kwargs: Any) -> HealthMonitor:
    return watched(root, env, **kwargs)[0]


def watched(root: Path, env: str, **kwargs: Any) -> tuple[HealthMonitor, Masker]:
    """The monitor of the env's prepared project (the last valid one when the config is
    broken) and the masker of its secrets: the env and the final file are read once."""
    manager = ComposeManager(root, env)
    return HealthMonitor(manager.current_stack(), manager.state, **kwargs), masker(manager)


def format_event(event: Event) -> str:
    detail = ""
    if event["type"] == "health_changed":
        detail = f"{event['from'] or '-'} -> {event['to']}"
        if event.get("detail") and event["to"] not in ("healthy", "running"):
            detail += f" ({event['detail'].splitlines()[0][:120]})"
    elif event["type"] == "restart_started":
        detail = f"because {event['reason']} (restart #{event['restart_count']})"
    elif event["type"] in ("restart_failed", "watch_error", "hook_failed"):
        detail = event.get("error", "")
    elif event["type"] == "container_event":
        detail = event["status"] + (f" (exit code {event['exit_code']})"
                                    if event.get("exit_code") is not None else "")
    elif event["type"] in ("edge_out", "edge_in"):
        detail = f"{event['container']} ({event['reason']})"
    elif event["type"] == "watch_started":
        detail = f"{len(event['services'])} services every {event['interval_s']:g} s" + (
            "" if event["healing"] else " (no restarts)")
    # a health check's output is the container's: its escapes never reach the terminal
    return shown(f"{event['time'][11:19]} {event['type']:<17} {event['service'] or '':<18} "
                 f"{detail}".rstrip())


def _woken_by(stop: threading.Event) -> threading.Event:
    wake = threading.Event()

    def stopped() -> None:
        stop.wait()
        wake.set()

    threading.Thread(target=stopped, name="phoenix-stop", daemon=True).start()
    return wake


def watch(root: Path, env: str, *, interval: float = 5.0, heal: bool = True, once: bool = False,
          metrics_port: int | None = None, as_json: bool = False,
          overrides: Mapping[str, Any] | None = None,
          hooks: Mapping[str, Sequence[Any]] | None = None, hook_timeout: float = 10.0,
          out: Print = print, stop: threading.Event | None = None) -> None:
    bus = EventBus()
    monitor, mask = watched(root, env, bus=bus, overrides=dict(overrides or {}), heal=heal)
    bus.mask = mask.tree
    _subscribe_outputs(monitor, bus, as_json, out)
    runner = _hooks(root, bus, hooks, hook_timeout)
    if metrics_port is not None:
        monitor.metrics = WatchMetrics(metrics_port)
        bus.subscribe(monitor.metrics.on_event)
    stop = stop or threading.Event()
    wake = _woken_by(stop)  # a stop also ends the wait for the next tick
    restore = _handle_signals(stop, wake, monitor.stopping)
    follower = None if once else _container_events(monitor, bus, wake)

    def on_tick(count: int, statuses: dict[str, HealthStatus]) -> None:
        if count == 1 and not as_json:
            healthy = sum(s.ok for s in statuses.values())
            out(f"{READY_LINE} {len(statuses)} services ({healthy} ok); Ctrl-C to stop")

    if not as_json:
        out(f"{BEGIN_LINE} {monitor.stack.project} (env {env})")
    try:
        monitor.run_forever(interval, stop, once=once, on_tick=on_tick, wake=wake,
                            check_limit=(overrides or {}).get("check_limit"))
    finally:
        restore()
        if follower is not None:
            follower.stop()  # its stream of podman events
        if runner is not None:
            runner.close(wait=True)
        if monitor.metrics is not None:
            monitor.metrics.close()


def _subscribe_outputs(monitor: HealthMonitor, bus: EventBus, as_json: bool,
                       out: Print) -> None:
    log = EventLog(monitor.state.events_log)  # the bus masks every event
    show = (lambda e: out(json.dumps(e))) if as_json else (lambda e: out(format_event(e)))
    bus.subscribe(lambda e: None if _quiet(e) else log(e))
    bus.subscribe(lambda e: None if _quiet(e) else show(e))


def _hooks(root: Path, bus: EventBus, hooks: Mapping[str, Sequence[Any]] | None,
           timeout: float) -> HookRunner | None:
    if not hooks:
        return None

    for event_type, entries in hooks.items():
        for i, hook in enumerate(entries if isinstance(entries, (list, tuple)) else [entries]):
            try:
                if isinstance(hook, Mapping):
                    check_url(hook.get("url"))
            except ValueError as exc:
                raise ConfigurationError(f"phoenix.hooks.{event_type}[{i}].url: {exc}",
                                         hint="e.g. {url: 'https://alerts.example/hook', "
                                              "retries: 2, timeout: 5}") from None

    def hook_failed(text: str) -> None:
        bus.emit("hook_failed", None, error=text)

    runner = HookRunner(hooks, commands.run, timeout, cwd=root, on_error=hook_failed)
    bus.subscribe(runner)
    return runner


REACT_TO = {"died", "remove", "oom"}
FORWARDED = {"start", "died", "health_status", "remove", "oom", "stop", "kill"}


def _quiet(event: Event) -> bool:
    """Our own checks make podman emit a health_status event each, one run late (podman
    4.3): they stay on the bus but out of the log and the terminal."""
    return event["type"] == "drift_checked" or (
        event["type"] == "container_event" and event.get("status") == "health_status")


def _container_events(monitor: HealthMonitor, bus: EventBus,
                      wake: threading.Event) -> Stream:
    """``podman events`` of the project become bus events; a died, removed or unhealthy
    container wakes the watcher at once instead of waiting for the next tick.  Each marks
    its container for the next tick's inspect (:mod:`.freshness`); a stream that ended is
    started again."""
    fresh = monitor.observer.fresh

    def on_line(line: str) -> None:
        try:
            raw = json.loads(line)
        except ValueError:
            return
        status, attributes = raw.get("Status", ""), as_dict(raw.get("Attributes"))
        fresh.event(status, raw.get("Name"))
        if status not in FORWARDED or monitor.owner.owns(
                attributes.get(OWNER_LABEL, ""),
                attributes.get(WORKING_DIR_LABEL, "")) is False:  # another stack root's
            return
        service = attributes.get("com.docker.compose.service")
        bus.emit("container_event", service, status=status, container=raw.get("Name"),
                 id=raw.get("ID") or None,
                 exit_code=raw.get("ContainerExitCode"),
                 health=raw.get("HealthStatus") or None)
        if status in REACT_TO:
            wake.set()

    def start(since: float) -> commands.Follower | None:
        try:
            return commands.follow(argv.events(monitor.stack.project, since=since), on_line)
        except CommandError as exc:  # the loop still works without events
            bus.emit("watch_error", None, error=str(exc).splitlines()[0])
            return None

    return Stream(start, fresh)


def _handle_signals(stop: threading.Event, wake: threading.Event,
                    wound_down: threading.Event | None = None) -> Callable[[], None]:
    """SIGINT and SIGTERM end the loop cleanly (only possible from the main thread).

    A signal handler may run between any two bytecodes of the main thread, also inside
    ``Event.set`` or while a lock is held: one that took a lock itself deadlocked on two
    close signals.  So the handler does nothing; the interpreter's C-level handler writes
    the signal number to a wakeup pipe (``signal.set_wakeup_fd``, async-signal-safe), and a
    thread reading that pipe sets the events and kills a hanging podman call, and any call
    started after the stop until the loop has ended (``wound_down``: a tick goes on until
    it looks at ``stop``; plugin jobs' cleanup comes after, and is left alone)."""
    restore = stopping.on_signals(
        lambda fd: _read_signals(fd, stop, wake, wound_down or threading.Event()))
    return restore or (lambda: None)


def _read_signals(read_fd: int, stop: threading.Event, wake: threading.Event,
                  wound_down: threading.Event) -> None:
    stops = {signal.SIGINT, signal.SIGTERM}
    while True:
        winding = stop.is_set() and not wound_down.is_set()
        if not select.select([read_fd], [], [], 0.1 if winding else None)[0]:
            # started after the stop, before the loop looked at it (a job's cleanup, e.g. a
            # throwaway's removal, is left alone: a further signal still kills it)
            commands.terminate_all(spare_cleanup=True)
            continue
        data = os.read(read_fd, 64)
        if not data:
            return
        if stops.intersection(data):
            stop.set()
            wake.set()
            commands.terminate_all()  # a hanging podman call must not delay the stop


def check(root: Path, env: str) -> tuple[list[HealthStatus], dict[str, list[Diff]]]:
    """One observation of every service, no healing, and the drift found: for CI steps
    (a health check's output is masked, as the watch's events are)."""
    from dataclasses import replace

    monitor, masking = watched(root, env, heal=False)
    mask = masking.text
    try:
        records = monitor.store.read()
        result = [replace(s, error_message=mask(s.error_message)) if s.error_message else s
                  for s in statuses(monitor.observe(), records).values()]
        expected = {n for n, s in monitor.stack.services.items()
                    if not s.profiles or (n in records and records[n].seen)}
        return result, detect(monitor.stack, monitor.run, Applied(monitor.state.applied),
                              lambda n: n in expected, monitor.owner)
    finally:
        monitor.pool.shutdown(wait=False)


def describe(diff: Diff) -> str:
    """One drift entry as a short phrase (names, never values)."""
    if diff["field"] == "orphan":
        return f"a container the config does not have (service {diff.get('service') or '-'})"
    if diff["field"] == "container":
        return "missing (no container)"
    if diff["field"] == "environment":
        return f"environment {diff['name']} {diff['change']}"
    if diff["field"] == "config-hash":
        return "; ".join(diff.get("changes") or []) or "config-hash: not made by phoenix " \
            "from this config"
    key = f" {diff['name']}" if diff.get("name") else ""
    return f"{diff['field']}{key}: expected {diff.get('expected')}, found {diff.get('actual')}"


def set_paused(root: Path, env: str, service: str, paused: bool) -> None:
    monitor, mask = watched(root, env)
    monitor.bus.subscribe(EventLog(monitor.state.events_log, mask.tree))
    monitor.stack.select([service])  # an unknown name is an error
    with monitor.store.update() as records:
        records.setdefault(service, ServiceRecord()).paused = paused
    monitor.bus.emit("service_paused" if paused else "service_resumed", service)
    monitor.pool.shutdown(wait=False)
