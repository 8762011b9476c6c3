"""``inv config.show``: the final config, like ``docker compose config``, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

from phoenix_compose.config.dump import dump_yaml
from phoenix_compose.config.masking import Masker
from phoenix_compose.config.pipeline import prepare
from phoenix_compose.config.project import Project
from phoenix_compose.errors import ConfigurationError


def show(root: Path, env: str, fmt: str = "yaml", part: str = "") -> str:
    """The final config, like ``docker compose config``, with secret values masked;
    ``part``: ``services`` or ``images`` lists only those (``--services``, ``--images``)."""
    return render(prepare(root, env), fmt, part)


def render(project: Project, fmt: str = "yaml", part: str = "") -> str:
    """``show``'s text of a prepared project."""
    model = project.model  # the final file, read once by prepare
    services = model.get("services") or {}
    if part == "services":
        return "".join(f"{name}\n" for name in services)
    masker = Masker.of(project.variables, model, roots=project.cfg.roots)
    if part == "images":  # masked as the full output masks them: comparing tells nothing
        images = {masker.text(str(s.get("image") or f"{project.project_name}_{n}"))
                  for n, s in services.items()}
        return "".join(f"{image}\n" for image in sorted(images))
    masked = masker.tree(model)
    if fmt == "json":
        return json.dumps(masked, indent=2) + "\n"
    if fmt != "yaml":
        raise ConfigurationError(f"unknown format '{fmt}'", hint="use --format yaml or json")
    return dump_yaml(masked)
