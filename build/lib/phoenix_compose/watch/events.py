"""The one in-process event bus, its JSON-lines log, and event hooks.

Events are plain dicts with at least ``type``, ``service`` (None for the whole stack) and
``time`` (ISO 8601, UTC).  A failing subscriber or hook is logged, never fatal.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from phoenix_compose.errors import CommandError
from phoenix_compose.fileio import append_jsonl
from phoenix_compose.watch.webhook import post

Event = dict[str, Any]
Subscriber = Callable[[Event], None]


def make_event(type_: str, service: str | None = None, **fields: Any) -> Event:
    return {"type": type_, "service": service,
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **fields}


class EventBus:
    """``mask`` (e.g. a Masker's ``tree``) is applied once per event, before any subscriber:
    the log, the terminal, command hooks and webhooks all get the same masked copy."""

    def __init__(self, mask: Callable[[Event], Event] | None = None) -> None:
        self._subscribers: list[tuple[Subscriber, frozenset[str] | None]] = []
        self._lock = threading.Lock()
        self.mask = mask

    def subscribe(self, callback: Subscriber, types: Iterable[str] | None = None) -> None:
        with self._lock:
            self._subscribers.append((callback, frozenset(types) if types else None))

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        if self.mask is not None:
            event = self.mask(event)
        for callback, types in subscribers:
            if types is not None and event["type"] not in types:
                continue
            try:
                callback(event)
            except Exception as exc:  # one broken subscriber must not stop the others
                print(f"event subscriber {getattr(callback, '__name__', callback)} failed: "
                      f"{type(exc).__name__}: {exc}", file=sys.stderr)

    def emit(self, type_: str, service: str | None = None, **fields: Any) -> Event:
        event = make_event(type_, service, **fields)
        self.publish(event)
        return event


class EventLog:
    """Appends every event to ``StateDir.events_log``, masked (``mask``: a function of the
    event, e.g. a Masker's ``tree``: no secret value reaches the log)."""

    def __init__(self, path: Path, mask: Callable[[Event], Event] | None = None) -> None:
        self.path = path
        self.mask = mask or (lambda event: event)

    def __call__(self, event: Event) -> None:
        append_jsonl(self.path, self.mask(event))


class HookRunner:
    """Runs the hooks configured for an event type.

    ``hooks`` maps an event type (or ``*`` for all) to hooks: a command (a path, or an argv
    list) run with the event JSON on stdin, or a webhook ``{url, retries, timeout}`` the
    event JSON is posted to.  Hooks run in the background with a timeout; a failure is
    reported, never raised.
    """

    def __init__(self, hooks: Mapping[str, Sequence[Any]], run: Callable,
                 timeout: float = 10.0, on_error: Callable[[str], None] | None = None,
                 cwd: Path | None = None) -> None:
        self.hooks = {k: [h if isinstance(h, Mapping) else [h] if isinstance(h, str)
                          else list(h) for h in v] for k, v in hooks.items()}
        self.run = run
        self.timeout = timeout
        self.cwd = cwd
        self.on_error = on_error or (lambda text: print(text, file=sys.stderr))
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="phoenix-hook")

    def __call__(self, event: Event) -> None:
        if event["type"] == "hook_failed":
            return  # a failing "*" hook must not feed itself
        for hook in self.hooks.get(event["type"], []) + self.hooks.get("*", []):
            if isinstance(hook, Mapping):
                self.pool.submit(self._post, hook, event)
            else:
                self.pool.submit(self._run_one, self._resolve(hook), event)

    def _post(self, hook: Mapping[str, Any], event: Event) -> None:
        why = post(hook, event, self.timeout)
        if why:
            self.on_error(f"webhook for {event['type']} failed: {why}")

    def _resolve(self, argv: list[str]) -> list[str]:
        first = Path(argv[0])
        if self.cwd is not None and not first.is_absolute() and "/" in argv[0]:
            return [str(self.cwd / first), *argv[1:]]
        return argv

    def _run_one(self, argv: list[str], event: Event) -> None:
        try:
            self.run(tuple(argv), timeout=self.timeout, input=json.dumps(event) + "\n")
        except CommandError as exc:
            self.on_error(f"hook for {event['type']} failed: {str(exc).splitlines()[0]}")

    def close(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait)
