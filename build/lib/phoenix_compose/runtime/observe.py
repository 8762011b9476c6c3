"""Observe: one snapshot of what podman runs for a project, taken before anything is
decided.  :func:`.plan.plan` is a pure function of the stack and this snapshot, so the
planner is tested from plain data and ``inv plan`` and ``up --dry-run`` cannot disagree.

A no-op ``up`` of one image asks podman 5 times, for 2 services as for 6: the image id
(one call per distinct image), the project's containers (``ps``, then one batched
``inspect``), and its networks and volumes (whose owner they carry), all at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

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
    wanted = images_of(stack, names) if images is None else []
    asked, found, *listed = side_by_side(  # each podman call costs its start-up: at once
        lambda: local_ids(run, wanted), lambda: containers.project_containers(run, stack.project),
        *[lambda kind=kind, who=owner: ownership.resources(run, who, (kind,))
          for kind in (ownership.KINDS if owner is not None else ())])
    images = asked if images is None else images
    foreign: list[ownership.Foreign] = []
    if owner is not None:
        found, foreign = ownership.split(found, owner)
        foreign += ownership.foreign_of({k: v for one in listed for k, v in one.items()})
    made = {s.config_hash: known for s in found.values()
            if (known := applied.get(s.config_hash)) is not None}
    return Snapshot(datetime.now(timezone.utc), found, tuple(foreign), dict(images), made,
                    file_digests(stack, names))


def images_of(stack: Stack, names: Sequence[str]) -> list[str]:
    return [i for n in names if (i := stack.services[n].image)]


def local_ids(run: containers.Runner, images: Iterable[str]) -> dict[str, str]:
    """The ID of each image that is here (in parallel; an absent one is left out)."""
    wanted = sorted(set(images))
    found = dict(zip(wanted, side_by_side(*[
        (lambda image=image: run(argv.image_id(image), tolerate=argv.NO_SUCH_IMAGE))
        for image in wanted])))
    return {image: r.stdout.strip() for image, r in found.items() if r.code == 0}


def side_by_side(*calls: Callable[[], Any], workers: int = 8) -> list[Any]:
    """Each call's result, the calls run at once (at most ``workers`` threads).  On Ctrl-C
    or SIGTERM the podman children are ended and no other call starts: a hanging podman
    must not hold the exit."""
    if len(calls) < 2:
        return [call() for call in calls]
    stop = threading.Event()  # set by the first failure: a worker takes no other call

    def guarded(call: Callable[[], Any]) -> Any:
        if stop.is_set():
            return None  # never read: the failure is raised
        try:
            return call()
        except BaseException:
            stop.set()
            raise

    pool = ThreadPoolExecutor(max_workers=min(len(calls), workers),
                              thread_name_prefix="phoenix-ask")
    try:
        results = [f.result() for f in [pool.submit(guarded, call) for call in calls]]
    except BaseException:
        stop.set()
        commands.terminate_all()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results
