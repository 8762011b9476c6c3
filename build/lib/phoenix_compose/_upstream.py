"""Every use of a library's non-public API, in one place, each with the reason no public
API does it.  ``tests/test_upstream.py`` fails loudly, naming the library, when an upgrade
changes any of them; pyproject.toml keeps each library below its next major.

- python-dotenv (``dotenv.parser.parse_stream``): the public ``dotenv_values`` returns a
  dict, without the line of each binding or the lines it could not parse, and our errors
  are ``FILE:LINE:COL``.  python-dotenv's own ``main`` uses the same function.
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
    from dotenv.parser import parse_stream

    for binding in parse_stream(io.StringIO(text)):
        # python-dotenv counts the blank lines before a statement as part of it: its line
        # is where the statement itself starts
        string = binding.original.string
        blank = string[:len(string) - len(string.lstrip())].count("\n")
        yield EnvBinding(binding.key, binding.value, binding.original.line + blank,
                         string, binding.error)


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


MOCK = "unittest.mock"


def _real_mock() -> ModuleType:
    if isinstance(sys.modules.get(MOCK), _DeferredMockModule):
        del sys.modules[MOCK]
    import unittest.mock

    return unittest.mock


class _DeferredMockModule(ModuleType):
    """Stands in for ``unittest.mock`` while invoke is imported: ``Mock`` is a class whose
    instances are the real ``unittest.mock.Mock``; any other name imports the real module."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_real_mock(), name)


class _DeferredMock:
    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _real_mock().Mock(*args, **kwargs)


@contextmanager
def deferred_mock() -> Iterator[None]:
    """Import invoke inside this: ``unittest.mock`` is loaded only if ``MockContext`` is
    used (never by a ``phoenix`` command).  A no-op when it is loaded already."""
    if MOCK in sys.modules:
        yield
        return
    stub = _DeferredMockModule(MOCK)
    stub.Mock = _DeferredMock  # type: ignore[attr-defined]
    sys.modules[MOCK] = stub
    try:
        yield
    finally:
        if sys.modules.get(MOCK) is stub:
            del sys.modules[MOCK]


METADATA = "importlib.metadata"


class _VersionOnly(ModuleType):
    """Stands in for ``importlib.metadata`` while invoke is imported: ``version(name)`` of a
    distribution found as ``NAME-*.dist-info`` on ``sys.path``; anything else, the real one."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_real_metadata(), name)

    def version(self, name: str) -> str:
        return _dist_version(name) or _real_metadata().version(name)


def _real_metadata() -> ModuleType:
    if isinstance(sys.modules.get(METADATA), _VersionOnly):
        del sys.modules[METADATA]
    import importlib.metadata

    return importlib.metadata


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
                try:
                    with open(os.path.join(entry or ".", folder, "METADATA"),
                              encoding="utf-8") as file:
                        for line in file:
                            if line.startswith("Version:"):
                                return line.partition(":")[2].strip()
                            if not line.strip():
                                break  # the headers end at the first blank line
                except OSError:
                    pass
                return None
    return None


@contextmanager
def deferred_metadata() -> Iterator[None]:
    """Import invoke inside this: ``importlib.metadata`` is loaded only if something asks it
    more than a version.  A no-op when it is loaded already."""
    if METADATA in sys.modules:
        yield
        return
    stub = _VersionOnly(METADATA)
    sys.modules[METADATA] = stub
    try:
        yield
    finally:
        if sys.modules.get(METADATA) is stub:
            del sys.modules[METADATA]
        importlib = sys.modules.get("importlib")
        if getattr(importlib, "metadata", None) is stub:
            delattr(importlib, "metadata")
