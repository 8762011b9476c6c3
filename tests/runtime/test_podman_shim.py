"""The seam's old name, which the plugin guide documented before the rename, still works
for an outside plugin: warned, and the very module (a patch of commands reaches it)."""

from __future__ import annotations

import importlib
import sys

import pytest

from phoenix_compose.runtime import commands


def test_the_old_seam_name_is_the_commands_module_with_a_warning(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "phoenix_compose.runtime.podman", raising=False)
    with pytest.warns(DeprecationWarning, match="runtime.commands"):
        podman = importlib.import_module("phoenix_compose.runtime.podman")
    assert podman is commands
    from phoenix_compose.runtime import podman as again
    assert again is commands and again.run is commands.run
