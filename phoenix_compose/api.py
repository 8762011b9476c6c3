"""The stable public API of the config engine, for embedding it (and for ``tasks/`` plugins).

Everything here keeps its signature and meaning across releases; the modules behind it may
change.  Errors are :class:`ConfigurationError`, whose ``problems`` each carry ``file``,
``line``, ``column`` and ``message``.

>>> interpolate("${NAME:-web}-1", {})
'web-1'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from phoenix_compose.config.interpolate import interpolate as _interpolate
from phoenix_compose.config.loading import Context, read_text
from phoenix_compose.config.project import assemble, load_documents, raise_errors
from phoenix_compose.config.yamlsrc import plain_locator
from phoenix_compose.errors import ConfigurationError, Loc, Problem

__all__ = ["ConfigurationError", "Problem", "interpolate", "load_project"]


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with compose's ``${VAR}`` forms substituted from ``variables``.

    Raises ConfigurationError on a bad expression or a missing required variable
    (``${VAR:?message}``); its problem's column is that of the ``$``.
    """
    value, findings = _interpolate(text, variables.get)
    errors = [Problem(Loc("<string>", 1, f.offset + 1), f.message) for f in findings
              if f.severity == "error"]
    if errors:
        raise ConfigurationError(errors)
    return value


def _name_of(path: Path) -> str:
    """A file as locations name it: relative to the current directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_project(files: Sequence[str | Path], variables: Mapping[str, str], *,
                 project_dir: str | Path | None = None, profiles: Sequence[str] = (),
                 validate: bool = False) -> dict[str, Any]:
    """The compose model of ``files``: each loaded with locations and interpolated with
    ``variables``, all merged in order with the compose-spec rules, relative paths resolved
    against ``project_dir`` (default: the folder of the first file).  Services whose
    ``profiles`` are all inactive are left out (a kept service that requires one is an
    error).  With ``validate``, the compose-spec schema and the semantic checks apply.
    Returns plain dicts and lists; raises ConfigurationError with every problem found."""
    paths = [Path(f) for f in files]
    if not paths:
        raise ConfigurationError([Problem(Loc("<files>", 0, 0), "no compose files given")])
    ctx = Context(variables.get, lambda _name: None, _name_of)
    sources = []
    for path in paths:
        text = read_text(path, Loc(_name_of(path), 0, 0), ctx)
        if text is not None:
            sources.append((text, plain_locator(_name_of(path)), path))
    base = Path(project_dir) if project_dir is not None else paths[0].resolve().parent
    docs = load_documents(sources, base.resolve(), ctx)
    from phoenix_compose.config.masking import Masker, masked_problems

    masker = Masker.of(variables, extra=ctx.secrets)  # no secret value in a message
    raise_errors(masked_problems(masker, ctx.problems))
    model, found = assemble(docs, base.resolve(), Loc(_name_of(paths[0]), 1, 1), validate=validate,
                            lookup=variables.get, profiles=set(profiles))
    raise_errors(masked_problems(masker, found))
    return model
