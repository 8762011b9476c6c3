"""Where a value of the merged model was written: the ``where`` map the merge kept."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from phoenix_compose.config.yamlsrc import N, Path
from phoenix_compose.errors import Loc


class Locator:
    """Finds the node nearest to a path in the merged model."""

    def __init__(self, where: dict[Path, N], fallback: Loc) -> None:
        self.where = where
        self.fallback = fallback

    def node(self, path: Iterable[Any]) -> N | None:
        path = tuple(path)
        while path not in self.where and path:
            path = path[:-1]
        return self.where.get(path)

    def at(self, path: Iterable[Any], key: bool = False) -> Loc:
        node = self.node(path)
        if node is None:
            return self.fallback
        return (node.kloc or node.loc) if key else node.loc

    def value(self, path: Iterable[Any]) -> tuple[Loc, str]:
        """Where a bad value was written: the env-file line when it is one variable."""
        path = tuple(path)
        node = self.node(path)
        if node is not None and node.via is not None:
            return node.via, f" (used at {node.loc})"
        return self.at(path), ""
