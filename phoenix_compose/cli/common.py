"""What every task shares: the stack root, the default env, and the error boundary."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from invoke import Context, Exit

from phoenix_compose.errors import ConfigurationError, PhoenixError

DEFAULTS = {"root": ".", "env": "development", "lock_wait": 10.0, "hooks": {},
            "hook_timeout": 10.0}
ENV_HELP = "environment: the name of a file envs/<name>.env (default: phoenix.env)"


def stack_root(c: Context) -> Path:
    return Path(c.config.phoenix.root).resolve()


def env_name(c: Context, env: str | None) -> str:
    return env or c.config.phoenix.env


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextmanager
def boundary() -> Iterator[None]:
    """Turn the engine's typed errors into a clean message and exit code, never a traceback."""
    try:
        yield
    except ConfigurationError as exc:
        err(str(exc))
        if exc.hint:
            err(f"hint: {exc.hint}")
        raise Exit(code=exc.exit_code) from None
    except PhoenixError as exc:
        err(f"error: {exc}")
        raise Exit(code=exc.exit_code) from None
