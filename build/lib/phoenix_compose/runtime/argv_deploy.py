"""Command lines of the exports (``inv deploy.*``), beside :mod:`.argv`: ``podman kube``,
the networks, volumes and secrets it makes, ``quadlet -dryrun`` and ``systemd-analyze
verify`` (``kubectl``'s: :mod:`.argv_kubectl`).  Pure functions; ``--`` before every name."""

from __future__ import annotations

from phoenix_compose.runtime.argv import Argv


def read_secret(image: str, name: str) -> Argv:
    """A secret's value on stdout, from a throwaway container with no network (podman 4.3
    has no ``secret inspect --showsecret``); for ``inv deploy.kube-secrets`` only."""
    return ("podman", "run", "--rm", "--network", "none", "--secret", f"{name},target=value",
            "--", image, "/bin/busybox", "cat", "/run/secrets/value")


def image_has_program(image: str, program: str) -> Argv:
    """Exit 0 when ``program`` is on the image's PATH (run as its entrypoint with
    ``--version``; 127 when it is not there): no shell needed in the image, no network."""
    return ("podman", "run", "--rm", "--network", "none", "--entrypoint", program, "--",
            image, "--version")


def kube_play(file: str, network: str) -> Argv:
    return ("podman", "kube", "play", "--network", network, "--", file)


def kube_down(file: str) -> Argv:
    return ("podman", "kube", "down", "--", file)


def volume_remove(*names: str) -> Argv:
    return ("podman", "volume", "rm", "--", *names)


def volume_exists(name: str) -> Argv:
    return ("podman", "volume", "exists", "--", name)


def network_exists(name: str) -> Argv:
    return ("podman", "network", "exists", "--", name)


def network_remove(name: str) -> Argv:
    return ("podman", "network", "rm", "--", name)


def quadlet_dryrun(binary: str) -> Argv:
    """Quadlet's conversion without systemd (the unit folder in QUADLET_UNIT_DIRS)."""
    return (binary, "-dryrun")


def systemd_verify(*units: str) -> Argv:
    return ("systemd-analyze", "verify", "--man=no", "--", *units)


def apt_update() -> Argv:
    """apt's lists, under the private configuration in ``APT_CONFIG`` (no root)."""
    return ("apt-get", "-qq", "update")


def apt_download(package: str) -> Argv:
    return ("apt-get", "-qq", "download", "--", package)


def deb_extract(deb: str, folder: str) -> Argv:
    return ("dpkg-deb", "--extract", "--", deb, folder)


def quadlet_version(binary: str) -> Argv:
    return (binary, "-version")
