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
"""

from __future__ import annotations

import io
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
