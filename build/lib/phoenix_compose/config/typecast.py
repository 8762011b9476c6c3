"""Typed values: a string at a field the spec types as integer, number or boolean becomes
that type, as compose-go does after interpolation (its ``interpolateTypeCastMapping`` in
``loader/interpolate.go``).  ``privileged: ${PRIV:-false}`` is then ``false``, not the
string ``'false'`` that podman-compose would read as true.  A value that cannot be cast is
a located error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from phoenix_compose.config.yamlsrc import N, Path, walk_scalars
from phoenix_compose.errors import Problem

ANY, ITEM = "*", "[]"  # any key or list item; any list item


def to_int(text: str) -> int:
    if not text.strip().lstrip("+-").isdigit():
        raise ValueError(f"invalid integer: {text}")
    return int(text)


def to_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"invalid number: {text}") from None


def to_bool(text: str) -> bool:
    """YAML 1.1 booleans, as compose-go accepts them (1 and 0 are not booleans)."""
    lowered = text.lower()
    if lowered in ("true", "y", "yes", "on"):
        return True
    if lowered in ("false", "n", "no", "off"):
        return False
    raise ValueError(f"invalid boolean: {text}")


def _service(*parts: str) -> tuple[str, ...]:
    return ("services", ANY, *parts)


CASTS: tuple[tuple[tuple[str, ...], Callable[[str], Any]], ...] = (
    *((_service(key), to_int) for key in ("cpu_count", "cpu_period", "cpu_quota",
                                           "cpu_rt_period", "cpu_rt_runtime", "cpu_shares",
                                           "oom_score_adj", "pids_limit", "scale")),
    *((_service(key), to_float) for key in ("cpu_percent", "cpus")),
    *((_service(key), to_bool) for key in ("init", "oom_kill_disable", "privileged",
                                            "read_only", "stdin_open", "tty")),
    (_service("depends_on", ANY, "required"), to_bool),
    (_service("depends_on", ANY, "restart"), to_bool),
    (_service("deploy", "replicas"), to_int),
    (_service("deploy", "update_config", "parallelism"), to_int),
    (_service("deploy", "update_config", "max_failure_ratio"), to_float),
    (_service("deploy", "rollback_config", "parallelism"), to_int),
    (_service("deploy", "rollback_config", "max_failure_ratio"), to_float),
    (_service("deploy", "restart_policy", "max_attempts"), to_int),
    (_service("deploy", "placement", "max_replicas_per_node"), to_int),
    (_service("healthcheck", "retries"), to_int),
    (_service("healthcheck", "disable"), to_bool),
    (_service("ports", ITEM, "target"), to_int),
    (_service("ulimits", ANY), to_int),
    (_service("ulimits", ANY, "hard"), to_int),
    (_service("ulimits", ANY, "soft"), to_int),
    (_service("volumes", ITEM, "read_only"), to_bool),
    (_service("volumes", ITEM, "volume", "nocopy"), to_bool),
    *((("networks", ANY, key), to_bool) for key in ("external", "internal", "attachable",
                                                     "enable_ipv4", "enable_ipv6")),
    *(((section, ANY, "external"), to_bool) for section in ("volumes", "secrets", "configs")),
)


def _matches(path: Path, pattern: tuple[str, ...]) -> bool:
    if len(path) != len(pattern):
        return False
    for part, want in zip(path, pattern):
        if want == ANY:
            continue
        if want == ITEM:
            if not isinstance(part, int):
                return False
        elif part != want:
            return False
    return True


def _by_shape() -> dict[tuple[int, Any], list[int]]:
    """The indexes of CASTS by (length, last key); a wildcard last key under None."""
    shapes: dict[tuple[int, Any], list[int]] = {}
    for i, (pattern, _cast) in enumerate(CASTS):
        last = None if pattern[-1] in (ANY, ITEM) else pattern[-1]
        shapes.setdefault((len(pattern), last), []).append(i)
    return shapes


_SHAPES = _by_shape()


def caster(path: Path) -> Callable[[str], Any] | None:
    """The cast of the first pattern of CASTS that ``path`` matches (looked up by shape:
    this runs for every scalar of a config)."""
    if not path:
        return None
    candidates = _SHAPES.get((len(path), path[-1]), []) + _SHAPES.get((len(path), None), [])
    return next((CASTS[i][1] for i in sorted(candidates) if _matches(path, CASTS[i][0])),
                None)


def cast_tree(tree: N) -> list[Problem]:
    """Cast every string at a typed field below ``tree`` (in place); returns the problems."""
    problems = []
    for path, node in walk_scalars(tree):
        if not isinstance(node.value, str) or path[:1] not in (("services",), ("networks",),
                                                               ("volumes",), ("secrets",),
                                                               ("configs",)):
            continue
        cast = caster(path)
        if cast is None:
            continue
        try:
            node.value = cast(node.value)
        except ValueError as exc:
            dotted = ".".join(str(p) for p in path)
            where = node.via or node.loc
            note = f" (used at {node.loc})" if node.via else ""
            problems.append(Problem(where, f"{dotted}: failed to cast to expected type: "
                                           f"{exc}{note}"))
    return problems
