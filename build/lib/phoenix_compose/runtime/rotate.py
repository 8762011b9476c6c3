"""``inv secrets.rotate``: a new value for a secret, with its consumers recreated.

0. The running consumers must run the current config (else recreating them would deploy
   more than a new value: refused, nothing changed);
1. The current value is read from a running consumer (podman 4.3 cannot show a secret);
2. the secret's ``x-phoenix-rotate`` hook, if it declares one (``service`` and
   ``command``), runs in that service's container with the old and the new value on stdin,
   one per line (the database password: ``ALTER ROLE``), so the stack stays consistent;
3. the new value is stored (the old one stays until podman holds the new one; a value
   podman cannot store is refused before the hook runs) and every running consumer is
   recreated (a restart keeps the old value), in dependency order, health-gated;
4. when that fails: the hook runs back (new -> old), the old value is stored again, the
   consumers are recreated again, and the error says it rolled back.
No value is ever printed: a failing hook's output is shown with both values masked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from phoenix_compose.errors import ComposeRuntimeError, PhoenixError, tail_lines
from phoenix_compose.runtime import argv, containers
from phoenix_compose.runtime.deploy import Deployer
from phoenix_compose.runtime.plan import Change
from phoenix_compose.runtime.restartfirst import recreating
from phoenix_compose.runtime.secret_swap import check_value
from phoenix_compose.runtime.secrets import SecretStore
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.runtime.startup import StartOptions
from phoenix_compose.shapes import as_dict

HOOK = "x-phoenix-rotate"


@dataclass(frozen=True)
class Rotation:
    secret: str
    recreated: tuple[str, ...]
    hooked: str = ""  # the service the hook ran in


def rotate(deployer: Deployer, store: SecretStore, name: str, value: str,
           timeout: float) -> Rotation:
    return rotate_many(deployer, store, {name: value}, timeout)


def rotate_many(deployer: Deployer, store: SecretStore, values: dict[str, str],
                timeout: float) -> Rotation:
    """Several secrets at once (a certificate and its key): one recreation of the union of
    their consumers, and one rollback of all of them when it fails."""
    label = ", ".join(values)
    for name, value in values.items():  # before any hook changes what the value guards
        check_value(name, value)
    stack = store.stack
    targets = {name: store.resolve(name) for name in values}
    running = _running_consumers(deployer, store, list(targets.values()), label)
    old = {name: current_value(deployer.run, stack, target, [
        r for r in running if r in store.declared.get(target, [])])
        for name, target in targets.items()}
    hooks = {name: _hook(stack, target) for name, target in targets.items()}
    if any(hooks[n] and old[n] is None for n in values):
        raise ComposeRuntimeError(
            f"cannot rotate secret(s) {label}: a {HOOK} hook needs the current value, which "
            "only a running consumer can give", hint="start the stack first (`inv up`)")
    _store_all(deployer, store, hooks, old, values)
    try:
        recreate(deployer, stack, running, timeout)
    except PhoenixError as exc:
        if any(v is None for v in old.values()):
            raise
        _store_all(deployer, store, hooks, values, {n: str(v) for n, v in old.items()})
        recreate(deployer, stack, running, timeout)
        raise ComposeRuntimeError(
            f"rotation of secret(s) {label} failed: {str(exc).splitlines()[0]}\n"
            f"rolled back to the previous value (recreated: {', '.join(running)})",
            hint="the stack runs on the old value again; fix the cause and rotate again"
        ) from None
    return Rotation(label, tuple(running), ", ".join(h[0] for h in hooks.values() if h))


def _running_consumers(deployer: Deployer, store: SecretStore, targets: list[str],
                       label: str) -> list[str]:
    """The running consumers of ``targets``; refused when their config drifted (recreating
    them would deploy more than the new values)."""
    stack = store.stack
    users = {n for t in targets for n in store.declared.get(t, [])}
    consumers = [n for n in stack.order() if n in users]
    states = containers.inspect(deployer.run, [stack.services[n].container for n in consumers])
    running = [n for n in consumers if getattr(states.get(stack.services[n].container),
                                               "running", False)]
    # converge-health is no config drift: a consumer whose health is only stale (not
    # checked for two intervals, no watcher) is recreated by the rotation, health-gated
    drift = [s for s in deployer.plan(stack, running).steps
             if s.change not in (Change.UNCHANGED, Change.CONVERGE_HEALTH)]
    if drift:
        raise ComposeRuntimeError(
            f"cannot rotate secret(s) {label}: the config of "
            f"{', '.join(s.service for s in drift)} differs from what runs ("
            + "; ".join(f"{s.service}: {s.change}" for s in drift) + ")",
            hint="apply it first (`inv plan`, then `inv up`), or roll back; nothing was changed")
    return running


def _store_all(deployer: Deployer, store: SecretStore,
               hooks: dict[str, tuple[str, list[str]] | None], old: Mapping[str, str | None],
               new: dict[str, str]) -> None:
    for name, value in new.items():
        hook = hooks.get(name)
        if hook:
            run_hook(deployer.run, store.stack, hook, old[name] or "", value)
        try:
            store.set(name, value)  # the secret keeps its value when this fails
        except PhoenixError:
            if hook:  # so what it guards goes back to that value too
                run_hook(deployer.run, store.stack, hook, value, old[name] or "")
            raise


def current_value(run: containers.Runner, stack: Stack, target: str,
                  running: Sequence[str]) -> str | None:
    """The value a running consumer sees, or None when none runs."""
    for service in running:
        path = f"/run/secrets/{stack.services[service].secrets.get(target, target)}"
        result = run(argv.exec_(stack.services[service].container, ["cat", "--", path]),
                     ok_codes=(0, 1), timeout=30)
        if result.code == 0:
            return result.stdout
    return None


def _target_of(svc: dict[str, Any], source: str) -> str:
    for ref in svc.get("secrets") or ():
        if isinstance(ref, dict) and ref.get("source") == source:
            return str(ref.get("target") or source)
    return source


def _hook(stack: Stack, target: str) -> tuple[str, list[str]] | None:
    """The secret's hook (its shape is checked when the config is validated)."""
    declared = as_dict(as_dict(stack.top.get("secrets")).get(target))
    hook = declared.get(HOOK) if isinstance(declared, dict) else None
    if not isinstance(hook, dict):
        return None
    return str(hook["service"]), [str(a).replace("$$", "$") for a in hook["command"]]


