"""Progress people can read.  On a terminal (and without ``NO_COLOR``), ``up``,
``restart``, ``start``, ``build`` and ``pull`` show one live line per service with its
state and elapsed time, and a spinner while waiting (rich).  Off a terminal, or with
``NO_COLOR``, the output stays plain lines, so CI logs stay greppable."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from phoenix_compose.cli.common import say
from phoenix_compose.errors import shown

Report = Callable[[str, str, str], None]  # service, state, detail
DONE = {"healthy", "running", "completed", "built", "pulled", "failed", "stopped"}


def plain(service: str, state: str, detail: str) -> None:
    say(shown(f"  {service:<20} {state:<12} {detail}".rstrip()))  # detail: podman's words


def fancy() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


@contextmanager
def live() -> Iterator[Report]:
    """A ``report`` callback: live rows on a terminal, plain lines elsewhere."""
    if not fancy():
        yield plain
        return
    from rich.console import Console
    from rich.live import Live

    rows: dict[str, list[Any]] = {}  # service -> [state, detail, started, finished]

    def render() -> Any:
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 2))
        now = time.monotonic()
        for service, (state, detail, started, finished) in rows.items():
            mark = "✓" if state in DONE - {"failed"} else "✗" if state == "failed" else \
                Spinner("dots")
            table.add_row(mark, Text(service), Text(state),
                          f"{(finished or now) - started:4.1f}s", Text(shown(detail)))
        return table

    with Live(render(), console=Console(), refresh_per_second=8, transient=False) as view:
        def report(service: str, state: str, detail: str) -> None:
            row = rows.setdefault(service, [state, detail, time.monotonic(), None])
            row[0], row[1] = state, detail
            row[3] = time.monotonic() if state in DONE else None
            view.update(render())

        yield report


def table(rows: Sequence[tuple[str, ...]]) -> str | None:
    """A table as rich renders it on a terminal (None off one: the caller prints plain)."""
    if not fancy() or not rows:
        return None
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    view = Table(*rows[0], box=None, header_style="bold")
    for row in rows[1:]:
        view.add_row(*(Text(cell) for cell in row))  # text, never rich markup ([link=...])
    console = Console()
    with console.capture() as captured:
        console.print(view)
    return captured.get().rstrip("\n")
