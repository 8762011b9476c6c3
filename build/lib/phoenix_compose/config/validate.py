"""Validation of the merged model: the compose-spec schema (:mod:`.schema`), the semantic
rules below, and the production policy (:mod:`.policy`).

Every finding is a :class:`Problem` located in the file the user wrote, through the
``where`` map that the merge kept.  All problems are collected in one run.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path as FsPath
from typing import Any

from phoenix_compose.config.consistency import consistency_problems
from phoenix_compose.config.environment import parse_env_file
from phoenix_compose.config.extensions import drift_problems, extension_problems, rotate_problems
from phoenix_compose.config.files import Roots, read
from phoenix_compose.config.locator import Locator
from phoenix_compose.config.merge import port_key
from phoenix_compose.config.mountfiles import mounted_file_problems
from phoenix_compose.config.policy import production_problems
from phoenix_compose.config.schema import dotted, schema_problems
from phoenix_compose.config.values import model_value_problems, port_range, value_problems
from phoenix_compose.config.yamlsrc import Path
from phoenix_compose.errors import Problem

_DURATION = re.compile(r"^(?:0|(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$")
_DURATION_KEYS = (("healthcheck", "interval"), ("healthcheck", "timeout"),
                  ("healthcheck", "start_period"), ("healthcheck", "start_interval"),
                  ("stop_grace_period",))


def validate_model(model: dict[str, Any], where: Locator, production: bool,
                   profiles: frozenset[str] = frozenset(),
                   roots: Roots | None = None,
                   disabled: frozenset[str] = frozenset()) -> list[Problem]:
    """``roots``: where the files a service names (env_file, build) must resolve;
    ``disabled``: services the profiles left out (an optional dependency may name one)."""
    problems = schema_problems(model, where)
    problems += semantic_problems(model, where, roots, disabled)
    if production:
        problems += production_problems(model, where, profiles)
    return problems


def _seq(value: Any) -> list[Any]:
    """A list, or nothing: semantic checks run on models the schema may have rejected."""
    return value if isinstance(value, list) else []


def _map(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def semantic_problems(model: dict[str, Any], where: Locator, roots: Roots | None = None,
                      disabled: frozenset[str] = frozenset()) -> list[Problem]:
    services = model.get("services") or {}
    if not isinstance(services, dict):
        return []
    problems: list[Problem] = []
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        base = ("services", name)
        if "image" not in svc and "build" not in svc and "provider" not in svc:
            problems.append(Problem(where.at(base, key=True),
                                    f"service '{name}' has neither an image nor a build",
                                    hint="add `image:` or a `build:` section"))
        problems += _depends_problems(name, svc, {**dict.fromkeys(disabled), **services},
                                      where)
        problems += _duration_problems(base, svc, where)
        problems += _reference_problems(base, svc, model, where)
        problems += _build_problems(base, svc, where, roots)
        problems += _env_file_problems(base, svc, where, roots)
        problems += consistency_problems(name, svc, services, where, roots)
    problems += _cycle_problems(services, where) + mounted_file_problems(model, where, roots)
    problems += value_problems(services, where) + model_value_problems(model, where)
    problems += extension_problems(services, where)
    problems += rotate_problems(model, where) + drift_problems(model, where)
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
            out.append(Problem(loc, f"invalid duration '{value}' for {dotted(path)}{note}",
                               hint="use a Go duration such as 10s, 1m30s or 500ms"))
    return out


def _reference_problems(base: Path, svc: dict, model: dict, where: Locator) -> list[Problem]:
    out = []
    declared_volumes = _map(model.get("volumes"))
    for i, vol in enumerate(_seq(svc.get("volumes"))):
        source = vol.get("source") if isinstance(vol, dict) and vol.get("type", "volume") \
            == "volume" else (str(vol).split(":")[0] if isinstance(vol, str) and ":" in vol
                              else None)
        if isinstance(source, str) and source and not source.startswith(("/", ".", "~")) \
                and source not in declared_volumes:
            out.append(Problem(where.at(base + ("volumes", i)),
                               f"service '{base[1]}' uses undefined volume '{source}'",
                               hint="declare it under the top-level `volumes:`"))
    for section in ("secrets", "configs"):
        declared = _map(model.get(section))
        for i, ref in enumerate(_seq(svc.get(section))):
            source = ref.get("source") if isinstance(ref, dict) else ref
            if isinstance(source, str) and source not in declared:
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


def _env_file_problems(base: Path, svc: dict, where: Locator,
                       roots: Roots | None) -> list[Problem]:
    """A service's env files: only from inside (podman-compose reads them into the
    container), and each must exist unless it says ``required: false``, as in docker
    compose (else ``up`` would fail inside podman-compose)."""
    env_file = svc.get("env_file")
    entries = env_file if isinstance(env_file, list) else [env_file] if env_file else []
    out = []
    for i, item in enumerate(entries):
        name = item.get("path") if isinstance(item, dict) else item
        if not isinstance(name, str):
            continue  # the schema reports it
        path = base + ("env_file",) + ((i,) if isinstance(env_file, list) else ()) \
            + (("path",) if isinstance(item, dict) else ())
        refused = roots.refusal(FsPath(name), name, where.at(path)) if roots else None
        optional = isinstance(item, dict) and item.get("required") is False
        if isinstance(item, dict) and item.get("format") == "raw":
            out.append(Problem(where.at(path[:-1] + ("format",)), f"env file {name} of service "
                               f"'{base[1]}' is format: raw, which podman-compose cannot "
                               "honour: it reads every env file as a dotenv file (quotes "
                               "removed, ${...} expanded)",
                               hint="drop `format: raw` and quote what must stay literal"))
        elif isinstance(item, dict) and item.get("format", "") not in ("", "dotenv", "raw"):
            out.append(Problem(where.at(path[:-1] + ("format",)), f"env file {name} of service "
                               f"'{base[1]}' has an unsupported format "
                               f"{str(item['format'])!r} (docker compose reads "
                               "dotenv and raw only)", hint="drop `format`"))
        if refused is None and not optional and not FsPath(name).is_file():
            why = "is not a file" if FsPath(name).exists() else "does not exist"
            refused = Problem(where.at(path), f"env file {name} of service '{base[1]}' {why}",
                              hint="create it, or write `{path: ..., required: false}`")
        out += [refused] if refused else _env_file_lines(name)
    return out


def _env_file_lines(name: str) -> list[Problem]:
    """The lines of a service's env file that docker compose cannot read (located in it):
    podman-compose would read them differently, or fail at ``up``."""
    if not FsPath(name).is_file():
        return []  # optional and absent
    text, problem = read(FsPath(name), name)
    if text is None:
        return [problem] if problem else []
    return [p for p in parse_env_file(text, name, {}, {}) if p.severity == "error"]


def _build_problems(base: Path, svc: dict, where: Locator, roots: Roots | None) -> list[Problem]:
    build = svc.get("build")
    context = build.get("context", ".") if isinstance(build, dict) else build
    if not isinstance(context, str) or "://" in context or context.startswith("git@"):
        return []
    path = base + ("build", "context") if isinstance(build, dict) else base + ("build",)
    folder = FsPath(context)
    refused = roots.refusal(folder, context, where.at(path)) if roots is not None else None
    if refused is not None:  # the build would send that folder to podman: never probe it
        return [refused]
    if not folder.is_dir():
        return [Problem(where.at(path), f"build context {context} of service '{base[1]}' "
                        "does not exist", hint="build paths are relative to compose/")]
    name = build.get("dockerfile") if isinstance(build, dict) else None
    if name is not None and not isinstance(name, str):
        return []  # the schema reports the wrong type
    platforms = build.get("platforms") if isinstance(build, dict) else None
    if platforms and svc.get("platform") is not None and svc["platform"] not in platforms:
        return [Problem(where.at(base + ("platform",)), f"platform {svc['platform']} of service "
                        f"'{base[1]}' is not one of its build.platforms",
                        hint="add it to build.platforms, or build for one of them")]
    if isinstance(build, dict) and build.get("dockerfile_inline") is not None:
        return [] if name is None else [Problem(
            where.at(base + ("build", "dockerfile_inline"), key=True),
            f"service '{base[1]}' sets both build.dockerfile and build.dockerfile_inline",
            hint="keep one of them")]
    candidates = [name] if name else ["Containerfile", "Dockerfile"]
    refused = roots.refusal(folder / name, name, where.at(base + ("build", "dockerfile"))) \
        if roots is not None and name else None
    if refused is not None:
        return [refused]
    if not any((folder / c).is_file() for c in candidates):
        return [Problem(where.at(path), f"no {' or '.join(candidates)} in build context "
                        f"{context} of service '{base[1]}'")]
    return []


def _cycle_problems(services: dict, where: Locator) -> list[Problem]:
    """Every dependency cycle, named; iterative, so a chain of any length is fine."""
    graph = {name: [d for d in _map(svc.get("depends_on")) if d in services]
             for name, svc in services.items() if isinstance(svc, dict)}
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    out: list[Problem] = []
    reported: set[frozenset[str]] = set()
    for root in graph:
        if root in state:
            continue
        path, stack = [root], [iter(graph[root])]
        state[root] = 1
        while stack:
            dep = next(stack[-1], None)
            if dep is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    out.append(Problem(where.at(("services", path[-1], "depends_on", dep),
                                                key=True),
                                       f"dependency cycle: {' -> '.join(cycle)}",
                                       hint="remove one of these depends_on entries"))
            elif dep not in state:
                state[dep] = 1
                path.append(dep)
                stack.append(iter(graph[dep]))
    return out


def _published(port: Any) -> list[tuple[str, int, str]]:
    ip, _target, published, proto = port_key(port)
    bounds = port_range(published) if published else None
    if bounds is None or not (0 < bounds[0] <= bounds[1] <= 65535):
        return []  # no host port, or an invalid one (reported by value_problems)
    return [(ip or "0.0.0.0", p, proto) for p in range(bounds[0], bounds[1] + 1)]


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


