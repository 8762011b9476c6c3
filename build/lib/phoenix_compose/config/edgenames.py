"""The edge's names (issue 26) and their rule, checked at validation: HAProxy's frontend
``in.<service>.<published>``, backend ``<service>.<target>`` and server (the replica's
container, ``<project>_<service>_<i>``) of every port the edge owns.  A name the rule
refuses (over 63 characters with the project, or starting with ``_`` or ``.``) is a
located problem at the service's key, at ``config.validate`` time, not a failed ``up``.

The rule lives here, in ``config``, so that validation can use it: the edge's model
(:mod:`phoenix_compose.edge.model`, a layer above) imports it from here."""

from __future__ import annotations

import re
from typing import Any

from phoenix_compose.config.edgeports import edged, replicas_of, routed
from phoenix_compose.config.locator import Locator
from phoenix_compose.config.merge import port_key
from phoenix_compose.config.rollout import START_FIRST, replica_names
from phoenix_compose.errors import Problem
from phoenix_compose.shapes import as_dict

# HAProxy allows letters, digits, '-', '_', '.' and ':' in proxy and server names; ':' is
# left out (it separates an address from its port), and a name starts with a letter or a
# digit.  No space, quote, '#', ';' (the CLI's command separator) or '/' (backend/server).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
NAME_RULE = ("letters, digits, '_', '.' and '-', starting with a letter or a digit, "
             "at most 63 characters")


def edge_names(project: str, service: str, svc: dict[str, Any]) -> list[tuple[str, str]]:
    """``(kind, name)`` of every edge name ``service`` gets: none unless the edge owns one
    of its ports (several replicas or start-first, and a routed TCP port)."""
    if not edged(svc):
        return []
    ports = [port_key(p) for p in svc.get("ports") or () if routed(p)]
    if not ports:
        return []
    first = str(svc.get("container_name") or f"{project}_{service}_1")
    count = replicas_of(svc)
    if not svc.get("container_name") and starts_first(svc):
        count *= 2  # a roll makes its new replicas beside the old: _<N+1> to _<2N>
    out: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for _ip, target, published, _proto in ports:  # as runtime/edgeplan.py names them
        seen[published] = nth = seen.get(published, 0) + 1  # the port on another address
        out += [("frontend", f"in.{service}.{published}" + (f".{nth}" if nth > 1 else "")),
                ("backend", f"{service}.{target}")]
    return out + [("server", c) for c in replica_names(first, count)]


def starts_first(svc: dict[str, Any]) -> bool:
    update = as_dict(as_dict(svc.get("deploy")).get("update_config"))
    return update.get("order") == START_FIRST


def edge_name_problems(model: dict[str, Any], where: Locator,
                       project: str) -> list[Problem]:
    """One problem per edged service with a name the edge's rule refuses, at its key."""
    problems = []
    for service, svc in as_dict(model.get("services")).items():
        if not isinstance(svc, dict):
            continue
        bad = [(kind, name) for kind, name in dict.fromkeys(edge_names(project, str(service),
                                                                        svc))
               if NAME.fullmatch(name) is None]
        if bad:
            kind, name = bad[0]
            problems.append(Problem(
                where.at(("services", service), key=True),
                f"service '{service}' is behind the edge, which refuses its {kind} name "
                f"'{name}'" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
                + f": {NAME_RULE}",
                hint="shorten the project or service name (the edge names its servers "
                     "<project>_<service>_<i>)"))
    return problems
