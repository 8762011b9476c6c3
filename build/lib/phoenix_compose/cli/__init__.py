"""Invoke collections: thin tasks over the engine.  The only package that imports invoke.

The package itself imports nothing: the ``phoenix`` program answers a cached
``config.show`` without loading invoke at all (:mod:`.quick`).  The namespace and the
plugin loader live in :mod:`.namespace`; ``from phoenix_compose.cli import
build_namespace`` (tasks.py) still works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phoenix_compose.cli.namespace import CURRENT as CURRENT
    from phoenix_compose.cli.namespace import PLUGIN_PACKAGE as PLUGIN_PACKAGE
    from phoenix_compose.cli.namespace import build_namespace as build_namespace
    from phoenix_compose.cli.namespace import load_plugins as load_plugins

_NAMESPACE = {"build_namespace", "load_plugins", "CURRENT", "PLUGIN_PACKAGE"}


def __getattr__(name: str) -> Any:
    if name in _NAMESPACE:
        from phoenix_compose.cli import namespace

        return getattr(namespace, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
