"""The services of a validated compose file, as records the lifecycle code can plan with
(``runtime.stack`` re-exports them; the :class:`~phoenix_compose.config.project.Project`
holds them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from phoenix_compose.config.durations import seconds
from phoenix_compose.config.edgeports import replicas_of, user_ports
from phoenix_compose.config.naming import container_name as container_name  # re-exported
from phoenix_compose.config.probes import NativeProbe, native_probe
from phoenix_compose.config.rollout import UpdateConfig, replica_names, update_config_of
from phoenix_compose.errors import ConfigurationError
from phoenix_compose.fileio import read_yaml
from phoenix_compose.shapes import as_dict


@dataclass(frozen=True)
class Health:
    """Podman's defaults: interval 30s, timeout 30s, retries 3, start period 0."""

    interval: float = 30.0
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0
    start_interval: float | None = None

    @property
    def grace(self) -> float:
        """How long a failing check is tolerated before compose would call it unhealthy."""
        return self.start_period + self.interval * self.retries


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    container: str
    image: str | None
    build: bool
    depends_on: dict[str, str] = field(default_factory=dict)  # dependency -> condition
    health: Health | None = None
    profiles: tuple[str, ...] = ()
    ports: tuple[Any, ...] = ()
    # the service's whole compose mapping: for the exports, which translate compose fields
    # one for one, and the fingerprint, which hashes all of it.  The runtime reads the
    # typed views below (parsed here, once), never this mapping.
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def environment(self) -> dict[str, Any]:
        """KEY -> value as written (None: passed from the host)."""
        return _keyed(self.raw.get("environment"))

    @cached_property
    def labels(self) -> dict[str, Any]:
        return _keyed(self.raw.get("labels"))

    @cached_property
    def volumes(self) -> tuple[Any, ...]:
        """The ``volumes`` entries, short strings or long mappings as written."""
        return tuple(self.raw.get("volumes") or ())

    @cached_property
    def secrets(self) -> dict[str, str]:
        """The secrets it mounts: source -> target (under /run/secrets/)."""
        return _refs(self.raw.get("secrets"))

    @cached_property
    def configs(self) -> dict[str, str]:
        """The configs it mounts: source -> target."""
        return _refs(self.raw.get("configs"))

    @cached_property
    def stop_grace(self) -> float:
        """``stop_grace_period`` in seconds (compose's default: 10)."""
        return seconds(self.raw.get("stop_grace_period"), 10.0)

    @cached_property
    def memory_limit(self) -> str | None:
        """``deploy.resources.limits.memory`` (or the older ``mem_limit``), as written."""
        limits = as_dict(as_dict(as_dict(self.raw.get("deploy")).get("resources"))
                         .get("limits"))
        value = limits.get("memory", self.raw.get("mem_limit"))
        return None if value is None else str(value)

    @cached_property
    def restart_policy(self) -> Any:
        """``x-phoenix-restart`` as written (the watcher's RestartPolicy checks it)."""
        return self.raw.get("x-phoenix-restart")

    @cached_property
    def build_spec(self) -> dict[str, Any]:
        """The ``build`` section as a mapping (a bare context string is its context)."""
        value = self.raw.get("build")
        return {"context": value} if isinstance(value, str) else as_dict(value)

    @cached_property
    def optional_deps(self) -> frozenset[str]:
        """Dependencies declared ``required: false``."""
        return frozenset(d for d, e in as_dict(self.raw.get("depends_on")).items()
                         if isinstance(e, dict) and e.get("required") is False)

    @cached_property
    def restarts_with(self) -> frozenset[str]:
        """Dependencies declared ``restart: true``: their restart restarts this one."""
        return frozenset(d for d, e in as_dict(self.raw.get("depends_on")).items()
                         if isinstance(e, dict) and e.get("restart") is True)

    @cached_property
    def probe(self) -> NativeProbe | None:
        """The native probe phoenix runs for its healthcheck, or None (exec in the
        container)."""
        return native_probe(self.raw) if self.health is not None else None

    @property
    def restarts_on_failure(self) -> bool:
        """Its ``restart:`` policy restarts a failed container (``no``, the default, not)."""
        policy = str(self.raw.get("restart") or "no").split(":", 1)[0]
        return policy in ("always", "unless-stopped", "on-failure")

    @cached_property
    def extensions(self) -> dict[str, Any]:
        """Its ``x-`` keys."""
        return {str(k): v for k, v in self.raw.items() if str(k).startswith("x-")}

    @cached_property
    def restart(self) -> str:
        """Its ``restart:`` policy as written (``""``: none given, compose's ``no``)."""
        return str(self.raw.get("restart") or "")

    @cached_property
    def health_test(self) -> Any:
        """``healthcheck.test`` as written (None: none)."""
        return as_dict(self.raw.get("healthcheck")).get("test")

    # issue 26: replicas (``scale``/``deploy.replicas``) and their updates (config/rollout.py)
    replicas: int = 1
    update_config: UpdateConfig = field(default_factory=UpdateConfig)
    rollback_config: UpdateConfig = field(default_factory=UpdateConfig)

    @property
    def containers(self) -> tuple[str, ...]:
        """Its replicas' containers (podman-compose's names); one: ``container``."""
        return replica_names(self.container, self.replicas)

    @property
    def published(self) -> tuple[Any, ...]:
        """The ports as the user wrote them (``ports`` of a service behind the edge are
        its replicas' loopback ones): what an export publishes."""
        return tuple(user_ports(self.raw))

    @property
    def edged(self) -> bool:
        """The edge owns its published ports: several replicas, or start-first updates."""
        return self.replicas > 1 or self.update_config.start_first


