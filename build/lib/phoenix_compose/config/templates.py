"""Jinja overlays: ``templates/*.yaml.j2`` rendered with ``env``, ``vars`` and ``production``
(the same rule the production policy applies).

Templates are untrusted input: they render in Jinja's ``ImmutableSandboxedEnvironment``
(no attribute escapes to Python internals, no file or command access), read partials only
inside the stack root (:mod:`.partials`), and compile and render in a child process under
a wall-clock limit and a memory cap (:mod:`.isolate`); every ``{{ value }}`` is emitted as
one YAML scalar, quoted when needed, so a value can never inject structure (like HTML
autoescape).  Structure is emitted only on purpose, through the ``yaml`` filter.

Rendering records which template line produced each output line, so a problem found in
the rendered YAML (or in the merged model) points back into the template the user wrote.
"""

from __future__ import annotations

import contextlib
import functools
import re
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from phoenix_compose._upstream import line_tracking_codegen
from phoenix_compose.config.files import Roots, read
from phoenix_compose.config.isolate import run_jobs
from phoenix_compose.config.operator import TEMPLATE_TIMEOUT
from phoenix_compose.config.partials import confined_loader
from phoenix_compose.config.yaml12 import Dumper
from phoenix_compose.config.yamlsrc import Locator
from phoenix_compose.errors import Loc, Problem, TemplateTimeout

if TYPE_CHECKING:
    from phoenix_compose.config.environment import EnvironmentConfig


@dataclass(frozen=True)
class Rendered:
    rel: str  # the template, relative to the stack root
    name: str  # the overlay's file name: the template's without ".j2"
    text: str
    line_map: tuple[int, ...]  # output line (0-based) -> template line (1-based)

    def locator(self) -> Locator:
        last = self.line_map[-1] if self.line_map else 1

        def locate(line: int, col: int) -> Loc:
            tline = self.line_map[line] if line < len(self.line_map) else last
            return Loc(self.rel, tline, col + 1)

        return locate


def render_templates(cfg: EnvironmentConfig) -> tuple[list[Rendered], list[Problem]]:
    """Render every overlay; all template errors are collected, located in the template.
    The templates compile and render in one child process (:mod:`.isolate`), so a constant
    folded at compile time or a huge value is stopped too."""
    stack = cfg.stack
    if not stack.templates:
        return [], []

    seconds, problem = _time_limit(cfg)
    if problem is not None:
        return [], [problem]
    jenv = _environment(stack.root / "templates", cfg.roots)  # imports Jinja before the fork
    context = {"env": cfg.name, "production": cfg.production,
               "vars": TemplateVariables(cfg.variables, cfg.operator.passthrough)}
    jobs = [functools.partial(_render_one, jenv, cfg, path, context, seconds)
            for path in stack.templates]
    rendered: list[Rendered] = []
    problems: list[Problem] = []
    for path, result in zip(stack.templates, run_jobs(jobs, seconds, MEMORY_BYTES)):
        if result.status != "ok":
            problems.append(_stopped(stack.rel(path), result.status, seconds))
            continue
        done, found, used = result.value
        cfg.variables.used.update(used)  # for the cache: the child's reads count too
        rendered += [Rendered(done[0], done[1], done[2], tuple(done[3]))] if done else []
        problems += [Problem(Loc(*p[:3]), *p[3:]) for p in found]
    return rendered, problems


def _render_one(jenv: Any, cfg: EnvironmentConfig, path: Path, context: dict[str, Any],
                seconds: float) -> tuple[list | None, list[list], list[str]]:
    """One template, compiled and rendered (in the child): JSON-able (rendered, problems,
    the variables it read)."""
    import jinja2

    rel = cfg.stack.rel(path)
    _text, unreadable = read(path, rel, roots=cfg.roots)
    problems = [unreadable] if unreadable is not None else []
    done = None
    template = None
    deadline = time.monotonic() + seconds
    message = f"rendering took longer than {seconds:.3g} s"
    try:
        with _alarm(deadline, message):
            if not problems:
                template = jenv.get_template(path.name)
                text, line_map = _render_tracked(template, context, deadline, message)
                done = [rel, path.name[: -len(".j2")], text, list(line_map)]
    except jinja2.TemplateSyntaxError as exc:
        problems.append(Problem(Loc(rel, exc.lineno or 1, 1),
                                f"template syntax error: {exc.message}"))
    except MemoryError:
        raise  # the child reports it
    except Exception as exc:  # an error raised while rendering: undefined, filters, ...
        line = _template_line(template, exc.__traceback__) if template else 1
        message, hint = _explain(exc, cfg.name)
        problems.append(Problem(Loc(rel, line, 1), f"template error: {message}", hint=hint))
    found = [[p.loc.file, p.loc.line, p.loc.col, p.message, p.severity, p.hint]
             for p in problems]
    return done, found, sorted(cfg.variables.used)


def _stopped(rel: str, status: str, seconds: float) -> Problem:
    """A template whose child was killed at the deadline, ran out of memory, or died."""
    message = {"timeout": f"compiling and rendering took longer than {seconds:.3g} s",
               "memory": f"it needs more than {MEMORY_BYTES >> 20} MB of memory"}
    what = message.get(status, "the renderer died (out of memory?)")
    return Problem(Loc(rel, 1, 1), f"template error: {what}; stopped",
                   hint="simplify it" if status == "timeout" else "build smaller values")


