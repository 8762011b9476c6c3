"""Lines of env files that no variable may be: a NUL byte anywhere, and in a lock file
anything but an image pin; and an env-file line as a message may quote it (masked)."""

from __future__ import annotations

import re

from phoenix_compose._upstream import env_bindings
from phoenix_compose.config.reference import digest_pin
from phoenix_compose.config.secretnames import MASK, is_plaintext_secret
from phoenix_compose.errors import Loc, Problem

_PIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*_IMAGE")


def file_problems(text: str, rel: str, lock: bool) -> list[Problem]:
    """A NUL byte, which no variable can carry, on any line; and in ``envs/<env>.lock``
    (written by ``inv images.promote``, read above the env file) anything but an image
    pin: it would otherwise be a quiet place to set PHOENIX_PRODUCTION=false."""
    problems = [Problem(Loc(rel, n, line.index("\x00") + 1), "a NUL byte, which no "
                        "variable can carry", hint="remove it")
                for n, line in enumerate(text.split("\n"), 1) if "\x00" in line]
    return problems or (_lock_problems(text, rel) if lock else [])


def _lock_problems(text: str, rel: str) -> list[Problem]:
    """Every line of a lock file that is not ``NAME_IMAGE=<reference>@sha256:<hex>``."""
    problems = []
    for binding in env_bindings(text):
        if binding.key is None and not binding.error:
            continue  # comment or blank line
        if binding.key and _PIN_NAME.fullmatch(binding.key) and binding.value is not None \
                and digest_pin(binding.value):
            continue
        statement = masked((binding.text.strip().splitlines() or [""])[0])
        problems.append(Problem(Loc(rel, binding.line, 1), f"'{statement}' is not an image "
                                "pin (NAME_IMAGE=<image>@sha256:<64 hex digits>), the only "
                                "line a lock file may hold",
                                hint="variables go in the env file; regenerate the lock with "
                                     "`inv images.promote`"))
    return problems


def masked(statement: str) -> str:
    """An env-file line for a message: the value of a secret-looking name is hidden."""
    name, sep, value = statement.partition("=")
    bare = re.sub(r"^export\s+", "", name.strip())
    return f"{name}={MASK}" if sep and is_plaintext_secret(bare, value.strip()) else statement
