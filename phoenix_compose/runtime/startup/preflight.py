"""Pre-flight checks of a start: when one fails, no container has been created.

Every image must be present (a pull would fail or hang offline), every published host port
of a service that is not already running must be free, and a container made from an older
build of its image is marked stale, to be recreated as compose does.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from phoenix_compose.config.merge import port_key
from phoenix_compose.config.values import port_range
from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.runtime import argv, containers, podman
from phoenix_compose.runtime.stack import ServiceSpec


def check(run: containers.Runner, specs: Sequence[ServiceSpec]) -> list[str]:
    """Raise when an image is missing or a port is taken; return the stale containers."""
    existing = containers.inspect(run, [s.container for s in specs])
    ids = image_ids(run, specs)
    check_ports(specs, existing)
    return [s.container for s in specs if s.container in existing and s.image in ids
            and existing[s.container].image_id != ids[s.image]]


def local_ids(run: containers.Runner, images: Iterable[str]) -> dict[str, str]:
    """The ID of each image that is here (in parallel; an absent one is left out)."""
    wanted = sorted(set(images))
    pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="phoenix-image")
    try:
        found = dict(zip(wanted, pool.map(
            lambda image: run(argv.image_id(image), tolerate=argv.NO_SUCH_IMAGE), wanted)))
    except BaseException:  # Ctrl-C, SIGTERM: a hanging podman must not hold the exit
        podman.terminate_all()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return {image: r.stdout.strip() for image, r in found.items() if r.code == 0}


def image_ids(run: containers.Runner, specs: Sequence[ServiceSpec]) -> dict[str, str]:
    """The ID of every image; none may be missing."""
    wanted = {s.image: s.name for s in specs if s.image}
    ids = local_ids(run, wanted)
    missing = [f"{image} (service {wanted[image]})" for image in wanted if image not in ids]
    if missing:
        raise ComposeRuntimeError(
            "image not present locally: " + ", ".join(missing),
            hint="build it with `inv images.build` (or `inv up --build`), or "
                 "`podman pull`/`podman load` it; no container was created")
    return ids


def check_ports(specs: Sequence[ServiceSpec],
                existing: Mapping[str, containers.ContainerState]) -> None:
    busy = []
    for spec in specs:
        state = existing.get(spec.container)
        if state is not None and state.running:
            continue
        for ip, port in host_ports(spec.ports):
            if not bindable(ip, port):
                busy.append(f"{ip or '0.0.0.0'}:{port} (service {spec.name})")
    if busy:
        raise ComposeRuntimeError("host port already in use: " + ", ".join(busy),
                                  hint="stop whatever listens there, or change the "
                                       "port in envs/<env>.env; nothing was started")


def host_ports(ports: Sequence[object]) -> list[tuple[str, int]]:
    """(host ip, port) of every published TCP port, ranges expanded."""
    out = []
    for port in ports:
        ip, _target, published, proto = port_key(port)
        if proto != "tcp" or not published:
            continue
        bounds = port_range(published)
        if bounds is not None and 0 < bounds[0] <= bounds[1] <= 65535:
            out += [(ip, p) for p in range(bounds[0], bounds[1] + 1)]
    return out


def bindable(ip: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip or "0.0.0.0", port))
        except OSError:
            return False
    return True
