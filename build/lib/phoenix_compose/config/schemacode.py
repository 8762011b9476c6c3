"""Python source from a JSON schema (Draft 2020-12): the code :mod:`.schemacheck` compiles
and caches.  Each schema node becomes one function ``x -> bool`` that implements, with
jsonschema's semantics, the keywords listed in ``KEYWORDS`` and ``OBJECT``; any other
keyword raises :class:`Unsupported` (jsonschema alone is used then).  The helpers the code
calls (``_re``, ``_uniq``, ``_equal``, ``_true``, ``_false``) are ``schemacheck.RUNTIME``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from phoenix_compose.errors import UnsupportedSchema as Unsupported

ANNOTATIONS = {"description", "title", "default", "deprecated", "examples", "$comment",
               "$schema", "$id", "$defs", "format"}  # format: jsonschema asserts none here
TYPES = {
    "object": "isinstance(x, dict)", "array": "isinstance(x, list)",
    "string": "isinstance(x, str)", "null": "x is None", "boolean": "isinstance(x, bool)",
    "number": "(isinstance(x, (int, float)) and not isinstance(x, bool))",
    "integer": "((isinstance(x, int) and not isinstance(x, bool))"
               " or (isinstance(x, float) and x.is_integer()))",
}


class _Generator:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root, self.lines, self.consts = root, [], []  # type: ignore[var-annotated]
        self.names: dict[int, str] = {}

    def check(self, node: Any) -> str:
        """The name of the function that checks ``node`` (generated once per node)."""
        if node is True or node == {}:
            return "_true"
        if node is False:
            return "_false"
        if not isinstance(node, dict):
            raise Unsupported(f"schema {node!r}")
        if id(node) not in self.names:
            self.names[id(node)] = name = f"_c{len(self.names)}"
            body = self.body(node, name)
            self.lines += [f"def {name}(x):", *body, "    return True", ""]
        return self.names[id(node)]

    def const(self, expression: str) -> str:
        self.consts.append(f"_k{len(self.consts)} = {expression}")
        return f"_k{len(self.consts) - 1}"

    def body(self, node: dict[str, Any], name: str) -> list[str]:
        unknown = set(node) - ANNOTATIONS - set(KEYWORDS) - OBJECT
        if unknown:
            raise Unsupported(f"keywords {sorted(unknown)}")
        out = _object(self, node) if OBJECT & set(node) else []
        for keyword in KEYWORDS:
            if keyword in node:
                out += KEYWORDS[keyword](self, node[keyword], node)
        return out

    def ref(self, value: Any) -> str:
        prefix = "#/$defs/"
        name = value[len(prefix):] if isinstance(value, str) and value.startswith(prefix) else ""
        target = self.root.get("$defs", {}).get(name)
        if not name or "~" in name or "%" in name or target is None:
            raise Unsupported(f"$ref {value!r}")
        return self.check(target)


def _type(g: _Generator, value: Any, node: dict[str, Any]) -> list[str]:
    kinds = value if isinstance(value, list) else [value]
    if not kinds or any(k not in TYPES for k in kinds):
        raise Unsupported(f"type {value!r}")
    return [f"    if not ({' or '.join(TYPES[k] for k in kinds)}): return False"]


def _object(g: _Generator, node: dict[str, Any]) -> list[str]:
    """properties, patternProperties and additionalProperties, in one pass over the keys."""
    properties = node.get("properties", {})
    patterns = node.get("patternProperties", {})
    extra = node.get("additionalProperties", True)
    if not isinstance(properties, dict) or not isinstance(patterns, dict):
        raise Unsupported("properties")
    table = g.const("{" + ", ".join(f"{k!r}: {g.check(v)}" for k, v in properties.items())
                    + "}")
    out = ["    if isinstance(x, dict):", "        for k, v in x.items():",
           f"            f = {table}.get(k)",
           "            if f is not None and not f(v): return False"]
    for pattern, sub in patterns.items():
        search = g.const(f"_re({pattern!r}).search")
        out.append(f"            if {search}(k) and not {g.check(sub)}(v): return False")
    if extra is True or extra == {}:
        return out
    # jsonschema: a key is additional when not in properties and matching none of the
    # patterns joined with |
    joined = g.const(f"_re({'|'.join(patterns)!r}).search") if patterns else None
    known = f"f is None and not {joined}(k)" if joined else "f is None"
    if extra is False:
        return out + [f"            if {known}: return False"]
    return out + [f"            if {known} and not {g.check(extra)}(v): return False"]


def _required(g: _Generator, value: Any, node: dict[str, Any]) -> list[str]:
    names = g.const(f"frozenset({sorted(value)!r})")
    return [f"    if isinstance(x, dict) and not {names} <= x.keys(): return False"]


def _items(g: _Generator, value: Any, node: dict[str, Any]) -> list[str]:
    check = g.check(value)
    return [f"    if isinstance(x, list) and not all(map({check}, x)): return False"]


def _unique(g: _Generator, value: Any, node: dict[str, Any]) -> list[str]:
    return ["    if isinstance(x, list) and not _uniq(x): return False"] if value else []


def _literal(value: Any) -> bool:
    """Written as Python source, it reads back as itself (not so: inf, nan)."""
    import ast

    try:
        return bool(ast.literal_eval(repr(value)) == value)
    except (ValueError, SyntaxError):
        return False


def _enum(g: _Generator, value: Any, node: dict[str, Any]) -> list[str]:
    if not isinstance(value, list) or not _literal(value):
        raise Unsupported(f"enum {value!r}")
    if all(isinstance(v, str) for v in value):
        names = g.const(f"frozenset({sorted(value)!r})")
        return [f"    if not (isinstance(x, str) and x in {names}): return False"]
    values = g.const(repr(list(value)))
    return [f"    if not any(_equal(e, x) for e in {values}): return False"]


def _bound(op: str) -> Callable[[_Generator, Any, dict[str, Any]], list[str]]:
    def bound(g: _Generator, value: Any, node: dict[str, Any]) -> list[str]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not _literal(value):
            raise Unsupported(f"bound {value!r}")
        return [f"    if {TYPES['number']} and x {op} {value!r}: return False"]
    return bound


def _pattern(g: _Generator, value: Any, node: dict[str, Any]) -> list[str]:
    search = g.const(f"_re({value!r}).search")
    return [f"    if isinstance(x, str) and not {search}(x): return False"]


def _combine(kind: str) -> Callable[[_Generator, Any, dict[str, Any]], list[str]]:
    def combine(g: _Generator, value: Any, node: dict[str, Any]) -> list[str]:
        if not isinstance(value, list) or not value:
            raise Unsupported(f"{kind} {value!r}")
        calls = [f"{g.check(sub)}(x)" for sub in value]
        if kind == "oneOf":  # jsonschema: exactly one branch valid
            return [f"    if [{', '.join(calls)}].count(True) != 1: return False"]
        joiner = " or " if kind == "anyOf" else " and "
        return [f"    if not ({joiner.join(calls)}): return False"]
    return combine


def _ref(g: _Generator, value: Any, node: dict[str, Any]) -> list[str]:
    return [f"    if not {g.ref(value)}(x): return False"]


OBJECT = {"properties", "patternProperties", "additionalProperties"}
KEYWORDS: dict[str, Callable[[_Generator, Any, dict[str, Any]], list[str]]] = {
    "type": _type, "enum": _enum, "required": _required, "items": _items,
    "uniqueItems": _unique, "minimum": _bound("<"), "maximum": _bound(">"),
    "pattern": _pattern, "oneOf": _combine("oneOf"), "anyOf": _combine("anyOf"),
    "allOf": _combine("allOf"), "$ref": _ref,
}


def source(schema: dict[str, Any]) -> str:
    """Python source defining ``check(x)`` for ``schema``; raises Unsupported."""
    g = _Generator(schema)
    top = g.check(schema)
    return "\n".join([*g.lines, *g.consts, f"check = {top}", ""])

