"""A rollback names the backup a pre-deploy hook took for the release it goes back to
(release.json's ``protected``), and never restores it (no podman needed)."""

from __future__ import annotations

import json
from pathlib import Path

from phoenix_compose.cli.release import data_notes
from phoenix_compose.runtime import releases
from phoenix_compose.statedir import StateDir


def release(state: StateDir, number: int, protected: dict | None = None) -> None:
    folder = state.releases / str(number)
    folder.mkdir(parents=True)
    meta = {"number": number, "time": "t", "user": "u", "git": "g", "images": {}}
    if protected:
        meta["protected"] = protected
    (folder / "release.json").write_text(json.dumps(meta))


def test_the_backup_taken_before_the_next_protected_release_is_named(tmp_path: Path) -> None:
    state = StateDir(tmp_path, "prod")
    release(state, 1)
    release(state, 2)
    release(state, 3, {"db.backup": {"backup": "backups/prod/20261128T070000Z.dump"}})
    release(state, 4, {"db.backup": {"backup": "backups/prod/20261128T080000Z.dump"}})
    assert releases.protected_after(state, 1).number == 3
    assert data_notes(state, 2) == [
        "data: db.backup took backups/prod/20261128T070000Z.dump before release 3; the data "
        "was not rolled back (if it must be: inv db.restore backups/prod/20261128T070000Z.dump "
        "--env prod --yes)"]
    assert data_notes(state, 4) == []
    assert releases.list_releases(state)[0].protected is None
