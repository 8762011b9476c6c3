"""``inv images.build``: build every service with a ``build:`` section, offline if need be.

A base image that cannot be pulled (no registry here, nor in many air-gapped sites) is
bootstrapped when it is a Debian image: mmdebstrap from the Debian archive the machine's
apt already uses (rootless too, in a user namespace), then ``podman import``, cached under
the same tag.  Also what ``up --pull`` pulls, and the images ``down --rmi`` removes.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from phoenix_compose.config.registry import is_local
from phoenix_compose.errors import CommandError, ComposeRuntimeError, tail_lines
from phoenix_compose.runtime import argv, argv_compose
from phoenix_compose.runtime.containers import Runner
from phoenix_compose.runtime.registry import Registry
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.runtime.startup.diagnosis import Report
from phoenix_compose.shapes import as_dict

_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)", re.IGNORECASE | re.MULTILINE)
_DEBIAN = re.compile(r"^(?:docker\.io/)?(?:library/)?debian:(?P<suite>[a-z]+)(?:-slim)?$")
APT_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# A pull that cannot reach or find the image (offline, unknown name): fall back or explain.
PULL_FAILURES = ((125, r"initializing source|pinging container registry|dial tcp|"
                       r"name resolution|no such host|manifest unknown|not found|"
                       r"requested access|unauthorized|connection refused"),)


def image_tag(stack: Stack, service: str) -> str:
    spec = stack.services[service]
    return spec.image or f"{stack.project}_{service}"


def build_images(stack: Stack, names: Sequence[str] | None = None, *, run: Runner,
                 report: Report, no_cache: bool = False) -> list[str]:
    """Build the images of ``names`` (default: all) that have a build section; returns tags."""
    built = []
    for name in names if names is not None else stack.order():
        spec = stack.services[name]
        if not spec.build:
            continue
        build = spec.build_spec
        context = build.get("context", ".")
        args = as_dict(build.get("args"))
        tag = image_tag(stack, name)
        if tag in built:
            continue
        with _containerfile_of(Path(context), build) as containerfile:
            for base in _FROM.findall(containerfile.read_text(encoding="utf-8")):
                ensure_base_image(base, run=run, report=report)
            report(name, "building", tag)
            run(argv.build(tag, str(context), str(containerfile),
                           [(k, "" if v is None else str(v)) for k, v in sorted(args.items())],
                           no_cache), timeout=1800)
        report(name, "built", tag)
        built.append(tag)
    return built


@contextmanager
def _containerfile_of(context: Path, build: dict) -> Iterator[Path]:
    """The Containerfile to build with: ``build.dockerfile_inline`` written to a temporary
    file for the build's length (as podman-compose does), else the context's file."""
    inline = build.get("dockerfile_inline")
    if inline is None:
        yield _containerfile(context, build.get("dockerfile"))
        return
    with tempfile.TemporaryDirectory(prefix="phoenix-inline-") as tmp:
        path = Path(tmp) / "Containerfile"
        path.write_text(str(inline), encoding="utf-8")
        yield path


def _containerfile(context: Path, name: str | None) -> Path:
    candidates = [context / name] if name else [context / "Containerfile",
                                                context / "Dockerfile"]
    for path in candidates:
        if path.is_file():
            return path
    raise ComposeRuntimeError(f"no Containerfile in build context {context}",
                              hint="add a Containerfile (or set build.dockerfile)")


def ensure_base_image(image: str, *, run: Runner, report: Report) -> None:
    if image.lower() == "scratch" or "$" in image:
        return
    if run(argv.image_exists(image), ok_codes=(0, 1)).code == 0:
        return
    pulled = run(argv.pull(image), tolerate=PULL_FAILURES, timeout=120)
    if pulled.code == 0:
        return
    match = _DEBIAN.match(image)
    if not match:
        raise ComposeRuntimeError(
            f"base image {image} is not present and could not be pulled:\n"
            f"{tail_lines(pulled.stderr, 3)}",
            hint="load it with `podman load`, or base the Containerfile on a Debian image "
                 "(debian:<suite>) which phoenix-compose can bootstrap offline")
    bootstrap_debian(image, match.group("suite"), run=run, report=report)


def apt_mirror() -> str:
    for path in APT_SOURCES:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for url in re.findall(r"^URIs:\s*(\S+)", text, re.MULTILINE) + re.findall(
                r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.MULTILINE):
            if url.rstrip("/").endswith("/debian"):
                return url
    return DEFAULT_MIRROR


def bootstrap_debian(image: str, suite: str, *, run: Runner, report: Report) -> None:
    """mmdebstrap writes a minimal Debian as a tarball, as root or, rootless, in a user
    namespace of the user's subordinate ids (``--mode=unshare``: no root, no sudo)."""
    mode = "root" if os.geteuid() == 0 else "unshare"
    report("base", "bootstrapping", f"{image} from {apt_mirror()} (mmdebstrap, {mode})")
    with tempfile.TemporaryDirectory(prefix="phoenix-rootfs-") as tmp:
        tarball = str(Path(tmp) / "rootfs.tar")
        try:
            run(argv.mmdebstrap(suite, tarball, apt_mirror(), mode), timeout=1800)
        except CommandError as exc:
            raise ComposeRuntimeError(
                f"base image {image} could not be bootstrapped: {exc}",
                hint="./dev setup installs mmdebstrap; rootless, it needs subordinate ids "
                     "(inv doctor names what is missing)") from None
        run(argv.import_tarball(tarball, image), timeout=600)
    report("base", "bootstrapped", image)


