"""``up``'s docker compose flags, as the runtime takes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.runtime import containers
from phoenix_compose.runtime.images import image_tag, unbuilt
from phoenix_compose.runtime.plan import PlanOptions
from phoenix_compose.runtime.stack import Stack


@dataclass(frozen=True)
class Choice:
    """``up``'s docker compose flags: only the named services, not their dependencies
    (``--no-deps``); the named services (default: all) recreated even when unchanged
    (``--force-recreate``, docker compose's rule: dependencies only when they changed);
    the pull policy (``--pull``, see :func:`.images.pull_for`); no image built, not even
    a missing one (``--no-build``: podman-compose would build it when it creates)."""

    no_deps: bool = False
    force_recreate: bool = False
    pull: str | None = None
    no_build: bool = False

    def refuse_unbuilt(self, stack: Stack, names: Sequence[str],
                       run: containers.Runner) -> None:
        missing = unbuilt(stack, names, run) if self.no_build else []
        if missing:
            raise ComposeRuntimeError(
                "image not built (--no-build): " + ", ".join(
                    f"{image_tag(stack, n)} (service {n})" for n in missing),
                hint="drop --no-build, or build it first (`inv build SERVICE`); no "
                     "container was created")

    def narrow(self, names: Sequence[str], services: Sequence[str]) -> list[str]:
        return [n for n in names if n in services] if self.no_deps and services else \
            list(names)

    def forced(self, names: Sequence[str], services: Sequence[str]) -> frozenset[str]:
        return frozenset(n for n in names if n in services or not services) \
            if self.force_recreate else frozenset()

    def options(self, names: Sequence[str], services: Sequence[str]) -> PlanOptions:
        """What the plan takes of these flags."""
        return PlanOptions(force=self.forced(names, services))

    def args(self) -> dict[str, Any]:
        """For the audit line: only what was asked."""
        return {k: v for k, v in {"no_deps": self.no_deps, "force_recreate":
                                  self.force_recreate, "pull": self.pull,
                                  "no_build": self.no_build}.items() if v}
