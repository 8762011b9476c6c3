"""Validation of the merged model: the official compose-spec schema plus semantic rules.

Every finding is a :class:`Problem` located in the file the user wrote, through the
``where`` map that the merge kept.  All problems are collected in one run.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path as FsPath
from typing import Any

from .errors import Loc, Problem
from .merge import port_key
from .yamlsrc import N, Path

SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|^KEY$", re.IGNORECASE)
_DURATION = re.compile(r"^(?:0|(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$")
_DURATION_KEYS = (("healthcheck", "interval"), ("healthcheck", "timeout"),
                  ("healthcheck", "start_period"), ("healthcheck", "start_interval"),
                  ("stop_grace_period",))
_UNEXPECTED = re.compile(r"\((.*) (?:was|were) unexpected\)")


@functools.lru_cache(maxsize=1)
def compose_schema_validator() -> Any:
    """The compose-spec schema vendored by check-jsonschema (Draft 2020-12).

    Read from the package data directly: importing ``check_jsonschema`` pulls in its CLI,
    which costs more than the whole validation of a small stack.
    """
    import importlib.util

    from jsonschema import Draft202012Validator

    spec = importlib.util.find_spec("check_jsonschema")
    assert spec is not None and spec.origin is not None, "check-jsonschema is not installed"
    path = FsPath(spec.origin).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


class Locator:
    """Finds the node nearest to a path in the merged model."""

    def __init__(self, where: dict[Path, N], fallback: Loc) -> None:
        self.where = where
        self.fallback = fallback

    def node(self, path: Iterable[Any]) -> N | None:
        path = tuple(path)
        while path not in self.where and path:
            path = path[:-1]
        return self.where.get(path)

    def at(self, path: Iterable[Any], key: bool = False) -> Loc:
        node = self.node(path)
        if node is None:
            return self.fallback
        return (node.kloc or node.loc) if key else node.loc

    def value(self, path: Iterable[Any]) -> tuple[Loc, str]:
        """Where a bad value was written: the env-file line when it is one variable."""
        path = tuple(path)
        node = self.node(path)
        if node is not None and node.via is not None:
            return node.via, f" (used at {node.loc})"
        return self.at(path), ""


def validate_model(model: dict[str, Any], where: Locator, production: bool) -> list[Problem]:
    problems = schema_problems(model, where)
    problems += semantic_problems(model, where)
    if production:
        problems += production_problems(model, where)
    return problems


def schema_problems(model: dict[str, Any], where: Locator) -> list[Problem]:
    problems: list[Problem] = []
    for error in compose_schema_validator().iter_errors(model):
        problems += _schema_problem(_specific(error), where)
    return problems


def _specific(error: Any) -> Any:
    """Descend oneOf/anyOf into the branch that matches the value's type."""
    while error.context and error.validator in ("oneOf", "anyOf"):
        branch = [e for e in error.context if not (e.validator == "type" and not e.relative_path)]
        if not branch:
            return error
        error = max(branch, key=lambda e: len(e.absolute_path))
    return error


