"""The compose-spec schema compiled to Python: is a model valid, yes or no, without
importing jsonschema (about 80 ms of every cold start here) and several times faster.

``schema.schema_problems`` asks it first; a model it does not pass (invalid, or one it
cannot decide) goes to jsonschema, whose errors become the located problems as before.  So
it must never pass a model jsonschema rejects: :mod:`.schemacode` implements, with
jsonschema's own semantics, exactly the keywords the vendored schema uses (``type``,
``properties``, ``patternProperties``, ``additionalProperties``, ``required``, ``items``,
``uniqueItems``, ``enum``, ``minimum``, ``maximum``, ``pattern``, ``oneOf``, ``anyOf``,
``allOf``, ``$ref`` into ``$defs``); a schema with any other keyword is not compiled
(jsonschema alone, as before); and it passes only models made of JSON's types with string
keys.

Compiled once: the Python source generated from the schema is compiled and its code object
cached (``marshal``) in the user's cache dir (``$XDG_CACHE_HOME`` or ``~/.cache``, then
``phoenix-compose/``), named by the sha256 of the schema, of ``schemacode.py`` and of
``schema.py`` (which flattens the schema) and by the interpreter's cache tag: a changed
schema or generator is compiled afresh.  An unwritable cache dir costs only the compile;
a cache file that is not this user's own regular file, or that others may write, is
never run.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phoenix_compose.config import schemacode

GENERATOR = Path(__file__).with_name("schemacode.py")


# What the generated code calls: jsonschema's own equality (bool is not 1, sequences and
# mappings compared item by item) and uniqueness, as jsonschema._utils has them (MIT).
def _equal(one: Any, two: Any) -> bool:
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(_equal(i, j) for i, j in zip(one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return len(one) == len(two) and all(k in two and _equal(v, two[k])
                                            for k, v in one.items())
    return bool(_unbool(one) == _unbool(two))


_TRUE, _FALSE = object(), object()


def _unbool(element: Any) -> Any:
    return _TRUE if element is True else _FALSE if element is False else element


def _uniq(container: list[Any]) -> bool:
    try:
        ordered = sorted(_unbool(i) for i in container)
        return not any(_equal(i, j) for i, j in zip(ordered, ordered[1:]))
    except (NotImplementedError, TypeError):
        seen: list[Any] = []
        for item in map(_unbool, container):
            if any(_equal(i, item) for i in seen):
                return False
            seen.append(item)
        return True


RUNTIME: dict[str, Any] = {"_re": re.compile, "_true": lambda x: True,
                           "_false": lambda x: False, "_uniq": _uniq, "_equal": _equal}
_PLAIN = (str, int, float)


def plain(model: Any) -> bool:
    """Only JSON's types (dict with string keys, list, str, int, float, bool, None): what
    the compiled check assumes; anything else (a YAML timestamp) goes to jsonschema."""
    stack = [model]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None and not isinstance(item, _PLAIN):
            return False
    return True


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "phoenix-compose"


def load(schema_file: Path, prepare: Callable[[dict[str, Any]], dict[str, Any]],
         generators: tuple[Path, ...] = ()) -> Callable[[Any], bool] | None:
    """The compiled check of ``schema_file`` (after ``prepare``), from the cache when its
    key matches: the sha256 of the schema and of the modules that generate the code
    (``schemacode.py`` and ``generators``), and the interpreter's cache tag.  None: unsupported."""
    import json

    text = schema_file.read_bytes()
    digest = hashlib.sha256(text)
    for module in (GENERATOR, *generators):
        digest.update(module.read_bytes())
    path = cache_dir() / f"compose-spec-{digest.hexdigest()[:32]}.{sys.implementation.cache_tag}"
    code = _read(path)
    if code is None:
        try:
            code = compile(schemacode.source(prepare(json.loads(text))),
                           f"<{schema_file.name}>", "exec")
        except schemacode.Unsupported:
            return None
        _write(path, marshal.dumps(code))
    namespace = dict(RUNTIME)
    exec(code, namespace)  # our own generated code (source() above), never the user's
    check: Callable[[Any], bool] = namespace["check"]
    return check


_SMALL: dict[str, Callable[[Any], bool] | None] = {}


def compiled(name: str, schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A small schema of ours compiled in memory, once per process (by ``name``)."""
    if name not in _SMALL:
        try:
            namespace = dict(RUNTIME)
            generated = compile(schemacode.source(schema), f"<{name}>", "exec")
            exec(generated, namespace)  # generated by us
            _SMALL[name] = namespace["check"]
        except schemacode.Unsupported:
            _SMALL[name] = None
    return _SMALL[name]


def _read(path: Path) -> Any:
    """The cached code object, only from a regular file of this user that no one else may
    write (it is run): anything else is compiled afresh."""
    import stat

    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() \
                or info.st_mode & 0o022:
            return None
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None


def _write(path: Path, data: bytes) -> None:
    """Atomically, readable by the user only; a cache that cannot be written is skipped."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".compose-spec-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except OSError:
        return


def passes(check: Callable[[Any], bool] | None, model: Any) -> bool:
    """True only when the model is valid for certain; False: ask jsonschema."""
    if check is None or not plain(model):
        return False
    try:
        return check(model) is True
    except RecursionError:
        return False
