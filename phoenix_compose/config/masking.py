"""Secrets never printed: values are masked by key name (``*PASSWORD*``, ``*TOKEN*``, ...),
inside URLs (``scheme://user:PASSWORD@host``, even when the password holds an ``@``), and
by value: the value of every secret-looking variable and the content of every secret
file, wherever it appears (config.show, error messages, events)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from phoenix_compose.config.policy import SECRET_KEY
from phoenix_compose.fileio import read_yaml

MASK = "********"
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|"
                         r"CREDENTIAL|_KEY$|^KEY$|AUTH", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^/:@\s]*:)[^/\s]*@")
MIN_LENGTH = 4  # shorter values would mask ordinary words


class Masker:
    def __init__(self, values: Iterable[str] = ()) -> None:
        found = {v for v in values if len(v) >= MIN_LENGTH}
        self.values = sorted(found, key=len, reverse=True)

    @classmethod
    def of(cls, variables: Mapping[str, str], model: Mapping[str, Any] | None = None,
           names: Iterable[str] | None = None) -> Masker:
        """Secret-looking variables (``names`` restricts which are read) and the content
        of the model's secret files."""
        values = [variables[n] for n in (names if names is not None else variables)
                  if SECRET_NAME.search(n) and variables.get(n)]
        secrets = (model or {}).get("secrets") or {}
        for secret in secrets.values() if isinstance(secrets, dict) else ():
            path = Path(str(secret.get("file"))) if isinstance(secret, dict) and \
                secret.get("file") else None
            if path is not None and path.is_file():
                try:
                    values.append(path.read_text(encoding="utf-8").strip())
                except (OSError, UnicodeDecodeError):
                    continue
        return cls(values)

    def text(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, MASK)
        return _URL_PASSWORD.sub(rf"\1{MASK}@", text)

    def tree(self, value: Any, key: str = "") -> Any:
        """A copy of ``value`` with secrets masked by key, in URLs and by value."""
        if isinstance(value, dict):
            return {k: self.tree(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v) for v in value]
        if key and SECRET_KEY.search(key) and not key.upper().endswith("_FILE") and value:
            return MASK
        if isinstance(value, str) and "=" in value and not key:
            name, _, rest = value.partition("=")
            if SECRET_KEY.search(name) and not name.upper().endswith("_FILE") and rest:
                return f"{name}={MASK}"
        return self.text(value) if isinstance(value, str) else value


def mask_secrets(value: Any) -> Any:
    """Mask by key name and in URLs (no values known)."""
    return Masker().tree(value)


def masker_for(root: Path, env: str) -> Masker:
    """The masker of an environment's secrets; an env that does not load masks by key
    name and in URLs only."""
    import yaml

    from phoenix_compose.config.environment import load_environment
    from phoenix_compose.errors import ConfigurationError

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
    return Masker.of(cfg.variables, model if isinstance(model, dict) else None)
