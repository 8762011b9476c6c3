"""Every podman and podman-compose command line, as data: pure functions returning argv
tuples, compared by equality in the tests.  Nothing here runs anything (see :mod:`.commands`).

Names (containers, services, images, paths) always follow ``--``, so no name can ever be
read as an option (a container named ``--all`` must not become ``podman rm --all``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

# podman-compose's naming (config.naming); re-exported here
from phoenix_compose.config.naming import container_name as container_name
from phoenix_compose.statedir import engine_file

Argv = tuple[str, ...]
PROJECT_LABEL = "io.podman.compose.project"

# Failures callers tolerate, by podman's exit code and message (see commands.run).
NO_SUCH_CONTAINER = ((125, r"no such container|no container with name or id"),)
NO_SUCH_IMAGE = ((125, r"image not known|no such image"),)
NOT_RUNNING = ((125, r"not running|no such container|container state improper"),)


def events(project: str, since: float | None = None) -> Argv:
    """The project's container events as JSON lines, from ``since`` (a Unix time: what
    happens while podman is still starting up is not lost) and then as they come."""
    start = ("--since", str(int(since))) if since is not None else ()
    return ("podman", "events", *start, "--format", "json", "--filter",
            f"label={PROJECT_LABEL}={project}")


def events_since(container: str, since: float) -> Argv:
    """What happened to one container (its id: a name may have named others before) since
    a time (no streaming): its event statuses."""
    return ("podman", "events", "--stream=false", "--since", f"{since:.0f}", "--filter",
            f"container={container}", "--format", "{{.Status}}")



def compose(compose_file: Path, project: str, *args: str, profiles: Sequence[str] = (),
            engine: Path | None = None) -> Argv:
    """podman-compose always gets the copy of our final file ``compose_file`` without
    ``depends_on`` (:func:`~phoenix_compose.statedir.engine_file`: every call the same one,
    or its ``up`` would see other config hashes and recreate), an explicit project and no
    pod.  ``engine``: a copy of that file with only the services a call names
    (:mod:`~phoenix_compose.runtime.enginesubset`)."""
    profile_args = tuple(a for p in profiles for a in ("--profile", p))
    return ("podman-compose", "--in-pod", "false", "-f",
            str(engine or engine_file(compose_file)),
            "-p", project,
            *profile_args, *args)


def create(compose_file: Path, project: str, services: Sequence[str],
           profiles: Sequence[str] = (), engine: Path | None = None) -> Argv:
    return compose(compose_file, project, "up", "--no-start", "--no-deps", "--", *services,
                   profiles=profiles, engine=engine)


def recreate(compose_file: Path, project: str, services: Sequence[str],
             profiles: Sequence[str] = ()) -> Argv:
    """Create and start the named services again, without touching their dependencies."""
    return compose(compose_file, project, "up", "-d", "--no-deps", "--", *services,
                   profiles=profiles)


def down(compose_file: Path, project: str, volumes: bool = False,
         profiles: Sequence[str] = (), timeout: int | None = None) -> Argv:
    return compose(compose_file, project, "down", "--remove-orphans",
                   *(("--volumes",) if volumes else ()),
                   *(("--timeout", str(timeout)) if timeout is not None else ()),
                   profiles=profiles)


def start(*containers: str) -> Argv:
    return ("podman", "start", "--", *containers)


def stop(*containers: str, timeout: int = 10) -> Argv:
    return ("podman", "stop", "--time", str(timeout), "--", *containers)


def unpause(*containers: str) -> Argv:
    return ("podman", "unpause", "--", *containers)


def restart(*containers: str, timeout: int = 10) -> Argv:
    return ("podman", "restart", "--time", str(timeout), "--", *containers)


def healthcheck_run(container: str) -> Argv:
    return ("podman", "healthcheck", "run", "--", container)


def inspect(*containers: str) -> Argv:
    return ("podman", "container", "inspect", "--", *containers)


def ps(project: str, label: str = PROJECT_LABEL) -> Argv:
    return ("podman", "ps", "--all", "--format", "json", "--filter",
            f"label={label}={project}")


def logs(container: str, lines: int | None = None, follow: bool = False,
         since: str | None = None, timestamps: bool = False) -> Argv:
    return ("podman", "logs", *(("--tail", str(lines)) if lines is not None else ()),
            *(("--since", since) if since else ()), *(("--timestamps",) if timestamps else ()),
            *(("--follow",) if follow else ()), "--", container)


def exec_(container: str, command: Sequence[str], *, interactive: bool = False,
          tty: bool = False) -> Argv:
    """``podman exec``: ``-i`` keeps stdin open, ``-t`` allocates a terminal."""
    return ("podman", "exec", *(("--interactive",) if interactive else ()),
            *(("--tty",) if tty else ()), "--", container, *command)


def port(container: str, private: str | None = None) -> Argv:
    return ("podman", "port", "--", container, *((private,) if private else ()))


def build(tag: str, context: str, containerfile: str | None = None,
          args: Sequence[tuple[str, str]] = (), no_cache: bool = False) -> Argv:
    extra = tuple(a for k, v in args for a in ("--build-arg", f"{k}={v}"))
    file_args = ("-f", containerfile) if containerfile else ()
    cache = ("--no-cache",) if no_cache else ()
    return ("podman", "build", "-t", tag, *file_args, *extra, *cache, "--", context)


def image_id(image: str) -> Argv:
    return ("podman", "image", "inspect", "--format", "{{.Id}}", "--", image)


def image_inspect(*images: str) -> Argv:
    return ("podman", "image", "inspect", "--", *images)


def remove(*containers: str, timeout: int = 10) -> Argv:
    """podman-compose links depends_on as podman container dependencies: remove those too."""
    return ("podman", "rm", "--force", "--depend", "--time", str(timeout), "--", *containers)


def replace(*containers: str, timeout: int = 10) -> Argv:
    """Remove containers a plan recreates or drops: only those (phoenix creates with
    ``--no-deps``, so no other container depends on them); their volumes stay."""
    return ("podman", "rm", "--force", "--time", str(timeout), "--", *containers)


def remove_stopped(*containers: str) -> Argv:
    """Remove stopped containers only: podman refuses a running one, or one that another
    container depends on (no --force, no --depend: nothing else goes with it)."""
    return ("podman", "rm", "--", *containers)


def image_exists(image: str) -> Argv:
    return ("podman", "image", "exists", "--", image)


def remove_kind(kind: str, *ids: str) -> Argv:
    """Remove networks or volumes (``kind``) by id or name."""
    return ("podman", kind, "rm", "--force", "--", *ids)


def labelled(kind: str, project: str, label: str = PROJECT_LABEL) -> Argv:
    """IDs of the project's containers, networks or volumes (``kind``: container, network,
    volume), by podman-compose's project label (or another ``label`` naming the project)."""
    listing = ("ps", "--all") if kind == "container" else (kind, "ls")
    return ("podman", *listing, "--quiet", "--filter", f"label={label}={project}")


