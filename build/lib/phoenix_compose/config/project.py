"""The prepared project: what ``pipeline.prepare`` returns, validated and typed, and what
every step of an action receives (the manager, the deployer, the start loop, the watcher,
the exports, the plugins), so none of them reads the environment or the final file again.

The assembly steps that lived here are in :mod:`.assemble`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phoenix_compose.config.environment import EnvironmentConfig, Variables
from phoenix_compose.config.masking import Masker
from phoenix_compose.config.services import ServiceSpec, Stack
from phoenix_compose.statedir import StateDir


@dataclass(frozen=True)
class Project:
    """One environment of one stack root, prepared: the final file podman-compose receives
    and its services as typed specs, the environment's values, its paths and flags."""

    env: str
    compose_file: Path  # the final file: .phoenix/<env>/compose.yaml
    project_name: str
    production: bool
    cached: bool  # the cache answered: nothing was built or written
    warnings: tuple[str, ...]
    cfg: EnvironmentConfig = field(compare=False, repr=False)
    stack: Stack = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.project_name

    @property
    def services(self) -> dict[str, ServiceSpec]:
        return self.stack.services

    @property
    def root(self) -> Path:
        """The stack root."""
        return self.cfg.stack.root

    @property
    def state(self) -> StateDir:
        """``.phoenix/<env>/``: its paths."""
        return self.cfg.state

    @property
    def state_dir(self) -> Path:
        return self.cfg.state.path

    @property
    def variables(self) -> Variables:
        """The environment's values (env files < lock < process)."""
        return self.cfg.variables

    @property
    def profiles(self) -> tuple[str, ...]:
        """``COMPOSE_PROFILES``, as docker compose reads it when no ``--profile`` is given."""
        text = self.variables.lookup("COMPOSE_PROFILES")
        return tuple(p.strip() for p in (text or "").split(",") if p.strip())

    @property
    def model(self) -> dict[str, Any]:
        """The final file's mapping, as its typed services hold it (not read again), its
        keys in the file's order (``name``, then ``services``: ``dump.dump_compose``)."""
        top = self.stack.top
        return {**{k: top[k] for k in ("name",) if k in top},
                "services": {n: s.raw for n, s in self.services.items()}, **top}

    def masker(self) -> Masker:
        """The masker of its secrets (``masking.masker_for`` without loading anything)."""
        return Masker.of(self.variables, self.model, roots=self.cfg.roots)
