"""Compose-spec variable interpolation: ``$V ${V} ${V:-d} ${V-d} ${V:?e} ${V?e} ${V:+a} ${V+a}``.

Values only, never keys; nesting is allowed in the default, alternative and error parts,
which are evaluated only when used; ``$$`` is a literal ``$``.  A lone ``$`` that starts
no substitution stays as it is (compose-go does the same).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from phoenix_compose.config.nodes import N, walk_scalars
from phoenix_compose.errors import InterpolationFailed, Loc, Problem

_fail = InterpolationFailed

_NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")
_WHOLE_VAR = re.compile(
    r"\$(?:([_A-Za-z][_A-Za-z0-9]*)|\{([_A-Za-z][_A-Za-z0-9]*)(?:[:?+-][^}]*)?\})")
_OPS = (":-", ":?", ":+", "-", "?", "+")
Lookup = Callable[[str], str | None]


@dataclass(frozen=True)
class Finding:
    offset: int  # index of the ``$`` in the string
    message: str
    severity: str = "error"


def interpolate(text: str, lookup: Lookup) -> tuple[str, list[Finding]]:
    """Substitute variables in ``text``; errors abort the string, warnings do not."""
    warnings: list[Finding] = []
    try:
        return _expand(text, 0, lookup, warnings), warnings
    except InterpolationFailed as failed:
        return text, warnings + [failed.finding]  # type: ignore[list-item]


def _expand(text: str, base: int, lookup: Lookup, warnings: list[Finding]) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        nxt = text[j + 1 : j + 2]
        if nxt == "$":
            out.append("$")
            i = j + 2
        elif nxt == "{":
            end = _closing_brace(text, j + 2)
            if end < 0:
                raise _fail(Finding(base + j, f"invalid interpolation format for '{text[j:]}': "
                                                "missing closing '}'"))
            out.append(_braced(text[j + 2 : end], base + j, lookup, warnings))
            i = end + 1
        else:
            m = _NAME.match(text, j + 1)
            if not m:
                out.append("$")
                i = j + 1
                continue
            out.append(_plain(m.group(), base + j, lookup, warnings))
            i = m.end()
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth, i = 1, start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text[i] == "{":  # any brace nests, as in compose-go: ${J:-{"a":1}}
            depth += 1
            i += 1
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _plain(name: str, offset: int, lookup: Lookup, warnings: list[Finding]) -> str:
    value = lookup(name)
    if value is None:
        warnings.append(Finding(offset, f"variable {name} is not set; substituting an empty "
                                        "string", "warning"))
        return ""
    return value


def _braced(body: str, offset: int, lookup: Lookup, warnings: list[Finding]) -> str:
    m = _NAME.match(body)
    if not m:
        raise _fail(Finding(offset, f"invalid interpolation format for '${{{body}}}': "
                                      "a variable name must start with a letter or '_'"))
    name, rest = m.group(), body[m.end():]
    if not rest:
        return _plain(name, offset, lookup, warnings)
    op = next((o for o in _OPS if rest.startswith(o)), None)
    if op is None:
        raise _fail(Finding(offset, f"invalid interpolation format for '${{{body}}}': "
                                      f"unknown operator '{rest[:2]}'"))
    arg = rest[len(op):]
    value = lookup(name)
    missing = value is None or (op.startswith(":") and value == "")
    inner = offset + 2 + len(name) + len(op)
    if op in (":-", "-"):
        return _expand(arg, inner, lookup, warnings) if missing else str(value)
    if op in (":+", "+"):
        return "" if missing else _expand(arg, inner, lookup, warnings)
    if missing:  # ":?" and "?"
        detail = _expand(arg, inner, lookup, warnings) or (
            "is empty" if value == "" else "is not set")
        raise _fail(Finding(offset, f"required variable {name} is missing a value: {detail}"))
    return str(value)


def whole_variable(text: str) -> str | None:
    """The variable ``text`` is entirely (``$X``, ``${X}``, ``${X:-default}``), else None."""
    whole = _WHOLE_VAR.fullmatch(text)
    if whole is None or re.match(r"\$\{\w+:?\+", text):  # ${X:+alt} is alt, not X
        return None
    return whole.group(1) or whole.group(2)


def scalar_column(node: N, offset: int) -> Loc:
    """Best column for ``offset`` inside a one-line scalar."""
    loc = node.loc
    return Loc(loc.file, loc.line, loc.col + offset) if loc.line else loc


def interpolate_tree(tree: N, lookup: Lookup, origin: Callable[[str], Loc | None]) -> list:
    """Interpolate every string value below ``tree`` in place; returns located Problems."""
    problems: list[Problem] = []
    for _path, node in walk_scalars(tree):
        if not isinstance(node.value, str) or "$" not in node.value:
            continue
        seen: dict[str, str] = {}
        value, findings = interpolate(node.value, _recording(lookup, seen))
        for f in findings:
            problems.append(Problem(scalar_column(node, f.offset), f.message, f.severity))
        if not any(f.severity == "error" for f in findings):
            whole = _WHOLE_VAR.fullmatch(node.value)
            if whole:  # the value is one variable: problems with it point at its definition
                node.via = origin(whole.group(1) or whole.group(2))
            node.uses = _uses(node, seen, value)
            node.written, node.value = node.value, value
    return problems


def _recording(lookup: Lookup, seen: dict[str, str]) -> Lookup:
    def find(name: str) -> str | None:
        value = lookup(name)
        if value:
            seen.setdefault(name, value)
        return value
    return find


def _uses(node: N, seen: dict[str, str], result: str) -> tuple[tuple[str, Loc], ...]:
    """The variables whose value the interpolated ``result`` holds, each at its ``$`` (the
    secret rule asks which secret went where: :mod:`.secretuse`)."""
    out = []
    for name, value in seen.items():
        if value in result:
            out.append((name, scalar_column(node, _reference(node.value, name))))
    return tuple(out)


_IDENT = frozenset("_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _reference(text: str, name: str) -> int:
    r"""The offset of the first ``$name`` or ``${name`` in ``text`` that is neither escaped
    (after a ``$``) nor the start of a longer name, else 0: what the search for
    ``(?<!\$)\$\{?NAME(?![_A-Za-z0-9])`` finds, without a pattern compiled per name."""
    at = text.find("$")
    while at >= 0:
        if at == 0 or text[at - 1] != "$":
            for start in (at + 2, at + 1) if text.startswith("{", at + 1) else (at + 1,):
                end = start + len(name)
                if text.startswith(name, start) and (end >= len(text)
                                                     or text[end] not in _IDENT):
                    return at
        at = text.find("$", at + 1)
    return 0
