"""podman-compose's container names, in a module of its own: ``runtime.argv`` (imported by
every plugin, ``inv --list`` too) needs the name, not the typed services."""

from __future__ import annotations


def container_name(project: str, service: str, index: int = 1) -> str:
    """podman-compose's naming: ``<project>_<service>_<n>``."""
    return f"{project}_{service}_{index}"
