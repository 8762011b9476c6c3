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

