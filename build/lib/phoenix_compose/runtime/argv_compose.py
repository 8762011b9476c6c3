"""Command lines of the rest of the compose vocabulary (``kill``, ``pause``/``unpause``,
``down --rmi``, ``run``), beside :mod:`.argv`.  Pure functions; ``--`` before every name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from phoenix_compose.runtime.argv import Argv, compose

# ``podman rmi`` of an image another container still uses (exit 2), or one already gone
# (exit 1): ``down --rmi`` leaves it, as docker compose does.
IMAGE_KEPT = ((2, r"in use|being used"), (1, r"image not known|no such image"))


def kill(*containers: str, signal: str = "KILL") -> Argv:
    return ("podman", "kill", "--signal", signal, "--", *containers)


def pause(*containers: str) -> Argv:
    return ("podman", "pause", "--", *containers)


def unpause(*containers: str) -> Argv:
    return ("podman", "unpause", "--", *containers)


def remove_image(image: str) -> Argv:
    """One image (not ``--force``: one that a container still uses is refused, kept)."""
    return ("podman", "rmi", "--", image)


def run_once(compose_file: Path, project: str, service: str, command: Sequence[str], *,
             remove: bool = False, tty: bool = False, profiles: Sequence[str] = ()) -> Argv:
    """``podman-compose run``: a one-off container of ``service``; ``--no-deps`` always
    (phoenix starts the dependencies first, health-gated); ``-T`` without a terminal."""
    return compose(compose_file, project, "run", "--no-deps", *(("--rm",) if remove else ()),
                   *(() if tty else ("-T",)), "--", service, *command, profiles=profiles)


def running_ids() -> Argv:
    """The ids of the containers that run now, whoever made them (``inv doctor``)."""
    return ("podman", "ps", "-q")


def renumber() -> Argv:
    """Re-allocate podman's locks (``inv doctor --fix``, once per boot: :mod:`.podmanlocks`)."""
    return ("podman", "system", "renumber")


def create_scaled(compose_file: Path, project: str, service: str, count: int,
                  engine: Path | None = None) -> Argv:
    """Create the missing replicas among ``<project>_<service>_1..count`` and leave the
    others as they are, even made from another config (``--no-recreate``): a start-first
    update's new replicas, beside the old ones (:mod:`.startfirst`)."""
    return compose(compose_file, project, "up", "--no-start", "--no-deps", "--no-recreate",
                   "--scale", f"{service}={count}", "--", service, engine=engine)


def rename(container: str, name: str) -> Argv:
    """A container's new name (running or not; its id, address and ports stay)."""
    return ("podman", "rename", "--", container, name)
