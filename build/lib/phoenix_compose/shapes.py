"""The shapes of parsed YAML/JSON values, typed: a value that should be a mapping or a
list, or an empty one when it is anything else (missing, null, the wrong type)."""

from __future__ import annotations

from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
