"""``inv config.watch``: re-render and re-validate on every change to the stack files.

Changes under compose/, templates/ and envs/ are debounced; each batch emits
``config_changed`` (with the services whose final config changed) or ``config_invalid``
(with the located errors) on the event bus and in ``.phoenix/<env>/events.jsonl``.  With
``apply``, ``up`` re-runs for the changed services only.  An invalid change never touches
a running container: nothing past validation runs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phoenix_compose.errors import ConfigurationError, PhoenixError
from phoenix_compose.runtime.lifecycle import ComposeManager, masker
from phoenix_compose.watch.events import Event, EventBus, EventLog
from phoenix_compose.watch.service import BEGIN_LINE, READY_LINE, format_event

WATCHED = ("compose", "templates", "envs")


def changed_services(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))


def config_watch(root: Path, env: str, *, apply: bool = False, debounce_ms: int = 300,
                 as_json: bool = False, out: Callable[[str], None] = print,
                 stop: threading.Event | None = None, bus: EventBus | None = None) -> None:
    import watchfiles

    events = bus = bus or EventBus()

    def progress(service: str, state: str, detail: str) -> None:
        events.emit("up_progress", service, state=state, detail=detail)

    manager = ComposeManager(root, env, report=progress)
    _wire(manager, bus, as_json, out)
    stop = stop or threading.Event()
    current = _current(manager, bus, [], again=False)
    folders = [root / name for name in WATCHED if (root / name).is_dir()]
    if not as_json:
        out(f"{BEGIN_LINE} {', '.join(f.name + '/' for f in folders)} (env {env})")
        out(f"{READY_LINE} config {'valid' if current is not None else 'invalid'}; "
            "Ctrl-C to stop")
    try:
        for changes in watchfiles.watch(*folders, debounce=debounce_ms, step=50,
                                        stop_event=stop, raise_interrupt=False):
            files = sorted({str(Path(p).relative_to(root)) for _kind, p in changes})
            if not as_json:  # VS Code clears the problems it saw between the two lines
                out(f"{BEGIN_LINE} {', '.join(files)} changed (env {env})")
            new = _current(manager, bus, files)
            if not as_json:
                out(f"{READY_LINE} config {'valid' if new is not None else 'invalid'}")
            if new is None:
                continue  # invalid: reported; running containers are left as they are
            changed = changed_services(current or {}, new)
            bus.emit("config_changed", None, env=env, files=files, services=changed)
            current = new
            if apply and changed:
                _apply(manager, [s for s in changed if s in new], bus)
    finally:
        bus.emit("config_watch_stopped", None, env=env)


def _wire(manager: ComposeManager, bus: EventBus, as_json: bool,
          out: Callable[[str], None]) -> None:
    """The log and the terminal get the masked copy of each event: masked with the project
    the watch starts from (an invalid one: the env's masker; it is reported next)."""
    try:
        manager.validate_compose_files()
    except ConfigurationError:
        pass
    bus.mask = masker(manager).tree
    bus.subscribe(EventLog(manager.state.events_log))
    bus.subscribe((lambda e: out(json.dumps(e))) if as_json else
                  (lambda e: out(_line(e))))


def _current(manager: ComposeManager, bus: EventBus, files: list[str], *,
             again: bool = True) -> dict[str, Any] | None:
    """Each service's mapping in the final file, prepared ``again`` (the config changed);
    the manager then holds that project, for ``_apply``."""
    if again:
        manager.forget()
    try:
        return {n: s.raw for n, s in manager.validate_compose_files().services.items()}
    except ConfigurationError as exc:
        bus.emit("config_invalid", None, env=manager.env, files=files,
                 errors=[str(p) for p in exc.problems] or [str(exc)])
        return None


def _apply(manager: ComposeManager, services: list[str], bus: EventBus) -> None:
    try:  # the project ``_current`` just prepared
        manager.start_services(services)
        bus.emit("config_applied", None, services=services)
    except PhoenixError as exc:
        bus.emit("config_apply_failed", None, services=services,
                 error=str(exc).splitlines()[0])


def _line(event: Event) -> str:
    if event["type"] == "config_invalid":
        return "\n".join(event["errors"])  # FILE:LINE:COL lines for the problem matcher
    if event["type"] == "up_progress":
        return f"  {event['service']:<20} {event['state']:<12} {event['detail']}".rstrip()
    if event["type"] == "config_changed":
        return f"{event['time'][11:19]} config_changed    {', '.join(event['files'])}: " \
               f"services changed: {', '.join(event['services']) or 'none'}"
    return format_event(event)
