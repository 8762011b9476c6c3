"""``environment: [FOO]`` and bare build args, filled from the variables as docker compose
fills them."""

from __future__ import annotations

from collections.abc import Callable

from phoenix_compose.config.yamlsrc import N


def resolve_bare_environment(doc: N, lookup: Callable[[str], str | None]) -> None:
    """``environment: [FOO]`` takes FOO from the variables, as docker compose does; an unset
    one stays a pass-through (null: podman-compose hands on the host's value, if any), as
    docker compose prints it.  A bare build arg that is unset is left out, as there."""
    services = doc.value.get("services") if isinstance(doc.value, dict) else None
    for svc in services.value.values() if services and isinstance(services.value, dict) \
            else ():
        if not isinstance(svc.value, dict):
            continue
        build = svc.value.get("build")
        args = build.value.get("args") if build and isinstance(build.value, dict) else None
        for mapping, keep in ((svc.value.get("environment"), True), (args, False)):
            if mapping is not None and isinstance(mapping.value, dict):
                _fill_bare(mapping.value, lookup, keep)


def _fill_bare(mapping: dict[str, N], lookup: Callable[[str], str | None], keep: bool) -> None:
    for name in [k for k, v in mapping.items() if v.value is None]:
        value = lookup(name)
        if value is not None:
            mapping[name].value = value
        elif not keep:
            del mapping[name]
