"""git's command lines (the release and backup records name the checkout's revision),
beside :mod:`.argv`.  Pure functions; run through :mod:`.commands`."""

from __future__ import annotations

from phoenix_compose.runtime.argv import Argv


def describe() -> Argv:
    return ("git", "describe", "--always", "--dirty", "--tags")
