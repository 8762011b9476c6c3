"""One spelling per attribute, before merging: the spec allows a list or a mapping (or a
string or a mapping) for many attributes, and two files that spell one attribute
differently must still merge entry by entry.

- ``environment``, ``labels``, ``sysctls``, ``annotations``, ``build.args``,
  ``build.labels``, ``build.additional_contexts``, ``deploy.labels``: mappings
  (``KEY=VALUE`` items; a bare ``KEY`` has the value None);
- ``build: PATH``: ``{context: PATH}``; ``networks: [a, b]``: ``{a: null, b: null}``;
- ``extra_hosts``: a list of ``host:ip`` (a mapping may give several IPs for one host);
- ``depends_on``: the long form, with ``condition`` and ``required`` defaults.
"""

from __future__ import annotations

from phoenix_compose.config.yamlsrc import N

_KEYED = ("environment", "labels", "sysctls", "annotations")
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
    if "depends_on" in svc:
        svc["depends_on"] = _depends_long(svc["depends_on"])


def _to_mapping(node: N) -> N:
    if not isinstance(node.value, list):
        return node
    out: dict[str, N] = {}
    for item in node.value:
        name, has, value = str(item.value).partition("=")
        entry = N(value if has else None, item.loc, kloc=item.loc)
        entry.via = item.via
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
                items.append(N(f"{host}:{ip.value}", ip.loc, kloc=ips.kloc))
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
