"""Every use of a library's non-public API, in one place, each with the reason no public
API does it.  ``tests/test_upstream.py`` fails loudly, naming the library, when an upgrade
changes any of them; pyproject.toml keeps each library below its next major.

- python-dotenv (``dotenv.parser.parse_stream``): the public ``dotenv_values`` returns a
  dict, without the line of each binding or the lines it could not parse, and our errors
  are ``FILE:LINE:COL``.  python-dotenv's own ``main`` uses the same function.  The
  module is loaded from its file, without the package (:func:`_dotenv_parser`).
- Jinja2 (``jinja2.compiler.CodeGenerator._output_child_*``): Jinja folds consecutive
  template text into one ``yield`` without line information; refusing the folding gives
  every text node its own ``yield``, so each chunk of output maps to its template line
  (``Template.get_corresponding_lineno`` then maps generated code to template lines).
- invoke (``invoke.context`` does ``from unittest.mock import Mock`` at import, for
  ``MockContext`` alone): ``unittest.mock`` pulls in ``asyncio`` and ``unittest``, about a
  quarter of invoke's import time, which every ``phoenix`` command paid.  invoke has no
  lazy form of it (3.0.3); :func:`deferred_mock` lets the ``phoenix`` program import invoke
  with ``Mock`` resolved on first use.  ``inv`` imports invoke itself, before any of ours.
- invoke (``invoke/__init__`` does ``metadata.version("invoke")`` at import, for its
  ``__version__``): ``importlib.metadata`` pulls in ``email``, ``zipfile`` and more, about
  30 ms of every ``phoenix`` command; :func:`deferred_metadata` answers that one question
  from invoke's ``*.dist-info/METADATA`` (its ``Version:`` line, as importlib.metadata
  reads it) and loads the real module for anything else, or when there is no such file.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class EnvBinding:
    key: str | None  # None: a comment or a blank line
    value: str | None  # None: a bare KEY (its value comes from the process)
    line: int
    text: str  # the statement as written
    error: bool


def env_bindings(text: str) -> Iterator[EnvBinding]:
    """The statements of a .env file, as python-dotenv parses them, with their lines."""
    for binding in _dotenv_parser().parse_stream(io.StringIO(text)):
        # python-dotenv counts the blank lines before a statement as part of it: its line
        # is where the statement itself starts
        string = binding.original.string
        blank = string[:len(string) - len(string.lstrip())].count("\n")
        yield EnvBinding(binding.key, binding.value, binding.original.line + blank,
                         string, binding.error)


_PARSER = "phoenix_compose._upstream.dotenv_parser"  # the name it is loaded under


def _dotenv_parser() -> ModuleType:
    """``dotenv.parser``, without its package while that is not imported: ``dotenv``'s
    ``__init__`` imports ``dotenv.main`` and with it ``logging``, 3-4 ms of every command
    that reads an env file (a cached ``config.show`` too), none of which the parser uses
    (it imports ``codecs``, ``re`` and ``typing``).  Loaded from the package's folder
    under a name of ours, so a later ``import dotenv`` loads its own, as if we had not."""
    loaded = sys.modules.get("dotenv.parser") or sys.modules.get(_PARSER)
    if loaded is not None:
        return loaded
    import importlib.util

    package = importlib.util.find_spec("dotenv")
    folders = list(package.submodule_search_locations or []) if package else []
    source = os.path.join(folders[0], "parser.py") if folders else ""
    spec = importlib.util.spec_from_file_location(_PARSER, source) \
        if os.path.isfile(source) else None
    if spec is None or spec.loader is None:  # not a plain folder: the package's own way
        import dotenv.parser

        return dotenv.parser
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[_PARSER] = module
    return module


def line_tracking_codegen() -> type:
    """A Jinja code generator that yields template text node by node (see above)."""
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator

    class LineTrackingCodeGenerator(CodeGenerator):
        def _output_child_to_const(self, node: Any, frame: Any, finalize: Any) -> str:
            if isinstance(node, nodes.TemplateData):
                raise nodes.Impossible()
            return super()._output_child_to_const(node, frame, finalize)

        def _output_child_pre(self, node: Any, frame: Any, finalize: Any) -> None:
            if isinstance(node, nodes.TemplateData):  # template text is never finalized
                self.write("str(")
                return
            super()._output_child_pre(node, frame, finalize)

        def _output_child_post(self, node: Any, frame: Any, finalize: Any) -> None:
            if isinstance(node, nodes.TemplateData):
                self.write(")")
                return
            super()._output_child_post(node, frame, finalize)

    return LineTrackingCodeGenerator


MOCK, METADATA = "unittest.mock", "importlib.metadata"


class _StandIn(ModuleType):
    """Stands in for a module while invoke is imported (see :func:`_standing_in`): the
    names set on it answer; any other name loads the real module."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_real(self.__name__), name)


def _real(name: str) -> ModuleType:
    """The real module ``name`` (its stand-in, if still registered, dropped first)."""
    if isinstance(sys.modules.get(name), _StandIn):
        del sys.modules[name]
    import importlib

    return importlib.import_module(name)


@contextmanager
def _standing_in(stub: _StandIn) -> Iterator[None]:
    """``stub`` is the module of its name inside this; afterwards an import gets the real
    one.  A no-op when the real one is loaded already."""
    name = stub.__name__
    if name in sys.modules:
        yield
        return
    sys.modules[name] = stub
    try:
        yield
    finally:
        if sys.modules.get(name) is stub:
            del sys.modules[name]
        package, _, child = name.rpartition(".")
        if getattr(sys.modules.get(package), child, None) is stub:
            delattr(sys.modules[package], child)


class _DeferredMock:
    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _real(MOCK).Mock(*args, **kwargs)


def deferred_mock() -> contextlib.AbstractContextManager[None]:
    """Import invoke inside this: ``unittest.mock`` is loaded only if ``MockContext`` is
    used (never by a ``phoenix`` command): ``Mock`` is a class whose instances are the
    real ``unittest.mock.Mock``."""
    stub = _StandIn(MOCK)
    stub.Mock = _DeferredMock  # type: ignore[attr-defined]
    return _standing_in(stub)


def deferred_metadata() -> contextlib.AbstractContextManager[None]:
    """Import invoke inside this: ``importlib.metadata`` is loaded only if something asks it
    more than a version (``version(name)`` of a ``NAME-*.dist-info`` on ``sys.path``)."""
    stub = _StandIn(METADATA)
    stub.version = _version  # type: ignore[attr-defined]
    return _standing_in(stub)


def _version(name: str) -> str:
    return _dist_version(name) or _real(METADATA).version(name)


def _dist_version(name: str) -> str | None:
    """The ``Version:`` of the first ``NAME-*.dist-info/METADATA`` on ``sys.path`` (the
    first, as importlib.metadata's search finds it), or None."""
    prefix = name.replace("-", "_").lower() + "-"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            if folder.lower().startswith(prefix) and folder.endswith(".dist-info"):
                return _version_line(os.path.join(entry or ".", folder, "METADATA"))
    return None


def _version_line(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as file:
            for line in file:
                if line.startswith("Version:"):
                    return line.partition(":")[2].strip()
                if not line.strip():
                    return None  # the headers end at the first blank line
    except OSError:
        pass
    return None
