"""What podman says about a project's containers, as frozen records (one batched call each)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from phoenix_compose._compat import StrEnum
from phoenix_compose.config.identity import OWNER_LABEL
from phoenix_compose.errors import CommandError
from phoenix_compose.runtime import argv, commands

Runner = Callable[..., commands.Result]
CONFIG_HASH_LABEL = "io.podman.compose.config-hash"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"


class ServiceState(StrEnum):
    """A service's status as ``inv status`` and the watcher report it."""

    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    STARTING = "starting"
    RUNNING = "running"  # running, without a healthcheck
    STOPPED = "stopped"
    EXITED = "exited"
    MISSING = "missing"  # no container

    @property
    def ok(self) -> bool:
        return self in (ServiceState.HEALTHY, ServiceState.RUNNING)


@dataclass(frozen=True)
class ContainerState:
    name: str
    service: str
    status: str  # podman's: created, running, exited, stopped, paused, ...
    health: str  # healthy, unhealthy, starting, or "" without a healthcheck
    exit_code: int
    started_at: datetime | None
    restarts: int
    failing_streak: int
    last_output: str
    ports: tuple[str, ...]
    image_id: str = ""
    oom_killed: bool = False
    config_hash: str = ""  # podman-compose's hash of the service config it was created from
    user: str = ""  # the user the container runs as ("" is the image's, often root)
    id: str = ""
    cgroup_path: str = ""  # under each cgroup v1 controller, or under the v2 root
    memory_limit: int = 0  # bytes; 0: none
    owner: str = ""  # phoenix's owner label (see config.identity); "" when made before it
    working_dir: str = ""  # podman-compose's: the folder of the compose file it was made from
    pid: int = 0  # its main process on the host (0: not running)
    checked_at: datetime | None = None  # when its last health check ended (None: never)

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def service_state(self) -> ServiceState:
        """What this container means for its service (podman's health when it has one)."""
        if self.running:
            known = self.health in ServiceState._value2member_map_
            return ServiceState(self.health) if known else ServiceState.RUNNING
        # podman's "stopped" is an exit whose cleanup has not run yet (rootless podman
        # skips it when HOME does not exist): for the service, that is exited too
        return ServiceState.EXITED if self.status in ("exited", "stopped") \
            else ServiceState.STOPPED


# Go's RFC 3339 with nanoseconds, as podman writes it: in the host's zone (``+01:00``)
_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?")


def _time(text: str | None) -> datetime | None:
    """Podman's time in UTC; its offset counts (a check at 12:00+01:00 ended 11:00 UTC)."""
    match = _TIME.fullmatch(text or "")
    if match is None or match[1].startswith("0001-"):
        return None
    head, frac, zone = match.groups()
    try:
        when = datetime.fromisoformat(head + (zone if zone not in (None, "Z") else "+00:00"))
    except ValueError:
        return None
    return when.replace(microsecond=int((frac or "0")[:6].ljust(6, "0"))
                        ).astimezone(timezone.utc)


def parse_inspect(text: str) -> dict[str, ContainerState]:
    out = {}
    for item in json.loads(text or "[]"):
        state = item.get("State") or {}
        health = state.get("Health") or state.get("Healthcheck") or {}
        log = health.get("Log") or []
        labels = (item.get("Config") or {}).get("Labels") or {}
        name = item.get("Name", "").lstrip("/")
        ports = []
        for target, binds in ((item.get("NetworkSettings") or {}).get("Ports") or {}).items():
            for bind in binds or []:
                ports.append(f"{bind.get('HostIp') or '0.0.0.0'}:{bind.get('HostPort')}->{target}")
        out[name] = ContainerState(
            name=name,
            service=labels.get("com.docker.compose.service", ""),
            status=state.get("Status", ""),
            health=health.get("Status", "") if health else "",
            exit_code=int(state.get("ExitCode") or 0),
            started_at=_time(state.get("StartedAt")),
            restarts=int(item.get("RestartCount") or 0),
            failing_streak=int(health.get("FailingStreak") or 0) if health else 0,
            last_output=(log[-1].get("Output") or "").strip() if log else "",
            ports=tuple(sorted(ports)),
            image_id=item.get("Image", ""),
            oom_killed=bool(state.get("OOMKilled")),
            config_hash=labels.get(CONFIG_HASH_LABEL, ""),
            user=str((item.get("Config") or {}).get("User") or ""),
            id=str(item.get("Id") or ""),
            cgroup_path=str(state.get("CgroupPath") or ""),
            memory_limit=int((item.get("HostConfig") or {}).get("Memory") or 0),
            owner=labels.get(OWNER_LABEL, ""),
            working_dir=labels.get(WORKING_DIR_LABEL, ""),
            pid=int(state.get("Pid") or 0),
            checked_at=_time(log[-1].get("End")) if log else None,
        )
    return out


def inspect(run: Runner, names: Sequence[str]) -> dict[str, ContainerState]:
    """States of the named containers that exist (a missing one is simply absent)."""
    if not names:
        return {}
    result = run(argv.inspect(*names), tolerate=argv.NO_SUCH_CONTAINER, timeout=60)
    return parse_inspect(result.stdout)


def project_containers(run: Runner, project: str) -> dict[str, ContainerState]:
    """Every container of the compose project, by container name."""
    listing = json.loads(run(argv.ps(project), timeout=60).stdout or "[]")
    names = [n for item in listing for n in (item.get("Names") or [])[:1]]
    return inspect(run, names)


CHECK_TIMED_OUT = 124  # the exit code ``timeout(1)`` uses; podman 4.3 ignores `timeout:`


def run_check(run: Runner, container: str, timeout: float) -> commands.Result:
    """One ``podman healthcheck run``, held to the healthcheck's own ``timeout:`` (podman
    4.3 does not enforce it): past it the check is killed and counts as failed."""
    try:
        return run(argv.healthcheck_run(container), ok_codes=(0, 1),
                   tolerate=argv.NOT_RUNNING, timeout=timeout)
    except CommandError as exc:
        if exc.code is not None or "timed out" not in str(exc):
            raise
        return commands.Result(exc.argv, CHECK_TIMED_OUT, "",
                               f"health check timed out after {timeout:g} s (its timeout:)")
