"""ComposeManager: the stack lifecycle (the design's interface), always from a validated file.

Every action prepares the typed Project once (cheap when the cache hits), so an invalid
config never starts anything, and hands podman-compose the single file ``StateDir.compose_file``
with an explicit ``-f`` and project name.  ``up``, ``down`` and ``restart`` hold the env
lock and append one audit line."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.masking import Masker, masker_for
from phoenix_compose.config.pipeline import prepare
from phoenix_compose.config.project import Project
from phoenix_compose.errors import (
    ConfigurationError,
    LockedError,
    OwnershipError,
    PhoenixError,
    RolloutStopped,
    StateError,
)
from phoenix_compose.runtime import argv, audit, children, commands, containers, ownership, releases
from phoenix_compose.runtime.audit import audited, taken_down
from phoenix_compose.runtime.choice import Choice
from phoenix_compose.runtime.deploy import Deployer, recover
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.images import removable_images, remove_images
from phoenix_compose.runtime.lastvalid import last_valid
from phoenix_compose.runtime.locks import env_lock
from phoenix_compose.runtime.nativehealth import NativeHealth
from phoenix_compose.runtime.ownership import Owner
from phoenix_compose.runtime.plan import Change, Plan, profiles_of
from phoenix_compose.runtime.restartfirst import replace_start_first
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.runtime.startup import Clock, Progress, Report, StartOptions, Startup
from phoenix_compose.runtime.status import ServiceStatus, service_status
from phoenix_compose.runtime.takedown import project_name, remove_owned, take_down
from phoenix_compose.statedir import StateDir

UP_DEFAULTS = Choice()


def _quiet(service: str, state: str, detail: str) -> None:
    pass


class ComposeManager:
    def __init__(self, root: Path, env: str, *, run: containers.Runner = commands.run,
                 report: Report = _quiet, lock_wait: float = 10.0,
                 clock: Clock | None = None) -> None:
        self.root, self.env, self.state = root, env, StateDir(root, env)
        self.run, self.report, self.lock_wait, self.clock = run, report, lock_wait, clock or Clock()
        self.applied: Plan | None = None  # the plan the last start_services applied
        self._project: Project | None = None  # prepared once per manager (see forget)

    def validate_compose_files(self) -> Project:
        """The prepared project: built once, then handed to every step of the action."""
        self._project = self._project or prepare(self.root, self.env)
        return self._project

    def stack(self) -> Stack:
        return self.validate_compose_files().stack

    def forget(self) -> None:
        """The config changed (hot reload, a caller that keeps the manager): prepare again."""
        self._project = None

    def current_stack(self) -> Stack:
        """For stop/status: the current config, or the last valid one if it is now broken."""
        try:
            return self.stack()
        except (ConfigurationError, StateError):
            if not self.state.compose_file.is_file():
                raise
            return last_valid(self.root, self.env)

    @contextmanager
    def administering(self, action: str, args: dict[str, Any]) -> Iterator[None]:
        """The env lock and one audit line around an action that changes the stack."""
        check_state(self.state, action)
        with env_lock(self.state.lock_file, action, self.lock_wait), \
                audited(self.state.audit_log, action, args,  # the masker: only for an error
                        lambda text: masker(self).text(text)), \
                children.watched(self.state):
            yield

    # -- lifecycle -------------------------------------------------------------------------
    def deployer(self) -> Deployer:
        return Deployer(self.state, self.run, self.report, self.clock, production(self),
                        project=self.prepared())

    def plan(self, services: Sequence[str] = (), profiles: Sequence[str] = ()) -> Plan:
        """What ``up`` with the same arguments would do (nothing is changed or pulled)."""
        return self.planned(services, profiles)[1]

    def planned(self, services: Sequence[str] = (), profiles: Sequence[str] = (),
                choice: Choice = UP_DEFAULTS) -> tuple[Stack, Plan]:
        """The stack and its plan: ``inv plan`` and ``up --dry-run`` both print this."""
        stack = self.stack()
        names = choice.narrow(_select(self, stack, services, profiles), services)
        return stack, self.deployer().plan(stack, names, options=choice.options(names, services))

    def start_services(self, services: Sequence[str] = (), *, wait: bool = True,
                       timeout: float = 300.0, build: bool | None = False,
                       profiles: Sequence[str] = (), rollback: bool = True,
                       choice: Choice = UP_DEFAULTS) -> list[Progress]:
        """Apply the plan, health-gated; on failure roll back to the last release.
        ``build``: True every image with a ``build:``, None those not here, False none."""
        args: dict[str, Any] = {"services": list(services), "wait": wait, "timeout": timeout,
                                "build": build, "profiles": list(profiles), **choice.args()}
        with self.administering("up", args):
            stack = self.stack()
            names = choice.narrow(_select(self, stack, services, profiles), services)
            choice.refuse_unbuilt(stack, names, self.run)  # before anything is touched
            deployer = self.deployer()
            plan = None
            try:
                plan = deployer.plan(stack, names, deployer.prepare(
                    stack, names, build=build, production=production(self),
                    pull=choice.pull), choice.options(names, services))
                args["plan"] = {k: v for k, v in plan.summary().items() if v != "unchanged"}
                self.applied = plan
                done = deployer.apply(stack, plan, StartOptions(
                    timeout, wait, profiles_of(stack, names)))
            except (ConfigurationError, LockedError, OwnershipError, RolloutStopped):
                raise  # RolloutStopped: failure_action pause/continue, never rolled back
            except PhoenixError as exc:
                if not rollback or (plan is not None and not plan.remakes):
                    raise  # asked not to, or nothing remade: a rollback cannot mend health
                _recover(self, exc, timeout, args)
            if plan is not None and wait and (plan.moves or releases.current(self.state) is None):
                running = sorted(running_services(self.run, stack),  # healthy
                                 key=stack.order().index)
                args["release"] = releases.record(self.state, stack, running, self.run,
                                                  protected=deployer.protected)
            return done

    def rollback(self, to: int | None = None, *, timeout: float = 300.0) -> tuple[int, Plan]:
        """``inv rollback``: release ``to`` (default: the one before the current one)."""
        with self.administering("rollback", {"to": to, "timeout": timeout}):
            return self.deployer().rollback(to, timeout)

    def stop_services(self, graceful: bool = True, *, volumes: bool = False,
                      confirmed: bool = False, project: str | None = None,
                      rmi: str = "") -> list[str]:
        """``down``, also with a broken config: see ``current_stack`` and ``remove_owned``;
        ``rmi`` (``local`` or ``all``): the images then removed (returned)."""
        with self.administering("down", {"volumes": volumes, "graceful": graceful,
                                         **({"rmi": rmi} if rmi else {})}):
            try:  # first: the production flag is then the prepared project's
                stack: Stack | None = self.current_stack()
            except (ConfigurationError, StateError) as exc:
                stack, broken = None, exc
            if volumes and production(self) and not confirmed:
                raise PhoenixError(
                    f"refusing to delete the volumes of production environment '{self.env}'",
                    hint="add --yes to confirm that its data may be destroyed")
            Edge(self.state).stop()  # first: a client is refused, not sent to a dying replica
            if stack is None:
                print(f"warning: {broken}", file=sys.stderr)
                owner = Owner.of(self.state, project or project_name(self.root, self.env))
                remove_owned(self.run, self.report, owner, volumes, "config invalid")
                return []  # which images were the stack's, no config tells
            take_down(self.run, self.report, stack, Owner.of(self.state, stack.project),
                      volumes, graceful)
            return remove_images(self.run, removable_images(stack, rmi)) if rmi else []

    def restart_services(self, services: Sequence[str] = (), *,
                         timeout: float = 300.0) -> list[Progress]:
        with self.administering("restart", {"services": list(services), "timeout": timeout}):
            stack = self.stack()
            selected = stack.select(services)  # an unknown name is an error
            names = [n for n in selected if n in services] if services else selected
            ownership.guard(self.run, self.state, stack, "restart services")
            running = running_services(self.run, stack)
            done = start_fresh(self, stack, names, timeout, stop=True)
            return done + restore_dependents(self, stack, names, running, timeout)

    def startup(self, stack: Stack, names: Sequence[str], timeout: float,
                replace: Sequence[str] = ()) -> Startup:
        options = StartOptions(timeout, True, profiles_of(stack, names))
        return Startup(stack, names, run=self.run, report=self.report, options=options,
                       clock=self.clock, replace=replace, health_file=self.state.probe_health)

    # -- observation -----------------------------------------------------------------------
    def get_service_status(self, states: Mapping[str, containers.ContainerState] | None = None
                           ) -> list[ServiceStatus]:
        stack = self.current_stack()  # another stack root's containers are not our status
        if states is None:
            states = ownership.owned_containers(self.run, Owner.of(self.state, stack.project))[0]
        native = NativeHealth.for_stack(stack, self.state.probe_health)  # the health we keep
        return service_status(self.run, stack, {n: native.apply(s) for n, s in states.items()})

    def prepared(self) -> Project | None:
        """The project this manager prepared, if it did (no build for asking)."""
        return self._project

def masker(m: ComposeManager) -> Masker:
    """The prepared project's masker; without one, the env's as it loads."""
    return p.masker() if (p := m.prepared()) is not None else masker_for(m.root, m.env)


def production(m: ComposeManager) -> bool:
    """The prepared project's flag; without one, the env's (a broken env file: strict)."""
    if (outcome := m.prepared()) is not None:
        return outcome.production
    try:
        return load_environment(m.root, m.env).production
    except ConfigurationError:
        return True


def _recover(m: ComposeManager, cause: PhoenixError, timeout: float,
             args: dict[str, Any]) -> None:
    """Back to the current (last healthy) release after a failed ``up``; always raises."""
    if (number := releases.current(m.state)) is None or taken_down(m.state.audit_log):
        raise cause  # nothing healthy to go back to, or the stack was meant to be down
    args["rolled_back_to"] = number
    recover(m.deployer(), cause, number, timeout, masker(m).text)


def restore_dependents(m: ComposeManager, stack: Stack, names: Sequence[str],
                       running: set[str], timeout: float) -> list[Progress]:
    """A safeguard: what was running before and is not now is started again.  podman-compose
    reads no ``depends_on`` (:mod:`~phoenix_compose.config.enginefile`), so it no longer
    recreates (and leaves stopped) the running dependents of what it recreates."""
    lost = sorted((running - set(names)) - running_services(m.run, stack))
    if not lost:
        return []
    return m.startup(stack, [n for n in stack.order() if n in lost], timeout).execute()


def check_state(state: StateDir, action: str) -> None:
    """``.phoenix`` (and ``.phoenix/<env>``) before the first write: never a symlink.
    ``down`` must always work: it warns and goes on (unlocked, unaudited)."""
    why = state.unusable()
    if why is None:
        return
    if action == "down":
        print(f"warning: {why}; `down` goes on without its lock and audit line",
              file=sys.stderr)
        return
    raise StateError(f"environment '{state.env}' cannot keep its state: {why}",
                     hint="remove the symbolic link named above; phoenix makes .phoenix/ "
                          "itself")


def stop_noted(run: containers.Runner, state: StateDir, stack: Stack,
               names: Sequence[str]) -> None:
    """Stop ``names``, noted first (the watcher must not take it for a crash)."""
    audit.note_stops(state.stops_log, names)
    if chosen := [c for n in names for c in stack.services[n].containers]:  # replicas: 0
        run(argv.stop(*chosen), tolerate=argv.NO_SUCH_CONTAINER, timeout=120)


def start_fresh(m: ComposeManager, stack: Stack, names: Sequence[str], timeout: float,
                stop: bool = False) -> list[Progress]:
    """``restart`` (``stop``) and ``start`` of ``names``: what the plan would recreate (a
    moved image, a changed config) is replaced, not only started, and remembered."""
    deployer = m.deployer()
    if stop:  # restart: a start-first service behind the edge is replaced start-first
        names = replace_start_first(deployer, stack, names, timeout, "restarted")
    if not names:
        return []
    stale = deployer.plan(stack, names).named(Change.RECREATE)  # the plan decides, only it
    if stop:
        stop_noted(m.run, m.state, stack, names)
    try:
        return m.startup(stack, names, timeout,
                         replace=[c for s in stale for c in s.containers]).execute()
    finally:  # all: podman-compose recreates one made with an older config hash
        deployer.remember(stack, names)


def running_services(run: containers.Runner, stack: Stack) -> set[str]:
    by_container = {s.container: n for n, s in stack.services.items()}
    states = containers.inspect(run, list(by_container))
    return {by_container[c] for c, state in states.items() if state.running}


def _select(manager: ComposeManager, stack: Stack, services: Sequence[str],
            profiles: Sequence[str]) -> list[str]:
    if profiles:
        return stack.select(services, profiles)
    return stack.select(services, manager.validate_compose_files().profiles)


def env_profiles(root: Path, env: str) -> tuple[str, ...]:
    """``COMPOSE_PROFILES`` of an env (``Project.profiles`` of a prepared one)."""
    try:
        text = load_environment(root, env).variables.lookup("COMPOSE_PROFILES")
    except ConfigurationError:
        return ()
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())
