from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parent.parent
STACK_DIRS = ("compose", "templates", "envs", "images")


@pytest.fixture(autouse=True)
def _guard_real_tree(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never write into the real .phoenix/, .vscode/ or the user's config."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("INVOKE_PHOENIX_ROOT", raising=False)
    monkeypatch.delenv("INVOKE_PHOENIX_ENV", raising=False)
    for name in list(os.environ):
        if name.startswith(("PHOENIX_", "COMPOSE_")):
            monkeypatch.delenv(name)


StackMaker = Callable[[dict[str, str]], Path]


@pytest.fixture
def make_stack(tmp_path: Path) -> StackMaker:
    """Write ``{relative path: text}`` (dedented) under a fresh stack root."""

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "stack"
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        (root / "envs").mkdir(parents=True, exist_ok=True)
        return root

    return make


@pytest.fixture
def phoenix_stack(tmp_path: Path) -> Path:
    """A copy of the real Phoenix Hydra stack."""
    root = tmp_path / "phoenix"
    for name in STACK_DIRS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "tasks.py", root / "tasks.py")
    return root