def _keyed(value: Any) -> dict[str, Any]:
    """A mapping (the final file's form) or a list of ``KEY=VALUE`` items."""
    if isinstance(value, list):
        return {key: val if sep else None
                for key, sep, val in (str(v).partition("=") for v in value)}
    return {str(k): v for k, v in as_dict(value).items()}


def _refs(refs: Any) -> dict[str, str]:
    """``secrets``/``configs`` entries (a name or a mapping): source -> target."""
    out = {}
    for ref in refs or ():
        if isinstance(ref, dict):
            out[str(ref.get("source"))] = str(ref.get("target") or ref.get("source"))
        else:
            out[str(ref)] = str(ref)
    return out


@dataclass(frozen=True)
class Stack:
    project: str
    compose_file: Path
    services: dict[str, ServiceSpec]
    top: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the rest

    def select(self, names: Iterable[str] = (), profiles: Iterable[str] = ()) -> list[str]:
        """Requested services plus their dependencies; default: every service whose
        profiles are active, and then a required dependency left out by the profiles is an
        error (the spec's rule).  Returned in dependency order."""
        names = list(names)
        active = set(profiles)
        unknown = [n for n in names if n not in self.services]
        if unknown:
            import difflib

            close = [m for n in unknown for m in difflib.get_close_matches(n, self.services, 1)]
            raise ConfigurationError(
                f"unknown service(s): {', '.join(unknown)}"
                + (f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else "")
                + f"; services: {', '.join(sorted(self.services))}",
                hint="name one of the services above")
        roots = names or [n for n in self.services if self._enabled(n, active)]
        chosen: set[str] = set()
        todo = list(roots)
        while todo:  # iterative: a dependency chain of any length is fine
            name = todo.pop()
            if name in chosen:
                continue
            chosen.add(name)
            for dep in self.services[name].depends_on:
                if dep not in self.services:
                    continue
                if not names and not self._enabled(dep, active):
                    if self._required(name, dep):
                        raise ConfigurationError(
                            f"service '{name}' depends on '{dep}', which the active profiles "
                            f"({', '.join(sorted(active)) or 'none'}) leave out",
                            hint=f"enable one of its profiles "
                                 f"({', '.join(self.services[dep].profiles)}) with --profile")
                    continue
                todo.append(dep)
        return [n for n in self.order() if n in chosen]

    def _enabled(self, name: str, active: set[str]) -> bool:
        profiles = self.services[name].profiles
        return not profiles or bool(active.intersection(profiles))

    def _required(self, name: str, dep: str) -> bool:
        return dep not in self.services[name].optional_deps

    def container_of(self, service: str) -> str:
        self.select([service])  # an unknown name is an error
        return self.services[service].container

    def order(self) -> list[str]:
        """Dependencies first; among services that are ready together, by name."""
        remaining = {n: {d for d in s.depends_on if d in self.services}
                     for n, s in self.services.items()}
        done: list[str] = []
        while remaining:
            finished = set(done)
            ready = sorted(n for n, deps in remaining.items() if deps <= finished) or \
                sorted(remaining)[:1]  # a cycle (validation rejects those): break it by name
            for name in ready:
                done.append(name)
                del remaining[name]
        return done


def load_stack(compose_file: Path, project: str | None = None,
               fallback_project: str = "", model: dict[str, Any] | None = None) -> Stack:
    """The services of a final compose file; the project is ``project``, else the file's
    ``name``, else ``fallback_project``; ``model``: the file's content, already read."""
    model = (read_yaml(compose_file) or {}) if model is None else model
    project = project or model.get("name") or fallback_project
    services = {}
    for name, svc in (model.get("services") or {}).items():
        services[name] = _spec(project, name, svc or {})
    top = {k: v for k, v in model.items() if k != "services"}
    return Stack(project, compose_file, services, top)


def _spec(project: str, name: str, svc: dict[str, Any]) -> ServiceSpec:
    hc = svc.get("healthcheck")
    health = None
    if hc and not hc.get("disable") and hc.get("test") not in (None, ["NONE"], "NONE"):
        start_interval = hc.get("x-phoenix-start-interval", hc.get("start_interval"))
        health = Health(
            interval=seconds(hc.get("interval"), 30.0),
            timeout=seconds(hc.get("timeout"), 30.0),
            retries=int(hc.get("retries", 3)),
            start_period=seconds(hc.get("start_period"), 0.0),
            start_interval=seconds(start_interval, 5.0) if start_interval else None,
        )
    deps = {dep: (cfg or {}).get("condition", "service_started")
            for dep, cfg in (svc.get("depends_on") or {}).items()}
    return ServiceSpec(
        name=name,
        container=svc.get("container_name") or container_name(project, name),
        image=svc.get("image"),
        build="build" in svc,
        depends_on=deps,
        health=health,
        profiles=tuple(svc.get("profiles") or ()),
        ports=tuple(svc.get("ports") or ()),
        raw=svc,
        replicas=replicas_of(svc),
        update_config=update_config_of(svc, "update_config", seconds),
        rollback_config=update_config_of(svc, "rollback_config", seconds),
    )
