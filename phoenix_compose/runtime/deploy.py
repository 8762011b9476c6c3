"""Executing a plan: the minimal ``up`` and the rollback to a recorded release.

Only what the plan names is touched: removed orphans and recreated services lose their
container (never a volume), restarted ones are stopped, and then the health-gated start
loop brings up exactly those, in dependency order.  What is unchanged keeps running.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

import yaml

from phoenix_compose import hooks
from phoenix_compose.config import enginefile
from phoenix_compose.config.assemble import raise_errors
from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.policy import pinned_by_digest
from phoenix_compose.config.project import Project
from phoenix_compose.config.recorded import recorded_problems
from phoenix_compose.errors import (
    ComposeRuntimeError,
    ConfigurationError,
    PhoenixError,
    RolledBack,
    RolloutStopped,
    StateError,
)
from phoenix_compose.fileio import read_yaml, write_files
from phoenix_compose.runtime import containers, ownership, releases
from phoenix_compose.runtime import plan as planning
from phoenix_compose.runtime.audit import audited
from phoenix_compose.runtime.edgeup import EdgeKeeper
from phoenix_compose.runtime.fingerprint import Applied, fingerprint
from phoenix_compose.runtime.images import build_images, pull_for, unbuilt
from phoenix_compose.runtime.nativehealth import NativeHealth
from phoenix_compose.runtime.observe import images_of, local_ids, observe
from phoenix_compose.runtime.plan import Change, Plan, PlanOptions
from phoenix_compose.runtime.secrets import missing_secrets
from phoenix_compose.runtime.stack import Stack, load_stack
from phoenix_compose.runtime.startfirst import Outcome, StartFirst, rolling, rollout_of
from phoenix_compose.runtime.startup import Clock, Progress, Report, StartOptions, Startup
from phoenix_compose.runtime.startup.preflight import image_ids
from phoenix_compose.statedir import StateDir, engine_file


@dataclass
class Deployer:
    state: StateDir
    run: containers.Runner
    report: Report
    clock: Clock
    production: bool = False
    protected: dict[str, Any] = field(default_factory=dict)  # pre-deploy hooks' results
    project: Project | None = None  # the prepared project (None: the env is loaded)

    def plan(self, stack: Stack, names: Sequence[str], ids: dict[str, str] | None = None,
             options: PlanOptions | None = None) -> Plan:
        """Observe, then plan ``names``; ``ids``: the local image ids (asked if None)."""
        snapshot = observe(self.run, stack, names, Applied(self.state.applied),
                           ownership.Owner.of(self.state, stack.project), ids)
        native = NativeHealth.for_stack(stack, self.state.probe_health)  # podman's is stale
        snapshot = replace(snapshot, containers={n: native.apply(s) for n, s in
                                                 snapshot.containers.items()})
        return planning.plan(stack, names, snapshot, options)

    def prepare(self, stack: Stack, names: Sequence[str], *, build: bool | None = False,
                production: bool = False, pull: str | None = None,
                known: dict[str, str] | None = None) -> dict[str, str]:
        """Pull pinned images that are not here (or as ``pull``, ``up --pull``, says), build
        when asked (None: those not here); the local image ids (``known``: asked already).
        A production env runs digests only (``--profile`` may enable a tagged service)."""
        loose = [f"{n} ({i})" for n in names if (i := stack.services[n].image)
                 and not pinned_by_digest(i)] if production else []
        missing_secrets(stack, names, self.state.root, self.state.env, self.run,
                        self.project.variables if self.project else None)
        if loose:
            raise ConfigurationError(
                "error: production policy: image not pinned by digest: " + ", ".join(loose),
                hint="promote it (`inv images.promote --to <env>`); nothing was started")
        ids = known if known is not None else local_ids(self.run, images_of(stack, names))
        pulled = pull_for(stack, names, self.state.root, run=self.run, report=self.report,
                          present=ids, policy=pull)
        if build is not False:
            wanted = names if build else unbuilt(stack, names, self.run)
            pulled += build_images(stack, wanted, run=self.run, report=self.report)
        return local_ids(self.run, images_of(stack, names)) if pulled else ids

    def apply(self, stack: Stack, plan: Plan, options: StartOptions, protect: bool = True,
              rollback: bool = False) -> list[Progress]:
        """Execute ``plan``; a service updated start-first behind the running edge is
        replaced by :mod:`.startfirst` after the rest (``rollback``: as its
        ``rollback_config`` says); then the edge follows the stack."""
        keeper = EdgeKeeper(self.state, self.run, self.report, self.clock)
        rolled = rolling(stack, plan.steps, keeper.edge.pid() is not None, rollback)
        rest = replace(plan, steps=tuple(s for s in plan.steps if s not in rolled))
        keeper.release(stack, [c for s in rest.named(Change.REMOVE, Change.RECREATE)
                               for c in s.containers])  # out of the edge before they go
        done = self.execute(stack, rest, options, protect)
        stopped = []
        for step in rolled:
            self.report(step.service, "start-first", "; ".join(step.reasons))
            outcome = StartFirst(keeper, options.timeout).roll(
                stack, step, plan.existing, rollout_of(stack.services[step.service], rollback))
            if outcome.new:  # what the new replicas were made from, never an old one's
                self.remember(stack, [step.service], outcome.new[:1])
            stopped += [outcome] if outcome.failures else []
        keeper.sync(stack, options.timeout)
        if stopped:
            raise RolloutStopped("\n".join(_stopped_text(o) for o in stopped))
        return done

    def execute(self, stack: Stack, plan: Plan, options: StartOptions, protect: bool = True
                ) -> list[Progress]:
        """Execute ``plan``: its prelude (:func:`.plan.prelude`), then the start loop over
        what it starts and what it checks; nothing else is touched."""
        if plan.moves:  # never over another stack root's containers, networks or volumes
            ownership.refuse_foreign(plan.project, plan.foreign, "create containers")
            ownership.refuse_held(self.run, [s.container for s in plan.named(Change.CREATE)],
                                  ownership.Owner.of(self.state, stack.project))
        starting, checking = planning.starting(plan), planning.checking(plan)
        for step in plan.steps:
            if step.change not in (Change.CREATE, Change.UNCHANGED):
                kept = [f"keeps named volume(s) {', '.join(step.volumes)}"] * bool(step.volumes)
                self.report(step.service, str(step.change), "; ".join([*step.reasons, *kept]))
        image_ids(self.run, [stack.services[n] for n in starting], plan.images)  # none missing
        if protect:  # `up`; a rollback must never wait on a backup
            self.protect([s.service for s in plan.named(Change.REMOVE, Change.RECREATE)
                          if s.volumes])
        for line in planning.prelude(stack, plan):
            self.run(line, timeout=600)
        acting = [s.service for s in plan.steps if s.service in {*starting, *checking}]
        try:
            done = Startup(stack, acting, run=self.run, report=self.report, options=options,
                           clock=self.clock, checking=checking,
                           health_file=self.state.probe_health,
                           images_known=True).execute() if acting else []
        finally:  # every container started too: one made by an older phoenix carries
            # another config hash, and podman-compose's `up --no-start` recreates it
            self.remember(stack, starting)
        return done

    def protect(self, owners: Sequence[str]) -> None:
        """Before a production env recreates (or removes) services that own named volumes,
        the registered pre-deploy hooks run (the db plugin backs the database up); their
        results go into the release (a hook that finds nothing to protect returns nothing
        and is not mentioned).  A hook that fails stops the deploy: nothing was touched
        yet."""
        if not (self.production and owners):
            return
        for name, hook in hooks.PRE_DEPLOY.items():
            result = hook(self.state.root, self.state.env, list(owners))
            if result:  # empty: nothing in this stack asks for it (it did nothing)
                self.protected[name] = result
                self.report("*", "protected", f"{name} before recreating {', '.join(owners)}")

    def remember(self, stack: Stack, names: Sequence[str], made_as: Sequence[str] = ()
                 ) -> None:
        """Store what the containers just made were made from (by their config label);
        ``made_as``: the container of each of ``names`` to read it from (default: the
        first replica; a partial roll's first one may be an old one)."""
        if not names:
            return
        made_by = dict(zip(names, made_as)) if made_as else {
            n: stack.services[n].container for n in names}
        states = containers.inspect(self.run, list(made_by.values()))
        made = {state.config_hash: fingerprint(stack, n) for n, c in made_by.items()
                if (state := states.get(c)) is not None}
        Applied(self.state.applied).remember(made)

    def rollback(self, number: int | None, timeout: float) -> tuple[int, Plan]:
        """Bring back release ``number`` (default: the one before the current one)."""
        release = releases.find(self.state, number)
        stack = self.verified(release.number)
        names = [n for n in stack.order() if n in release.images]
        stack, now = _as_recorded(self, stack, release)
        ids = self.prepare(stack, names, known=now)
        plan = self.plan(stack, names, ids)
        self.apply(stack, plan, StartOptions(timeout, True, planning.profiles_of(stack, names)),
                   protect=False, rollback=True)
        releases.set_current(self.state, release.number)
        return release.number, plan

    def verified(self, number: int) -> Stack:
        """Release ``number``, only if its MAC matches and it passes ``config.validate``'s
        checks now (the production policy in production), under the env's own project."""
        cfg = self.project.cfg if self.project else load_environment(self.state.root,
                                                                      self.state.env)
        path = releases.compose_file(self.state, number)
        text = releases.verified_text(self.state, number)
        active = frozenset(p.strip() for p in (cfg.variables.lookup("COMPOSE_PROFILES")
                                               or "").split(",")) - {""}
        raise_errors(recorded_problems(text, str(path.relative_to(self.state.root)),
                                       cfg.project_name, cfg.production or self.production,
                                       active))
        _write_engine_file(self.state, path, text)  # from the verified text, never as found
        return load_stack(path, cfg.project_name)


def recover(deployer: Deployer, cause: PhoenixError, number: int, timeout: float,
            mask: Callable[[str], str]) -> NoReturn:
    """After a failed ``up``: back to release ``number``, audited; raises RolledBack (exit 3),
    or an error naming both failures when the rollback fails too."""
    deployer.report("*", "rolling back", f"to release {number}: {str(cause).splitlines()[0]}")
    try:
        with audited(deployer.state.audit_log, "rollback", {"to": number, "automatic": True},
                     mask):
            number, plan = deployer.rollback(number, timeout)
    except PhoenixError as exc:
        raise ComposeRuntimeError(
            f"{cause}\nthe rollback to release {number} failed too: {exc}",
            hint="`inv status` shows what runs; `inv rollback --to N` tries again") from None
    raise RolledBack(cause, number, plan.changed()) from None


def _stopped_text(outcome: Outcome) -> str:
    kept = ", ".join(outcome.kept) or "none"
    how = ("paused where it failed" if outcome.paused else
           f"went on past {len(outcome.failures)} failed batch(es)")
    return (f"service '{outcome.service}': the start-first update {how} (not rolled back): "
            + "; ".join(outcome.failures)
            + f"\non the new config: {', '.join(outcome.new) or 'none'}; still on the old "
              f"config: {kept}")


def _as_recorded(deployer: Deployer, stack: Stack, release: releases.Release
                 ) -> tuple[Stack, dict[str, str] | None]:
    """A tag that moved since the release (a rebuilt ``:dev``) must not bring the new
    image back: such services run the recorded image id (``rollback.yaml``).  With the
    local ids of the stack's images when none moved (None: ask again)."""
    names = [n for n in stack.services if n in release.images]
    now = local_ids(deployer.run, images_of(stack, names))
    moved = {n: release.images[n].get("id", "") for n in names
             if release.images[n].get("id") and stack.services[n].image
             and now.get(stack.services[n].image or "") != release.images[n]["id"]}
    if not moved:
        return stack, now
    there = local_ids(deployer.run, moved.values())
    lost = [f"{n} ({i[:12]})" for n, i in moved.items() if i not in there]
    if lost:
        raise ComposeRuntimeError(
            f"release {release.number} ran images that are gone: {', '.join(lost)}",
            hint="rebuild or pull them, or roll back to another release")
    model = read_yaml(stack.compose_file)
    for name, image_id in moved.items():
        model["services"][name]["image"] = image_id
    path = stack.compose_file.with_name("rollback.yaml")
    try:
        write_files(enginefile.files(path, yaml.safe_dump(model, sort_keys=False)))
    except OSError as exc:
        raise StateError(f"cannot write {path.relative_to(deployer.state.root)}: "
                         f"{exc.strerror or exc}") from None
    return load_stack(path, stack.project), None


def _write_engine_file(state: StateDir, path: Path, text: str) -> None:
    try:
        enginefile.write(path, text)
    except OSError as exc:
        raise StateError(f"cannot write {engine_file(path).relative_to(state.root)}: "
                         f"{exc.strerror or exc}") from None
