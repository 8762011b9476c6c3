"""``inv config.show``: the final config, like ``docker compose config``, secrets masked."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from phoenix_compose.config.dump import dump_yaml
from phoenix_compose.config.pipeline import prepare
from phoenix_compose.config.policy import SECRET_KEY
from phoenix_compose.errors import ConfigurationError

MASK = "********"
_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^/:@\s]*:)[^@\s]+@")


def mask_secrets(value: Any, key: str = "") -> Any:
    """Mask the values of secret-like keys (``*PASSWORD*``, ``*TOKEN*``, ``*_KEY`` ...)."""
    if isinstance(value, dict):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    if key and SECRET_KEY.search(key) and not key.upper().endswith("_FILE") and value:
        return MASK
    if isinstance(value, str) and "=" in value and not key:
        name, _, rest = value.partition("=")
        if SECRET_KEY.search(name) and not name.upper().endswith("_FILE") and rest:
            return f"{name}={MASK}"
    if isinstance(value, str):
        return _URL_PASSWORD.sub(rf"\1{MASK}@", value)
    return value


def show(root: Path, env: str, fmt: str = "yaml") -> str:
    """The final config, like ``docker compose config``, with secret values masked."""
    import yaml

    outcome = prepare(root, env)
    model = yaml.safe_load(outcome.compose_file.read_text(encoding="utf-8"))
    masked = mask_secrets(model)
    if fmt == "json":
        return json.dumps(masked, indent=2) + "\n"
    if fmt != "yaml":
        raise ConfigurationError(f"unknown format '{fmt}'", hint="use --format yaml or json")
    return dump_yaml(masked)
