"""The planner's vocabulary: what happens to one service (:class:`Change`) and the step
that says it (:class:`Step`); :mod:`.plan` and :mod:`.replicaplan` share them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from phoenix_compose._compat import StrEnum


class Change(StrEnum):
    """What happens to one service."""

    CREATE = "create"
    RECREATE = "recreate"
    RESTART = "restart"
    START = "start"
    CONVERGE_HEALTH = "converge-health"
    UNCHANGED = "unchanged"
    REMOVE = "remove"

    @property
    def starts(self) -> bool:
        """Its container is (re)made or (re)started by podman-compose and ``podman start``."""
        return self in (Change.CREATE, Change.RECREATE, Change.RESTART, Change.START)


PAST = {Change.CREATE: "created", Change.RECREATE: "recreated", Change.RESTART: "restarted",
        Change.START: "started"}


@dataclass(frozen=True)
class Step:
    service: str
    change: Change
    container: str
    reasons: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()  # named volumes it mounts: kept when it is recreated
    order: int = 0  # the wave up acts on it in (1: first); 0: removed before, or left alone
    replicas: tuple[str, ...] = ()  # the containers of its other replicas (issue 26)

    @property
    def containers(self) -> tuple[str, ...]:
        return (self.container, *self.replicas)

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "change": str(self.change),
                "container": self.container, "reasons": list(self.reasons),
                "volumes": list(self.volumes), "order": self.order,
                **({"replicas": list(self.replicas)} if self.replicas else {})}
