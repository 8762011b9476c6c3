"""The planner's table: situations as plain data, and the snapshot builder they share.

``world(stack, **per_service)`` is what podman would report for a project whose every
service runs a container made from ``stack`` (healthy and freshly checked when it has a
healthcheck); a keyword per service changes its container (``None``: there is none).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from phoenix_compose.runtime.containers import ContainerState
from phoenix_compose.runtime.fingerprint import fingerprint, mounted_files
from phoenix_compose.runtime.observe import Snapshot
from phoenix_compose.runtime.stack import Stack

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
IMAGES = {"img:1": "sha256:aaa", "img:2": "sha256:bbb",
          "img@sha256:" + "d" * 64: "sha256:aaa"}


def box(stack: Stack, service: str, **changes: Any) -> ContainerState:
    """A running container of ``service`` made from ``stack`` (config hash ``h-SERVICE``)."""
    spec = stack.services.get(service)
    state = ContainerState(
        name=spec.container if spec else f"{stack.project}_{service}_1", service=service,
        status="running", health="healthy" if spec and spec.health else "", exit_code=0,
        started_at=NOW - timedelta(hours=1), restarts=0, failing_streak=0, last_output="",
        ports=(), image_id=IMAGES.get(spec.image or "", "") if spec else "sha256:aaa",
        config_hash=f"h-{service}", checked_at=NOW - timedelta(seconds=5))
    return replace(state, **changes)


def world(stack: Stack, *, containers: Mapping[str, ContainerState] | None = None,
          images: Mapping[str, str] = IMAGES, made_files: Mapping[str, str] | None = None,
          files_now: Mapping[str, str] | None = None, extra: tuple[str, ...] = (),
          foreign: tuple = (), **per_service: dict[str, Any] | None) -> Snapshot:
    """``made_files``/``files_now``: ``secret NAME`` -> its content's digest when the
    containers were made / now; ``extra``: containers of services not in ``stack``."""
    if containers is None:
        boxes = [box(stack, n, **(per_service.get(n) or {})) for n in stack.services
                 if not (n in per_service and per_service[n] is None)]
        boxes += [box(stack, n) for n in extra]
        containers = {b.name: b for b in boxes}
    then = _paths(stack, made_files or {})
    applied = {f"h-{b.service}": fingerprint(stack, b.service, then)  # what phoenix made
               for b in containers.values() if b.service in stack.services}
    return Snapshot(NOW, containers, foreign, dict(images), applied,
                    _paths(stack, files_now or made_files or {}))


def _paths(stack: Stack, by_label: Mapping[str, str]) -> dict[str, str]:
    return {path: by_label.get(label, "missing") for name in stack.services
            for label, path in mounted_files(stack, name).items()}


@dataclass(frozen=True)
class Case:
    id: str
    old: str  # the compose file the containers were made from
    world: Callable[[Stack], Snapshot]
    expect: dict[str, str]  # service -> change
    new: str | None = None  # the compose file now (None: the same)
    reasons: dict[str, str] = field(default_factory=dict)  # service -> part of a reason
    profiles: tuple[str, ...] = ()

    @property
    def changes(self) -> bool:
        return any(v != "unchanged" for v in self.expect.values())


CHECK = "{test: [CMD, 'true'], interval: 30s, timeout: 5s}"
TWO = ("services:\n  db: {image: 'img:1'}\n"
       "  web: {image: 'img:1', depends_on: {db: {condition: service_started}}}\n")
HEALTHY = f"services:\n  db: {{image: 'img:1', healthcheck: {CHECK}}}\n  web: {{image: 'img:1'}}\n"
CASCADE = ("services:\n  db: {image: 'img:1', environment: {V: '1'}}\n"
           "  api: {image: 'img:1', depends_on: {db: {condition: service_started, "
           "restart: true}}}\n"
           "  web: {image: 'img:1', depends_on: {api: {condition: service_started, "
           "restart: true}}}\n"
           "  worker: {image: 'img:1', depends_on: {db: {condition: service_started}}}\n")
PROFILED = ("services:\n  web: {image: 'img:1'}\n"
            "  debug: {image: 'img:1', profiles: [debug]}\n")
SECRET = ("services:\n  db: {image: 'img:1', secrets: [token]}\n"
          "secrets: {token: {file: ./token.txt}}\n")
old_check = {"health": "healthy", "checked_at": NOW - timedelta(minutes=10)}

CASES = [
    Case("unchanged-stack", TWO, world, {"db": "unchanged", "web": "unchanged"}),
    Case("new-service", TWO, world, {"db": "unchanged", "web": "unchanged", "cache": "create"},
         new=TWO + "  cache: {image: 'img:1'}\n",
         reasons={"cache": "the container is missing"}),
    Case("removed-service", TWO + "  cache: {image: 'img:1'}\n", world,
         {"db": "unchanged", "web": "unchanged", "cache": "remove"}, new=TWO,
         reasons={"cache": "no longer in the config"}),
    Case("orphan-of-ours", TWO, lambda s: world(s, extra=("old",)),
         {"db": "unchanged", "web": "unchanged", "old": "remove"}),
    Case("env-change", TWO, world, {"db": "recreate", "web": "unchanged"},
         new=TWO.replace("db: {image: 'img:1'}", "db: {image: 'img:1', environment: {V: '2'}}"),
         reasons={"db": "config changed: environment"}),
    Case("image-moved", TWO, lambda s: world(s, images={"img:1": "sha256:ccc"}),
         {"db": "recreate", "web": "recreate"},
         reasons={"db": "the image changed (aaa -> ccc)"}),
    Case("image-not-here", TWO, lambda s: world(s, images={}),
         {"db": "recreate", "web": "recreate"}, reasons={"db": "not here yet"}),
    Case("digest-pinned", TWO, world, {"db": "recreate", "web": "unchanged"},
         new=TWO.replace("db: {image: 'img:1'}", "db: {image: 'img@sha256:" + "d" * 64 + "'}"),
         reasons={"db": "config changed: image"}),
    Case("restart-true-cascades", CASCADE, world,
         {"db": "recreate", "worker": "unchanged", "api": "restart", "web": "restart"},
         new=CASCADE.replace("V: '1'", "V: '2'"),
         reasons={"api": "its dependency db is recreated (depends_on restart: true)",
                  "web": "its dependency api is restarted"}),
    Case("stopped-service", TWO, lambda s: world(s, web={"status": "exited", "exit_code": 1}),
         {"db": "unchanged", "web": "start"}, reasons={"web": "exited (code 1)"}),
    Case("stopped-dependency-restarts-its-dependents", CASCADE,
         lambda s: world(s, db={"status": "exited", "exit_code": 0}),
         {"db": "start", "worker": "unchanged", "api": "restart", "web": "restart"},
         reasons={"api": "its dependency db is started"}),
    Case("paused-service", TWO, lambda s: world(s, db={"status": "paused"}),
         {"db": "start", "web": "unchanged"}, reasons={"db": "the container is paused"}),
    Case("unhealthy-service", HEALTHY, lambda s: world(s, db={"health": "unhealthy"}),
         {"db": "converge-health", "web": "unchanged"}, reasons={"db": "unhealthy"}),
    Case("unhealthy-restart-always-restarts",
         HEALTHY.replace("db: {", "db: {restart: always, "),
         lambda s: world(s, db={"health": "unhealthy"}),
         {"db": "restart", "web": "unchanged"}, reasons={"db": "restart policy (always)"}),
    Case("unhealthy-on-failure-restarts",
         HEALTHY.replace("db: {", "db: {restart: 'on-failure:3', "),
         lambda s: world(s, db={"health": "unhealthy"}),
         {"db": "restart", "web": "unchanged"}, reasons={"db": "unhealthy"}),
    Case("unknown-health-under-restart-always-is-only-checked",
         HEALTHY.replace("db: {", "db: {restart: always, "), lambda s: world(s, db=old_check),
         {"db": "converge-health", "web": "unchanged"}, reasons={"db": "no watcher"}),
    Case("health-never-checked", HEALTHY,
         lambda s: world(s, db={"health": "starting", "checked_at": None}),
         {"db": "converge-health", "web": "unchanged"}, reasons={"db": "never checked"}),
    Case("health-unknown-no-watcher", HEALTHY, lambda s: world(s, db=old_check),
         {"db": "converge-health", "web": "unchanged"}, reasons={"db": "no watcher"}),
    Case("healthy-and-watched", HEALTHY, world, {"db": "unchanged", "web": "unchanged"}),
    Case("profile-off-is-not-planned", PROFILED, world, {"web": "unchanged"}),
    Case("profile-on-creates", PROFILED, lambda s: world(s, debug=None),
         {"web": "unchanged", "debug": "create"}, profiles=("debug",)),
    Case("secret-file-changed", SECRET,
         lambda s: world(s, made_files={"secret token": "one"}, files_now={"secret token": "two"}),
         {"db": "recreate"}, reasons={"db": "secret token changed"}),
    Case("config-unknown", TWO, lambda s: world(s, web={"config_hash": "h-elsewhere"}),
         {"db": "unchanged", "web": "recreate"}, reasons={"web": "config it was made from"}),
]
