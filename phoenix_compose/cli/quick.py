"""``phoenix config.show`` answered without loading invoke.

invoke's own import is about 85 ms of the ``phoenix`` program's start-up (its package
imports every module it has: ``importlib.metadata`` for its version, its vendored
pure-Python YAML, the parser, the executor), more than docker compose takes for the whole
``config`` of a large file.  VS Code tasks, pre-commit hooks and CI steps that print the
final config pay it on every call, so the program answers that one question itself when
nothing could make invoke's answer differ:

- the arguments are ``config.show`` and its own options, in the forms listed here (after
  the docker compose global flags, which ``program`` has already applied);
- no ``--plugins`` (a plugin's hooks run in invoke's path);
- no invoke configuration: no ``/etc/invoke.*``, ``~/.invoke.*`` or ``INVOKE_*`` variable
  (the operator's settings and default env come from those);
- the config is valid: ``pipeline.prepare`` answers it as in invoke's path (from a fresh
  cache, else built and written).

Anything else, any error included, returns None before anything is printed, and invoke
runs the task as always (and reports the error, located): the quick answer prints the same
text or nothing (tests/cli/test_quick.py).
"""

from __future__ import annotations

import os
from pathlib import Path

TASK = "config.show"
VALUED = {"--env": "env", "-e": "env", "--format": "format", "-f": "format"}
SWITCHES = {"--services": "services", "-s": "services", "--images": "images",
            "-i": "images", "--quiet": "quiet", "-q": "quiet"}
INVOKE_FILES = ("yaml", "yml", "json", "py")
STACK_ENV = "development"  # a stack root's default env (cli.common.DEFAULTS has these)
LOG_ROTATION = (5_000_000, 3)  # phoenix.log_max_bytes, phoenix.log_keep


def answer(root: Path, args: list[str]) -> int | None:
    """Print the final config and return 0, or None when invoke must answer."""
    options = parse(args)
    if options is None or configured():
        return None
    try:
        text = _text(root.resolve(), options)
    except Exception:  # invoke's path reports it, located, as always
        return None
    if text is None:
        return None
    if "quiet" not in options:
        from phoenix_compose.cli.output import say

        say(text, end="")
    return 0


def parse(args: list[str]) -> dict[str, str] | None:
    """``config.show``'s options, or None for anything else (another task, ``--help``, a
    form of an option not listed here)."""
    if not args or args[0] != TASK:
        return None
    options: dict[str, str] = {}
    rest = iter(args[1:])
    for arg in rest:
        flag, equals, value = arg.partition("=")
        if flag in VALUED and (equals and flag.startswith("--") or not equals):
            value = value if equals else next(rest, "")
            if not value or value.startswith("-") or VALUED[flag] in options:
                return None
            options[VALUED[flag]] = value
        elif arg in SWITCHES:
            options[SWITCHES[arg]] = ""
        else:
            return None
    return options


def configured() -> bool:
    """Whether invoke has configuration that could change the answer."""
    if any(name.startswith("INVOKE_") for name in os.environ):
        return True
    try:
        home = Path.home()
    except (KeyError, RuntimeError):  # no home: invoke would look there and fail its way
        return True
    return any(path.exists() for ext in INVOKE_FILES
               for path in (Path(f"/etc/invoke.{ext}"), home / f".invoke.{ext}"))


def _text(root: Path, options: dict[str, str]) -> str | None:
    from phoenix_compose.config.pipeline import prepare
    from phoenix_compose.config.show import render
    from phoenix_compose.config.stackfiles import PROJECT_ENV, is_compose_project
    from phoenix_compose.fileio import set_rotation
    from phoenix_compose.statedir import valid_env_name

    env = options.get("env") or (PROJECT_ENV if is_compose_project(root) else STACK_ENV)
    if not valid_env_name(env):
        return None
    set_rotation(*LOG_ROTATION)  # as cli.common.stack_root applies the defaults
    project = prepare(root, env)  # an error: invoke's path reports it
    part = "services" if "services" in options else "images" if "images" in options else ""
    return render(project, options.get("format", "yaml"), part)
