"""Our own ``x-phoenix-*`` extension blocks, checked at validation time (the compose
schema lets any ``x-`` value through): a typo or a wrong type in ``x-phoenix-restart`` is
a located error now, not a silent default when the watcher starts; so is a malformed
``x-phoenix-rotate`` hook on a top-level secret, before any rotation needs it."""

from __future__ import annotations

import difflib
from typing import Any

from phoenix_compose.config.edgeports import EDGE_MODE, EDGE_MODES
from phoenix_compose.config.locator import Locator
from phoenix_compose.config.probes import MODES, PROBE_KEY, recognise
from phoenix_compose.config.schemacheck import compiled, passes
from phoenix_compose.config.typecast import to_bool, to_float, to_int
from phoenix_compose.errors import Problem
from phoenix_compose.shapes import as_dict

RESTART = "x-phoenix-restart"
ROTATE = "x-phoenix-rotate"
RESTART_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean"},
        "max_restarts": {"type": "integer", "minimum": 0},
        "window_s": {"type": "number", "minimum": 0},
        "backoff_initial_s": {"type": "number", "minimum": 0},
        "backoff_max_s": {"type": "number", "minimum": 0},
        "unhealthy_for_s": {"type": "number", "minimum": 0},
        "no_restart_exit_codes": {"type": "array", "uniqueItems": True,
                                  "items": {"type": "integer", "minimum": 0, "maximum": 255}},
        "restart_mode": {"enum": ["restart", "recreate"]},
    },
}
RESTART_FIELDS = tuple(RESTART_SCHEMA["properties"])
BACKUP = "x-phoenix-backup"  # read by the db plugin (tasks/db/) and the watcher
BACKUP_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "every": {"type": ["string", "number"],
                  "pattern": r"^\s*(\d+(\.\d+)?(us|ms|s|m|h|d))+\s*$", "minimum": 1},
        "keep": {"type": "integer", "minimum": 0},
        "verify": {"type": "boolean"},
    },
}
_EXPECTED = {"boolean": "true or false", "integer": "a whole number >= 0",
             "number": "a number of seconds >= 0",
             "string": "a duration such as 30s, 6h or 1d (or seconds >= 1)",
             "array": "a list of distinct exit codes (0-255)"}


def extension_problems(services: dict[str, Any], where: Locator) -> list[Problem]:
    """``x-phoenix-restart`` and ``x-phoenix-backup`` of every service against their JSON
    schemas (jsonschema), each error located at the value (or key) the user wrote."""
    return [p for key, schema in ((RESTART, RESTART_SCHEMA), (BACKUP, BACKUP_SCHEMA))
            for p in _block_problems(services, where, key, schema)] + \
        probe_problems(services, where) + edge_mode_problems(services, where)


def edge_mode_problems(services: dict[str, Any], where: Locator) -> list[Problem]:
    """``x-phoenix-edge-mode``: http or tcp."""
    problems = []
    for name, svc in services.items():
        value = svc.get(EDGE_MODE) if isinstance(svc, dict) else None
        if value is not None and value not in EDGE_MODES:
            loc, note = where.value(("services", name, EDGE_MODE))
            problems.append(Problem(loc, f"{EDGE_MODE} of service '{name}' must be http or "
                                         f"tcp, not {value!r}{note}",
                                    hint="tcp for a service that serves TLS itself"))
    return problems


def probe_problems(services: dict[str, Any], where: Locator) -> list[Problem]:
    """``x-phoenix-probe``: native or exec; native only for a test phoenix can run itself."""
    problems = []
    for name, svc in services.items():
        value = svc.get(PROBE_KEY) if isinstance(svc, dict) else None
        if value is None:
            continue
        loc, note = where.value(("services", name, PROBE_KEY))
        if value not in MODES:
            problems.append(Problem(loc, f"{PROBE_KEY} of service '{name}' must be native "
                                         f"or exec, not {value!r}{note}"))
            continue
        check = svc.get("healthcheck")
        test = check.get("test") if isinstance(check, dict) else None
        if value == "native" and test is not None and recognise(test) is None:
            problems.append(Problem(loc, f"{PROBE_KEY}: native, but the healthcheck of "
                                         f"service '{name}' is not one phoenix can run "
                                         f"itself{note}",
                                    hint="native: wget -q -O- / wget --spider / curl -f "
                                         "of http://127.0.0.1[:PORT]/PATH, or nc -z "
                                         "127.0.0.1 PORT; else use exec"))
    return problems


