"""The table ``inv status`` (and ``ps``) prints, with the watcher's record of why each
service last stopped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from phoenix_compose.cli.progress import table as rich_table
from phoenix_compose.errors import shown

if TYPE_CHECKING:
    from phoenix_compose.runtime.lifecycle import ComposeManager
    from phoenix_compose.runtime.status import ServiceStatus


def status_table(rows: list[ServiceStatus]) -> str:
    table: list[tuple[str, ...]] = [("SERVICE", "STATUS", "UPTIME", "RESTARTS", "USER",
                                      "CONTAINER", "PORTS")]
    for r in rows:
        status = r.status + (f" ({r.exit_code})" if r.status == "exited" else "")
        if r.last_exit == "oom-killed":
            status += ", oom-killed" if r.status == "exited" else " (last exit: oom-killed)"
        if len(r.at_edge) > 1:  # several routed ports: its server in each backend
            status += f", edge: {', '.join(r.at_edge)}"
        elif r.edge is not None:  # a replica behind the edge: its server there
            status += f", edge: {r.edge} (weight {r.weight})"
        table.append((r.service, status, _duration(r.uptime_s), str(r.restarts),
                      r.user or "-", r.container, ", ".join(r.ports)))
    table = [tuple(shown(cell) for cell in row) for row in table]  # an image's USER, ...
    fancy = rich_table(table)
    if fancy is not None:
        return fancy
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in table)


def with_last_exits(m: ComposeManager, rows: list[ServiceStatus]) -> list[ServiceStatus]:
    """Each row with why it last stopped, as the watcher recorded it (podman 4.3 never
    reports an OOM kill itself)."""
    from dataclasses import replace

    from phoenix_compose.watch.state import StateStore

    records = StateStore(m.state).read()
    return [replace(r, last_exit=r.last_exit or (records[r.service].last_exit
                                                 if r.service in records else None))
            for r in rows]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
