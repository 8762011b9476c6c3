from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_compose import fileio as output
from phoenix_compose.fileio import write_files


def test_files_are_written_and_only_changed_ones_are_reported(tmp_path: Path) -> None:
    a, b = tmp_path / "x" / "a.txt", tmp_path / "b.txt"
    assert write_files({a: "1", b: "2"}) == [a, b]
    assert write_files({a: "1", b: "3"}) == [b]
    assert (a.read_text(), b.read_text()) == ("1", "3")


def test_an_unchanged_file_is_not_rewritten(tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    write_files({a: "same"})
    before = a.stat().st_mtime_ns, a.stat().st_ino
    write_files({a: "same"})
    assert (a.stat().st_mtime_ns, a.stat().st_ino) == before


def test_a_failure_while_staging_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    write_files({a: "old-a", b: "old-b"})
    real_fdopen = output.os.fdopen
    calls = []

    def failing_fdopen(fd, mode):
        calls.append(fd)
        if len(calls) == 2:
            output.os.close(fd)
            raise OSError("disk full")
        return real_fdopen(fd, mode)

    monkeypatch.setattr(output.os, "fdopen", failing_fdopen)
    with pytest.raises(OSError):
        write_files({a: "new-a", b: "new-b"})
    assert (a.read_text(), b.read_text()) == ("old-a", "old-b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_prune_removes_stale_files_only(tmp_path: Path) -> None:
    keep, stale = tmp_path / "o" / "keep.yaml", tmp_path / "o" / "stale.yaml"
    write_files({keep: "k", stale: "s"})
    write_files({keep: "k"}, prune={tmp_path / "o": "*.yaml"})
    assert keep.exists() and not stale.exists()
