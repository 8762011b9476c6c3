"""The located values :mod:`.yamlsrc` builds (no YAML parser here: interpolation and a
cached answer use them without loading one)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from phoenix_compose.errors import Loc

Path = tuple[Any, ...]
Locator = Callable[[int, int], Loc]


class N:
    """A value with its location; ``kloc`` is where its mapping key was written."""

    __slots__ = ("value", "loc", "kloc", "tag", "via", "uses", "written")

    def __init__(self, value: Any, loc: Loc, kloc: Loc | None = None, tag: str = "") -> None:
        self.value = value
        self.loc = loc
        self.kloc = kloc
        self.tag = tag
        self.via: Loc | None = None  # the env-file line of a value that is one variable
        self.uses: tuple[tuple[str, Loc], ...] = ()  # variables interpolated here, and where
        self.written: str | None = None  # the text before interpolation (when it had a $)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"N({self.value!r} @ {self.loc})"


def flatten(node: N | None) -> tuple[Any, dict[Path, N]]:
    """Plain data plus ``{path: node}`` for every value, for locating later findings."""
    where: dict[Path, N] = {}

    def walk(n: N, path: Path) -> Any:
        where[path] = n
        if isinstance(n.value, dict):
            return {k: walk(v, path + (k,)) for k, v in n.value.items()}
        if isinstance(n.value, list):
            return [walk(v, path + (i,)) for i, v in enumerate(n.value)]
        return n.value

    if node is None:
        return {}, where
    return walk(node, ()), where


def walk_scalars(node: N, path: Path = ()) -> Iterator[tuple[Path, N]]:
    """Every scalar node below ``node`` with its path."""
    if isinstance(node.value, dict):
        for k, v in node.value.items():
            yield from walk_scalars(v, path + (k,))
    elif isinstance(node.value, list):
        for i, v in enumerate(node.value):
            yield from walk_scalars(v, path + (i,))
    else:
        yield path, node
