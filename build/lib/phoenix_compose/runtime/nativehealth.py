"""The health of containers whose checks phoenix runs itself (native probes).

podman keeps the health of the checks it runs (``podman healthcheck run``): a status and a
failing streak against ``retries``.  A native probe bypasses podman, so its results are
kept here under the same rules: a passing check makes the container healthy and clears the
streak; a failing one adds to the streak, except during the start period while it has
never passed; ``retries`` failures in a row make it unhealthy.  The record is per
container run (its id and main process), persisted in ``StateDir.probe_health`` so that one-shot
``health.check`` and ``status`` see what the watcher saw.  ``podman ps`` and ``podman
inspect`` show podman's own health, which native checks do not update.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from phoenix_compose.config.probes import NativeProbe
from phoenix_compose.fileio import read_json, write_files
from phoenix_compose.runtime import checks, commands
from phoenix_compose.runtime.containers import ContainerState, Runner
from phoenix_compose.runtime.probeserver import ProbeServer
from phoenix_compose.runtime.stack import Health, Stack


@dataclass(frozen=True)
class Tracked:
    id: str  # the container's id
    pid: int  # its main process: a restart is a new run, starting afresh
    status: str = "starting"  # starting, healthy or unhealthy, as podman says them
    streak: int = 0  # failed checks in a row that count
    output: str = ""  # the last check's message
    checked_at: str = ""  # when the last check ended (ISO 8601; the plan's "checked lately")


class NativeHealth:
    def __init__(self, probes: dict[str, tuple[Health, NativeProbe]],
                 path: Path | None = None, server: bool = False) -> None:
        self.probes = probes  # container -> its healthcheck and probe (native ones only)
        self.path = path
        self.lock = threading.Lock()
        self.tracked: dict[str, Tracked] = {}
        self.targets: dict[str, checks.Target] = {}  # the process each was last probed in
        self.changed: set[str] = set()  # what this process learnt since its last save
        # the watcher's: one long-lived helper for all its checks (see probeserver)
        self.server = ProbeServer(str(checks.HELPER)) if server else None
        if path is not None:
            self.tracked = read_tracked(path)

    @classmethod
    def for_stack(cls, stack: Stack, path: Path | None = None,
                  server: bool = False) -> NativeHealth:
        return cls(native_probes(stack), path, server)

    def close(self) -> None:
        """End the long-lived helper, if any (the next check would start another)."""
        if self.server is not None:
            self.server.close()

    def native(self, container: str) -> bool:
        """Checked natively (not when its namespace could not be entered: exec then)."""
        return container in self.probes and container not in checks.EXEC_ONLY

    def check(self, run: Runner, container: str, timeout: float,
              state: ContainerState | None = None) -> commands.Result:
        """One check (:func:`.checks.run_check`: native or exec), its result kept when
        native.  ``state``: the container as recently inspected (its process, its start)."""
        probe = self.probes[container][1] if container in self.probes else None
        target = (state.pid, state.id) if state is not None and state.pid else \
            self.targets.get(container)  # checked by the helper: a stale one is asked anew
        result, probed = checks.run_check(run, container, timeout, probe, target, self.server)
        if probed is not None:
            self.targets[container] = probed
            started = state.started_at if state is not None and \
                (state.pid, state.id) == probed else None
            self.record(container, probed, result.code == 0,
                        (result.stdout + result.stderr).strip(), started)
        return result

    def record(self, container: str, run: checks.Target, passed: bool, output: str,
               started: datetime | None, now: datetime | None = None) -> Tracked:
        """One check's result for the container's run (its main process and id).  A failure
        while it has never passed is not counted before its start period is over (an
        unknown start counts as within it)."""
        health = self.probes[container][0]
        now = now or datetime.now(timezone.utc)
        with self.lock:
            old = self.tracked.get(container)
            if old is None or (old.pid, old.id) != run:
                old = Tracked(run[1], run[0])
            old = replace(old, checked_at=now.isoformat())
            if passed:
                new = replace(old, status="healthy", streak=0, output=output)
            elif old.status == "starting" and (started is None or (
                    now - started).total_seconds() < health.start_period):
                new = replace(old, output=output)  # the start period: not counted
            else:
                streak = old.streak + 1
                new = replace(old, streak=streak, output=output,
                              status="unhealthy" if streak >= health.retries else old.status)
            if new != self.tracked.get(container):
                self.changed.add(container)
            self.tracked[container] = new
        return new

    def apply(self, state: ContainerState) -> ContainerState:
        """The container's state with the health we keep for its run in place of podman's."""
        if not state.running or not state.health or not self.native(state.name):
            return state  # podman knows of no healthcheck: made from an older config
        with self.lock:
            tracked = self.tracked.get(state.name)
        if tracked is None or (tracked.id, tracked.pid) != (state.id, state.pid):
            return state  # not checked natively in this run yet: podman's is all there is
        checked = datetime.fromisoformat(tracked.checked_at) if tracked.checked_at else None
        return replace(state, health=tracked.status, failing_streak=tracked.streak,
                       last_output=tracked.output, checked_at=checked or state.checked_at)

    def save(self) -> None:
        """Write what changed over what is recorded (``up`` and the watcher may both keep
        records: each writes only its own news)."""
        if self.path is None or not self.changed:
            return
        with self.lock:
            news = {n: self.tracked[n] for n in self.changed}
            self.changed = set()
        data = {n: asdict(t) for n, t in sorted({**read_tracked(self.path), **news}.items())}
        text = json.dumps({"containers": data}, indent=1, sort_keys=True) + "\n"
        try:
            write_files({self.path: text})
        except OSError:
            pass  # a record we could not write is only a later one-shot's loss


def native_probes(stack: Stack) -> dict[str, tuple[Health, NativeProbe]]:
    """container -> (its healthcheck, its probe), for the services phoenix checks itself."""
    out: dict[str, tuple[Health, NativeProbe]] = {}
    for spec in stack.services.values():
        if spec.health is not None and spec.probe is not None:
            out.update((name, (spec.health, spec.probe)) for name in spec.containers)
    return out


def read_tracked(path: Path) -> dict[str, Tracked]:
    """What was recorded; a missing or damaged file reads as nothing."""
    data = read_json(path)
    found = data.get("containers") if isinstance(data, dict) else None
    out: dict[str, Tracked] = {}
    for name, item in (found.items() if isinstance(found, dict) else ()):
        try:
            out[str(name)] = Tracked(**_fields(item))
        except (TypeError, KeyError, ValueError):
            continue
    return out


def _fields(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise TypeError("not a mapping")
    return {"id": str(item["id"]), "pid": int(item["pid"]),
            "status": str(item.get("status") or "starting"),
            "streak": int(item.get("streak") or 0), "output": str(item.get("output") or ""),
            "checked_at": str(item.get("checked_at") or "")}
