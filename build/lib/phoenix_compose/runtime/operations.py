"""The rest of the compose vocabulary, over the same validated stack and the same seam:
``stop``/``start``/``kill``/``pause``/``unpause`` of services, ``logs`` across services,
``exec``, ``port`` and ``pull``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence

from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.runtime import (
    argv,
    argv_compose,
    audit,
    commands,
    containers,
    ownership,
    replicaops,
)
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.lifecycle import ComposeManager, running_services, start_fresh
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.runtime.startup import Progress

Line = Callable[[str], None]


def stop(m: ComposeManager, services: Sequence[str] = (), timeout: int = 10) -> list[str]:
    """Stop the named services (default: all), leaving their containers; the watcher sees
    a stop's exit code and leaves them alone.  Returns the services stopped."""
    with m.administering("stop", {"services": list(services)}):
        stack = m.current_stack()
        names = list(ownership.mine(m.run, m.state, stack, named(stack, services)))
        if names:  # another stack root's container of the same name is not ours to stop
            audit.note_stops(m.state.stops_log, names)
            m.run(argv.stop(*[c for n in names for c in stack.services[n].containers],
                            timeout=timeout),
                  tolerate=argv.NO_SUCH_CONTAINER, timeout=timeout + 60)
        return names


def rm(m: ComposeManager, services: Sequence[str] = (), stop_first: bool = False) -> list[str]:
    """Remove the containers of stopped services (default: all; ``stop_first``: running ones
    too), never their volumes.  Returns the services removed."""
    with m.administering("rm", {"services": list(services), "stop": stop_first}):
        stack = m.current_stack()
        names = named(stack, services)
        states = ownership.mine(m.run, m.state, stack, names)  # never another root's
        chosen = [n for n in names if n in states and (stop_first or not states[n].running)]
        victims = [c for n in chosen for c in stack.services[n].containers]
        if victims and stop_first:
            audit.note_stops(m.state.stops_log, chosen)
            m.run(argv.stop(*victims), tolerate=argv.NO_SUCH_CONTAINER, timeout=120)
        if victims:
            m.run(argv.remove_stopped(*victims), timeout=300)
        return chosen


def kill(m: ComposeManager, services: Sequence[str] = (), signal: str = "KILL") -> list[str]:
    """Send ``signal`` to the running containers of the named services (default: all);
    noted first, so the watcher takes the exit for ours.  Returns the services signalled."""
    return _signal(m, "kill", services, {"signal": signal}, lambda s: s.running,
                   lambda *c: argv_compose.kill(*c, signal=signal))


def pause(m: ComposeManager, services: Sequence[str] = ()) -> list[str]:
    """Freeze the running containers of the named services (default: all); noted first,
    so the watcher leaves them alone until ``unpause``.  Returns the services paused."""
    return _signal(m, "pause", services, {}, lambda s: s.running, argv_compose.pause)


def unpause(m: ComposeManager, services: Sequence[str] = ()) -> list[str]:
    """Thaw the paused containers of the named services (default: all); their pause note
    ends, so the watcher heals them again.  Returns the services unpaused."""
    return _signal(m, "unpause", services, {}, lambda s: s.status == "paused",
                   argv_compose.unpause)


def _signal(m: ComposeManager, action: str, services: Sequence[str], args: dict[str, str],
            chosen: Callable[[containers.ContainerState], bool],
            command: Callable[..., argv.Argv]) -> list[str]:
    """``action`` on our containers of ``services`` in the state ``chosen`` accepts, audited
    and noted in the stops log before podman is asked (``unpause``: noted after)."""
    with m.administering(action, {"services": list(services), **args}):
        stack = m.current_stack()
        states = ownership.mine(m.run, m.state, stack, named(stack, services))
        names = [n for n, s in states.items() if chosen(s)]
        if names and action != "unpause":
            audit.note_stops(m.state.stops_log, names)
        if names:
            m.run(command(*[c for n in names for c in stack.services[n].containers]),
                  tolerate=argv.NOT_RUNNING, timeout=120)
        if names and action == "unpause":
            audit.resuming(m.state.stops_log, names)
        return [n for n in stack.order() if n in names]


def start(m: ComposeManager, services: Sequence[str] = (),
          timeout: float = 300.0) -> list[Progress]:
    """Start the named services (default: all) again, in order and health-gated."""
    with m.administering("start", {"services": list(services), "timeout": timeout}):
        stack = m.stack()
        ownership.guard(m.run, m.state, stack, "start services")
        return start_fresh(m, stack, named(stack, services), timeout)


def named(stack: Stack, services: Sequence[str]) -> list[str]:
    selected = stack.select(services)  # an unknown name is an error
    return [n for n in selected if n in services] if services else selected


def logs(m: ComposeManager, services: Sequence[str], *, tail: int | None = None,
         since: str | None = None, timestamps: bool = False,
         index: int = replicaops.NOT_GIVEN) -> list[str]:
    """Every named service's log lines (default: all services), prefixed and aligned: each
    replica's (``index``: only that one's, 1-based; :mod:`.replicaops`)."""
    stack = m.current_stack()
    chosen = replicaops.sources(stack, named(stack, services), index)
    width = max((len(p) for p, _ in chosen), default=0)
    out, missing = [], []
    for prefix, container in chosen:
        result = m.run(argv.logs(container, tail, False, since, timestamps),
                       tolerate=argv.NO_SUCH_CONTAINER, timeout=60)
        if result.code:
            missing.append(prefix)  # a replica without a container has no logs
            continue
        for line in (result.stdout + result.stderr).splitlines():
            out.append(f"{prefix:<{width}} | {line}")
    if missing and len(missing) == len(chosen):
        raise ComposeRuntimeError(f"no container for {', '.join(missing)} (is the stack "
                                  "down?)", hint="start it with `inv up`")
    return out