def run_hook(run: containers.Runner, stack: Stack, hook: tuple[str, list[str]], old: str,
             new: str) -> None:
    service, command = hook
    if "\n" in old.rstrip("\n") or "\n" in new.rstrip("\n"):
        raise ComposeRuntimeError(f"a value with a line break cannot go through the {HOOK} "
                                  "hook (one value per line)")
    result = run(argv.exec_(stack.services[service].container, command, interactive=True),
                 input=f"{old.rstrip(chr(10))}\n{new.rstrip(chr(10))}\n", ok_codes=range(256),
                 timeout=120)
    if result.code != 0:
        text = (result.stdout + result.stderr)
        for secret in (old, new):
            if secret.strip():
                text = text.replace(secret.strip(), "********")
        raise ComposeRuntimeError(f"the {HOOK} hook in {service} failed (exit code "
                                  f"{result.code}):\n{tail_lines(text, 5)}")


def recreate(deployer: Deployer, stack: Stack, names: Sequence[str], timeout: float) -> None:
    """Recreate ``names`` with the new value: every replica (a start-first service behind
    the running edge start-first, :mod:`.restartfirst`)."""
    if not names:
        return
    plan = recreating(deployer, stack, names, "its secret was rotated")
    profiles = tuple(sorted({p for n in names for p in stack.services[n].profiles}))
    deployer.apply(stack, plan, StartOptions(timeout, True, profiles))
