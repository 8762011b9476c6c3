"""Where a secret goes, by the one rule of :mod:`.secretnames`.  A secret reaches a
container safely in two ways only: as a compose secret (a file under /run/secrets/), or
under an environment key the exports deliver as a secret reference (a secret-looking name,
or a URL with a password: a Kubernetes ``secretKeyRef``, a Quadlet ``Secret=...,type=env``).
Anywhere else (a command, an entrypoint, a healthcheck, a label, a plain environment
variable such as ``DSN`` or ``FOO``) it is written in clear: into ``podman inspect``, and by
``deploy.kube`` and ``deploy.quadlet`` into files that get committed.

A secret-named variable interpolated there is refused by the production policy and a
warning elsewhere (:func:`secret_use_problems`, at the ``$`` that uses it); the exports
refuse any value known to be secret there (:mod:`.exportsecrets`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phoenix_compose.config.locator import Locator
from phoenix_compose.config.secretnames import is_plaintext_secret, looks_secret
from phoenix_compose.config.yamlsrc import N, Path
from phoenix_compose.errors import Problem

HINT = ("deliver it as a compose secret (`secrets:` on the service; the program reads "
        "/run/secrets/NAME, or NAME_FILE=/run/secrets/NAME) instead of interpolating it")
_NEVER_SECRET = ("labels", "annotations")  # metadata: shown by inspect, never delivered


def describe(path: Path) -> str:
    """``services.app.command[2]``: the key a message names."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def delivered(path: Path, value: Any) -> bool:
    """Is the value at ``path`` (below ``services.<name>``) delivered as a secret: an
    environment entry the exports write as a secret reference, or another key with a
    secret-looking name (``build.args.NPM_TOKEN``), labels excepted?"""
    names = [p for p in path[2:] if isinstance(p, str)]
    if any(p in _NEVER_SECRET for p in names):
        return False
    if len(path) == 4 and path[2] == "environment":
        return is_plaintext_secret(str(path[3]), value)
    return bool(names) and looks_secret(names[-1])


def service_values(where: Locator) -> Iterator[tuple[Path, N]]:
    """Every scalar below ``services.<name>`` that a container (or an export) receives
    where it is not delivered as a secret; extension keys (``x-``) are ours, never passed on."""
    for path, node in sorted(where.where.items(), key=lambda item: item[1].loc):
        if len(path) < 3 or path[0] != "services" or str(path[2]).startswith("x-") or \
                isinstance(node.value, (dict, list)) or delivered(path, node.value):
            continue
        yield path, node


def secret_use_problems(where: Locator, production: bool) -> list[Problem]:
    """A secret-named variable interpolated into a key that is not a secret: an error of
    the production policy, a warning elsewhere."""
    out = []
    for path, node in service_values(where):
        for name, loc in node.uses:
            if looks_secret(name):
                out.append(Problem(
                    loc, f"{'production policy: ' if production else ''}the secret variable "
                         f"{name} is interpolated into {describe(path)}, which is written in "
                         "clear (inspect, the exports)",
                    "error" if production else "warning", hint=HINT))
    return out