def _block_problems(services: dict[str, Any], where: Locator, key: str,
                    schema: dict[str, Any]) -> list[Problem]:
    validator = None
    problems: list[Problem] = []
    for name, svc in services.items():
        block = svc.get(key) if isinstance(svc, dict) else None
        if block is None:
            continue
        path = ("services", name, key)
        if not isinstance(block, dict):
            loc, note = where.value(path)
            keys = ", ".join(schema["properties"])
            problems.append(Problem(loc, f"{key} of service '{name}' must be a mapping"
                                         f"{note}", hint=f"keys: {keys}"))
            continue
        typed = {str(k): _typed(schema["properties"].get(str(k), {}), v)
                 for k, v in block.items()}
        if passes(compiled(key, schema), typed):  # valid for certain: jsonschema is not needed
            continue
        if validator is None:
            from jsonschema import Draft202012Validator

            validator = Draft202012Validator(schema)
        seen: set[str] = set()
        for error in sorted(validator.iter_errors(typed), key=lambda e: list(e.path)):
            field = str(error.path[0]) if error.path else ""
            if field not in seen:  # one problem per field
                seen.add(field)
                problems.append(_problem(name, path, error, typed, where, key, schema))
    return problems


def _problem(service: str, path: tuple, error: Any, block: dict[str, Any],
             where: Locator, name: str, schema: dict[str, Any]) -> Problem:
    fields = list(schema["properties"])
    if error.validator == "additionalProperties":
        key = next(k for k in block if k not in schema["properties"])
        close = difflib.get_close_matches(key, fields, n=1)
        return Problem(where.at(path + (key,), key=True),
                       f"unknown key '{key}' in {name} of service '{service}'",
                       hint=f"did you mean '{close[0]}'?" if close else
                       f"keys: {', '.join(fields)}")
    key = str(error.path[0])
    spec = schema["properties"][key]
    kind = spec.get("type", "")
    kind = kind[0] if isinstance(kind, list) else kind
    expected = _EXPECTED.get(kind, "one of: " + ", ".join(spec.get("enum", [])))
    loc, note = where.value(path + tuple(error.path))
    return Problem(loc, f"{name}.{key} of service '{service}' must be {expected}, "
                        f"not {block[key]!r}{note}")


def _typed(spec: dict[str, Any], value: Any) -> Any:
    """An interpolated value (text) read as the type its schema wants."""
    if isinstance(value, list) and "items" in spec:
        return [_typed(spec["items"], item) for item in value]
    if not isinstance(value, str) or spec.get("type") not in ("boolean", "integer", "number"):
        return value

    cast = {"boolean": to_bool, "integer": to_int, "number": to_float}[spec["type"]]
    try:
        return cast(value)
    except ValueError:
        return value


DRIFT_INTERVAL = "x-phoenix-drift-interval"


def drift_problems(model: dict[str, Any], where: Locator) -> list[Problem]:
    """The top-level ``x-phoenix-drift-interval``: seconds >= 0 (0: off)."""
    if DRIFT_INTERVAL not in model:
        return []
    value = _typed({"type": "number"}, model[DRIFT_INTERVAL])
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return []
    loc, note = where.value((DRIFT_INTERVAL,))
    return [Problem(loc, f"{DRIFT_INTERVAL} must be a number of seconds >= 0 (0 turns drift "
                         f"checks off), not {model[DRIFT_INTERVAL]!r}{note}")]


def rotate_problems(model: dict[str, Any], where: Locator) -> list[Problem]:
    """``secrets.NAME.x-phoenix-rotate``: ``service`` (one of the stack's) and ``command``
    (a non-empty list of strings), nothing else."""
    services = as_dict(model.get("services"))
    secrets = as_dict(model.get("secrets"))
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

