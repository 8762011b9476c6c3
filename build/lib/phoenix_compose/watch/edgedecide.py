"""The watcher's decisions about the edge (issue 26, item 4): pure functions of a container
event or a unit's observation.  No podman, no socket, no clock: :mod:`.edgeguard` acts.

- A replica of a service behind the edge that podman reports ``died``, stopped, killed or
  removed is taken out of the edge at once (its server to ``maint``): on the event, not
  at the next tick.  So is one that a tick finds not running (an event missed).
- A replica that the watcher took out and that is healthy again by our checks goes back
  (``ready``, at the address ``podman port`` gives now), unless the stack is being
  administered (``up``/``down`` own the edge then) or the watcher is restarting it.
- Only replicas of edged services are ever named (``replicas``: container -> unit)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phoenix_compose.edge.model import State
from phoenix_compose.watch.observe import Observation

OUT_STATUSES = frozenset({"died", "stop", "kill", "remove"})  # podman events: not serving


@dataclass(frozen=True)
class EdgeMove:
    unit: str
    container: str
    state: State  # MAINT: out of the edge; READY: back in
    reason: str
    id: str = ""  # the event's container id: the name may hold another container since


def on_event(event: Mapping[str, Any], replicas: Mapping[str, str]) -> EdgeMove | None:
    """A bus event: a ``container_event`` that says a replica stopped serving."""
    if event.get("type") != "container_event" or event.get("status") not in OUT_STATUSES:
        return None
    container = str(event.get("container") or "")
    unit = replicas.get(container)
    if unit is None:
        return None
    return EdgeMove(unit, container, State.MAINT, f"podman {event['status']}",
                    str(event.get("id") or ""))


def on_observation(unit: str, container: str, obs: Observation, *, out: bool, busy: bool,
                   stack_down: bool) -> EdgeMove | None:
    """A tick's look at one replica; ``out``: the watcher took its server out; ``busy``:
    the watcher is restarting it; ``stack_down``: ``up``/``down`` runs, or it was taken
    down."""
    if obs.state is None or not obs.state.running:
        return EdgeMove(unit, container, State.MAINT, obs.error or str(obs.status))
    if out and obs.status.ok and not busy and not stack_down:
        return EdgeMove(unit, container, State.READY, f"{obs.status} again")
    return None
