"""Podman's locks after a reboot: podman 4.3 re-creates its shared-memory locks on the first
command of a boot, and can then hand a new container the lock of an existing volume.
Starting that container fails with "deadlock due to lock mismatch ... please run 'podman
system renumber'".  ``inv doctor --fix`` (which ``./dev`` runs) renumbers once per boot,
when no container runs (podman asks that nothing else uses it meanwhile), and remembers
the boot it did so for in the user's cache."""

from __future__ import annotations

import os
from pathlib import Path

from phoenix_compose.errors import CommandError
from phoenix_compose.fileio import read_bytes, write_files
from phoenix_compose.runtime import argv_compose
from phoenix_compose.runtime.containers import Runner
from phoenix_compose.runtime.doctor import Check

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def marker() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "phoenix-compose" / "podman-renumbered"


def _recorded(mark: Path) -> str:
    try:
        return read_bytes(mark).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _boot() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


def lock_check(run: Runner, fix: bool, mark: Path | None = None) -> tuple[Check, str]:
    """Have podman's locks been renumbered since this boot?  With ``fix`` and nothing
    running, renumber them.  Returns the check and what was fixed."""
    mark, boot = mark or marker(), _boot()
    if boot and _recorded(mark) == boot:
        return Check("podman locks", True, "renumbered since this boot"), ""
    hint = ("podman 4.3 can give a new container a volume's lock after a reboot; "
            "`inv doctor --fix` runs `podman system renumber` when no container runs")
    if not fix:
        return Check("podman locks", None, f"not renumbered since this boot ({hint})"), ""
    try:
        if run(argv_compose.running_ids(), timeout=60).stdout.strip():
            return Check("podman locks", None, "containers run: not renumbered "
                         f"({hint})"), ""
        run(argv_compose.renumber(), timeout=300)
    except CommandError as exc:
        return Check("podman locks", False, str(exc).splitlines()[0],
                     "run `podman system renumber` when no container runs"), ""
    if boot:
        try:
            write_files({mark: boot + "\n"})
        except OSError:
            pass  # renumbered all the same; the next --fix renumbers again
    return Check("podman locks", True, "renumbered"), "podman locks: podman system renumber"
