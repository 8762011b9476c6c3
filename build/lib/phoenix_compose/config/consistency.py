"""The consistency rules docker compose checks after loading (compose-go's
``loader/validate.go`` ``checkConsistency``) that the schema cannot say, each a located
error: ``network_mode`` with ``networks``; a ``healthcheck.test`` list that is not
``CMD``/``CMD-SHELL``/``NONE``; ``scale`` and ``deploy.replicas`` (and ``cpus``,
``mem_limit``, ``pids_limit`` and their ``deploy.resources.limits``) set to different
values; a negative count; a ``container_name`` on a service that runs more than once; a
``develop.watch`` rule without its ``target``; an ``additional_contexts`` entry naming a
service that does not exist or is not built; a ``label_file`` that does not exist.  A
``label_file`` or an ``additional_contexts`` folder outside the stack root is refused unprobed.
Phoenix's own: a ``failure_action`` other than rollback, pause or continue (the schema
takes any string, and the start-first roll acts on it: issue 26)."""

from __future__ import annotations

import re
from pathlib import Path as FsPath
from typing import Any

from phoenix_compose.config.files import Roots
from phoenix_compose.config.locator import Locator
from phoenix_compose.config.rollout import FAILURE_ACTIONS
from phoenix_compose.errors import Problem

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_LIMITS = (("cpus", "cpus", float), ("mem_limit", "memory", "bytes"),
           ("pids_limit", "pids", int))


def consistency_problems(name: str, svc: dict[str, Any], services: dict[str, Any],
                         where: Locator, roots: Roots | None = None) -> list[Problem]:
    base = ("services", name)
    out = _exclusive(base, svc, where) + _counts(base, svc, where)
    out += _limits(base, svc, where) + _watch(base, svc, where)
    out += _contexts(base, svc, services, where, roots)
    out += _label_files(base, svc, where, roots) + _rollout(base, svc, where)
    return out


def _rollout(base: tuple[Any, ...], svc: dict[str, Any], where: Locator) -> list[Problem]:
    out = []
    for key in ("update_config", "rollback_config"):
        action = _deploy(svc, key, "failure_action")
        if action is not None and action not in FAILURE_ACTIONS:
            out.append(_at(where, base + ("deploy", key, "failure_action"),
                           f"deploy.{key}.failure_action of service '{base[1]}' is "
                           f"{action!r}", "write rollback, pause or continue"))
    return out


def _at(where: Locator, path: tuple[Any, ...], message: str, hint: str = "") -> Problem:
    return Problem(where.at(path), message, hint=hint)


def _exclusive(base: tuple[Any, ...], svc: dict[str, Any], where: Locator) -> list[Problem]:
    out = []
    if svc.get("network_mode") and svc.get("networks"):
        out.append(_at(where, base + ("networks",), f"service '{base[1]}' sets both "
                       "network_mode and networks", "keep one of them"))
    test = (svc.get("healthcheck") or {}).get("test") if isinstance(
        svc.get("healthcheck"), dict) else None
    if isinstance(test, list) and test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
        out.append(_at(where, base + ("healthcheck", "test", 0), f"healthcheck.test of service "
                       f"'{base[1]}' must start with CMD, CMD-SHELL or NONE",
                       'write ["CMD", ...], or a string for the shell'))
    return out


def _deploy(svc: dict[str, Any], *keys: str) -> Any:
    value: Any = svc.get("deploy")
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _counts(base: tuple[Any, ...], svc: dict[str, Any], where: Locator) -> list[Problem]:
    scale, replicas = svc.get("scale"), _deploy(svc, "replicas")
    out = []
    if isinstance(scale, int) and isinstance(replicas, int) and scale != replicas:
        out.append(_at(where, base + ("scale",), f"service '{base[1]}' sets scale {scale} and "
                       f"deploy.replicas {replicas}", "keep one of them"))
    for path, value in ((("scale",), scale), (("deploy", "replicas"), replicas)):
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            out.append(_at(where, base + path, f"{'.'.join(path)} of service '{base[1]}' is "
                           f"negative ({value})"))
    runs = scale if isinstance(scale, int) else replicas if isinstance(replicas, int) else 1
    if runs > 1 and svc.get("container_name"):
        out.append(_at(where, base + ("container_name",), f"service '{base[1]}' runs {runs} "
                       "containers, which cannot share one container_name",
                       "remove container_name"))
    return out


def _limits(base: tuple[Any, ...], svc: dict[str, Any], where: Locator) -> list[Problem]:
    out = []
    limits = _deploy(svc, "resources", "limits")
    for key, limit, kind in _LIMITS:  # as compose-go: an unset limit counts as 0
        mine = svc.get(key)
        theirs = limits.get(limit, 0) if isinstance(limits, dict) else None
        if mine in (None, 0) or theirs is None:
            continue
        a, b = (_bytes(mine), _bytes(theirs)) if kind == "bytes" else (_number(mine),
                                                                       _number(theirs))
        if a is not None and b is not None and a != b:
            out.append(_at(where, base + (key,), f"service '{base[1]}' sets {key} {mine} and "
                           f"deploy.resources.limits.{limit} {theirs}", "keep one of them"))
    return out


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _bytes(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = _SIZE.match(str(value))
    unit = match.group(2).lower() if match else None
    return float(match.group(1)) * _UNITS[unit] if match and unit in _UNITS else None


def _watch(base: tuple[Any, ...], svc: dict[str, Any], where: Locator) -> list[Problem]:
    rules = svc.get("develop", {}).get("watch") if isinstance(svc.get("develop"), dict) \
        else None
    out = []
    for i, rule in enumerate(rules if isinstance(rules, list) else ()):
        if isinstance(rule, dict) and not rule.get("target") and rule.get("action") not in (
                "rebuild", "restart", None):
            out.append(_at(where, base + ("develop", "watch", i), f"develop.watch rule of "
                           f"service '{base[1]}' needs a target for action "
                           f"{rule.get('action')}"))
    return out


def _contexts(base: tuple[Any, ...], svc: dict[str, Any], services: dict[str, Any],
              where: Locator, roots: Roots | None) -> list[Problem]:
    extra = _deploy({"deploy": svc.get("build")}, "additional_contexts")
    out = []
    for key, value in extra.items() if isinstance(extra, dict) else ():
        at = where.at(base + ("build", "additional_contexts", key))
        if isinstance(value, str) and roots is not None and FsPath(value).is_absolute():
            out += [p for p in [roots.refusal(FsPath(value), value, at)] if p]
        if not (isinstance(value, str) and value.startswith("service:")):
            continue
        other = services.get(value[len("service:"):])
        if not isinstance(other, dict) or "build" not in other:
            why = "does not exist" if other is None else "is not built"
            out.append(_at(where, base + ("build", "additional_contexts", key),
                           f"additional context {key} of service '{base[1]}' names service "
                           f"'{value[8:]}', which {why}"))
    return out


def _label_files(base: tuple[Any, ...], svc: dict[str, Any], where: Locator,
                 roots: Roots | None) -> list[Problem]:
    files = svc.get("label_file")
    out = []
    for i, name in enumerate(files if isinstance(files, list) else [files] if files else []):
        at = where.at(base + ("label_file",) + ((i,) if isinstance(files, list) else ()))
        refused = roots.refusal(FsPath(name), name, at) if roots and isinstance(name, str) \
            else None
        if refused is not None:  # never probed: not even whether it exists
            out.append(refused)
        elif isinstance(name, str) and not FsPath(name).is_file():
            out.append(Problem(at, f"label file {name} of service '{base[1]}' does not exist"))
    return out
