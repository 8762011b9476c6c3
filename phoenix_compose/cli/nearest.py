"""docker compose's flags that phoenix does not take, each with the nearest thing it
does: one line instead of invoke's "No idea what '--scale' is!" (see parsing)."""

from __future__ import annotations

import re

NEAREST = {
    "--scale": "one container per service here; `inv run SERVICE` starts a one-off",
    "--remove-orphans": "`inv up` removes the containers of services no longer in the "
                        "config by itself (`inv plan` lists them)",
    "--no-recreate": "`inv start` starts the containers that exist and recreates nothing",
    "--abort-on-container-exit": "`inv run SERVICE -- CMD` exits with its command's code",
    "--exit-code-from": "`inv run SERVICE -- CMD` exits with its command's code",
    "--no-start": "`inv plan` shows what `up` would create, without creating it",
    "--quiet-pull": "pulls print one line per image already",
    "--always-recreate-deps": "`inv up --force-recreate` without service names recreates "
                              "every service",
    "--file": "the compose files are the stack root's compose/*.yaml; `inv config.show` "
              "prints what they merge into",
    "--project-name": "the project is COMPOSE_PROJECT_NAME in envs/<env>.env, or a "
                      "top-level name: in a compose file",
    "--project-directory": "phoenix finds the stack from the current folder upward (a "
                           "folder holding envs/ or compose/)",
    "--timeout": "this task takes no timeout; `inv stop --timeout N` stops with one",
    "-t": "this task takes no -t; `inv stop --timeout N` stops with a timeout",
}
_UNKNOWN = re.compile(r"No idea what '([^']+)' is!")
# docker compose's global flags, which invoke would read as its own (``-f`` its config
# file, ``-p`` its --pty): refused by the ``phoenix`` program before the task
GLOBALS = {"-f": "--file", "--file": "--file", "-p": "--project-name",
           "--project-name": "--project-name", "--project-directory": "--project-directory"}


def global_flag(args: list[str], tasks: set[str]) -> str | None:
    """The one-line error for a docker compose global flag given before the task."""
    for arg in args:
        if arg in tasks:
            return None
        flag = GLOBALS.get(arg.split("=", 1)[0])
        if flag is not None:
            return f"error: {arg.split('=', 1)[0]} is docker compose's; phoenix does not " \
                   f"take it yet: {NEAREST[flag].replace('`inv ', '`phoenix ')}"
    return None


def nearest(message: str) -> str | None:
    """For invoke's unknown-flag message about one of docker compose's flags, ours."""
    match = _UNKNOWN.search(message)
    flag = match.group(1).split("=", 1)[0] if match else ""
    if flag not in NEAREST:
        return None
    from phoenix_compose.cli.common import for_program

    return for_program(f"{flag} is docker compose's; phoenix does not take it here: "
                       f"{NEAREST[flag]}")
