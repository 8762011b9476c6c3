"""``inv registry.*`` and ``inv images.promote``: the local registry and promotion by
digest (thin tasks over runtime/registry and runtime/promote)."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
from typing import TYPE_CHECKING

from invoke import Context, Exit, task

from phoenix_compose.cli.common import ENV_HELP, boundary, env_name, say, stack_root

if TYPE_CHECKING:
    from phoenix_compose.statedir import StateDir

ADDRESS_HELP = "HOST:PORT on a loopback address (default: PHOENIX_REGISTRY of the env, " \
               "else 127.0.0.1:5000)"


def _registry(c: Context, env: str | None, address: str | None):
    from phoenix_compose.config.environment import load_environment
    from phoenix_compose.config.registry import env_address
    from phoenix_compose.runtime.registry import Registry

    root = stack_root(c)
    if not address:
        cfg = load_environment(root, env_name(c, env))
        address = str(env_address(cfg))
    return Registry(root, address)


@task(name="up", help={"env": ENV_HELP, "address": ADDRESS_HELP})
def registry_up(c: Context, env: str | None = None, address: str | None = None) -> None:
    """Start the local registry (docker-registry on 127.0.0.1, data in .phoenix/registry)."""
    with boundary():
        registry = _registry(c, env, address)
        pid = registry.up()
    say(f"registry: up at {registry.address} (pid {pid}, log {registry.log})")


@task(name="down", help={"env": ENV_HELP, "address": ADDRESS_HELP})
def registry_down(c: Context, env: str | None = None, address: str | None = None) -> None:
    """Stop the local registry (its data stays in .phoenix/registry)."""
    with boundary():
        registry = _registry(c, env, address)
        was = registry.down()
    say(f"registry: {'stopped' if was else 'was not running'}")


@task(name="status", help={"env": ENV_HELP, "address": ADDRESS_HELP})
def registry_status(c: Context, env: str | None = None, address: str | None = None) -> None:
    """Say whether the local registry runs and answers."""
    with boundary():
        registry = _registry(c, env, address)
        say(f"registry: {'answering' if registry.answers() else 'not answering'} at "
            f"{registry.address} (pid {registry.pid() or '-'})")


@task(name="promote", help={"from": "the environment whose images to push (e.g. development)",
                            "to": "the environment that will run them (e.g. staging)",
                            "tag": "the version tag (default: git describe)"})
def promote(c: Context, from_: str = "development", to: str = "staging",
            tag: str = "") -> None:
    """Push an env's images to the registry, pinned by digest in envs/<to>.lock."""
    from phoenix_compose.cli.progress import live
    from phoenix_compose.runtime.promote import lock_file
    from phoenix_compose.runtime.promote import promote as run_promote

    root = stack_root(c)
    with boundary(), live() as report:
        done = run_promote(root, from_, to, version=tag, report=report)
    say(f"{to}: {len(done)} image(s) pinned in {lock_file(root, to).relative_to(root)}: "
        + ", ".join(sorted(p.variable for p in done)))


@task(help={"env": ENV_HELP, "json": "print a JSON array"})
def releases(c: Context, env: str | None = None, json_: bool = False) -> None:
    """List the recorded releases of an env (each healthy up), the current one marked."""
    import json

    from phoenix_compose.cli.common import env_name
    from phoenix_compose.runtime.releases import list_releases
    from phoenix_compose.statedir import StateDir

    found = list_releases(StateDir(stack_root(c), env_name(c, env)))
    if json_:
        say(json.dumps([r.as_dict() for r in found], indent=2))
        return
    for r in found:
        images = ", ".join(f"{s}={v.get('id', '')[:12]}" for s, v in sorted(r.images.items()))
        say(f"{'*' if r.current else ' '} {r.number:>3}  {r.time}  {r.user:<10} "
            f"{r.git or '-':<14} {images}")


@task(help={"env": ENV_HELP, "services": "comma-separated services (default: all, with deps)",
            "profile": "comma-separated compose profiles to enable",
            "json": "print the plan as JSON"})
def plan(c: Context, env: str | None = None, services: str | None = None,
         profile: str | None = None, json_: bool = False) -> None:
    """What `inv up` would change and why; exit 0: nothing, 2: something, 1: an error."""
    import json

    from phoenix_compose.cli.lifecycle import manager, split
    from phoenix_compose.cli.planview import plan_text

    m = manager(c, env)
    with boundary():
        result = m.plan(split(services), split(profile))
    say(json.dumps(result.as_dict(), indent=2) if json_ else plan_text(m.env, result))
    if result.changes:
        raise Exit(code=2)


@task(help={"env": ENV_HELP, "to": "the release number (default: the one before the current)",
            "timeout": "seconds to wait for health (default 300)"})
def rollback(c: Context, env: str | None = None, to: int = 0, timeout: float = 300.0) -> None:
    """Go back to a recorded release: recreate only what differs, health-gated."""
    from phoenix_compose.cli.lifecycle import administering, manager
    from phoenix_compose.cli.progress import live

    m = manager(c, env)
    with administering(c, "rollback", m):
        with live() as m.report:
            number, done = m.rollback(to or None, timeout=float(timeout))
    changed = done.changed()
    say(f"{m.env}: rolled back to release {number}"
        + (f" (recreated: {', '.join(changed)})" if changed else " (nothing had changed)"))
    for line in data_notes(m.state, number):
        say(line)


def data_notes(state: StateDir, number: int) -> list[str]:
    """What a rollback to ``number`` did not bring back: the data.  Names the backup a
    pre-deploy hook took just before the data moved past that release (never restored
    by itself)."""
    from phoenix_compose.runtime import releases

    later = releases.protected_after(state, number)
    if later is None:
        return []
    out = []
    for hook, result in (later.protected or {}).items():
        backup = result.get("backup") if isinstance(result, dict) else result
        out.append(f"data: {hook} took {backup} before release {later.number}; the data was "
                   f"not rolled back (if it must be: inv db.restore {backup} --env "
                   f"{state.env} --yes)")
    return out
