from __future__ import annotations

from pathlib import Path

from phoenix_compose.statedir import StateDir


def test_the_generated_layout_has_one_owner() -> None:
    state = StateDir(Path("/s"), "prod")
    assert state.path == Path("/s/.phoenix/prod")
    assert [p.name for p in (state.compose_file, state.overlays, state.cache_file,
                             state.lock_file, state.audit_log, state.events_log,
                             state.health_state, state.health_lock)] == [
        "compose.yaml", "overlays", "cache.json", "lock", "audit.jsonl", "events.jsonl",
        "health-state.json", "health-state.lock"]
    assert all(p.parent == state.path for p in (state.compose_file, state.audit_log))



def test_a_state_folder_that_is_a_link_or_a_file_is_unusable(tmp_path: Path) -> None:
    import os

    state = StateDir(tmp_path, "dev")
    assert state.unusable() is None  # missing: made as real folders on first write
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / ".phoenix")
    assert state.unusable() == f"{tmp_path}/.phoenix is a symbolic link; refusing to follow " \
                               "it (it should be generated here: remove the link)"
    os.unlink(tmp_path / ".phoenix")
    (tmp_path / ".phoenix").mkdir()
    (tmp_path / ".phoenix" / "dev").write_text("")
    assert state.unusable() == f"{tmp_path}/.phoenix/dev is not a directory"
    (tmp_path / ".phoenix" / "dev").unlink()
    state.path.mkdir()
    assert state.unusable() is None
