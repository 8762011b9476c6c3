"""Our own ``x-phoenix-*`` extension blocks, checked at validation time (the compose
schema lets any ``x-`` value through): a typo or a wrong type in ``x-phoenix-restart`` is
a located error now, not a silent default when the watcher starts."""

from __future__ import annotations

import difflib
from typing import Any

from phoenix_compose.config.locator import Locator
from phoenix_compose.errors import Problem

RESTART = "x-phoenix-restart"
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
