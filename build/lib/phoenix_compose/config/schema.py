"""The official compose-spec schema (Draft 2020-12) and its errors as located problems,
with "did you mean" hints for unknown keys."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path as FsPath
from typing import Any

from phoenix_compose import fileio  # write_files: the seam tests patch (a read-only .phoenix/)
from phoenix_compose.config import schemacheck
from phoenix_compose.config.locator import Locator
from phoenix_compose.config.schemacheck import passes
from phoenix_compose.errors import Problem

_UNEXPECTED = re.compile(r"\((.*) (?:was|were) unexpected\)")
_NO_PATTERN = re.compile(r"^(.*) (?:does|do) not match any of the regexes")


def unexpected_keys(message: str) -> list[str]:
    """The keys named by either of jsonschema's two messages for an unknown property:
    ``('a', 'b' were unexpected)`` (no patternProperties), or ``'a', 'b' do not match any of
    the regexes: '^x-'`` (with the ``x-`` extension pattern, as nearly everywhere)."""
    found = _UNEXPECTED.search(message) or _NO_PATTERN.search(message)
    return re.findall(r"'([^']*)'", found.group(1)) if found else []


SCHEMAS = FsPath(__file__).with_name("schemas")
SCHEMA_FILE = SCHEMAS / "compose-spec.json"
ORIGIN_FILE = SCHEMAS / "compose-spec.origin.json"


@functools.lru_cache(maxsize=1)
def compose_schema_validator() -> Any:
    """The compose-spec schema (Draft 2020-12), package data of ours: its origin and
    version are in ``schemas/compose-spec.origin.json`` (``inv schema.update`` refreshes
    it from check-jsonschema's vendored copy)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(flatten_schema(json.loads(SCHEMA_FILE.read_text(
        encoding="utf-8"))))


def update_schema(source: FsPath, version: str, today: str,
                  folder: FsPath = SCHEMAS) -> bool:
    """Replace the vendored schema with ``source`` (check-jsonschema ``version``'s copy) when
    it differs and still is a Draft 2020-12 compose schema; record where it came from.
    Returns whether anything changed."""
    import hashlib

    from jsonschema import Draft202012Validator

    text = source.read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)  # SchemaError: a broken copy is refused
    if schema.get("title") != "Compose Specification":
        raise ValueError(f"{source} is not the compose-spec schema")
    schema_file, origin_file = folder / SCHEMA_FILE.name, folder / ORIGIN_FILE.name
    origin = {"file": SCHEMA_FILE.name, "sha256": hashlib.sha256(text.encode()).hexdigest(),
              "from": f"check-jsonschema {version}: "
                      "check_jsonschema/builtin_schemas/vendor/compose-spec.json",
              "upstream": "https://github.com/compose-spec/compose-spec "
                          "(schema/compose-spec.json)",
              "license": "Apache-2.0 (compose-spec.LICENSE)", "updated": today}
    old = json.loads(origin_file.read_text(encoding="utf-8")) if origin_file.exists() else {}
    if old.get("sha256") == origin["sha256"]:
        return False

    fileio.write_files({schema_file: text, origin_file: json.dumps(origin, indent=1) + "\n"})
    compose_schema_validator.cache_clear()
    compiled_check.cache_clear()
    return True


_PLAIN_PART = {"type", "description", "properties", "patternProperties"}


def flatten_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema, faster: a definition made of ``allOf`` parts that only list
    properties, closed with ``unevaluatedProperties: false``, becomes one object with all
    the properties and ``additionalProperties: false``.  That accepts and rejects exactly
    the same documents, but jsonschema checks it about 3x faster than it evaluates
    ``unevaluatedProperties`` (1.2 ms a service on this machine, before)."""
    defs = schema.get("$defs", {})
    for definition in defs.values():
        parts = definition.get("allOf") if isinstance(definition, dict) else None
        if not parts or definition.get("unevaluatedProperties") is not False:
            continue
        targets = [defs.get(p.get("$ref", "")[len("#/$defs/"):]) for p in parts]
        if not all(isinstance(t, dict) and set(t) <= _PLAIN_PART for t in targets):
            continue
        properties = dict(definition.get("properties", {}))
        patterns = dict(definition.get("patternProperties", {}))
        for target in targets:
            properties = {**target.get("properties", {}), **properties}
            patterns = {**target.get("patternProperties", {}), **patterns}
        for key in ("allOf", "unevaluatedProperties"):
            definition.pop(key)
        definition.update(type="object", properties=properties, patternProperties=patterns,
                          additionalProperties=False)
    return schema


@functools.lru_cache(maxsize=1)
def compiled_check() -> Any:
    """The schema compiled to Python (see :mod:`.schemacheck`), None when it cannot be."""
    return schemacheck.load(SCHEMA_FILE, flatten_schema, generators=(FsPath(__file__),))


def schema_problems(model: dict[str, Any], where: Locator) -> list[Problem]:
    if passes(compiled_check(), model):  # valid for certain: jsonschema is not imported
        return []
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


def dotted(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _schema_problem(error: Any, where: Locator) -> list[Problem]:
    path = tuple(error.absolute_path)
    name = dotted(path)
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        keys = unexpected_keys(error.message)
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
    dated = isinstance(error.instance, date)  # go-yaml's timestamps, as docker compose reads
    return [Problem(loc, message + note,
                    hint="an unquoted date is a timestamp to docker compose: quote it"
                    if dated else "")]


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


