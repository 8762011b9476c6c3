"""One spelling per attribute, before merging: the spec allows a list or a mapping (or a
string or a mapping) for many attributes, and two files that spell one attribute
differently must still merge entry by entry.

- ``environment``, ``labels``, ``sysctls``, ``annotations``, ``build.args``,
  ``build.labels``, ``build.additional_contexts``, ``deploy.labels``: mappings
  (``KEY=VALUE`` items; a bare ``KEY`` has the value None);
- ``build: PATH``: ``{context: PATH}``; ``networks: [a, b]``: ``{a: null, b: null}``;
- ``env_file``, ``tmpfs``, ``dns``, ``dns_search``: lists;
- ``extra_hosts``: a list of ``host:ip`` (a mapping may give several IPs for one host);
- ``depends_on``: the long form, with ``condition`` and ``required`` defaults;
- the values that compose-go keeps as strings (``environment``, ``labels``, ``sysctls``,
  ``build.args``, ``logging.options``, ``driver_opts``, ``group_add``, ``expose`` ...):
  strings, as Go's ``fmt.Sprint`` writes them (``true``, ``8``, ``1e+06``), so that
  ``KC_HTTP_ENABLED: true`` reaches the container as ``true``, not Python's ``True``.
"""

from __future__ import annotations

from phoenix_compose.config.yaml12 import go_string
from phoenix_compose.config.yamlsrc import N

_KEYED = ("environment", "labels", "sysctls", "annotations")
# a string (or one long-form entry) or a list: a list of one, so that it merges as a list
# (compose-go's mergeToSequence)
_STRING_OR_LIST = ("env_file", "label_file", "tmpfs", "dns", "dns_search")
_KEYED_NESTED = (("build", "args"), ("build", "labels"), ("build", "additional_contexts"),
                 ("deploy", "labels"))


def normalize(doc: N) -> N:
    """Bring one file's services into the shapes the merge compares (in place)."""
    services = doc.value.get("services") if isinstance(doc.value, dict) else None
    if services is None or not isinstance(services.value, dict):
        return doc
    for service in services.value.values():
        if isinstance(service.value, dict):
            normalize_service(service.value)
    for section in ("networks", "volumes", "secrets", "configs"):
        top = doc.value.get(section)
        for entry in top.value.values() if top is not None and isinstance(top.value, dict) \
                else ():
            if isinstance(entry.value, dict):
                if "labels" in entry.value:
                    entry.value["labels"] = _to_mapping(entry.value["labels"])
                _strings(entry.value, _TOP_STRINGS)
    return doc


def normalize_service(svc: dict[str, N]) -> None:
    """One service's attributes in their merge spelling (in place; idempotent)."""
    for key in _KEYED:
        if key in svc:
            svc[key] = _to_mapping(svc[key])
    build = svc.get("build")
    if build is not None and isinstance(build.value, str):
        svc["build"] = N({"context": N(build.value, build.loc, kloc=build.loc)}, build.loc,
                         build.kloc, build.tag)
    for outer, inner in _KEYED_NESTED:
        block = svc.get(outer)
        if block is not None and isinstance(block.value, dict) and inner in block.value:
            block.value[inner] = _to_mapping(block.value[inner])
    if "networks" in svc and isinstance(svc["networks"].value, list):
        node = svc["networks"]
        svc["networks"] = N({str(i.value): N(None, i.loc, kloc=i.loc) for i in node.value},
                            node.loc, node.kloc, node.tag)
    if "extra_hosts" in svc:
        svc["extra_hosts"] = _hosts(svc["extra_hosts"])
    _lists(svc)
    if "depends_on" in svc:
        svc["depends_on"] = _depends_long(svc["depends_on"])
    _strings(svc, _SERVICE_STRINGS)


def _lists(svc: dict[str, N]) -> None:
    for key in _STRING_OR_LIST:
        node = svc.get(key)
        if node is not None and isinstance(node.value, str):
            item = N(node.value, node.loc, kloc=node.loc)
            item.uses = node.uses
            svc[key] = N([item], node.loc, node.kloc, node.tag)


