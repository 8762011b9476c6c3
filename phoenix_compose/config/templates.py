"""Jinja overlays: ``templates/*.yaml.j2`` rendered with ``env`` and ``vars``.

Rendering records which template line produced each output line, so a problem found in
the rendered YAML (or in the merged model) points back into the template the user wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from phoenix_compose.config.yamlsrc import Locator
from phoenix_compose.errors import Loc, Problem

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
    """Render every overlay; all template errors are collected, located in the template."""
    import jinja2

    stack = cfg.stack
    if not stack.templates:
        return [], []
    jenv = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(stack.root / "templates")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    jenv.code_generator_class = _line_tracking_codegen()
    rendered: list[Rendered] = []
    problems: list[Problem] = []
    for path in stack.templates:
        rel = stack.rel(path)
        try:
            template = jenv.get_template(path.name)
            text, line_map = _render_tracked(template, {"env": cfg.name, "vars": cfg.variables})
        except jinja2.TemplateSyntaxError as exc:
            problems.append(Problem(Loc(rel, exc.lineno or 1, 1),
                                    f"template syntax error: {exc.message}"))
            continue
        except Exception as exc:  # an error raised while rendering: undefined, filters, ...
            line = _template_line(template, exc.__traceback__)
            message, hint = _explain(exc, cfg.name)
            problems.append(Problem(Loc(rel, line, 1), f"template error: {message}", hint=hint))
            continue
        rendered.append(Rendered(rel, path.name[: -len(".j2")], text, line_map))
    return rendered, problems


def _line_tracking_codegen() -> type:
    """A code generator that yields template text node by node.

    Jinja folds consecutive text into one ``yield`` without line information; refusing the
    folding gives every text node its own ``yield`` tagged with the node's line.
    """
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator

    class LineTrackingCodeGenerator(CodeGenerator):
        def _output_child_to_const(self, node: Any, frame: Any, finalize: Any) -> str:
            if isinstance(node, nodes.TemplateData):
                raise nodes.Impossible()
            return super()._output_child_to_const(node, frame, finalize)

    return LineTrackingCodeGenerator


def _render_tracked(template: Any, context: dict[str, Any]) -> tuple[str, tuple[int, ...]]:
    """Render, noting the template line of the ``yield`` that produced each chunk."""
    gen = template.root_render_func(template.new_context(context))
    chunks: list[tuple[str, int]] = []
    for chunk in gen:
        frame = gen.gi_frame
        line = template.get_corresponding_lineno(frame.f_lineno) if frame else 1
        chunks.append((chunk, line))
    return "".join(c for c, _ in chunks), _line_map(chunks)


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


def overlay_paths(cfg: EnvironmentConfig, rendered: list[Rendered]) -> dict[Path, str]:
    return {cfg.state.overlays / r.name: r.text for r in rendered}
