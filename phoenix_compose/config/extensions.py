"""Our own ``x-phoenix-*`` extension blocks, checked at validation time (the compose
schema lets any ``x-`` value through): a typo or a wrong type in ``x-phoenix-restart`` is
a located error now, not a silent default when the watcher starts; so is a malformed
``x-phoenix-rotate`` hook on a top-level secret, before any rotation needs it."""

from __future__ import annotations

import difflib
from typing import Any

from phoenix_compose.config.locator import Locator
from phoenix_compose.errors import Problem

RESTART = "x-phoenix-restart"
ROTATE = "x-phoenix-rotate"
RESTART_FIELDS: dict[str, tuple[type, ...]] = {
    "enabled": (bool,), "max_restarts": (int,), "window_s": (int, float),
    "backoff_initial_s": (int, float), "backoff_max_s": (int, float),
}


def extension_problems(services: dict[str, Any], where: Locator) -> list[Problem]:
    problems: list[Problem] = []
    for name, svc in services.items():
        block = svc.get(RESTART) if isinstance(svc, dict) else None
        if block is None:
            continue
        path = ("services", name, RESTART)
        if not isinstance(block, dict):
            loc, note = where.value(path)
            problems.append(Problem(loc, f"{RESTART} of service '{name}' must be a mapping"
                                         f"{note}", hint=f"keys: {', '.join(RESTART_FIELDS)}"))
            continue
        for key, value in block.items():
            problems += _field_problem(name, path, str(key), value, where)
    return problems


def _field_problem(service: str, path: tuple, key: str, value: Any,
                   where: Locator) -> list[Problem]:
    kinds = RESTART_FIELDS.get(key)
    if kinds is None:
        close = difflib.get_close_matches(key, list(RESTART_FIELDS), n=1)
        return [Problem(where.at(path + (key,), key=True),
                        f"unknown key '{key}' in {RESTART} of service '{service}'",
                        hint=f"did you mean '{close[0]}'?" if close else
                        f"keys: {', '.join(RESTART_FIELDS)}")]
    if isinstance(value, str):  # an interpolated value: read it as the field's type
        value = _cast(value, kinds)
    wrong_type = isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds)
    if wrong_type or (not isinstance(value, bool) and value < 0):
        expected = "true or false" if bool in kinds else \
            "a whole number >= 0" if kinds == (int,) else "a number of seconds >= 0"
        loc, note = where.value(path + (key,))
        return [Problem(loc, f"{RESTART}.{key} of service '{service}' must be {expected}, "
                             f"not {value!r}{note}")]
    return []


def _cast(text: str, kinds: tuple[type, ...]) -> Any:
    from phoenix_compose.config.typecast import to_bool, to_float, to_int

    cast = to_bool if bool in kinds else to_int if kinds == (int,) else to_float
    try:
        return cast(text)
    except ValueError:
        return text


def rotate_problems(model: dict[str, Any], where: Locator) -> list[Problem]:
    """``secrets.NAME.x-phoenix-rotate``: ``service`` (one of the stack's) and ``command``
    (a non-empty list of strings), nothing else."""
    services = model.get("services") if isinstance(model.get("services"), dict) else {}
    secrets = model.get("secrets") if isinstance(model.get("secrets"), dict) else {}
    problems = []
    for name, secret in secrets.items():
        hook = secret.get(ROTATE) if isinstance(secret, dict) else None
        if hook is None:
            continue
        path = ("secrets", name, ROTATE)
        if not isinstance(hook, dict):
            loc, note = where.value(path)
            problems.append(Problem(loc, f"{ROTATE} of secret '{name}' must be a mapping "
                                         f"with service and command{note}"))
            continue
        for key in (k for k in hook if k not in ("service", "command")):
            problems.append(Problem(where.at(path + (key,), key=True),
                                    f"unknown key '{key}' in {ROTATE} of secret '{name}'",
                                    hint="keys: service, command"))
        if hook.get("service") not in services:
            loc, note = where.value(path + ("service",))  # or the block, when it is missing
            problems.append(Problem(loc, f"{ROTATE}.service of secret '{name}' must name one "
                                         f"of the services ({', '.join(services)}){note}"))
        command = hook.get("command")
        if not (isinstance(command, list) and command and
                all(isinstance(a, str) for a in command)):
            loc, note = where.value(path + ("command",))
            problems.append(Problem(loc, f"{ROTATE}.command of secret '{name}' must be a "
                                         f"non-empty list of strings{note}"))
    return problems

