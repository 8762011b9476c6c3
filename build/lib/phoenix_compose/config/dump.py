"""The final compose file's text: fixed key order, every literal ``$`` escaped."""

from __future__ import annotations

import json
from typing import Any

_TOP_ORDER = ("name", "services", "networks", "volumes", "secrets", "configs")


def dump_compose(model: dict[str, Any]) -> str:
    """Fixed key order (top level first, then sorted), every literal ``$`` escaped."""
    return dump_yaml(_final(model))


def dump_final(model: dict[str, Any]) -> tuple[str, str | None]:
    """The final file's YAML (:func:`dump_compose`) and the same data as JSON, which
    ``json.loads`` reads back as reading the YAML would (libyaml's loader builds it in
    Python, about ten times slower); None when a value has no JSON form (a date in an
    extension field): then the YAML is read."""
    data = _final(model)
    try:
        as_json = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        as_json = None
    return dump_yaml(data), as_json


def _final(model: dict[str, Any]) -> dict[str, Any]:
    model = _octal_modes(model)
    ordered = {k: _sorted(model[k]) for k in _TOP_ORDER if k in model}
    ordered.update({k: _sorted(model[k]) for k in sorted(model) if k not in ordered})
    return _escape(ordered)


def dump_yaml(data: Any) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _escape(value: Any) -> Any:
    """Re-escape every literal ``$`` so podman-compose does not interpolate a second time."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {_escape(k): _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def _octal_modes(model: dict[str, Any]) -> dict[str, Any]:
    """A secret's or config's ``mode`` as an octal string (``"0400"``): podman-compose passes
    the value through and podman reads it as octal, so the number 0400 (256) would become
    mode 0256, and 0440 (288) an error."""
    services = model.get("services")
    if not isinstance(services, dict):
        return model
    out = dict(model, services=dict(services))
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        for kind in ("secrets", "configs"):
            refs = svc.get(kind)
            if isinstance(refs, list) and any(isinstance(r, dict) and isinstance(
                    r.get("mode"), int) and not isinstance(r.get("mode"), bool) for r in refs):
                out["services"][name] = svc = dict(svc, **{kind: [
                    dict(r, mode=f"{r['mode']:04o}") if isinstance(r, dict) and isinstance(
                        r.get("mode"), int) else r for r in refs]})
    return out