def resources(kind: str, project: str) -> Argv:
    """The project's networks or volumes (``kind``) as JSON, with their labels (podman 4.3
    ORs two label filters of ``volume ls``: owners are told apart from the labels)."""
    return ("podman", kind, "ls", "--format", "json", "--filter",
            f"label={PROJECT_LABEL}={project}")


def volume_ls(project: str) -> Argv:
    return ("podman", "volume", "ls", "--format", "json", "--filter",
            f"label={PROJECT_LABEL}={project}")


def version() -> Argv:
    return ("podman", "version", "--format", "json")


def compose_version() -> Argv:
    return ("podman-compose", "version")


def info() -> Argv:
    return ("podman", "info", "--format", "json")


def network_create(name: str, labels: Mapping[str, str] | None = None,
                   internal: bool = True) -> Argv:
    """An internal network (no route out of it: a throwaway's, e.g. a restore check) unless
    ``internal`` is false."""
    return ("podman", "network", "create", *(("--internal",) if internal else ()),
            *(a for k, v in dict(labels or {}).items() for a in ("--label", f"{k}={v}")),
            "--", name)


def run_detached(name: str, image: str, *, network: str, environment: Mapping[str, str],
                 mounts: Sequence[str] = (), labels: Mapping[str, str] | None = None) -> Argv:
    """A throwaway container in the background (``podman run -d``), on ``network`` only;
    ``mounts``: ``-v`` specs (``SRC:DST:ro``)."""
    return ("podman", "run", "--detach", "--name", name, "--network", network,
            *(a for k, v in environment.items() for a in ("--env", f"{k}={v}")),
            *(a for m in mounts for a in ("--volume", m)),
            *(a for k, v in dict(labels or {}).items() for a in ("--label", f"{k}={v}")),
            "--", image)


def run_once(image: str, *command: str) -> Argv:
    """A throwaway container without a network (the doctor's smoke test)."""
    return ("podman", "run", "--rm", "--network", "none", "--", image, *command)


def pull(image: str) -> Argv:
    return ("podman", "pull", "--quiet", "--", image)


def mmdebstrap(suite: str, tarball: str, mirror: str, mode: str) -> Argv:
    """A minimal Debian ``suite`` as a tarball (``mode``: root, or unshare when rootless)."""
    return ("mmdebstrap", f"--mode={mode}", "--variant=minbase", "--quiet", "--", suite,
            tarball, mirror)


def import_tarball(tarball: str, image: str) -> Argv:
    return ("podman", "import", "--", tarball, image)


def tag(source: str, target: str) -> Argv:
    return ("podman", "tag", "--", source, target)


def push(image: str, digestfile: str) -> Argv:
    """Push, writing the manifest digest to ``digestfile`` (the registry's own answer)."""
    return ("podman", "push", "--quiet", "--digestfile", digestfile, "--", image)


def image_digests(image: str) -> Argv:
    return ("podman", "image", "inspect", "--format", "{{json .RepoDigests}}", "--", image)


def registry_serve(config: str) -> Argv:
    """Debian's docker-registry (distribution 2.8) as a plain process."""
    return ("docker-registry", "serve", config)


def untag(*images: str) -> Argv:
    """Remove image names (the image itself stays while another name holds it)."""
    return ("podman", "rmi", "--", *images)


# -- secrets (podman secrets; the value always on stdin, never in a command line) -----------
def secret_names() -> Argv:
    return ("podman", "secret", "ls", "--noheading", "--format", "{{.Name}}")


def secret_inspect(*names: str) -> Argv:
    return ("podman", "secret", "inspect", "--", *names)


def secret_create(name: str, driver: str, options: Mapping[str, str],
                  labels: Mapping[str, str] | None = None) -> Argv:
    """Create secret ``name`` from stdin (``-``) with ``driver`` and its options (and
    ``labels``: podman 4.3 has ``--label`` on secrets, though no label filter to list them)."""
    opts = ",".join(f"{k}={v}" for k, v in sorted(options.items()))
    return ("podman", "secret", "create", "--driver", driver,
            *(("--driver-opts", opts) if opts else ()),
            *(a for k, v in dict(labels or {}).items() for a in ("--label", f"{k}={v}")),
            "--", name, "-")


def secret_remove(*names: str) -> Argv:
    return ("podman", "secret", "rm", "--", *names)


def save(image: str, tarball: str) -> Argv:
    return ("podman", "save", "--output", tarball, "--", image)


def load(tarball: str) -> Argv:
    return ("podman", "load", "--input", tarball)
