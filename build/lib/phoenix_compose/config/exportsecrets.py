"""The exports write secret references, never values.  ``deploy.kube`` and
``deploy.quadlet`` deliver an environment entry under a secret-looking name (or holding a
URL with a password) as a reference (``secretKeyRef``, ``Secret=...,type=env``); any other
value they would write that holds a value known to be secret is refused here, before
anything is written, with a located error at the use (or, when the use has no place, where
the variable was set).  Known secrets are what masking knows (:class:`.masking.Masker`):
secret-named variables of the env files and the process, secret files, the secrets of the
services' ``env_file`` and of the env files ``include`` reads, URL passwords.  The value is
never printed."""

from __future__ import annotations

from pathlib import Path

from phoenix_compose.config.environment import EnvironmentConfig, Variables, load_environment
from phoenix_compose.config.locator import Locator
from phoenix_compose.config.masking import TEXT_MIN_LENGTH, Masker
from phoenix_compose.config.pipeline import build
from phoenix_compose.config.secretnames import looks_secret
from phoenix_compose.config.secretuse import HINT, describe, service_values
from phoenix_compose.errors import ConfigurationError, Loc, Problem

EXPORTS = "deploy.kube and deploy.quadlet"


def refuse_secret_values(root: Path, env: str, cfg: EnvironmentConfig | None = None) -> None:
    """Raise a located ConfigurationError when an export of ``env`` would write a secret;
    ``cfg``: the prepared project's environment (else it is loaded)."""
    found = export_problems(root, env, cfg)
    if found:
        raise ConfigurationError(found, hint="fix the uses named above, then export again; "
                                             "nothing was written")


def export_problems(root: Path, env: str,
                    cfg: EnvironmentConfig | None = None) -> list[Problem]:
    """Every value an export of ``env`` would write in clear that holds a known secret."""
    cfg = cfg or load_environment(root, env)
    built = build(cfg)  # pure: the where-map of the model the exports render
    if built.where is None:
        return []
    known = Masker.of(cfg.variables, built.model, extra=built.secrets, roots=cfg.roots)
    return leaks(built.where, known, cfg.variables, env)


def leaks(where: Locator, known: Masker, variables: Variables, env: str) -> list[Problem]:
    """``known``: the secret values.  A secret-named variable counts wherever it is
    interpolated; a value is looked for by itself only from TEXT_MIN_LENGTH on (a process
    ``X_KEY=1`` must not refuse every ``1``), as masking looks for it in free text."""
    masker = Masker(v for v in known.values if len(v) >= TEXT_MIN_LENGTH)
    named = _secret_names(variables, masker)
    out = []
    for path, node in service_values(where):
        found = [(name, loc) for name, loc in node.uses
                 if looks_secret(name) or variables.lookup(name) in masker.values]
        text = node.value if isinstance(node.value, str) else ""
        if not found and text and masker.text(text) != text:  # a copy: a template, a file
            name = next((n for value, n in named.items() if value in text), "")
            found = [(name, _place(node.loc, variables.origin(name) if name else None))]
        for name, loc in found:
            what = f"the secret variable {name}" if name else \
                "a secret value (a URL password, or one from a secret file or env_file)"
            out.append(Problem(loc, f"{describe(path)} holds {what}: {EXPORTS} of env "
                                    f"'{env}' would write it in clear; nothing was written",
                               hint=HINT))
    return out


def _secret_names(variables: Variables, masker: Masker) -> dict[str, str]:
    """Known secret value -> the variable that holds it (the env files', the process's)."""
    out: dict[str, str] = {}
    for name, value in [*((n, variables.lookup(n)) for n in variables),
                        *variables.process.items()]:
        if value and value in masker.values:
            out.setdefault(value, name)
    return out


def _place(use: Loc, origin: Loc | None) -> Loc:
    """The use, when it has a place in a file; else where the variable was set."""
    return use if use.line or origin is None else origin
