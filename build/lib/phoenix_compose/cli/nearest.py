"""docker compose's flags that phoenix does not take, each with the nearest thing it
does: one line instead of invoke's "No idea what '--scale' is!" (see parsing)."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
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
    "--file": "give it before the task, as in docker compose (`phoenix -f FILE up`), in a "
              "compose project; a stack root's files are compose/*.yaml",
    "--project-name": "give it before the task (`phoenix -p NAME up`), or set "
                      "COMPOSE_PROJECT_NAME in envs/<env>.env, or a top-level name:",
    "--project-directory": "give it before the task (`phoenix --project-directory DIR "
                           "up`); phoenix finds the stack from the current folder upward",
    "--timeout": "this task takes no timeout; `inv stop --timeout N` stops with one",
    "-t": "this task takes no -t; `inv stop --timeout N` stops with a timeout",
}
_UNKNOWN = re.compile(r"No idea what '([^']+)' is!")
def nearest(message: str) -> str | None:
    """For invoke's unknown-flag message about one of docker compose's flags, ours."""
    match = _UNKNOWN.search(message)
    flag = match.group(1).split("=", 1)[0] if match else ""
    if flag not in NEAREST:
        return None
    from phoenix_compose.cli.common import for_program

    return for_program(f"{flag} is docker compose's; phoenix does not take it here: "
                       f"{NEAREST[flag]}")
