"""Which ``phoenix`` a committed tasks.json calls (for ``vscode.tasks --check``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from phoenix_compose.fileio import read_bytes

PHOENIX = "phoenix"  # as integrations.vscode names it


def committed_command(path: Path) -> tuple[str, str] | None:
    """The ``phoenix`` the committed tasks.json calls, when it is one that works here: bare
    ``phoenix``, one under ``${workspaceFolder}``, or an existing ``phoenix`` program.  A
    check keeps it: which ``phoenix`` generated the file (on PATH or not) is no staleness;
    a path that does not exist here is (the file names another machine's)."""
    try:
        tasks = json.loads(read_bytes(path)).get("tasks") or []
        command, windows = tasks[0]["command"], tasks[0]["windows"]["command"]
    except (OSError, ValueError, AttributeError, LookupError, TypeError):
        return None
    if not (isinstance(command, str) and isinstance(windows, str)) or \
            Path(command).name != PHOENIX:
        return None
    usable = command == PHOENIX or command.startswith("${workspaceFolder}/") or \
        (Path(command).is_absolute() and os.access(command, os.X_OK))
    return (command, windows) if usable else None
