"""Lists the schema wants without repeats (``uniqueItems``), checked in each file as it is
written, as docker compose validates each file before merging: ``depends_on: [db, db]``
is an error there.  Our merge turns these lists into mappings
or de-duplicates them (so repeats across files merge, as in docker compose), which would
hide the repeat inside one file; hence this check on the file before the merge."""

from __future__ import annotations

import json
from typing import Any

from phoenix_compose.config.yamlsrc import N, flatten
from phoenix_compose.errors import Problem

# where docker compose v2.40 refuses a repeat (its schema's uniqueItems, as it validates;
# it takes repeats in environment, labels, ports, cap_add and the like)
SERVICE_KEYS = ("depends_on", "networks", "volumes_from", "security_opt", "group_add",
                "external_links", "device_cgroup_rules", "extra_hosts")
BUILD_KEYS = ("extra_hosts",)


def duplicate_problems(doc: N) -> list[Problem]:
    services = doc.value.get("services") if isinstance(doc.value, dict) else None
    if services is None or not isinstance(services.value, dict):
        return []
    out: list[Problem] = []
    for name, svc in services.value.items():
        if not isinstance(svc.value, dict):
            continue
        build = svc.value.get("build")
        lists: list[tuple[tuple[str, ...], N]] = [
            ((k,), svc.value[k]) for k in SERVICE_KEYS if k in svc.value]
        if build is not None and isinstance(build.value, dict):
            lists += [(("build", k), build.value[k]) for k in BUILD_KEYS if k in build.value]
        for path, node in lists:
            out += _repeats(f"services.{name}.{'.'.join(path)}", node)
    return out


def _repeats(dotted: str, node: N) -> list[Problem]:
    if not isinstance(node.value, list):
        return []
    seen: dict[str, int] = {}
    out = []
    for i, item in enumerate(node.value):
        key = json.dumps(_typed(flatten(item)[0]), sort_keys=True)
        if key in seen:
            out.append(Problem(item.loc, f"{dotted} lists the same item twice (items "
                                         f"{seen[key]} and {i})", hint="remove one of them"))
        else:
            seen[key] = i
    return out


def _typed(value: Any) -> Any:
    """JSON Schema equality: ``1`` and ``true`` differ, ``1`` and ``1.0`` do not."""
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return value
