"""README is the front door: at most 250 lines, every link leads to a file, and its quick
start is a stack that validates as it says (development valid, prod refused, located)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phoenix_compose.config.pipeline import check
from phoenix_compose.errors import ConfigurationError

from support import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _quick_start_files() -> dict[str, str]:
    """Every "`path`:" line of README followed by a fenced block: that file's text."""
    found = re.findall(r"^`([\w./-]+)`:\n\n```\w*\n(.*?)^```", README, re.M | re.S)
    return dict(found)


def test_the_readme_is_a_front_door_of_at_most_250_lines() -> None:
    assert len(README.splitlines()) <= 250
    assert README.index("## Quick start") < README.index("## Concepts")


def test_every_relative_link_of_the_readme_and_the_docs_leads_to_a_file() -> None:
    pages = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").rglob("*.md"))]
    missing = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text("utf-8")):
            if not (page.parent / target).exists():
                missing.append(f"{page.relative_to(REPO)} -> {target}")
    assert missing == []


def _quick_start(tmp_path: Path) -> Path:
    files = _quick_start_files()
    assert set(files) == {"compose/app.yaml", "envs/dev.env", "envs/prod.env"}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_quick_start_stack_is_valid_in_development(tmp_path: Path) -> None:
    outcome = check(_quick_start(tmp_path), "dev", use_cache=False)
    assert outcome.project_name == "quickstart-dev"
    assert not outcome.production


def test_the_quick_start_prod_env_is_refused_as_readme_says(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check(_quick_start(tmp_path), "prod", use_cache=False)
    errors = [p for p in caught.value.problems if p.severity == "error"]
    assert len(errors) == 2
    assert all(p.loc.file == "compose/app.yaml" and p.loc.line > 0 for p in errors)
    assert all("digest" in p.message for p in errors)


def test_the_task_reference_is_current() -> None:
    """docs/reference.md is generated from the task list: a task or flag added, renamed or
    re-described without `python tools/reference.py` fails here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("reference", REPO / "tools" / "reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (REPO / "docs" / "reference.md").read_text(encoding="utf-8") == module.render(REPO)
