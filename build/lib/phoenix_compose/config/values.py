"""Values the compose schema allows but podman rejects or misreads: container and project
names (a name like ``--all`` must never reach a command line), images (the reference
grammar: podman-compose and Quadlet put the image after the options, without ``--``),
the names of networks and volumes (also positional there), port numbers and ranges (a
range is checked by its bounds, never expanded), bind addresses, and control characters
(a line break in an image, a path or a name is never meant: it would start a line of its
own in a unit file, a log or a terminal; a NUL byte is refused everywhere, free text
included, since no command line, file name or environment can carry one)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from phoenix_compose.config.locator import Locator
from phoenix_compose.config.merge import port_key
from phoenix_compose.config.reference import reference_problem
from phoenix_compose.config.shellwords import go_split
from phoenix_compose.errors import Problem

CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
MAX_PORT = 65535
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
BACKSLASH_HINT = "it would join the next line to it in a unit file: remove it"
NUL_HINT = "no command line, file or environment variable can carry a NUL byte: remove it"
# service keys whose strings may hold line breaks (but no NUL): scripts, variables, labels,
# and the build and logging sections (and extensions, which their own checks cover)
FREE_TEXT = frozenset({"command", "entrypoint", "healthcheck", "environment", "labels",
                       "annotations", "build", "logging", "develop"})


def value_problems(services: dict[str, Any], where: Locator) -> list[Problem]:
    problems: list[Problem] = []
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        container = svc.get("container_name")
        if isinstance(container, str) and not CONTAINER_NAME.match(container):
            loc, note = where.value(("services", name, "container_name"))
            problems.append(Problem(loc, f"invalid container_name '{container}' of service "
                                         f"'{name}'{note}",
                                    hint="use letters, digits, '_', '.' and '-', starting with "
                                         "a letter or digit"))
        ports = svc.get("ports")
        for i, port in enumerate(ports if isinstance(ports, list) else []):
            problem = port_problem(port)
            if problem:
                loc, note = where.value(("services", name, "ports", i))
                problems.append(Problem(loc, f"{problem} in port '{port}' of service "
                                             f"'{name}'{note}"))
        problems += control_problems(name, svc, where)
        problems += image_problems(name, svc, where) + newer_key_problems(name, svc, where)
        problems += command_problems(name, svc, where)
    return problems


def command_problems(name: str, svc: dict[str, Any], where: Locator) -> list[Problem]:
    """A string command that docker compose cannot split (go-shellwords): an unclosed
    quote, a lone parenthesis, a trailing backslash."""
    problems = []
    for key in ("command", "entrypoint"):
        value = svc.get(key)
        if isinstance(value, str) and go_split(value) is None:
            loc, note = where.value(("services", name, key))
            problems.append(Problem(loc, f"invalid command line string in {key} of service "
                                         f"'{name}'{note}",
                                    hint="close every quote, quote a parenthesis, or write "
                                         "the command as a list"))
    return problems


# in the vendored compose-spec schema, not yet in docker compose 2.40 (which refuses them)
# nor run by us: a hook written there would silently never run
NEWER_KEYS = ("pre_start",)
# lifecycle hooks docker compose runs; podman-compose 1.6 and phoenix run none of them
UNRUN_HOOKS = ("post_start", "pre_stop")


def newer_key_problems(name: str, svc: dict[str, Any], where: Locator) -> list[Problem]:
    return [Problem(where.at(("services", name, key), key=True),
                    f"service '{name}': additional property '{key}' is not allowed "
                    "(docker compose 2.40 does not know it, and it would never run)",
                    hint=f"remove `{key}:`")
            for key in NEWER_KEYS if key in svc] + \
        [Problem(where.at(("services", name, key), key=True),
                 f"service '{name}': the {key} hook is not supported: podman-compose "
                 "runs no lifecycle hook, so it would silently never run",
                 hint=f"remove `{key}:`; run it in the command or an entrypoint script")
         for key in UNRUN_HOOKS if key in svc]


def image_problems(name: str, svc: dict[str, Any], where: Locator) -> list[Problem]:
    image = svc.get("image")
    if not isinstance(image, str) or CONTROL.search(image):
        return []  # the schema reports a wrong type, control_problems a control character
    why = reference_problem(image)
    if why is None:
        return []
    loc, note = where.value(("services", name, "image"))
    return [Problem(loc, f"invalid image '{image}' of service '{name}': {why}{note}",
                    hint="write a reference such as docker.io/library/postgres:16 or "
                         "registry.example:5000/team/app@sha256:<64 hex digits>")]


def model_value_problems(model: dict[str, Any], where: Locator) -> list[Problem]:
    """Outside the services: the names podman gets for networks and volumes, and a NUL
    byte anywhere (the services' own strings are checked by :func:`control_problems`)."""
    problems: list[Problem] = []
    for section in ("networks", "volumes"):
        declared = model.get(section)
        for key, spec in declared.items() if isinstance(declared, dict) else ():
            spec = spec if isinstance(spec, dict) else {}
            named = spec.get("name") if isinstance(spec.get("name"), str) else \
                key if spec.get("external") is True else None
            if isinstance(named, str) and not CONTAINER_NAME.match(named):
                path = (section, key, "name") if "name" in spec else (section, key)
                loc, note = where.value(path) if "name" in spec else (
                    where.at(path, key=True), "")
                problems.append(Problem(loc, f"invalid {section[:-1]} name '{named}'{note}",
                                        hint="use letters, digits, '_', '.' and '-', "
                                             "starting with a letter or digit"))
    for path, text, is_key in _strings((), model):
        if path[0] != "services" and "\x00" in text:
            loc, note = (where.at(path, key=True), "") if is_key else where.value(path)
            shown = ".".join(str(p).replace("\x00", "\\x00") for p in path)
            problems.append(Problem(loc, f"{shown} holds a NUL byte{note}",
                                    hint=NUL_HINT))
    return problems


def port_range(text: str) -> tuple[int, int] | None:
    """The bounds of ``"8080"`` or ``"8000-8010"``; None when it is not one."""
    first, dash, last = text.partition("-")
    if not first.isdigit() or (dash and not last.isdigit()):
        return None
    return int(first), int(last or first)


def port_problem(port: Any) -> str | None:
    ip, target, published, _proto = port_key(port)
    for label, text in (("published port", published), ("container port", target)):
        if not text:
            continue
        bounds = port_range(text)
        if bounds is None:
            if "$" not in text:
                return f"invalid {label} '{text}'"
            continue
        low, high = bounds
        if not (0 < low <= high <= MAX_PORT) and not (text == "0" and label.startswith("pub")):
            return f"{label} {text} is out of range (1-{MAX_PORT}, low before high)"
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            return f"bind address '{ip}' is not an IP address"
    return None


def control_problems(name: str, svc: dict[str, Any], where: Locator) -> list[Problem]:
    """A control character or a trailing backslash in any string (or key) of the service
    outside ``FREE_TEXT``, and a NUL byte in any string at all."""
    problems = []
    for path, text, is_key in _strings(("services", name), svc):
        key = path[2]
        free = isinstance(key, str) and (key in FREE_TEXT or key.startswith("x-"))
        found = re.search("\x00", text) if free else CONTROL.search(text)
        if not found and not free and not is_key and text.endswith("\\"):
            loc, note = where.value(path)
            problems.append(Problem(loc, f"{'.'.join(map(str, path[2:]))} of service '{name}' "
                                         f"ends in a backslash{note}", hint=BACKSLASH_HINT))
        if found:
            loc, note = (where.at(path, key=True), "") if is_key else where.value(path)
            shown = ".".join(repr(p) if CONTROL.search(str(p)) else str(p) for p in path[2:])
            problems.append(Problem(loc, f"{shown} of service '{name}' holds a control "
                                         f"character ({found.group()!r}){note}",
                                    hint=NUL_HINT if found.group() == "\x00" else
                                    "a line break here is never meant: remove it"))
    return problems


def _strings(path: tuple[Any, ...], node: Any) -> Iterator[tuple[tuple[Any, ...], str, bool]]:
    """Every string under ``node``, with its path and whether it is a mapping key."""
    if isinstance(node, str):
        yield path, node, False
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield (*path, key), key, True
            yield from _strings((*path, key), value)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings((*path, i), value)
