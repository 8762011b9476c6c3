"""Observe: one snapshot of what podman runs for a project, taken before anything is
decided.  :func:`.plan.plan` is a pure function of the stack and this snapshot, so the
planner is tested from plain data and ``inv plan`` and ``up --dry-run`` cannot disagree.

A no-op ``up`` of one image asks podman 5 times, for 2 services as for 6: the image id
(one call per distinct image, in parallel), the project's containers (``ps``, then one
batched ``inspect``), and its networks and volumes (whose owner they carry).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from phoenix_compose.runtime import argv, commands, containers, ownership
from phoenix_compose.runtime.fingerprint import Applied, Fingerprint, file_digests
from phoenix_compose.runtime.stack import Stack


@dataclass(frozen=True)
class Snapshot:
    """The project as podman (and the disk) had it at ``taken_at``."""

    taken_at: datetime
    containers: Mapping[str, containers.ContainerState] = field(default_factory=dict)  # ours
    foreign: tuple[ownership.Foreign, ...] = ()  # the project's, another owner's
    images: Mapping[str, str] = field(default_factory=dict)  # image -> its id (absent: not here)
    applied: Mapping[str, Fingerprint] = field(default_factory=dict)  # config hash -> made from
    files: Mapping[str, str] = field(default_factory=dict)  # secret/config file -> sha256


def observe(run: containers.Runner, stack: Stack, names: Sequence[str], applied: Applied,
            owner: ownership.Owner | None = None, images: Mapping[str, str] | None = None
            ) -> Snapshot:
    """The snapshot for the services ``names``; ``images``: their local ids when already
    asked (else asked here); ``owner``: only its containers are ours."""
    if images is None:
        images = local_ids(run, images_of(stack, names))
    found = containers.project_containers(run, stack.project)
    foreign: list[ownership.Foreign] = []
    if owner is not None:
        found, foreign = ownership.split(found, owner)
        foreign += ownership.foreign_resources(run, owner)
    made = {s.config_hash: known for s in found.values()
            if (known := applied.get(s.config_hash)) is not None}
    return Snapshot(datetime.now(timezone.utc), found, tuple(foreign), dict(images), made,
                    file_digests(stack, names))


def images_of(stack: Stack, names: Sequence[str]) -> list[str]:
    return [i for n in names if (i := stack.services[n].image)]


def local_ids(run: containers.Runner, images: Iterable[str]) -> dict[str, str]:
    """The ID of each image that is here (in parallel; an absent one is left out)."""
    wanted = sorted(set(images))
    pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="phoenix-image")
    try:
        found = dict(zip(wanted, pool.map(
            lambda image: run(argv.image_id(image), tolerate=argv.NO_SUCH_IMAGE), wanted)))
    except BaseException:  # Ctrl-C, SIGTERM: a hanging podman must not hold the exit
        commands.terminate_all()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return {image: r.stdout.strip() for image, r in found.items() if r.code == 0}
