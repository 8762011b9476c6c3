"""Reading compose files into located, interpolated, typed trees, for the main files and for
the files that ``include`` and ``extends`` bring in.  Problems are collected in the
context; nothing here raises for a bad file.  With ``roots`` (the pipeline's), a file that
resolves outside them is a located error at the line that names it, and is not read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from phoenix_compose.config import yamlsrc
from phoenix_compose.config.files import Roots, read
from phoenix_compose.config.interpolate import Lookup, interpolate_tree
from phoenix_compose.config.typecast import cast_tree
from phoenix_compose.config.unique import duplicate_problems
from phoenix_compose.errors import ConfigurationError, Loc, Problem

Origin = Callable[[str], Loc | None]


@dataclass
class Context:
    lookup: Lookup
    origin: Origin
    name_of: Callable[[Path], str]  # how a file is named in locations
    problems: list[Problem] = field(default_factory=list)
    chain: tuple[Path, ...] = ()  # the files including this one, for cycles
    cache: dict[Path, list[yamlsrc.N]] = field(default_factory=dict)  # per variables
    read: set[Path] = field(default_factory=set)  # every file read, for the cache key
    roots: Roots | None = None  # where files may be read from; None: anywhere (the API)
    secrets: set[str] = field(default_factory=set)  # from the env files includes read: masked
    # located documents already parsed, by (file, text): ``parse`` takes them (the
    # pipeline's, ``EnvironmentConfig.parsed``)
    parsed: dict[tuple[Path, str], list[yamlsrc.N]] = field(default_factory=dict)

    def with_lookup(self, lookup: Lookup, chain: tuple[Path, ...]) -> Context:
        """A context for an included project: its own variables, the same problems."""
        return Context(lookup, lambda _name: None, self.name_of, self.problems, chain,
                       read=self.read, roots=self.roots, secrets=self.secrets)


def parse(text: str, locate: yamlsrc.Locator, ctx: Context,
          file: Path | None = None) -> list[yamlsrc.N]:
    """Every document of one file, interpolated and cast (in place); parsed once: the
    documents ``ctx.parsed`` holds for ``(file, text)`` are taken, not parsed again."""
    try:
        loaded = ctx.parsed.pop((file, text), None) if file is not None else None
        loaded = yamlsrc.load_all(text, locate) if loaded is None else loaded
    except ConfigurationError as exc:
        ctx.problems += exc.problems
        return []
    docs = []
    for doc in loaded:
        if not isinstance(doc.value, dict):
            ctx.problems.append(Problem(doc.loc, "a compose file must be a mapping at the top "
                                                 "level"))
            continue
        ctx.problems += interpolate_tree(doc, ctx.lookup, ctx.origin)
        ctx.problems += cast_tree(doc)
        ctx.problems += duplicate_problems(doc)  # as written, before the merge hides them
        docs.append(doc)
    return docs


def read_text(path: Path, where: Loc, ctx: Context) -> str | None:
    """A file's text, or None with a located problem (missing, unreadable, not UTF-8)."""
    text, problem = read(path, ctx.name_of(path), where, ctx.roots)
    if problem is not None:
        ctx.problems.append(problem)
    return text


def load_file(path: Path, where: Loc, ctx: Context) -> list[yamlsrc.N] | None:
    """The documents of another compose file (cached), or None when it cannot be read."""
    path = path.resolve()
    if path not in ctx.cache:
        text = read_text(path, where, ctx)
        if text is None:
            return None
        ctx.read.add(path)
        ctx.cache[path] = parse(text, yamlsrc.plain_locator(ctx.name_of(path)), ctx)
    return ctx.cache[path]
