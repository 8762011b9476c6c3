"""A service's replicas and its ``deploy.update_config``/``rollback_config``, typed from its
compose mapping (issue 26): read by :class:`.services.ServiceSpec`, the runtime planner's
replica rules (``runtime/replicaplan.py``) and the edge (``runtime/edgeplan.py``).  Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phoenix_compose.shapes import as_dict

START_FIRST, STOP_FIRST = "start-first", "stop-first"
FAILURE_ACTIONS = ("rollback", "pause", "continue")


@dataclass(frozen=True)
class OnFailure:
    """What a start-first roll does when batch ``number`` fails: the new replicas it
    removes, the old ones it keeps serving, and whether it stops there."""

    drop: tuple[str, ...]
    keep: tuple[str, ...]
    stop: bool


@dataclass(frozen=True)
class UpdateConfig:
    """compose's ``update_config`` (and ``rollback_config``): ``failure_action`` defaults to
    ``rollback`` here (phoenix's ``up`` rolls a failed deploy back)."""

    parallelism: int = 1  # 0: all at once
    delay: float = 0.0
    order: str = STOP_FIRST
    failure_action: str = "rollback"
    monitor: float = 0.0

    @property
    def start_first(self) -> bool:
        return self.order == START_FIRST

    def batches(self, items: tuple[str, ...]) -> list[tuple[str, ...]]:
        """``items`` ``parallelism`` at a time (0: one batch of all)."""
        size = self.parallelism if self.parallelism > 0 else max(len(items), 1)
        return [items[i:i + size] for i in range(0, len(items), size)]

    def on_failure(self, number: int, news: list[tuple[str, ...]],
                   olds: list[tuple[str, ...]]) -> OnFailure:
        """Batch ``number`` of ``news`` failed (``olds[i]``: the old replicas batch ``i``
        retires).  ``rollback``: every new replica goes (the caller rolls back); ``pause``:
        this batch's and the later ones' new replicas go, every old one not yet retired
        stays; ``continue``: this batch's new ones go, its old ones stay, the roll goes on."""
        later = tuple(c for batch in news[number + 1:] for c in batch)
        if self.failure_action == "continue":
            return OnFailure(news[number], olds[number], stop=False)
        if self.failure_action == "pause":
            return OnFailure(news[number] + later,
                             tuple(c for batch in olds[number:] for c in batch), stop=True)
        done = tuple(c for batch in news[:number] for c in batch)
        return OnFailure(done + news[number] + later, (), stop=True)


def update_config_of(raw: dict[str, Any], key: str,
                     seconds: Callable[[Any, float], float]) -> UpdateConfig:
    """``deploy.<key>`` as written (absent: the defaults); ``seconds``: the duration
    parser (:func:`.services.seconds`)."""
    block = as_dict(as_dict(raw.get("deploy")).get(key))
    default = UpdateConfig()
    return UpdateConfig(
        parallelism=int(block.get("parallelism", default.parallelism)),
        delay=seconds(block.get("delay"), default.delay),
        order=str(block.get("order") or default.order),
        failure_action=str(block.get("failure_action") or default.failure_action),
        monitor=seconds(block.get("monitor"), default.monitor))


def replica_names(first: str, count: int) -> tuple[str, ...]:
    """podman-compose's names: ``<project>_<service>_<i>`` from the first one's (0: none)."""
    if count <= 0:
        return ()
    if count == 1:
        return (first,)
    stem = first.rsplit("_", 1)[0]
    return tuple(f"{stem}_{i}" for i in range(1, count + 1))
