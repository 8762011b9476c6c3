"""One health check of a container, the one function the watcher, ``up``'s health gate and
``health.check`` call: native when the service's test is one phoenix runs itself
(:mod:`phoenix_compose.config.probes`), else ``podman healthcheck run``.

A native check runs :mod:`.nsprobe` (a small helper process of this interpreter) in the
container's network namespace, found from its main process (``State.Pid``), held to the
check's timeout (or the command's own, when shorter).  Its answer has the shape of an exec
check's (exit 0 passed, 1 failed, ``CHECK_TIMED_OUT`` out of time), so every caller
treats both alike.  When the namespace cannot be entered (no permission), the check falls
back to exec for that container, and the next ones too.  The watcher asks one long-lived
helper instead (:mod:`.probeserver`): the same probe, without an interpreter's start-up.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

from phoenix_compose.config.probes import NativeProbe
from phoenix_compose.runtime import commands, containers
from phoenix_compose.runtime.containers import CHECK_TIMED_OUT, Runner
from phoenix_compose.runtime.probeserver import ProbeServer

HELPER = Path(__file__).with_name("nsprobe.py")
PASSED, FAILED, STALE, NO_NAMESPACE, TIMED_OUT = 0, 1, 2, 3, 124
Target = tuple[int, str]  # the container's main process and its id
EXEC_ONLY: set[str] = set()  # containers whose namespace we may not enter


def probe_argv(target: Target, probe: NativeProbe, timeout: float) -> tuple[str, ...]:
    pid, container_id = target
    return (sys.executable, "-I", "-S", str(HELPER), str(pid), container_id, probe.kind,
            probe.host, str(probe.port), probe.path or "/", f"{timeout:g}")


def limit(probe: NativeProbe | None, timeout: float) -> float:
    """The check's timeout, or the command's own (``wget -T``, ``curl -m``) when shorter."""
    given = min(timeout, probe.timeout) if probe and probe.timeout else timeout
    return max(0.1, given)  # 0 would be no limit at all for the helper's timer


def run_check(run: Runner, container: str, timeout: float, probe: NativeProbe | None = None,
              target: Target | None = None, server: ProbeServer | None = None
              ) -> tuple[commands.Result, Target | None]:
    """One check of ``container``: native with ``probe``, else exec.  ``target``: its main
    process and id from a recent inspect (else asked of podman).  ``server``: a long-lived
    helper to ask (the watcher's), else a helper process of its own.  Returns the answer
    and, for a native check, the process it probed."""
    if probe is None or container in EXEC_ONLY:
        return containers.run_check(run, container, timeout), None
    timeout = limit(probe, timeout)
    for attempt in range(2):
        if target is None or attempt:
            state = containers.inspect(run, [container]).get(container)
            if state is None or not state.running or not state.pid:
                return commands.Result((), FAILED, "", f"{container} is not running"), None
            target = (state.pid, state.id)
        alone = partial(run, probe_argv(target, probe, timeout), ok_codes=(0, 1, 2, 3, 124),
                        timeout=timeout + 10)
        result = server.check(target, probe, timeout, alone) if server is not None else alone()
        if result.code != STALE:
            break
    if result.code == NO_NAMESPACE:
        EXEC_ONLY.add(container)
        return containers.run_check(run, container, timeout), None
    if result.code == TIMED_OUT:
        return commands.Result(result.argv, CHECK_TIMED_OUT, "",
                               f"health check timed out after {timeout:g} s (its timeout:)"), target
    return commands.Result(result.argv, result.code if result.code in (0, 1) else FAILED,
                           result.stdout.strip(), ""), target