def _dotted(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _schema_problem(error: Any, where: Locator) -> list[Problem]:
    path = tuple(error.absolute_path)
    name = _dotted(path)
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        found = _UNEXPECTED.search(error.message)
        keys = re.findall(r"'([^']*)'", found.group(1)) if found else []
        known = _known_keys(error.schema)
        # When one branch of an allOf fails, its valid keys also count as "unevaluated":
        # that is a cascade, not an unknown key.
        keys = [k for k in keys if k not in known]
        out = []
        for key in keys:
            close = difflib.get_close_matches(key, known, n=1)
            out.append(Problem(where.at(path + (key,), key=True),
                               f"unknown key '{key}' in {name}",
                               hint=f"did you mean '{close[0]}'?" if close else ""))
        return out
    if error.validator in ("oneOf", "anyOf"):
        types = sorted({t for e in error.context for t in _as_list(e.validator_value)})
        message = f"{name} must be of type {' or '.join(types)}"
    elif error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        message = f"{name} must be of type {expected}"
    elif error.validator == "enum":
        message = f"{name} must be one of: {', '.join(map(str, error.validator_value))}"
    elif error.validator == "required":
        message = f"{name}: {error.message}"
    else:
        message = f"{name} is invalid: {error.validator} {json.dumps(error.validator_value)}"
    loc, note = where.value(path)
    return [Problem(loc, message + note)]


def _seq(value: Any) -> list[Any]:
    """A list, or nothing: semantic checks run on models the schema may have rejected."""
    return value if isinstance(value, list) else []


def _map(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _known_keys(schema: dict[str, Any]) -> list[str]:
    keys = list(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        ref = part.get("$ref", "") if isinstance(part, dict) else ""
        if ref.startswith("#/$defs/"):
            keys += list(compose_schema_validator().schema["$defs"][ref[8:]]
                         .get("properties", {}))
    return keys


def semantic_problems(model: dict[str, Any], where: Locator) -> list[Problem]:
    services = model.get("services") or {}
    if not isinstance(services, dict):
        return []
    problems: list[Problem] = []
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        base = ("services", name)
        if "image" not in svc and "build" not in svc:
            problems.append(Problem(where.at(base, key=True),
                                    f"service '{name}' has neither an image nor a build",
                                    hint="add `image:` or a `build:` section"))
        problems += _depends_problems(name, svc, services, where)
        problems += _duration_problems(base, svc, where)
        problems += _reference_problems(base, svc, model, where)
        problems += _build_problems(base, svc, where)
    problems += _cycle_problems(services, where)
    problems += _port_problems(services, where)
    return problems


def _depends_problems(name: str, svc: dict, services: dict, where: Locator) -> list[Problem]:
    deps = svc.get("depends_on")
    out = []
    for dep in deps if isinstance(deps, dict) else ():
        if dep not in services:
            close = difflib.get_close_matches(dep, list(services), n=1)
            out.append(Problem(where.at(("services", name, "depends_on", dep), key=True),
                               f"service '{name}' depends on undefined service '{dep}'",
                               hint=f"did you mean '{close[0]}'?" if close else ""))
    return out


def _duration_problems(base: Path, svc: dict, where: Locator) -> list[Problem]:
    out = []
    for keys in _DURATION_KEYS:
        value: Any = svc
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and not _DURATION.match(value):
            path = base + keys
            loc, note = where.value(path)
            out.append(Problem(loc, f"invalid duration '{value}' for {_dotted(path)}{note}",
                               hint="use a Go duration such as 10s, 1m30s or 500ms"))
    return out


def _reference_problems(base: Path, svc: dict, model: dict, where: Locator) -> list[Problem]:
    out = []
    declared_volumes = _map(model.get("volumes"))
    for i, vol in enumerate(_seq(svc.get("volumes"))):
        source = vol.get("source") if isinstance(vol, dict) and vol.get("type", "volume") \
            == "volume" else (str(vol).split(":")[0] if isinstance(vol, str) and ":" in vol
                              else None)
        if source and not source.startswith(("/", ".", "~")) and source not in declared_volumes:
            out.append(Problem(where.at(base + ("volumes", i)),
                               f"service '{base[1]}' uses undefined volume '{source}'",
                               hint="declare it under the top-level `volumes:`"))
    for section in ("secrets", "configs"):
        declared = _map(model.get(section))
        for i, ref in enumerate(_seq(svc.get(section))):
            source = ref.get("source") if isinstance(ref, dict) else ref
            if source not in declared:
                out.append(Problem(where.at(base + (section, i)),
                                   f"service '{base[1]}' uses undefined {section[:-1]} "
                                   f"'{source}'", hint=f"declare it under the top-level "
                                                       f"`{section}:`"))
    networks = svc.get("networks")
    declared_networks = set(_map(model.get("networks"))) | {"default"}
    named = list(networks.items()) if isinstance(networks, dict) else list(enumerate(
        _seq(networks)))
    for index, entry in named:
        net = index if isinstance(networks, dict) else entry
        if net not in declared_networks:
            out.append(Problem(where.at(base + ("networks", index), key=True),
                f"service '{base[1]}' uses undefined network '{net}'",
                hint="declare it under the top-level `networks:`"))
    return out


def _build_problems(base: Path, svc: dict, where: Locator) -> list[Problem]:
    build = svc.get("build")
    context = build.get("context", ".") if isinstance(build, dict) else build
    if not isinstance(context, str) or "://" in context or context.startswith("git@"):
        return []
    path = base + ("build", "context") if isinstance(build, dict) else base + ("build",)
    folder = FsPath(context)
    if not folder.is_dir():
        return [Problem(where.at(path), f"build context {context} of service '{base[1]}' "
                        "does not exist", hint="build paths are relative to compose/")]
    name = build.get("dockerfile") if isinstance(build, dict) else None
    candidates = [name] if name else ["Containerfile", "Dockerfile"]
    if not any((folder / c).is_file() for c in candidates):
        return [Problem(where.at(path), f"no {' or '.join(candidates)} in build context "
                        f"{context} of service '{base[1]}'")]
    return []


def _cycle_problems(services: dict, where: Locator) -> list[Problem]:
    graph = {name: [d for d in _map(svc.get("depends_on")) if d in services]
             for name, svc in services.items() if isinstance(svc, dict)}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []
    out: list[Problem] = []
    reported: set[frozenset[str]] = set()

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for dep in graph.get(name, []):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    out.append(Problem(where.at(("services", name, "depends_on", dep), key=True),
                                       f"dependency cycle: {' -> '.join(cycle)}",
                                       hint="remove one of these depends_on entries"))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name)
    return out


def _published(port: Any) -> list[tuple[str, int, str]]:
    ip, _target, published, proto = port_key(port)
    if not published:
        return []
    first, _, last = published.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        return []
    return [(ip or "0.0.0.0", p, proto) for p in range(low, high + 1)]


def _port_problems(services: dict, where: Locator) -> list[Problem]:
    seen: dict[tuple[int, str], list[tuple[str, Path]]] = {}
    out = []
    for name, svc in services.items():
        for i, port in enumerate(_seq(svc.get("ports")) if isinstance(svc, dict) else []):
            path = ("services", name, "ports", i)
            for ip, number, proto in _published(port):
                for other_ip, other in seen.get((number, proto), []):
                    if "0.0.0.0" in (ip, other_ip) or ip == other_ip:
                        out.append(Problem(where.at(path),
                                           f"host port {number}/{proto} is published twice: "
                                           f"here and by service '{other[1]}' at "
                                           f"{where.at(other)}",
                                           hint="publish a different host port"))
                        break
                seen.setdefault((number, proto), []).append((ip, path))
    return out


def image_is_pinned(image: str) -> bool:
    if "@sha256:" in image or "@" in image:
        return True
    name = image.rsplit("/", 1)[-1]
    return ":" in name and name.rsplit(":", 1)[1] not in ("", "latest")


def production_problems(model: dict[str, Any], where: Locator) -> list[Problem]:
    out = []
    for name, svc in _map(model.get("services")).items():
        if not isinstance(svc, dict):
            continue
        base = ("services", name)
        image = svc.get("image")
        if isinstance(image, str) and not image_is_pinned(image):
            loc, note = where.value(base + ("image",))
            out.append(Problem(loc, f"production policy: image '{image}' of service '{name}' "
                                    f"is not pinned{note}",
                               hint="use a fixed tag other than latest, or a digest"))
        if svc.get("privileged") in (True, "true", "True"):
            out.append(Problem(where.at(base + ("privileged",), key=True),
                               f"production policy: service '{name}' must not be privileged"))
        env = svc.get("environment")
        for key, value in (env.items() if isinstance(env, dict) else ()):
            if SECRET_KEY.search(key) and not key.upper().endswith("_FILE") and value:
                out.append(Problem(where.at(base + ("environment", key), key=True),
                                   f"production policy: plaintext secret '{key}' in the "
                                   f"environment of service '{name}'",
                                   hint=f"use a compose secret and {key}_FILE=/run/secrets/..."))
    return out
