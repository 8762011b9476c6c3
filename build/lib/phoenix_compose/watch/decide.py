"""The watcher's decisions: a pure function of one service's observation, its restart
policy, its persisted record and the time.  No podman, no clock, no disk: the monitor
observes, calls :func:`decide`, stores the record it returns and acts on the action.

- A service that needs healing is restarted at once the first time, then only after a
  backoff that doubles with each consecutive restart (equal jitter: half fixed, half
  random, so intervals always grow) up to ``backoff_max_s``.
- Once ``max_restarts`` restarts happened inside ``window_s``, the next need opens the
  circuit: no more restarts.  After ``window_s`` it goes half-open and allows one; a
  healthy service then closes it, another failure opens it again.
- A service that stays healthy for ``window_s`` forgets its backoff.
- A user's own stop, a paused service, a starting one, a container that was never created
  and a stack taken down (or being administered) are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phoenix_compose._compat import StrEnum
from phoenix_compose.runtime.containers import ServiceState
from phoenix_compose.watch.observe import Observation
from phoenix_compose.watch.restart_policy import Circuit, RestartPolicy
from phoenix_compose.watch.state import ServiceRecord

Event = dict[str, Any]


class Action(StrEnum):
    NONE = "none"  # healthy, or not ours to heal
    RESTART = "restart"  # podman restart
    RECREATE = "recreate"  # the container is gone: podman-compose up --no-deps
    WAIT = "wait"  # backing off
    BLOCKED = "blocked"  # paused, disabled, or the circuit is open


@dataclass(frozen=True)
class Verdict:
    action: Action
    record: ServiceRecord
    events: tuple[Event, ...] = ()
    reason: str = ""


def decide(obs: Observation, policy: RestartPolicy, record: ServiceRecord, now: float,
           rand: Callable[[], float], *, stack_down: bool = False) -> Verdict:
    """What to do about one service now; ``record`` is not modified (a new one is returned)."""
    rec = seen(record, obs)
    if obs.status is ServiceState.STOPPED and not obs.created_only:
        rec.last_exit = "oom-killed" if obs.oom else f"exit code {obs.state.exit_code}" \
            if obs.state else None
    status, waiting = _unhealthy_for(obs, policy, rec, now)
    if waiting:
        return Verdict(Action.NONE, rec, reason=waiting)
    if status.ok:
        return Verdict(Action.NONE, rec, tuple(_on_healthy(rec, policy, now)))
    if obs.status is ServiceState.STARTING or stack_down:
        return Verdict(Action.NONE, rec, reason="starting" if not stack_down else "stack down")
    if obs.status is ServiceState.MISSING and not rec.seen:
        return Verdict(Action.NONE, rec, reason="never created")  # a profile, or not up yet
    if obs.status is ServiceState.STOPPED and (obs.created_only or obs.deliberate):
        return Verdict(Action.NONE, rec, reason="stopped by the user")
    if obs.status is ServiceState.STOPPED and not obs.oom and obs.state is not None and \
            obs.state.exit_code in policy.no_restart_exit_codes:
        return Verdict(Action.NONE, rec, reason=f"done (exit code {obs.state.exit_code})")
    verdict = _on_failing(rec, policy, now, rand)
    recreate = obs.status is ServiceState.MISSING or policy.restart_mode == "recreate"
    if verdict.action is Action.RESTART and recreate:
        return Verdict(Action.RECREATE, verdict.record, verdict.events, verdict.reason)
    return verdict


def _unhealthy_for(obs: Observation, policy: RestartPolicy, rec: ServiceRecord,
                   now: float) -> tuple[ServiceState, str]:
    """With ``unhealthy_for_s``, a running service counts as unhealthy from the first failed
    check of a streak (not after podman's retries), and is left alone until it has been
    so for that long.  Returns the status to act on, and why it waits ("": it does not)."""
    state = obs.state
    failing = state is not None and state.running and (
        obs.status is ServiceState.UNHEALTHY or
        (obs.status is ServiceState.HEALTHY and state.failing_streak > 0))
    if not failing:
        rec.failing_since = None
        return obs.status, ""
    if rec.failing_since is None:
        rec.failing_since = now
    if policy.unhealthy_for_s is None:
        return obs.status, ""
    if now - rec.failing_since < policy.unhealthy_for_s:
        return obs.status, (f"unhealthy for {now - rec.failing_since:.1f} of "
                            f"{policy.unhealthy_for_s:g} s")
    return ServiceState.UNHEALTHY, ""  # failing long enough, even before podman's retries


def seen(record: ServiceRecord, obs: Observation) -> ServiceRecord:
    """A copy of ``record`` that remembers whether the container ever existed."""
    rec = record.copy()
    rec.seen = rec.seen or obs.state is not None
    return rec


def charge(record: ServiceRecord | None, policy: RestartPolicy, now: float,
           rand: Callable[[], float]) -> Verdict:
    """A restart the watcher makes for another service's sake (a dependency cascade): it
    skips the backoff wait but counts against the budget, and an open circuit refuses it."""
    rec = (record or ServiceRecord()).copy()
    rec.next_restart_at = 0.0
    return _on_failing(rec, policy, now, rand)


def _on_healthy(rec: ServiceRecord, policy: RestartPolicy, now: float) -> list[Event]:
    if rec.healthy_since is None:
        rec.healthy_since = now
    trial_due = rec.circuit is Circuit.OPEN and rec.opened_at is not None and \
        now - rec.opened_at >= policy.window_s
    if rec.circuit is Circuit.HALF_OPEN or trial_due:  # half-open, and this is the success
        rec.circuit, rec.opened_at = Circuit.CLOSED, None
        rec.restart_times, rec.attempt = [], 0
        return [{"type": "circuit_closed"}]
    if rec.attempt and now - rec.healthy_since >= policy.window_s:
        rec.attempt = 0
    return []


def _on_failing(rec: ServiceRecord, policy: RestartPolicy, now: float,
                rand: Callable[[], float]) -> Verdict:
    rec.healthy_since = None
    if rec.paused:
        return Verdict(Action.BLOCKED, rec, reason="paused")
    if not policy.enabled:
        return Verdict(Action.BLOCKED, rec, reason="restarts disabled")
    if rec.circuit is Circuit.OPEN:
        if rec.opened_at is not None and now - rec.opened_at < policy.window_s:
            return Verdict(Action.BLOCKED, rec, reason="circuit open")
        rec.circuit = Circuit.HALF_OPEN
    elif rec.circuit is Circuit.HALF_OPEN and rec.attempt and rec.restart_times and \
            rec.restart_times[-1] >= (rec.opened_at or 0):
        return _open(rec, now)  # the one trial restart did not help
    recent = [t for t in rec.restart_times if now - t < policy.window_s]
    if rec.circuit is Circuit.CLOSED and len(recent) >= policy.max_restarts:
        return _open(rec, now)
    if now < rec.next_restart_at:
        return Verdict(Action.WAIT, rec, reason=f"backoff until {rec.next_restart_at:.1f}")
    rec.restart_times = recent + [now]
    rec.restart_count += 1
    rec.attempt += 1
    rec.next_restart_at = now + policy.backoff(rec.attempt, rand)
    return Verdict(Action.RESTART, rec)


def _open(rec: ServiceRecord, now: float) -> Verdict:
    rec.circuit, rec.opened_at = Circuit.OPEN, now
    return Verdict(Action.BLOCKED, rec, ({"type": "circuit_open"},), reason="circuit open")
