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


def _planted(tmp_path: Path) -> tuple[Path, Path]:
    """A file outside the stack that a planted symlink names, and the stack's state folder."""
    victim = tmp_path / "outside" / "script.sh"
    victim.parent.mkdir()
    victim.write_text("#!/bin/sh\necho precious\n")
    state = tmp_path / "stack" / ".phoenix" / "t"
    state.mkdir(parents=True)
    return victim, state


def test_a_log_that_is_a_symlink_is_never_appended_through(tmp_path: Path) -> None:
    import errno
    import os

    victim, state = _planted(tmp_path)
    for name in ("audit.jsonl", "events.jsonl"):
        os.symlink(victim, state / name)
        with pytest.raises(OSError, match="is a symbolic link; refusing to follow it") as info:
            output.append_jsonl(state / name, {"action": "up"})
        assert info.value.errno == errno.ELOOP
    assert victim.read_text() == "#!/bin/sh\necho precious\n"
    assert output.last_jsonl(state / "audit.jsonl") is None  # nor read through


def test_a_symlinked_state_folder_is_refused_for_writes_and_reads(tmp_path: Path) -> None:
    import os

    victim, state = _planted(tmp_path)
    elsewhere = victim.parent
    (elsewhere / "cache.json").write_text('{"key": "theirs"}')
    for link in (state.parent, state):  # .phoenix itself, and .phoenix/<env>
        os.rename(link, link.with_name(link.name + ".real"))
        os.symlink(elsewhere, link)
        with pytest.raises(OSError, match=f"{link} is a symbolic link"):
            write_files({state / "cache.json": "{}"})
        with pytest.raises(OSError, match="is a symbolic link"):
            output.append_jsonl(state / "audit.jsonl", {"a": 1})
        assert output.read_json(state / "cache.json") is None
        os.unlink(link)
        os.rename(link.with_name(link.name + ".real"), link)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["cache.json", "script.sh"]
    assert (elsewhere / "cache.json").read_text() == '{"key": "theirs"}'


def test_a_file_that_is_a_symlink_is_replaced_never_written_through(tmp_path: Path) -> None:
    import os

    victim, state = _planted(tmp_path)
    os.symlink(victim, state / "applied.json")
    write_files({state / "applied.json": "{}\n"})
    assert not (state / "applied.json").is_symlink()
    assert (state / "applied.json").read_text() == "{}\n"
    assert victim.read_text() == "#!/bin/sh\necho precious\n"


@pytest.fixture
def full_disk(tiny_tmpfs: Path) -> Path:
    """A real 64 KiB tmpfs holding ``.phoenix/t/audit.jsonl``, filled up."""
    (tiny_tmpfs / ".phoenix" / "t").mkdir(parents=True)
    (tiny_tmpfs / ".phoenix" / "t" / "audit.jsonl").write_text('{"action": "up"}\n')
    with open(tiny_tmpfs / "filler", "wb") as filler:
        try:
            filler.write(b"x" * (1 << 20))
        except OSError:
            pass
    return tiny_tmpfs


def test_a_full_disk_is_an_oserror_and_leaves_no_half_file_or_line(full_disk: Path) -> None:
    import errno

    state = full_disk / ".phoenix" / "t"
    with pytest.raises(OSError) as info:
        write_files({state / "cache.json": "x" * 10000})
    assert info.value.errno == errno.ENOSPC
    with pytest.raises(OSError):
        output.append_jsonl(state / "audit.jsonl", {"action": "down", "pad": "x" * 10000})
    assert sorted(p.name for p in state.iterdir()) == ["audit.jsonl"]
    assert (state / "audit.jsonl").read_text() == '{"action": "up"}\n'


def test_a_fifo_planted_as_state_is_refused_and_never_waited_on(tmp_path) -> None:
    """A repository can ship `.phoenix/<env>/cache.json` as a FIFO: reading it used to block
    the pre-commit hook until it was killed."""
    import os

    import pytest

    from phoenix_compose.fileio import read_bytes, tail_jsonl

    fifo = tmp_path / ".phoenix" / "dev" / "cache.json"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        read_bytes(fifo)
    assert tail_jsonl(fifo) == []
