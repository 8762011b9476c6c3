"""Compose (Go) durations."""

from __future__ import annotations

import re
from typing import Any

_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")


def seconds(value: Any, default: float) -> float:
    """A compose (Go) duration in seconds: ``1m30s`` -> 90.0."""
    if value is None or value == "":
        return default
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    if text == "0":
        return 0.0
    return sum(float(n) * _UNIT[u] for n, u in _PART.findall(text))