def follow(m: ComposeManager, services: Sequence[str], on_line: Line, *,
           tail: int | None = None, since: str | None = None,
           timestamps: bool = False, index: int = replicaops.NOT_GIVEN) -> None:
    """Follow every named service's log (each replica's, or replica ``index``'s) at once,
    until they all end or Ctrl-C."""
    stack = m.current_stack()
    chosen = replicaops.sources(stack, named(stack, services), index)
    existing = containers.inspect(m.run, [c for _, c in chosen])
    missing = [p for p, c in chosen if c not in existing]
    if missing and len(missing) == len(chosen):
        raise ComposeRuntimeError(f"no container for {', '.join(missing)} (is the stack "
                                  "down?)", hint="start it with `inv up`")
    chosen = [(p, c) for p, c in chosen if c in existing]
    width = max((len(p) for p, _ in chosen), default=0)
    lock = threading.Lock()

    def prefixed(prefix: str) -> Line:
        def emit(line: str) -> None:
            with lock:
                on_line(f"{prefix:<{width}} | {line.rstrip()}")
        return emit

    followers = [commands.follow(argv.logs(c, tail, True, since, timestamps), prefixed(p))
                 for p, c in chosen]
    try:
        for follower in followers:
            follower.proc.wait()
    finally:
        for follower in followers:
            follower.stop()


def exec_(m: ComposeManager, service: str, command: Sequence[str],
          index: int = replicaops.NOT_GIVEN) -> int:
    """Run ``command`` in the service's container (replica ``index``, 1-based; default the
    first): interactive when a terminal is attached."""
    container = replicaops.replica(m.current_stack(), service, index)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    return commands.interactive(argv.exec_(container, command or ["sh"], interactive=tty,
                                         tty=tty))


def run_once(m: ComposeManager, service: str, command: Sequence[str], *, remove: bool = False,
             no_deps: bool = False, timeout: float = 300.0) -> int:
    """A one-off container of ``service`` running ``command`` (default: the service's
    own), on this terminal; its exit code.  Its dependencies that are not running are
    started first, in order and health-gated (not with ``no_deps``), under the env lock
    and audited; the one-off itself runs outside the lock (it may be a long shell)."""
    args = {"service": service, "program": command[0] if command else "",  # never its args
            "rm": remove, "no_deps": no_deps}
    with m.administering("run", args):
        stack = m.stack()
        chosen = stack.select([service])  # an unknown name is an error
        ownership.guard(m.run, m.state, stack, "run a one-off container")
        up = running_services(m.run, stack)
        deps = [] if no_deps else [n for n in chosen if n != service and n not in up]
        if deps:
            m.startup(stack, deps, timeout).execute()
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    return commands.interactive(argv_compose.run_once(
        stack.compose_file, stack.project, service, command, remove=remove, tty=tty,
        profiles=stack.services[service].profiles))


def port(m: ComposeManager, service: str, private: str,
         index: int = replicaops.NOT_GIVEN) -> str:
    """The host address a service's private port is published on (``HOST:PORT``): for a
    port the edge owns, the edge's (what a client uses) unless ``index`` names a replica,
    whose own (loopback) port is then given."""
    stack = m.current_stack()
    container = replicaops.replica(stack, service, index)
    edged = replicaops.edge_address(stack, service, private)
    if edged is not None and index == replicaops.NOT_GIVEN:
        if Edge(m.state).pid() is None:
            raise ComposeRuntimeError(f"port {private} of service '{service}' is the edge's "
                                      f"({edged}), and the edge does not run",
                                      hint="start the stack with `inv up`; `--index N` "
                                           "names one replica's own port")
        return edged
    result = m.run(argv.port(container, private), timeout=30,
                   tolerate=argv.NO_SUCH_CONTAINER)
    text = result.stdout.strip()
    if result.code or not text:
        raise ComposeRuntimeError(f"service '{service}' publishes no port {private}"
                                  + (f" (no container {container})"
                                     if result.code else ""),
                                  hint="see its `ports:` in `inv config.show`")
    return text.splitlines()[0]


def pull(m: ComposeManager, services: Sequence[str] = (),
         report: Callable[[str, str, str], None] | None = None) -> list[str]:
    """Pull the image of every named service that has no ``build:``; returns the images."""
    report = report or m.report
    stack = m.stack()
    images: dict[str, str] = {}
    for name in named(stack, services):
        spec = stack.services[name]
        if spec.image and not spec.build:
            images.setdefault(spec.image, name)
    for image, service in sorted(images.items()):
        report(service, "pulling", image)
        try:
            m.run(argv.pull(image), timeout=1800)
        except ComposeRuntimeError:
            report(service, "failed", image)
            raise
        report(service, "pulled", image)
    return sorted(images)