def pull_pinned(stack: Stack, names: Sequence[str], root: Path, *, run: Runner,
                report: Report, present: Collection[str] | None = None) -> list[str]:
    """Pull every image pinned by digest (``name@sha256:...``) that is not here yet, from
    its registry (a local plain-HTTP one through its registries.conf).  A digest the
    registry does not have stops the start before any container is created.  ``present``:
    the images known to be here already (not asked of podman again)."""
    pulled = []
    for name in names:
        image = stack.services[name].image
        if not image or "@sha256:" not in image or image in pulled:
            continue
        if present is not None and image in present:
            continue
        if present is None and run(argv.image_exists(image), ok_codes=(0, 1)).code == 0:
            continue
        _pull(run, report, name, image, f"from {image.split('/', 1)[0]}",
              "is the registry up (`inv registry.up`), and the image promoted "
              "(`inv images.promote`)? no container was created", registry_env(root, image))
        pulled.append(image)
    return pulled


def unbuilt(stack: Stack, names: Sequence[str], run: Runner) -> list[str]:
    """The services of ``names`` with a ``build:`` whose image is not here: ``up`` builds
    them without ``--build``, as docker compose does (``--no-build``: never)."""
    return [n for n in names if stack.services[n].build and run(
        argv.image_exists(image_tag(stack, n)), ok_codes=(0, 1), timeout=60).code != 0]


PULL_POLICIES = ("always", "missing", "never")


def pull_for(stack: Stack, names: Sequence[str], root: Path, *, run: Runner, report: Report,
             present: Collection[str], policy: str | None = None) -> list[str]:
    """``up --pull``: by default (None) what is pinned by digest and not here; ``never``
    nothing (a missing image then stops the start); ``missing`` also each tagged image
    that is not here; ``always`` also each tagged one that is (a digest never changes).
    Images built from a ``build:`` section are never pulled.  Returns those pulled."""
    if policy == "never":
        return []
    pulled = pull_pinned(stack, names, root, run=run, report=report, present=present)
    for name in names if policy else ():
        image, build = stack.services[name].image, stack.services[name].build
        if not image or build or "@sha256:" in image or image in pulled or \
                (policy == "missing" and image in present):
            continue
        _pull(run, report, name, image, f"(--pull {policy})",
              "`--pull never` starts with the images that are here; no container was "
              "created", registry_env(root, image))
        pulled.append(image)
    return pulled


def registry_env(root: Path, image: str) -> dict[str, str] | None:
    """Our plain-HTTP registry on loopback is pulled from through its own registries.conf
    (a pinned image or a tag, ``--pull always|missing``); any other through podman's."""
    host = image.split("/", 1)[0]
    return Registry(root, host).env() if "/" in image and is_local(host) else None


def _pull(run: Runner, report: Report, name: str, image: str, why: str, hint: str,
          env: Mapping[str, str] | None = None) -> None:
    """Pull ``image`` of service ``name``, reported; a failure names it, ``why`` and the
    last lines podman said."""
    report(name, "pulling", image)
    try:
        run(argv.pull(image), env=env, timeout=1800)
    except ComposeRuntimeError as exc:
        raise ComposeRuntimeError(
            f"image {image} (service {name}) cannot be pulled {why}:\n"
            f"{tail_lines(getattr(exc, 'stderr', '') or str(exc), 3)}", hint=hint) from None
    report(name, "pulled", image)


def removable_images(stack: Stack, mode: str) -> list[str]:
    """The images ``down --rmi`` removes: ``all``, every service's; ``local``, only those
    without a custom tag, i.e. built from a ``build:`` section with no ``image:`` (the
    name podman-compose gives them).  Docker compose's rule, per service."""
    out: list[str] = []
    for name, spec in stack.services.items():
        if (spec.image or spec.build) and (mode == "all" or not spec.image) and \
                (image := image_tag(stack, name)) not in out:
            out.append(image)
    return out


def remove_images(run: Runner, images: Sequence[str]) -> list[str]:
    """Remove ``images`` one by one; one a container still uses (another project's) or one
    already gone is left.  Returns those removed."""
    removed = []
    for image in images:
        if run(argv_compose.remove_image(image), tolerate=argv_compose.IMAGE_KEPT,
               timeout=120).code == 0:
            removed.append(image)
    return removed
