"""``inv doctor --fix`` renumbers podman's locks once per boot, only when nothing runs."""

from __future__ import annotations

from pathlib import Path

from phoenix_compose.runtime import podmanlocks
from phoenix_compose.runtime.commands import Result


class Podman:
    def __init__(self, running: str = "") -> None:
        self.running, self.calls = running, []

    def __call__(self, argv, ok_codes=(0,), timeout=None, input=None, tolerate=()):
        self.calls.append(tuple(argv))
        return Result(tuple(argv), 0, self.running if argv[1] == "ps" else "", "")


def test_fix_renumbers_when_nothing_runs_and_remembers_the_boot(tmp_path: Path) -> None:
    podman, mark = Podman(), tmp_path / "cache" / "renumbered"
    check, fixed = podmanlocks.lock_check(podman, True, mark)
    assert check.ok is True and fixed
    assert ("podman", "system", "renumber") in podman.calls
    assert mark.read_text().strip() == podmanlocks._boot()
    again = Podman()
    assert podmanlocks.lock_check(again, True, mark)[0].ok is True
    assert again.calls == []  # once per boot


def test_fix_leaves_podman_alone_while_a_container_runs(tmp_path: Path) -> None:
    podman = Podman(running="abc123\n")
    check, fixed = podmanlocks.lock_check(podman, True, tmp_path / "renumbered")
    assert (check.ok, fixed) == (None, "")
    assert ("podman", "system", "renumber") not in podman.calls
    assert "containers run" in check.detail


def test_without_fix_it_only_says_what_fix_would_do(tmp_path: Path) -> None:
    podman = Podman()
    check, fixed = podmanlocks.lock_check(podman, False, tmp_path / "renumbered")
    assert (check.ok, fixed, podman.calls) == (None, "", [])
    assert "podman system renumber" in check.detail


def test_a_mark_from_another_boot_renumbers_again(tmp_path: Path) -> None:
    mark = tmp_path / "renumbered"
    mark.write_text("another-boot\n")
    podman = Podman()
    assert podmanlocks.lock_check(podman, True, mark)[1]
    assert ("podman", "system", "renumber") in podman.calls