def _to_mapping(node: N) -> N:
    if not isinstance(node.value, list):
        return node
    out: dict[str, N] = {}
    for item in node.value:
        name, has, value = str(go_string(item.value)).partition("=")
        entry = N(value if has else None, item.loc, kloc=item.loc)
        entry.via, entry.uses = item.via, item.uses
        out[name] = entry
    return N(out, node.loc, node.kloc, node.tag)


def _hosts(node: N) -> N:
    """``host=ip``, ``host:ip`` or ``{host: ip | [ip, ...]}`` -> a list of ``host:ip``."""
    items: list[N] = []
    if isinstance(node.value, list):
        for item in node.value:
            text = str(item.value)
            host, _, ip = text.partition("=") if "=" in text else text.partition(":")
            items.append(N(f"{host}:{ip}", item.loc, kloc=item.kloc))
    elif isinstance(node.value, dict):  # sorted, as compose-go's convertIntoSequence
        for host, ips in sorted(node.value.items()):
            for ip in sorted(ips.value if isinstance(ips.value, list) else [ips],
                             key=lambda n: str(n.value)):
                items.append(N(f"{host}:{go_string(ip.value)}", ip.loc, kloc=ips.kloc))
    else:
        return node
    return N(items, node.loc, node.kloc, node.tag)


def _depends_long(node: N) -> N:
    if isinstance(node.value, list):
        node = N({str(i.value): N({}, i.loc, kloc=i.loc) for i in node.value},
                 node.loc, node.kloc, node.tag)
    if isinstance(node.value, dict):
        for dep in node.value.values():
            if isinstance(dep.value, dict):
                dep.value.setdefault("condition", N("service_started", dep.loc, dep.kloc))
                dep.value.setdefault("required", N(True, dep.loc, dep.kloc))
    return node


# Where compose-go decodes values into strings (its ``MappingWithEquals``, ``Labels``,
# ``Mapping``, ``Options`` and string lists), which values become strings there (only what
# the schema allows, so the verdict does not change), and what a null becomes:
# environment and build args keep it (a variable passed through from the host), labels and
# the like make it "", and where the schema refuses a null it is left for the schema.
Kind = tuple[bool, bool]  # (booleans too, a null becomes "")
_ANY, _ENV, _NUMBER, _NUMBER_OR_NULL = (True, True), (True, False), (False, False), \
    (False, True)
_SERVICE_STRINGS: tuple[tuple[tuple[str, ...], Kind], ...] = (
    (("environment",), _ENV), (("build", "args"), _ENV),
    (("labels",), _ANY), (("annotations",), _ANY), (("sysctls",), _ANY),
    (("build", "labels"), _ANY), (("build", "additional_contexts"), _ANY),
    (("deploy", "labels"), _ANY), (("logging", "options"), _NUMBER_OR_NULL),
    (("networks", "*", "driver_opts"), _NUMBER), (("group_add",), _NUMBER),
    (("expose",), _NUMBER),
)
_TOP_STRINGS = ((("labels",), _ANY), (("driver_opts",), _NUMBER))


def _strings(start: dict[str, N], table: tuple[tuple[tuple[str, ...], Kind], ...]) -> None:
    """The scalars of the mappings and lists at the paths of ``table`` as strings."""
    for path, (bools, null_is_empty) in table:
        for container in _at(start, path):
            items = container.value.values() if isinstance(container.value, dict) else \
                container.value if isinstance(container.value, list) else ()
            for item in items:
                if item.value is None and null_is_empty:
                    item.value = ""
                elif isinstance(item.value, (int, float)) and (
                        bools or not isinstance(item.value, bool)):
                    item.value = go_string(item.value)


def _at(start: dict[str, N], path: tuple[str, ...]) -> list[N]:
    """The nodes at ``path`` below ``start`` (``*``: every value of a mapping)."""
    level = [start]
    for part in path[:-1]:
        level = [n.value for d in level
                 for n in (d.values() if part == "*" else [d[part]] if part in d else [])
                 if isinstance(n.value, dict)]
    return [d[path[-1]] for d in level if path[-1] in d]
