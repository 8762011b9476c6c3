"""``inv images.promote``: the images an environment resolves to, pushed to the registry
and pinned by digest in ``envs/<to>.lock`` (a committed, reviewable file that sits above
``envs/<to>.env``).  The same image bytes then run in the next environment."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.interpolate import whole_variable
from phoenix_compose.config.locator import Locator
from phoenix_compose.config.pipeline import build
from phoenix_compose.config.registry import env_address
from phoenix_compose.errors import (
    CommandError,
    ComposeRuntimeError,
    ConfigurationError,
    Loc,
    Problem,
)
from phoenix_compose.fileio import write_files
from phoenix_compose.runtime import argv, argv_git, commands, containers
from phoenix_compose.runtime.images import image_tag
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.runtime.registry import Registry
from phoenix_compose.runtime.startup import Report


@dataclass(frozen=True)
class Promoted:
    service: str
    source: str  # the local image
    pinned: str  # <registry>/phoenix/<service>@sha256:...
    variable: str  # the variable the service's ``image:`` reads (the whole value)


def lock_file(root: Path, env: str) -> Path:
    return root / "envs" / f"{env}.lock"


def promote(root: Path, source: str, target: str, *, version: str = "",
            run: containers.Runner = commands.run, report: Report) -> list[Promoted]:
    """Push every image ``source`` runs by default and write ``envs/<target>.lock``."""
    stack = ComposeManager(root, source, run=run).stack()
    address = str(env_address(load_environment(root, target)))
    if address.startswith("["):
        raise ComposeRuntimeError(f"podman cannot name an image on {address}: its image "
                                  "references take no bracketed IPv6 host",
                                  hint="promote through 127.0.0.1:PORT or localhost:PORT")
    registry = Registry(root, address)
    if not registry.answers():
        raise ComposeRuntimeError(f"no registry answers at {address}",
                                  hint="start the local one with `inv registry.up`")
    variables = image_variables(root, target, source, stack.select())
    version = version or _version(root, run)
    promoted = []
    for name in variables:
        image = image_tag(stack, name)
        if not _present(run, registry, image):
            report(name, "skipped", f"{image} is not present locally")
            continue
        report(name, "pushing", f"{address}/phoenix/{name}:{version}")
        digest = _push(run, registry, image, f"{address}/phoenix/{name}:{version}")
        promoted.append(Promoted(name, image, f"{address}/phoenix/{name}@{digest}",
                                 variables[name]))
        report(name, "pushed", digest)
    if not promoted:
        raise ComposeRuntimeError(f"nothing to promote: no image of {source} is present",
                                  hint=f"build them first: `inv images.build --env {source}`")
    try:  # envs/ is the repository's: never written through a link
        write_files({lock_file(root, target): _lock_text(source, target, version, promoted)},
                    inside=root)
    except OSError as exc:
        raise ComposeRuntimeError(f"{lock_file(root, target).relative_to(root)}:1:1: cannot "
                                  f"write it: {exc.strerror or exc}") from None
    return promoted


def image_variables(root: Path, target: str, source: str,
                    services: list[str]) -> dict[str, str]:
    """Service -> the variable its ``image:`` is, as ``target`` reads the compose files
    (else, when it cannot yet, as ``source`` does); a located error for every service
    whose image is a literal, is built from several variables or from a variable and text,
    or is only built."""
    try:
        where = build(load_environment(root, target)).where
    except ConfigurationError:  # prod refuses its images until they are pinned: this pins them
        where = None
    where = where or build(load_environment(root, source)).where
    found: dict[str, str] = {}
    problems = []
    for name in services:
        node = where.where.get(("services", name, "image")) if where else None
        variable = whole_variable(node.written) if node and node.written else None
        if variable:
            found[name] = variable
            continue
        problems.append(_unpinnable(where, name, node.value if node else None))
    if problems:
        raise ConfigurationError(problems, hint="write each promoted service's image as one "
                                                "variable (`image: ${WEB_IMAGE}`, a default "
                                                "may follow: `${WEB_IMAGE:-web:dev}`); "
                                                "nothing was pushed or pinned")
    return found


def _unpinnable(where: Locator | None, name: str, image: object) -> Problem:
    path = ("services", name, "image")
    at = where.at(path) if where else Loc(f"service {name}", 0, 0)
    why = "has no image: key (only build:)" if image is None else \
        f"image {image!r} is not one variable"
    return Problem(at, f"services.{name}: {why}: images.promote cannot tell which variable "
                       "to pin in the lock file")


def _present(run: containers.Runner, registry: Registry, image: str) -> bool:
    """Is ``image`` here?  An image pinned by digest in our registry (a promoted one, say
    staging's on the way to prod) is pulled: the same bytes move on."""
    if run(argv.image_exists(image), ok_codes=(0, 1)).code == 0:
        return True
    if "@sha256:" not in image or not image.startswith(f"{registry.address}/"):
        return False
    pulled = run(argv.pull(image), env=registry.env(), timeout=1800,
                 tolerate=((125, r"manifest unknown|not found|initializing source"),))
    return pulled.code == 0


def _push(run: containers.Runner, registry: Registry, image: str, target: str) -> str:
    run(argv.tag(image, target), timeout=60)
    with tempfile.TemporaryDirectory(prefix="phoenix-push-") as tmp:
        digestfile = Path(tmp) / "digest"
        run(argv.push(target, str(digestfile)), env=registry.env(), timeout=1800)
        digest = digestfile.read_text().strip()
    if not digest.startswith("sha256:"):
        raise ComposeRuntimeError(f"pushing {target} gave no digest")
    return digest


def _version(root: Path, run: containers.Runner) -> str:
    """The git revision (``git describe``), else the time: the tag of the pushed images."""
    try:
        text = run(argv_git.describe(), timeout=30, cwd=root).stdout.strip()
    except CommandError:
        text = ""
    return text or datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _lock_text(source: str, target: str, version: str, promoted: list[Promoted]) -> str:
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    lines = [f"# Written by `inv images.promote --from {source} --to {target}` ({version}, "
             f"{when}).", "# Review and commit it: each image is pinned by digest; it "
                          f"overrides envs/{target}.env."]
    lines += [f"{p.variable}={p.pinned}" for p in sorted(promoted, key=lambda p: p.variable)]
    return "\n".join(lines) + "\n"
