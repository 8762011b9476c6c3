"""The final compose file's text: fixed key order, every literal ``$`` escaped."""

from __future__ import annotations

from typing import Any

_TOP_ORDER = ("name", "services", "networks", "volumes", "secrets", "configs")


def dump_compose(model: dict[str, Any]) -> str:
    """Fixed key order (top level first, then sorted), every literal ``$`` escaped."""
    ordered = {k: _sorted(model[k]) for k in _TOP_ORDER if k in model}
    ordered.update({k: _sorted(model[k]) for k in sorted(model) if k not in ordered})
    return dump_yaml(_escape(ordered))


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