RENDER_SECONDS = 5.0  # wall-clock limit of one template, unless PHOENIX_TEMPLATE_TIMEOUT
MEMORY_BYTES = 512 << 20  # address space the templates may add to the process
TIMEOUT_VARIABLE = TEMPLATE_TIMEOUT


def _time_limit(cfg: EnvironmentConfig) -> tuple[float, Problem | None]:
    """The operator's limit (never the repository's: see :mod:`.operator`)."""
    text = cfg.operator.template_timeout
    if text is None:
        return RENDER_SECONDS, None
    try:
        seconds = float(text)
        if 0 < seconds < float("inf"):
            return seconds, None
    except ValueError:
        pass
    return 0.0, Problem(Loc("<environment>", 0, 0), f"{TIMEOUT_VARIABLE} must be a positive "
                                                    f"number of seconds, not '{text}'")


class TemplateVariables(Mapping[str, str]):
    """What ``vars`` gives a template: the env files' variables (a process value still
    overrides them), plus only the process variables the operator named in
    ``PHOENIX_PASSTHROUGH``: never the whole process environment."""

    def __init__(self, variables: Any, passthrough: frozenset[str] = frozenset()) -> None:
        self._variables = variables
        self._passthrough = passthrough

    def _allowed(self, name: str) -> bool:
        return self._variables.declared(name) or name in self._passthrough

    def __getitem__(self, name: str) -> str:
        value = self._variables.lookup(name) if self._allowed(name) else None
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(n for n in (*self._variables, *self._passthrough)
                           if self._allowed(n) and self._variables.lookup(n) is not None))

    def __len__(self) -> int:
        return sum(1 for _ in self)


_PLAIN = re.compile(r"^[A-Za-z0-9_./@%+-]+$")  # emitted as is: no YAML indicator inside


class YamlText(str):
    """Text the ``yaml`` filter produced: structure emitted on purpose, left as it is."""


def yaml_scalar(value: Any) -> str:
    """``{{ value }}`` as exactly one YAML value: plain when safe, else double-quoted."""
    import json

    if isinstance(value, YamlText):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return value if _PLAIN.match(value) else json.dumps(value)
    if isinstance(value, (list, tuple, dict)):
        return to_yaml(value)
    return yaml_scalar(str(value))  # an Undefined raises here, as Jinja would


def to_yaml(value: Any) -> YamlText:
    """The ``yaml`` filter: a value as YAML flow text (a safe dump) that the compose loader
    reads back as the same value (``"0o10"`` and ``"1e3"`` stay strings, quoted)."""
    import yaml


    return YamlText(yaml.dump(value, Dumper=Dumper, default_flow_style=True, width=10**6)
                    .strip().removesuffix("\n...").strip())


def _environment(folder: Path, roots: Roots | None = None) -> Any:
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment


    jenv = ImmutableSandboxedEnvironment(
        loader=confined_loader(folder, roots or Roots(folder)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False,
        finalize=yaml_scalar)
    jenv.filters["yaml"] = to_yaml
    jenv.code_generator_class = line_tracking_codegen()
    return jenv


def _render_tracked(template: Any, context: dict[str, Any], deadline: float,
                    message: str = "rendering took too long") -> tuple[str, tuple[int, ...]]:
    """Render, noting the template line of the ``yield`` that produced each chunk; past the
    deadline the render stops (checked between chunks; the caller's ``_alarm`` stops loops
    that yield nothing)."""
    gen = template.root_render_func(template.new_context(context))
    chunks: list[tuple[str, int]] = []
    for chunk in gen:
        frame = gen.gi_frame
        line = template.get_corresponding_lineno(frame.f_lineno) if frame else 1
        chunks.append((chunk, line))
        if time.monotonic() > deadline:
            raise TemplateTimeout(message)
    return "".join(c for c, _ in chunks), _line_map(chunks)


@contextlib.contextmanager
def _alarm(deadline: float, message: str) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(*_: object) -> None:
        raise TemplateTimeout(message)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, deadline - time.monotonic()))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _line_map(chunks: list[tuple[str, int]]) -> tuple[int, ...]:
    """Each output line maps to the template line of its first non-blank character."""
    lines: list[int] = []
    current: int | None = None
    has_text = False
    for chunk, tline in chunks:
        for k, segment in enumerate(chunk.split("\n")):
            if k:
                lines.append(current if current is not None else tline + k - 1)
                current, has_text = None, False
            if segment.strip() and not has_text:
                current, has_text = tline + k, True
            elif current is None and segment:
                current = tline + k
    lines.append(current if current is not None else (lines[-1] if lines else 1))
    return tuple(lines)


def _explain(exc: Exception, env: str) -> tuple[str, str]:
    import jinja2

    message = getattr(exc, "message", None) or str(exc)
    if not isinstance(exc, jinja2.UndefinedError):
        return message, ""
    missing = re.search(r"Variables object' has no attribute '([^']+)'", message)
    if missing:
        return (f"variable '{missing.group(1)}' is not defined",
                f"set it in envs/common.env or envs/{env}.env, or use "
                f"`vars.{missing.group(1)} | default(...)`")
    return message, "define it, or guard it with `is defined`"


def _template_line(template: Any, tb: TracebackType | None) -> int:
    line = 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == template.filename:
            line = template.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line
