"""The Jinja loader of the templates: every template and partial (``{% include %}``,
``{% import %}``, ``{% extends %}``, also inside ``{% set %}`` blocks) is read only when it
resolves, after symlinks, inside the stack root (or an operator's extra root).

A refusal is Jinja's ``SecurityError``, not ``TemplateNotFound``, so ``ignore missing``
cannot turn it into silence; it is raised while the including template runs, so it is
located at the line that names the partial."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from phoenix_compose.config.files import Roots, read
from phoenix_compose.errors import Loc


def confined_loader(folder: Path, roots: Roots) -> Any:
    import jinja2
    from jinja2.exceptions import SecurityError
    from jinja2.loaders import split_template_path

    class ConfinedLoader(jinja2.BaseLoader):
        def get_source(self, environment: Any,
                       template: str) -> tuple[str, str, Callable[[], bool]]:
            path = folder.joinpath(*split_template_path(template))  # no "..", no "/x"
            name = f"{folder.name}/{template}"
            refused = roots.refusal(path, name, Loc(name, 0, 0))
            if refused is not None:
                raise SecurityError(refused.message)
            if not (path.exists() or path.is_symlink()):
                raise jinja2.TemplateNotFound(template)
            text, problem = read(path, name)
            if text is None:
                raise jinja2.TemplateError(problem.message if problem else name)
            return text, str(path), lambda: True

    return ConfinedLoader()
