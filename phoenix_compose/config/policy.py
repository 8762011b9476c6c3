"""The production policy: rules a production environment (``prod``, or any env with
``PHOENIX_PRODUCTION=true``) must also pass."""

from __future__ import annotations

import re
from typing import Any

from phoenix_compose.config.locator import Locator
from phoenix_compose.errors import Problem

SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|^KEY$", re.IGNORECASE)


def _map(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def image_is_pinned(image: str) -> bool:
    if "@sha256:" in image or "@" in image:
        return True
    name = image.rsplit("/", 1)[-1]
    return ":" in name and name.rsplit(":", 1)[1] not in ("", "latest")


def production_problems(model: dict[str, Any], where: Locator) -> list[Problem]:
    out = []
    for name, svc in _map(model.get("services")).items():
        if not isinstance(svc, dict):
            continue
        base = ("services", name)
        image = svc.get("image")
        if isinstance(image, str) and not image_is_pinned(image):
            loc, note = where.value(base + ("image",))
            out.append(Problem(loc, f"production policy: image '{image}' of service '{name}' "
                                    f"is not pinned{note}",
                               hint="use a fixed tag other than latest, or a digest"))
        if svc.get("privileged") in (True, "true", "True"):
            out.append(Problem(where.at(base + ("privileged",), key=True),
                               f"production policy: service '{name}' must not be privileged"))
        env = svc.get("environment")
        for key, value in (env.items() if isinstance(env, dict) else ()):
            if SECRET_KEY.search(key) and not key.upper().endswith("_FILE") and value:
                out.append(Problem(where.at(base + ("environment", key), key=True),
                                   f"production policy: plaintext secret '{key}' in the "
                                   f"environment of service '{name}'",
                                   hint=f"use a compose secret and {key}_FILE=/run/secrets/..."))
    return out
