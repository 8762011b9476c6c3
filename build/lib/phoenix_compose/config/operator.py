"""Operator settings: what changes how the engine treats a repository.

A repository may not be trusted (a pre-commit hook or CI validates whatever is checked
out), so these come only from the process environment of whoever runs the engine; the
invoke tasks export the invoke settings ``phoenix.extra_roots``, ``phoenix.passthrough``,
``phoenix.template_timeout`` and the secrets driver's (``SECRETS``) into it.  An env file
of the repository that sets one is ignored, with a located warning."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from phoenix_compose.errors import Loc, Problem

EXTRA_ROOTS = "PHOENIX_EXTRA_ROOTS"  # folders outside the stack root it may read (os.pathsep)
PASSTHROUGH = "PHOENIX_PASSTHROUGH"  # process variables templates may read, comma-separated
TEMPLATE_TIMEOUT = "PHOENIX_TEMPLATE_TIMEOUT"  # seconds one template may take
# The secrets driver and where it keeps values: a repository naming them could send the
# operator's Vault token to its own address, or have the token read from any file.
SECRETS = {"PHOENIX_SECRETS_DRIVER": "secrets_driver", "VAULT_ADDR": "vault_addr",
           "VAULT_TOKEN_FILE": "vault_token_file", "PHOENIX_VAULT_MOUNT": "vault_mount",
           "PHOENIX_SECRETS_GNUPGHOME": "secrets_gnupghome"}
SETTINGS = {EXTRA_ROOTS: "extra_roots", PASSTHROUGH: "passthrough",
            TEMPLATE_TIMEOUT: "template_timeout", **SECRETS}  # invoke settings, under phoenix.
NAMES = tuple(SETTINGS)


@dataclass(frozen=True)
class Operator:
    extra_roots: tuple[Path, ...] = ()
    passthrough: frozenset[str] = frozenset()
    template_timeout: str | None = None  # checked where it is used (templates)

    @classmethod
    def of(cls, process: Mapping[str, str], root: Path) -> Operator:
        """The settings in ``process``; a relative extra root is relative to ``root``."""
        roots = tuple((root / Path(p).expanduser()).resolve()
                      for p in process.get(EXTRA_ROOTS, "").split(os.pathsep) if p.strip())
        allowed = frozenset(n.strip() for n in process.get(PASSTHROUGH, "").split(",")
                            if n.strip())
        return cls(roots, allowed, process.get(TEMPLATE_TIMEOUT))

    def stamp(self) -> str:
        """For the cache key: other settings may give another result."""
        text = repr((sorted(map(str, self.extra_roots)), sorted(self.passthrough),
                     self.template_timeout))
        return hashlib.sha256(text.encode()).hexdigest()


def ignored(name: str, where: Loc) -> Problem:
    """The warning for an env-file line that tries to set an operator setting."""
    return Problem(where, f"{name} is an operator setting: an env file of the repository "
                          "cannot set it, so this line is ignored", severity="warning",
                   hint=f"set it in the environment of the process that runs phoenix, or "
                        f"in the invoke config (phoenix.{SETTINGS[name]})")


def secrets_setting(name: str) -> str | None:
    """A secrets driver setting (one of ``SECRETS``), from the operator only."""
    assert name in SECRETS, name
    return os.environ.get(name) or None
