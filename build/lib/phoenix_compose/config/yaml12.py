"""YAML 1.2 scalars as docker compose reads them.

compose-go parses with go-yaml (``go.yaml.in/yaml/v4``), whose resolver is the YAML 1.2
core schema plus a few of YAML 1.1's habits; we follow go-yaml where the two differ,
because the point is that a file means here what it means to ``docker compose``:

- null ``~``, ``null``/``Null``/``NULL`` and the empty value; booleans only
  ``true``/``True``/``TRUE`` and ``false``/``False``/``FALSE`` (so ``yes``, ``no``, ``on``,
  ``off``, ``y``, ``n`` are strings);
- integers as Go's ``strconv.ParseInt(s, 0, 64)`` reads them once every ``_`` is removed:
  ``0x1F``, ``0o17``, ``0b101``, and -- unlike the 1.2 spec -- a leading ``0`` is octal
  (``010`` is 8), as YAML 1.1 has it; past the int64/uint64 range they become floats;
- floats by go-yaml's ``yamlStyleFloat`` (``1e3`` and ``1.`` are floats, ``08`` is 8.0),
  ``.inf``/``-.inf``/``.nan`` in three spellings; out of range (``1e400``) a string;
- no base-60 numbers: ``25:25`` and ``12:30`` are strings;
- go-yaml's timestamps (``2001-12-14``, ``2001-12-14 21:59:43``, ``2001-12-14T21:59:43Z``)
  are dates, which compose's schema then rejects wherever it expects a string or a number.

The tables are our Loader's own (``yaml_implicit_resolvers``); PyYAML's are never changed.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

import yaml

_T = "tag:yaml.org,2002:"
NULL, BOOL, INT, FLOAT, STR, TIMESTAMP, MERGE = (
    _T + name for name in ("null", "bool", "int", "float", "str", "timestamp", "merge"))

_NULLS = ("", "~", "null", "Null", "NULL")
_BOOLS = {"true": True, "True": True, "TRUE": True,
          "false": False, "False": False, "FALSE": False}
_SPECIAL = {**{s: math.inf for s in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
            **{s: -math.inf for s in ("-.inf", "-.Inf", "-.INF")},
            **{s: math.nan for s in (".nan", ".NaN", ".NAN")}}
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1
_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?")
_TIMESTAMP = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]|( ))([0-9]{1,2}):"
                        r"([0-9]{1,2}):([0-9]{1,2})(?:[.,]([0-9]+))?"
                        r"(?(4)|(Z|[-+][0-9]{2}:[0-9]{2})))?")


def _go_int(plain: str) -> int | None:
    """``strconv.ParseInt(plain, 0, 64)``, then ``ParseUint``: None when neither reads it."""
    found = _GO_INT.fullmatch(plain)
    if not found:
        return None
    sign, digits = found.groups()
    octal = len(digits) > 1 and digits[0] == "0" and digits[1].isdigit()
    value = int(digits, 8) if octal else int(digits, 0)
    value = -value if sign == "-" else value
    top = _INT64_MAX if sign else _UINT64_MAX  # ParseUint takes no sign
    return value if _INT64_MIN <= value <= top else None


def number(text: str) -> int | float | None:
    """What go-yaml makes of a plain scalar as a number, or None when it is not one."""
    if text in _SPECIAL:
        return _SPECIAL[text]
    if text[:1] == ".":  # go-yaml hands these to strconv.ParseFloat as written
        value = float(text.replace("_", "")) if _DOT_FLOAT.fullmatch(text) else None
    elif text[:1] in "+-0123456789" and text:
        plain = text.replace("_", "")
        as_int = _go_int(plain)
        if as_int is not None:
            return as_int
        value = float(plain) if _GO_FLOAT.fullmatch(plain) else None
    else:
        return None
    return value if value is not None and math.isfinite(value) else None


def timestamp(text: str) -> date | datetime | None:
    """go-yaml's timestamp forms (a date, or a date and time with a zone after ``T`` or
    without one after a space), when the date and time exist."""
    found = _TIMESTAMP.fullmatch(text)
    if not found:
        return None
    year, month, day, _space, hour, minute, second, frac, zone = found.groups()
    try:
        if hour is None:
            return date(int(year), int(month), int(day))
        micro = int((frac or "0")[:6].ljust(6, "0"))
        tz = None if zone is None else timezone.utc if zone == "Z" else timezone(
            (-1 if zone[0] == "-" else 1) * timedelta(hours=int(zone[1:3]),
                                                     minutes=int(zone[4:6])))
        return datetime(int(year), int(month), int(day), int(hour), int(minute),
                        int(second), micro, tz)
    except ValueError:
        return None


class _Parsed:
    """A resolver entry: PyYAML only calls ``.match``, here a parse that must succeed."""

    def __init__(self, accept: Any) -> None:
        self.match = accept


_DIGITS, _SIGNS = list("0123456789"), list("+-")
_RESOLVERS: tuple[tuple[str, Any, list[str]], ...] = (
    (NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["", "~", "n", "N"]),
    (BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")),
    (MERGE, re.compile(r"^<<$"), ["<"]),
    (TIMESTAMP, _Parsed(timestamp), _DIGITS),
    (INT, _Parsed(lambda t: type(number(t)) is int), _DIGITS + _SIGNS),
    (FLOAT, _Parsed(lambda t: type(number(t)) is float), _DIGITS + _SIGNS + ["."]),
)


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser with the resolver above."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, Any]]] = {}


class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Quotes every string that :class:`Loader` would read as something else."""

    yaml_implicit_resolvers = Loader.yaml_implicit_resolvers


for _tag, _regexp, _first in _RESOLVERS:
    Loader.add_implicit_resolver(_tag, _regexp, _first)


def construct(tag: str, text: str) -> Any:
    """The value of a scalar with a core tag, as go-yaml decodes it; ValueError when an
    explicit tag does not fit its text (``!!bool yes``), as in go-yaml."""
    if tag == STR:
        return text
    if tag == NULL and text in _NULLS:
        return None
    if tag == BOOL and text in _BOOLS:
        return _BOOLS[text]
    value = number(text) if tag in (INT, FLOAT) else None
    if tag == INT and type(value) is int:
        return value
    if tag == FLOAT and value is not None:
        return float(value)
    stamp = timestamp(text) if tag == TIMESTAMP else None
    if stamp is not None:
        return stamp
    raise ValueError(f"cannot decode `{text}` as a !!{tag.removeprefix(_T)}")


def go_string(value: Any) -> Any:
    """A boolean or number as Go's ``fmt.Sprint`` writes it, which is how compose-go turns
    the values of ``environment``, ``labels`` and the like into strings; other values are
    returned as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    return value


def _go_float(value: float) -> str:
    """``%v`` of a float64: the shortest digits, in ``%e`` form when the exponent is below
    -4 or at least 6 (``1e+06``, ``1e-05``, ``100000``, ``0.0001``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    mantissa, _, exp = repr(abs(value)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    point = len(whole) + int(exp or 0) - (len(whole + frac) - len(digits))
    digits = digits.rstrip("0")
    if not digits:
        return sign + "0"
    if not -4 <= point - 1 < 6:
        tail = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{tail}e{point - 1:+03d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"
