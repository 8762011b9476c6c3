"""``inv secrets.*``: an env's podman secrets (thin tasks over runtime/secrets).  A value is
read from stdin or a file, never from the command line, and never printed."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
import sys
from pathlib import Path

from invoke import Context, task

from phoenix_compose.cli.common import ENV_HELP, boundary, say
from phoenix_compose.errors import ComposeRuntimeError

NAME_HELP = "the secret's name as the stack declares it, without the env prefix"


def _store(c: Context, env: str | None):
    from phoenix_compose.cli.lifecycle import manager
    from phoenix_compose.runtime.secrets import SecretStore

    m = manager(c, env)
    stack = m.current_stack()  # the last valid one when the config is broken: no project
    return m, SecretStore(m.root, m.env, stack, m.run, project=m.prepared())


def read_value(from_file: str | None) -> str:
    if from_file:
        try:
            return Path(from_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ComposeRuntimeError(f"cannot read {from_file}: {exc.strerror}") from None
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("value (not echoed): ")
    return sys.stdin.read()


@task(name="set", help={"name": NAME_HELP, "env": ENV_HELP,
                        "from_file": "read the value from this file (default: stdin)"})
def set_(c: Context, name: str, env: str | None = None, from_file: str | None = None) -> None:
    """Store a secret's value (from stdin or --from-file) in podman, replacing an older one."""
    with boundary():
        m, store = _store(c, env)
        value = read_value(from_file)
        with m.administering("secrets.set", {"name": name}):
            target = store.set(name, value)
    say(f"{m.env}: secret {name} stored as podman secret {target}")


@task(name="list", help={"env": ENV_HELP, "json": "print a JSON array"})
def list_(c: Context, env: str | None = None, json_: bool = False) -> None:
    """The env's secrets: name, created, driver, consumers (never a value)."""
    import json

    with boundary():
        m, store = _store(c, env)
        rows = store.listing()
    if json_:
        say(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    for r in rows:
        state = f"{r.created or '-':<19}  {r.driver or '-':<5}" if r.exists else \
            f"{'MISSING':<19}  {'-':<5}"
        say(f"{r.name:<28} {state}  {', '.join(r.consumers) or '-'}")


@task(name="rm", help={"name": NAME_HELP, "env": ENV_HELP,
                       "force": "remove it even while a running service consumes it"})
def rm(c: Context, name: str, env: str | None = None, force: bool = False) -> None:
    """Remove a secret from podman (refused while a running service consumes it)."""
    with boundary():
        m, store = _store(c, env)
        with m.administering("secrets.rm", {"name": name, "force": force}):
            target = store.remove(name, force)
    say(f"{m.env}: secret {name} ({target}) removed")


@task(help={"name": NAME_HELP, "env": ENV_HELP,
            "from_file": "read the new value from this file (default: stdin)",
            "timeout": "seconds to wait for the recreated consumers' health (default 300)"})
def rotate(c: Context, name: str, env: str | None = None, from_file: str | None = None,
           timeout: float = 300.0) -> None:
    """Store a new value and recreate its consumers, health-gated; roll back on failure."""
    from phoenix_compose.cli.progress import live
    from phoenix_compose.runtime.rotate import rotate as run_rotation

    with boundary():
        m, store = _store(c, env)
        value = read_value(from_file)
        with m.administering("secrets.rotate", {"name": name}), live() as m.report:
            done = run_rotation(m.deployer(), store, name, value, float(timeout))
    say(f"{m.env}: secret {name} rotated"
        + (f"; hook ran in {done.hooked}" if done.hooked else "")
        + (f"; recreated: {', '.join(done.recreated)}" if done.recreated else
           "; no running consumer to recreate"))


@task(name="init", help={"env": ENV_HELP,
                         "force": "renew existing certificates: one rotation, the services "
                                  "using them recreated health-gated, rolled back on failure"})
def certs_init(c: Context, env: str | None = None, force: bool = False) -> None:
    """A local CA and a TLS certificate per service, stored as the env's podman secrets."""
    from phoenix_compose.cli.progress import live
    from phoenix_compose.runtime.certs import init_certs

    with boundary():
        m, store = _store(c, env)
        with m.administering("certs.init", {"force": force}), live() as m.report:
            stored, recreated = init_certs(store, force=force, deployer=m.deployer())
    say(f"{m.env}: CA and certificates stored as podman secrets: {', '.join(stored)}"
        + (f"; recreated: {', '.join(recreated)}" if recreated else ""))
