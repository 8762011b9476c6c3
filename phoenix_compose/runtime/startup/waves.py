"""The start loop: containers are created level by level in a background thread while
earlier levels are still becoming healthy, and each service starts as soon as its
dependencies meet their ``depends_on`` conditions.

Without systemd podman never runs healthchecks by itself, and podman-compose skips
``condition: service_healthy`` on podman < 4.6, so the loop drives the checks itself
(native probes, else ``podman healthcheck run``: ``runtime.checks``) and trusts their exit
code (podman 4.3's events lag one run behind).  Every wait
has a monotonic deadline; the clock and the sleep are injectable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from phoenix_compose.errors import CommandError
from phoenix_compose.runtime import argv, commands, containers, stopping
from phoenix_compose.runtime.nativehealth import NativeHealth
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.runtime.startup import preflight
from phoenix_compose.runtime.startup.creation import Creator, levels, start_parts
from phoenix_compose.runtime.startup.diagnosis import Diagnosis, Report
from phoenix_compose.runtime.startup.state import Progress, StartState

DEFAULT_POLL = 0.2  # seconds between checks of one service without start_interval
TICK = 0.02
CONDITIONS = {"service_healthy": (StartState.HEALTHY,),
              "service_completed_successfully": (StartState.COMPLETED,)}


@dataclass(frozen=True)
class StartOptions:
    timeout: float = 300.0  # seconds until every service must be ready
    wait: bool = True  # wait for the last services too, not only for dependencies
    profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = stopping.pause  # wakes for a stop signal


def _pool() -> Executor:
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="phoenix-check")


def _begin(running: Sequence[Progress], now: float, report: Report) -> None:
    """``checking``: services running already, only checked (``replace``: containers
    removed before the first creation)."""
    for progress in running:
        report(progress.spec.name, progress.begin(now, bool(progress.spec.health)), "")


def check_replicas(native: NativeHealth, run: containers.Runner, progress: Progress,
                   timeout: float) -> commands.Result:
    """Each replica's check until it first passes, in turn: the service is healthy when
    every replica is, as docker compose's ``service_healthy`` waits for each container.
    The first failing one is the result (and ``progress.failing``)."""
    result = None
    for name in progress.spec.containers:
        if name not in progress.passed:
            result = native.check(run, name, timeout)
            if result.code != 0:
                progress.failing = name
                return result
            progress.passed.add(name)
    return result or commands.Result((), 0, "", "")


def _awaited_completion(progress: Iterable[Progress], name: str) -> bool:
    return any(p.spec.depends_on.get(name) == "service_completed_successfully"
               for p in progress)


def start_all(run: containers.Runner, executor: Callable[[], Executor],
              chosen: Sequence[str]) -> None:
    """``podman start`` of ``chosen``, in the calls of :func:`.creation.start_parts` run at
    once; every call ends before an error is raised.  A stop (or anything but a failed
    podman start) wins over a failed call; failed calls are one error, with the output of
    each (as one call's would be: the diagnosis reads it, e.g. a port already in use)."""
    with executor() as starters:
        calls = [starters.submit(run, argv.start(*part), timeout=120)
                 for part in start_parts(chosen)]
    errors = [exc for exc in (call.exception() for call in calls) if exc is not None]
    for exc in errors:
        if not isinstance(exc, CommandError):
            raise exc
    if len(errors) == 1:
        raise errors[0]
    if errors:
        failed = [e for e in errors if isinstance(e, CommandError)]
        raise CommandError(argv.start(*chosen), failed[0].code,
                           "\n".join(e.stdout for e in failed if e.stdout),
                           "\n".join(e.stderr for e in failed if e.stderr))


class Startup:
    def __init__(self, stack: Stack, names: Sequence[str], *, run: containers.Runner,
                 report: Report, options: StartOptions | None = None,
                 clock: Clock | None = None, executor: Callable[[], Executor] = _pool,
                 checking: Sequence[str] = (), replace: Sequence[str] = (),
                 health_file: Path | None = None, images_known: bool = False) -> None:
        self.stack, self.run, self.report, self.executor = stack, run, report, executor
        self.images_known = images_known  # the deployer checked them just before
        self.native = NativeHealth.for_stack(stack, health_file)  # what native checks saw
        self.options, self.clock = options or StartOptions(), clock or Clock()
        self.progress = {n: Progress(stack.services[n]) for n in names}
        self.checking = [n for n in names if n in checking]
        self.diagnosis = Diagnosis(run, self.progress, report)
        self.creator = Creator(stack, levels(stack, [n for n in names if n not in checking]),
                               run, self.options.profiles, list(replace))

    def execute(self) -> list[Progress]:
        preflight.check(self.run, [p.spec for p in self.progress.values()], self.images_known)
        _begin([self.progress[n] for n in self.checking], self.clock.now(), self.report)
        thread = threading.Thread(target=self.creator, name="phoenix-create", daemon=True)
        thread.start()
        try:
            with self.executor() as pool:
                self._loop(pool)
        except BaseException:
            self.creator.abort.set()
            thread.join(timeout=600)  # nothing is created behind the error's back
            raise
        finally:
            self.native.save()
        thread.join(timeout=600)
        if self.options.wait:
            self._confirm_running()
        return list(self.progress.values())

    def _loop(self, pool: Executor) -> None:
        deadline = self.clock.now() + self.options.timeout
        try:
            while not self._done():
                if self.creator.error is not None:
                    raise self.diagnosis.creation_failed(self.creator.error)
                self._start_ready()
                self._harvest()
                self._schedule(pool)
                if self.clock.now() > deadline:
                    raise self.diagnosis.timed_out(self.options.timeout)
                self.clock.sleep(TICK)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: a hanging podman must not hold us
            self.creator.abort.set()
            commands.terminate_all()
            raise
        finally:
            for progress in self.progress.values():
                if progress.in_flight is not None:
                    progress.in_flight.cancel()

    def _done(self) -> bool:
        if self.options.wait:
            return all(p.ready for p in self.progress.values())
        # ``-d`` returns once all is started, but a running service the plan only checks
        # (unhealthy, or its health unknown) is settled first: never exit 0 over it
        return all(p.state is not StartState.PENDING for p in self.progress.values()) and all(
            self.progress[n].ready for n in self.checking) and all(
            self._satisfied(dep, cond) for p in self.progress.values()
            for dep, cond in p.spec.depends_on.items() if dep in self.progress)

    def _satisfied(self, dep: str, condition: str) -> bool:
        state, wanted = self.progress[dep].state, CONDITIONS.get(condition)
        return state in wanted if wanted else state is not StartState.PENDING

    def _start_ready(self) -> None:
        created = self.creator.done()
        due = [p for n, p in self.progress.items()
               if p.state is StartState.PENDING and n in created
               and all(self._satisfied(d, c) for d, c in p.spec.depends_on.items()
                       if d in self.progress)]
        if not due:
            return
        try:
            if chosen := [c for p in due for c in p.spec.containers]:  # replicas: 0, none
                start_all(self.run, self.executor, chosen)
        except CommandError as exc:
            raise self.diagnosis.start_failed(due, exc) from None
        now = self.clock.now()
        for progress in due:
            watched = progress.spec.health is not None or _awaited_completion(
                self.progress.values(), progress.spec.name)
            self.report(progress.spec.name, progress.begin(now, watched), "")

    def _schedule(self, pool: Executor) -> None:
        now = self.clock.now()
        waiting = [p for p in self.progress.values() if p.state is StartState.STARTED
                   and p.in_flight is None and now >= p.next_check]
        for progress in waiting:
            health = progress.spec.health
            if health is not None:
                progress.in_flight = pool.submit(check_replicas, self.native, self.run,
                                                 progress, health.timeout)
                progress.next_check = now + (health.start_interval or DEFAULT_POLL)
        state_polls = [p for p in waiting if p.spec.health is None]
        for progress in state_polls:
            progress.next_check = now + DEFAULT_POLL
        self._each_replica(state_polls, lambda state: False)

    def _each_replica(self, polled: Sequence[Progress],
                      fine: Callable[[containers.ContainerState], bool]) -> None:
        """Each replica's state, inspected at once; a replica that is not ``fine`` is
        judged by :meth:`.Diagnosis.state_changed` (a failed replica fails its service)."""
        states = containers.inspect(self.run, [c for p in polled for c in p.spec.containers])
        for progress in polled:
            for name in progress.spec.containers:
                state = states.get(name)
                if state is None or not fine(state):
                    progress.failing = name
                    self.diagnosis.state_changed(progress, state, self.clock.now())

    def _harvest(self) -> None:
        failed = []
        for progress in self.progress.values():
            future = progress.in_flight
            if future is None or not future.done():
                continue
            progress.in_flight, result = None, future.result()
            progress.last_output = (result.stdout + result.stderr).strip()
            if result.code == 0:
                progress.state, progress.ready_at = StartState.HEALTHY, self.clock.now()
                self.report(progress.spec.name, "healthy", f"{progress.seconds_to_ready:.1f} s")
            else:
                failed.append(progress)
        if failed:  # one inspect for all the checks that failed since the last look
            states = containers.inspect(self.run, [p.failing_container for p in failed])
            for progress in failed:
                self._failed_check(progress, states.get(progress.failing_container))

    def _failed_check(self, progress: Progress, state: containers.ContainerState | None
                      ) -> None:
        name = progress.failing_container
        if state is not None and state.last_output and not self.native.native(
                name) and not progress.last_output.startswith(
                "health check timed out"):
            progress.last_output = state.last_output  # the check's own output
        if state is None or not state.running:
            self.diagnosis.state_changed(progress, state, self.clock.now())
        elif progress.spec.health is not None and \
                self.clock.now() - (progress.started_at or 0) > progress.spec.health.grace:
            raise self.diagnosis.unhealthy(progress)

    def _confirm_running(self) -> None:
        self._each_replica([p for p in self.progress.values() if p.state is StartState.RUNNING],
                           lambda state: state.running or state.exit_code == 0)
