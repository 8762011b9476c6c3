"""The last valid ``.phoenix/<env>/compose.yaml``: what ``down``, status and the watcher use
when the config is broken, trusted only as far as its seal and its project go."""

from __future__ import annotations

from pathlib import Path

from phoenix_compose import stackkey
from phoenix_compose.config import enginefile
from phoenix_compose.config.assemble import raise_errors
from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.recorded import located_model, project_problem
from phoenix_compose.errors import ConfigurationError, Loc, Problem, StateError
from phoenix_compose.fileio import read_bytes
from phoenix_compose.runtime.stack import Stack, load_stack
from phoenix_compose.statedir import LAST_VALID, StateDir


def last_valid(root: Path, env: str) -> Stack:
    """The last valid ``.phoenix/<env>/compose.yaml``, for ``down``, status and the watcher
    when the config is broken: only if its MAC matches (phoenix wrote it as it is) and it
    names the env's own project (its ``name:`` is never trusted alone)."""
    state = StateDir(root, env)
    loc = Loc(str(state.compose_file.relative_to(root)), 1, 1)
    try:
        text = read_bytes(state.compose_file).decode("utf-8")
        mac = read_bytes(state.compose_seal).decode().strip() \
            if state.compose_seal.exists() else None
        sealed = stackkey.is_sealed(root, mac, LAST_VALID, env.encode(), text.encode())
    except (OSError, ValueError) as exc:
        raise StateError(f"{loc}: error: the last valid file cannot be read: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
    if not sealed:
        raise ConfigurationError([Problem(loc, "the last valid file does not match its MAC "
                                               "(edited, or written by an older phoenix); "
                                               "refusing to use it")])
    model, where, problems = located_model(text, loc.file)
    try:
        project = load_environment(root, env).project_name
    except ConfigurationError:  # the MAC says phoenix wrote this name for this env
        project = str(model.get("name") or "")
    named = project_problem(model, where, project)
    raise_errors(problems + ([named] if named else []))
    try:  # podman-compose's copy, from the verified text (never as found)
        enginefile.write(state.compose_file, text)
    except OSError as exc:
        raise StateError(f"{loc}: error: podman-compose's copy of the last valid file cannot "
                         f"be written: {exc.strerror or exc}") from None
    return load_stack(state.compose_file, project)
