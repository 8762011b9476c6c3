"""The engine behind the pre-commit hook ``phoenix-config-validate`` (``phoenix
config.validate --all``) and the ``validate`` step of ``inv ci``: validate environments,
printing every problem located."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from phoenix_compose.config.pipeline import check, prepare
from phoenix_compose.errors import ConfigurationError, shown

Print = Callable[[str], None]


def _stderr(text: str) -> None:
    print(shown(text, keep="\n"), file=sys.stderr, flush=True)


def validate_envs(root: Path, names: Sequence[str], *, use_cache: bool = True,
                  collect: bool = True, write: bool = True, out: Print = print,
                  err: Print = _stderr) -> list[str]:
    """Validate each env: its warnings and a ``valid`` line, or all its problems.

    Returns ``"<env>: N error(s)"`` for each invalid env; with ``collect=False`` the first
    invalid env raises its ConfigurationError instead (one env: the caller shows the hint).
    Without ``write`` nothing is written, not even the cache.
    """
    failed = []
    for name in names:
        try:
            outcome = prepare(root, name, use_cache=use_cache) if write else \
                check(root, name, use_cache=use_cache)
        except ConfigurationError as exc:
            if not collect:
                raise
            err(str(exc))
            failed.append(shown(f"{name}: {len(exc.problems) or 1} error(s)"))
            continue
        for warning in outcome.warnings:
            err(warning)
        note = " (cached)" if outcome.cached else ""
        target = f" -> {outcome.compose_file.relative_to(root)}" if write else ""
        out(shown(f"{name}: valid{note}{target}"))
    return failed
