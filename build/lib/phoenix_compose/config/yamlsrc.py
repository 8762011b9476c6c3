"""YAML with provenance: every value remembers the file, line and column it came from.

``load`` turns a document into a tree of :class:`N` nodes; the merge keeps the node that
wins, so after merging, ``flatten`` yields plain data plus a map from each path to the
place the user wrote it.  That is what lets errors point into compose files, templates
and env files instead of the merged output.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from phoenix_compose.config import yaml12
from phoenix_compose.config.nodes import Locator as Locator  # re-exported, as are these
from phoenix_compose.config.nodes import N as N
from phoenix_compose.config.nodes import Path as Path
from phoenix_compose.config.nodes import flatten as flatten
from phoenix_compose.config.nodes import walk_scalars as walk_scalars
from phoenix_compose.errors import ConfigurationError, Loc, Problem

_constructor = SafeConstructor()
_CORE = (yaml12.NULL, yaml12.BOOL, yaml12.INT, yaml12.FLOAT, yaml12.STR, yaml12.TIMESTAMP)
_KINDS = {yaml12.NULL: "null", yaml12.BOOL: "a boolean", yaml12.INT: "a number",
          yaml12.FLOAT: "a number", yaml12.TIMESTAMP: "a date"}  # keys compose refuses
RESET, OVERRIDE = "!reset", "!override"


def plain_locator(file: str) -> Locator:
    return lambda line, col: Loc(file, line + 1, col + 1)


MAX_VALUES = 100_000  # values one document may expand to (aliases included)
MAX_DEPTH = 100  # nesting levels


def load(text: str, locate: Locator) -> N | None:
    """Parse a one-document file (see :func:`load_all`)."""
    docs = load_all(text, locate)
    if len(docs) > 1:
        raise ConfigurationError([Problem(docs[1].loc, "expected one YAML document")])
    return docs[0] if docs else None


def load_all(text: str, locate: Locator) -> list[N]:
    """Parse every YAML document of a file into located nodes (empty documents are left
    out); raises ConfigurationError when invalid.

    Scalars are read as docker compose reads them (YAML 1.2, see :mod:`.yaml12`).
    Hostile documents are refused with a located error, never a traceback: an anchor that
    contains itself, aliases that expand past ``MAX_VALUES`` values, nesting past
    ``MAX_DEPTH``.
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml12.Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = locate(mark.line, mark.column) if mark else locate(0, 0)
        raise ConfigurationError([Problem(where, f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.reader.ReaderError as exc:  # a control character or NUL byte in the text
        before = text[:exc.position]
        where = locate(before.count("\n"), exc.position - (before.rfind("\n") + 1))
        char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        raise ConfigurationError([Problem(where, f"invalid YAML: the control character "
                                                 f"{char!r} is not allowed here")]) from None
    docs = []
    for node in nodes:
        if node is None:
            continue
        builder = _Builder(locate)
        tree = builder.build(node)  # a bomb raises at once; other problems are collected
        if builder.problems:
            raise ConfigurationError(builder.problems)
        docs.append(tree)
    return docs


def _refuse(problem: Problem) -> ConfigurationError:
    return ConfigurationError([problem])


class _Builder:
    def __init__(self, locate: Locator) -> None:
        self.locate = locate
        self.problems: list[Problem] = []
        self.count = 0
        self.active: set[int] = set()  # nodes being built: an alias to one is a cycle

    def _at(self, node: yaml.Node) -> Loc:
        quoted = isinstance(node, yaml.ScalarNode) and node.style in ("'", '"')
        return self.locate(node.start_mark.line, node.start_mark.column + quoted)

    def build(self, node: yaml.Node) -> N:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _refuse(Problem(self._at(node), f"the document expands to more than "
                                                  f"{MAX_VALUES} values (an alias bomb?)",
                                  hint="use fewer nested aliases"))
        if len(self.active) >= MAX_DEPTH:
            raise _refuse(Problem(self._at(node), f"values nested deeper than {MAX_DEPTH} "
                                                  "levels"))
        if id(node) in self.active:
            raise _refuse(Problem(self._at(node), "this anchor's value contains an alias to "
                                                  "itself (a recursive anchor)"))
        loc = self._at(node)
        tag = node.tag if node.tag in (RESET, OVERRIDE) else ""
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            self.active.add(id(node))
            try:
                value: Any = self._mapping(node) if isinstance(node, yaml.MappingNode) else \
                    [self.build(item) for item in node.value]
            finally:
                self.active.discard(id(node))
            return N(value, loc, tag=tag)
        if tag or node.tag not in SafeConstructor.yaml_constructors:
            return N(None if tag == RESET else node.value, loc, tag=tag)
        if node.tag not in _CORE:  # !!binary, !!set and the like
            return N(SafeConstructor.yaml_constructors[node.tag](_constructor, node), loc)
        try:
            return N(yaml12.construct(node.tag, node.value), loc)
        except ValueError as exc:
            self.problems.append(Problem(loc, str(exc)))
            return N(node.value, loc)

    def _mapping(self, node: yaml.MappingNode) -> dict:
        out: dict[str, N] = {}
        merged: dict[str, N] = {}
        merge_at: Loc | None = None
        for key_node, value_node in node.value:
            kloc = self.locate(key_node.start_mark.line, key_node.start_mark.column)
            if key_node.tag == yaml12.MERGE:
                if merge_at is not None:
                    self.problems.append(Problem(kloc, f"duplicate key '<<' (first at "
                                                       f"{merge_at})"))
                merge_at = merge_at or kloc
                self._merge_key(key_node, value_node, merged)
                continue
            key = self._key(key_node, kloc)
            if key in out:
                self.problems.append(Problem(kloc, f"duplicate key '{key}' "
                                                   f"(first at {out[key].kloc})"))
                continue
            value = self.build(value_node)
            value.kloc = kloc
            out[key] = value
        for k, v in merged.items():
            out.setdefault(k, v)
        return out

    def _key(self, key_node: yaml.Node, kloc: Loc) -> str:
        """A mapping key: docker compose takes strings only (``010:`` is the number 8,
        ``true:`` a boolean, ``~:`` null), so any other key is an error."""
        if not isinstance(key_node, yaml.ScalarNode):
            kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
            self.problems.append(Problem(kloc, f"a mapping key must be a string, not a {kind}"))
            return f"<{kloc}>"
        text = str(key_node.value)
        if key_node.tag in _KINDS:
            self.problems.append(Problem(kloc, f"non-string key '{text}': docker compose reads "
                                               f"it as {_KINDS[key_node.tag]}",
                                         hint=f"quote it: '{text}'"))
        return text

    def _merge_key(self, key_node: yaml.Node, value_node: yaml.Node,
                   merged: dict[str, N]) -> None:
        """``<<: *a`` or ``<<: [*a, *b]``: earlier sources win; anything else is an error."""
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) \
            else [value_node]
        built = [self.build(source) for source in sources]
        if not all(isinstance(b.value, dict) for b in built):
            self.problems.append(Problem(self._at(key_node), "'<<' merges a mapping or a list "
                                                             "of mappings, not this value"))
            return
        for source in built:
            for k, v in source.value.items():
                merged.setdefault(k, v)
