"""``deploy.update_config.monitor`` (issue 26): after a start-first batch joined the edge,
its new replicas are watched for ``monitor`` seconds before the old ones are retired; a
failure within it is a failure of the batch (:mod:`.startfirst` applies
``failure_action``).

A replica fails when its container no longer runs, or when its health check fails
``retries`` times in a row (one failed check is not yet ``unhealthy``, for podman
either).  No health check: only that it runs.  Clock and runner are injected."""

from __future__ import annotations

from collections.abc import Sequence

from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.runtime import argv, containers
from phoenix_compose.runtime.stack import ServiceSpec
from phoenix_compose.runtime.startup import Clock


def alive(run: containers.Runner, spec: ServiceSpec, container: str) -> bool:
    """One check: the health check passes (no check: the container runs)."""
    if spec.health is not None:
        return run(argv.healthcheck_run(container), ok_codes=(0, 1, 125)).code == 0
    state = containers.inspect(run, [container]).get(container)
    return bool(state and state.running)


def watch(run: containers.Runner, clock: Clock, spec: ServiceSpec, batch: Sequence[str],
          seconds: float) -> None:
    """Check ``batch`` every health ``interval`` (no check: every second) until ``seconds``
    have passed; raise when one fails (see the module's text)."""
    limit = spec.health.retries if spec.health is not None else 1
    pause = spec.health.interval if spec.health is not None else 1.0
    deadline = clock.now() + seconds
    misses = dict.fromkeys(batch, 0)
    while clock.now() < deadline:
        clock.sleep(min(pause, max(deadline - clock.now(), 0.0)))
        for container in batch:
            misses[container] = 0 if alive(run, spec, container) else misses[container] + 1
            if misses[container] >= max(limit, 1):
                raise ComposeRuntimeError(
                    f"replica {container} of service '{spec.name}' failed within its "
                    f"monitor of {seconds:g}s: " + ("its health check failed "
                                                    f"{misses[container]} time(s) in a row"
                                                    if spec.health is not None
                                                    else "it no longer runs"),
                    hint=f"`podman logs -- {container}`")
