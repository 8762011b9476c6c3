"""Secrets never printed.  What is masked is what *came from* a secret, by the one rule of
:mod:`.secretnames`: the values under secret-looking keys, the password of every URL with
userinfo (even when it holds an ``@``), and the known secret values (of secret-looking
variables, process ones included, of the env files ``include`` reads, of services'
``env_file`` and of secret files) where they stand as a whole value, or as a whole token
in free text (config.show, error messages, events, hooks, the audit log)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from phoenix_compose._upstream import env_bindings
from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.files import Roots
from phoenix_compose.config.secretnames import (
    MASK,
    is_plaintext_secret,
    looks_secret,
    mask_url_passwords,
    secret_values,
)
from phoenix_compose.errors import ConfigurationError, Problem
from phoenix_compose.fileio import read_yaml

# In free text a value is masked only as a whole token, and only from this length on.  A
# substring replace of every occurrence masked ordinary words: with the password
# `phoenix`, the image `phoenix/app` showed as `********/app`, so comparing `config.show`
# with `config.show --images` told the password.  A token is bounded by anything but the
# characters of names, paths, hosts and image references (a `.` or `:` that ends a
# sentence or starts a tag still bounds it: `w:TOKEN` is masked, `phoenix.example` not).
# A shorter value is masked only where it is a whole value, never inside text.
# A long value (a token, a generated password) is masked wherever it appears, glued to
# other text too (`${GITHUB_TOKEN}:80` quoted in a port error): at this length an ordinary
# word or name that happens to hold it is not a risk worth a leak.
TEXT_MIN_LENGTH = 6
SUBSTRING_MIN_LENGTH = 12
_BEFORE = r"(?<![\w./@-])"
_AFTER = r"(?![\w/@-]|[.:][\w/])"


class Masker:
    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values = frozenset(v for v in values if v and v.strip())
        ordered = sorted(self.values, key=len, reverse=True)
        tokens = [v for v in ordered if TEXT_MIN_LENGTH <= len(v) < SUBSTRING_MIN_LENGTH]
        anywhere = [v for v in ordered if len(v) >= SUBSTRING_MIN_LENGTH]
        parts = ["|".join(map(re.escape, anywhere))] if anywhere else []
        if tokens:
            parts.append(_BEFORE + "(?:" + "|".join(map(re.escape, tokens)) + ")" + _AFTER)
        self._tokens = re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None

    @classmethod
    def of(cls, variables: Mapping[str, str], model: Mapping[str, Any] | None = None,
           names: Iterable[str] | None = None, extra: Iterable[str] = (),
           roots: Roots | None = None) -> Masker:
        """Secret-looking variables (``names`` restricts which are read; else every one,
        the process's included), the content of the model's secret files and the secrets
        of its services' ``env_file``; ``extra``: more known secret values.  ``roots``:
        files outside them are never read, not even to mask what they hold."""
        pairs: list[tuple[str, str]] = [(n, variables.get(n) or "") for n in (
            names if names is not None else variables)]
        if names is None:
            pairs += list(getattr(variables, "process", {}).items())
        values = [*secret_values(pairs), *extra]
        if model:
            values += _file_secrets(model, roots) + _env_file_secrets(model, roots)
        return cls(values)

    def text(self, text: str) -> str:
        """Free text: a whole secret value, URL passwords and secret tokens masked."""
        if text.strip() in self.values:
            return MASK
        text = mask_url_passwords(text, MASK)
        return self._tokens.sub(MASK, text) if self._tokens is not None else text

    def tree(self, value: Any, key: str = "") -> Any:
        """A copy of ``value`` with secrets masked by key, in URLs and by value."""
        if isinstance(value, dict):
            return {k: self.tree(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v) for v in value]
        if key and looks_secret(key) and is_plaintext_secret(key, value):
            return MASK
        if not isinstance(value, str):
            return value
        name, sep, rest = value.partition("=")
        if sep and not key and looks_secret(name) and is_plaintext_secret(name, rest):
            return f"{name}={MASK}"  # a list-form environment entry
        return self.text(value)


def _readable(path: Path, roots: Roots | None) -> bool:
    return path.is_file() and (roots is None or roots.holds(path))


def _file_secrets(model: Mapping[str, Any], roots: Roots | None = None) -> list[str]:
    values = []
    secrets = model.get("secrets") or {}
    for secret in secrets.values() if isinstance(secrets, dict) else ():
        path = Path(str(secret.get("file"))) if isinstance(secret, dict) and \
            secret.get("file") else None
        if path is not None and _readable(path, roots):
            try:
                values.append(path.read_text(encoding="utf-8").strip())
            except (OSError, UnicodeDecodeError):
                continue
    return values


def _env_file_secrets(model: Mapping[str, Any], roots: Roots | None = None) -> list[str]:
    """The secrets in the services' ``env_file`` files (the final model's paths)."""
    services = model.get("services") or {}
    paths: list[str] = []
    for svc in services.values() if isinstance(services, dict) else ():
        found = svc.get("env_file") if isinstance(svc, dict) else None
        for item in found if isinstance(found, list) else [found] if found else []:
            paths.append(str(item.get("path") if isinstance(item, dict) else item))
    pairs: list[tuple[str, str]] = []
    for path in map(Path, paths):
        try:
            text = path.read_text(encoding="utf-8") if _readable(path, roots) else ""
        except (OSError, UnicodeDecodeError):
            continue
        pairs += [(b.key, b.value) for b in env_bindings(text) if b.key and b.value]
    return secret_values(pairs)


def masked_problems(masker: Masker, problems: Iterable[Problem]) -> list[Problem]:
    """No secret value in a message: problems may quote values (a cast that failed)."""
    from dataclasses import replace

    return [replace(p, message=masker.text(p.message), hint=masker.text(p.hint))
            for p in problems]


def mask_secrets(value: Any) -> Any:
    """Mask by key name and in URLs (no values known)."""
    return Masker().tree(value)


def masker_for(root: Path, env: str) -> Masker:
    """The masker of an environment's secrets; an env that does not load masks by key
    name and in URLs only."""
    import yaml


    try:
        cfg = load_environment(root, env)
    except ConfigurationError:
        return Masker()
    model = None
    if cfg.state.compose_file.is_file():
        try:
            model = read_yaml(cfg.state.compose_file)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            model = None
    return Masker.of(cfg.variables, model if isinstance(model, dict) else None,
                     roots=cfg.roots)
