"""Health-gated start: services start as soon as their dependencies meet their conditions.

Without systemd podman never runs healthchecks by itself, and podman-compose skips
``condition: service_healthy`` on podman < 4.6, so this module drives
``podman healthcheck run`` itself and trusts its exit code (podman 4.3's events lag one
run behind).  Containers are created level by level in a background thread while earlier
levels are still becoming healthy; every wait has a monotonic deadline.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from . import containers, podman
from .errors import ComposeRuntimeError, HealthCheckError
from .stack import ServiceSpec, Stack

DEFAULT_POLL = 0.2  # seconds between checks of one service without start_interval
TICK = 0.02
Report = Callable[[str, str, str], None]  # service, state, detail


@dataclass
class Progress:
    spec: ServiceSpec
    state: str = "pending"  # pending, started, healthy, running, completed, failed
    started_at: float | None = None
    ready_at: float | None = None
    last_output: str = ""
    next_check: float = 0.0
    in_flight: Future | None = field(default=None, repr=False)

    @property
    def ready(self) -> bool:
        return self.state in ("healthy", "running", "completed")

    @property
    def seconds_to_ready(self) -> float | None:
        if self.started_at is None or self.ready_at is None:
            return None
        return self.ready_at - self.started_at


class StartupError(HealthCheckError):
    """A service did not come up; says which, why, and what is left running."""

    def __init__(self, message: str, left_running: Sequence[str] = ()) -> None:
        self.left_running = tuple(left_running)
        if left_running:
            message += (f"\nleft running: {', '.join(left_running)} "
                        "(fix the problem and run `inv up` again, or `inv down`)")
        else:
            message += "\nnothing was started"
        super().__init__(message)


def levels(stack: Stack, names: Sequence[str]) -> list[list[str]]:
    depth: dict[str, int] = {}
    for name in names:  # names are in dependency order
        deps = [d for d in stack.services[name].depends_on if d in names]
        depth[name] = 1 + max((depth[d] for d in deps), default=-1)
    return [[n for n in names if depth[n] == level] for level in range(max(depth.values(),
                                                                           default=-1) + 1)]


class Startup:
    def __init__(self, stack: Stack, names: Sequence[str], *, run: containers.Runner,
                 report: Report, timeout: float = 300.0, wait: bool = True,
                 profiles: Sequence[str] = (), clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 executor: Callable[[], Executor] | None = None) -> None:
        self.stack = stack
        self.names = list(names)
        self.run = run
        self.report = report
        self.timeout = timeout
        self.wait = wait
        self.profiles = tuple(profiles)
        self.clock = clock
        self.sleep = sleep
        self.executor = executor or (lambda: ThreadPoolExecutor(
            max_workers=8, thread_name_prefix="phoenix-check"))
        self.progress = {n: Progress(stack.services[n]) for n in self.names}
        self._created: set[str] = set()
        self._create_error: BaseException | None = None
        self._lock = threading.Lock()
        self._stale: list[str] = []
        self._abort = threading.Event()

    # -- pre-flight: nothing is created when these fail ------------------------------------
    def preflight(self) -> None:
        existing = containers.inspect(self.run, [p.spec.container for p in self.progress.values()])
        ids = self._check_images()
        self._check_ports(existing)
        # A container made from an older build of its image is recreated, as compose does.
        self._stale = [p.spec.container for p in self.progress.values()
                       if p.spec.container in existing and p.spec.image in ids
                       and existing[p.spec.container].image_id != ids[p.spec.image]]

    def _check_images(self) -> dict[str, str]:
        """The ID of every image; none is missing (a pull would fail or hang offline)."""
        wanted = {p.spec.image: n for n, p in self.progress.items() if p.spec.image}
        with ThreadPoolExecutor(max_workers=8) as pool:
            found = dict(zip(wanted, pool.map(
                lambda image: self.run(podman.image_id(image), ok_codes=(0, 125)), wanted)))
        ids = {image: r.stdout.strip() for image, r in found.items() if r.code == 0}
        missing = [f"{image} (service {wanted[image]})" for image in wanted if image not in ids]
        if missing:
            raise ComposeRuntimeError(
                "image not present locally: " + ", ".join(missing),
                hint="build it with `inv images.build` (or `inv up --build`), or "
                     "`podman pull`/`podman load` it; no container was created")
        return ids

    def _check_ports(self, existing: dict[str, containers.ContainerState]) -> None:
        busy = []
        for name, progress in self.progress.items():
            state = existing.get(progress.spec.container)
            if state is not None and state.running:
                continue
            for ip, port in _host_ports(progress.spec.ports):
                if not _bindable(ip, port):
                    busy.append(f"{ip or '0.0.0.0'}:{port} (service {name})")
        if busy:
            raise ComposeRuntimeError("host port already in use: " + ", ".join(busy),
                                      hint="stop whatever listens there, or change the "
                                           "port in envs/<env>.env; nothing was started")

    # -- creation, in the background -------------------------------------------------------
    def _create_all(self) -> None:
        try:
            if self._stale:
                self.run(podman.remove(*self._stale), timeout=120)
            for level in levels(self.stack, self.names):
                if self._abort.is_set():
                    return  # the start failed: create nothing more
                self.run(podman.create(self.stack.compose_file, self.stack.project, level,
                                       self.profiles), timeout=600)
                with self._lock:
                    self._created.update(level)
        except BaseException as exc:  # reported by the main loop
            self._create_error = exc

    # -- the loop --------------------------------------------------------------------------
    def execute(self) -> list[Progress]:
        self.preflight()
        creator = threading.Thread(target=self._create_all, name="phoenix-create", daemon=True)
        creator.start()
        deadline = self.clock() + self.timeout
        with self.executor() as pool:
            try:
                while not self._done():
                    if self._create_error is not None:
                        raise self._failure_from(self._create_error)
                    self._start_ready()
                    self._harvest()
                    self._schedule(pool)
                    if self.clock() > deadline:
                        raise self._timeout()
                    self.sleep(TICK)
            except BaseException:
                self._abort.set()
                creator.join(timeout=600)  # nothing is created behind the error's back
                raise
            finally:
                for progress in self.progress.values():
                    if progress.in_flight is not None:
                        progress.in_flight.cancel()
        creator.join(timeout=600)
        if self.wait:
            self._confirm_running()
        return list(self.progress.values())

    def _done(self) -> bool:
        if self.wait:
            return all(p.ready for p in self.progress.values())
        return all(p.state != "pending" for p in self.progress.values()) and all(
            self._satisfied(dep, cond) for p in self.progress.values()
            for dep, cond in p.spec.depends_on.items() if dep in self.progress)

    def _satisfied(self, dep: str, condition: str) -> bool:
        state = self.progress[dep].state
        if condition == "service_healthy":
            return state == "healthy"
        if condition == "service_completed_successfully":
            return state == "completed"
        return state != "pending"

    def _start_ready(self) -> None:
        with self._lock:
            created = set(self._created)
        due = [p for n, p in self.progress.items() if p.state == "pending" and n in created
               and all(self._satisfied(d, c) for d, c in p.spec.depends_on.items()
                       if d in self.progress)]
        if not due:
            return
        try:
            self.run(podman.start(*[p.spec.container for p in due]), timeout=120)
        except podman.CommandError as exc:
            raise self._start_failure(due, exc) from None
        now = self.clock()
        for progress in due:
            progress.started_at = now
            progress.next_check = now
            needs_state = progress.spec.health is None and self._awaited_completion(
                progress.spec.name)
            progress.state = "started" if progress.spec.health or needs_state else "running"
            if progress.state == "running":
                progress.ready_at = now
            self.report(progress.spec.name, "starting" if progress.state == "started"
                        else "running", "")

    def _awaited_completion(self, name: str) -> bool:
        return any(p.spec.depends_on.get(name) == "service_completed_successfully"
                   for p in self.progress.values())

    def _schedule(self, pool: Executor) -> None:
        now = self.clock()
        waiting = [p for p in self.progress.values()
                   if p.state == "started" and p.in_flight is None and now >= p.next_check]
        for progress in waiting:
            if progress.spec.health is not None:
                progress.in_flight = pool.submit(
                    self.run, podman.healthcheck_run(progress.spec.container),
                    ok_codes=range(256), timeout=progress.spec.health.timeout + 10)
                progress.next_check = now + (progress.spec.health.start_interval or DEFAULT_POLL)
        state_polls = [p for p in waiting if p.spec.health is None]
        if state_polls:
            states = containers.inspect(self.run, [p.spec.container for p in state_polls])
            for progress in state_polls:
                progress.next_check = now + DEFAULT_POLL
                self._state_changed(progress, states.get(progress.spec.container))

    def _harvest(self) -> None:
        for progress in self.progress.values():
            future = progress.in_flight
            if future is None or not future.done():
                continue
            progress.in_flight = None
            result = future.result()
            progress.last_output = (result.stdout + result.stderr).strip()
            if result.code == 0:
                progress.state = "healthy"
                progress.ready_at = self.clock()
                self.report(progress.spec.name, "healthy",
                            f"{progress.seconds_to_ready:.1f} s")
                continue
            state = containers.inspect(self.run, [progress.spec.container]).get(
                progress.spec.container)
            if state is not None and state.last_output:
                progress.last_output = state.last_output  # the check's own output
            if state is None or not state.running:
                self._state_changed(progress, state)
            elif progress.spec.health is not None and \
                    self.clock() - (progress.started_at or 0) > progress.spec.health.grace:
                raise self._unhealthy(progress, state)

    def _state_changed(self, progress: Progress, state: containers.ContainerState | None) -> None:
        if state is None:
            raise self._service_failure(progress, "its container disappeared")
        if state.running or state.status in ("created", "configured"):
            return
        if state.exit_code == 0 and progress.spec.health is None:
            progress.state = "completed"
            progress.ready_at = self.clock()
            self.report(progress.spec.name, "completed", "exit code 0")
            return
        raise self._service_failure(progress, f"its container exited with code "
                                              f"{state.exit_code}")

    def _confirm_running(self) -> None:
        plain = [p for p in self.progress.values() if p.state == "running"]
        states = containers.inspect(self.run, [p.spec.container for p in plain])
        for progress in plain:
            state = states.get(progress.spec.container)
            if state is None or not (state.running or state.exit_code == 0):
                self._state_changed(progress, state)

    # -- failures: name the service, its last check output and its log tail ---------------
    def _left_running(self) -> list[str]:
        started = {p.spec.container: n for n, p in self.progress.items()
                   if p.started_at is not None}
        try:
            states = containers.inspect(self.run, list(started))
        except podman.CommandError:
            return sorted(started.values())
        return [started[c] for c, state in states.items() if state.running]

    def _diagnose(self, progress: Progress) -> str:
        lines = []
        if progress.last_output:
            lines.append("last health check output:\n" + podman.tail_lines(progress.last_output))
        try:
            logs = self.run(podman.logs(progress.spec.container, 20), ok_codes=range(256),
                            timeout=30)
            tail = podman.tail_lines(logs.stdout + logs.stderr)
        except podman.CommandError:
            tail = ""
        lines.append("last log lines:\n" + (tail or "  (none)"))
        return "\n".join(lines)

    def _service_failure(self, progress: Progress, why: str) -> StartupError:
        progress.state = "failed"
        self.report(progress.spec.name, "failed", why)
        return StartupError(f"service '{progress.spec.name}' failed: {why}\n"
                            f"{self._diagnose(progress)}", self._left_running())

    def _unhealthy(self, progress: Progress, state: containers.ContainerState) -> StartupError:
        grace = progress.spec.health.grace if progress.spec.health else 0
        return self._service_failure(
            progress, f"unhealthy: its health check kept failing for {grace:g} s "
                      f"(start_period + interval x retries)")

    def _timeout(self) -> StartupError:
        waiting = [p for p in self.progress.values() if not p.ready]
        first = next((p for p in waiting if p.state == "started"), waiting[0])
        names = ", ".join(f"{p.spec.name} ({p.state})" for p in waiting)
        return self._service_failure(
            first, f"not ready after {self.timeout:g} s; still waiting for: {names}")

    def _start_failure(self, due: list[Progress], exc: podman.CommandError) -> StartupError:
        text = exc.stderr + exc.stdout
        why = "port already in use" if "address already in use" in text else "podman start failed"
        for progress in due:
            progress.state = "failed"
        return StartupError(f"could not start {', '.join(p.spec.name for p in due)}: {why}\n"
                            f"{podman.tail_lines(text)}", self._left_running())

    def _failure_from(self, exc: BaseException) -> BaseException:
        if isinstance(exc, podman.CommandError):
            return StartupError(f"creating containers failed:\n{exc}", self._left_running())
        return exc


def _host_ports(ports: Sequence[object]) -> list[tuple[str, int]]:
    from .merge import port_key

    out = []
    for port in ports:
        ip, _target, published, proto = port_key(port)
        if proto != "tcp" or not published:
            continue
        first, _, last = published.partition("-")
        if first.isdigit():
            out += [(ip, p) for p in range(int(first), int(last or first) + 1)]
    return out


def _bindable(ip: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip or "0.0.0.0", port))
        except OSError:
            return False
    return True
