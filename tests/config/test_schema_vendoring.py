"""The compose-spec schema is our package data, with its origin recorded; `inv
schema.update` refreshes it from check-jsonschema's vendored copy and refuses a broken
one, writing nothing then."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from jsonschema.exceptions import SchemaError

from phoenix_compose.config.schema import ORIGIN_FILE, SCHEMA_FILE, update_schema

from support import REPO, inprocess


def test_the_vendored_schema_matches_its_recorded_origin() -> None:
    origin = json.loads(ORIGIN_FILE.read_text())
    assert origin["sha256"] == hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest()
    assert origin["from"].startswith("check-jsonschema ")
    assert (SCHEMA_FILE.parent / "compose-spec.LICENSE").read_text().strip().startswith(
        "Apache License")


def test_an_update_writes_schema_and_origin_and_refuses_a_broken_copy(tmp_path: Path) -> None:
    folder = tmp_path / "schemas"
    newer = json.loads(SCHEMA_FILE.read_text())
    newer["description"] = "a newer compose-spec"
    source = tmp_path / "compose-spec.json"
    source.write_text(json.dumps(newer))
    assert update_schema(source, "9.9.9", "2026-11-28", folder) is True
    origin = json.loads((folder / "compose-spec.origin.json").read_text())
    assert origin["from"].startswith("check-jsonschema 9.9.9") and origin["updated"]
    assert json.loads((folder / "compose-spec.json").read_text()) == newer
    assert update_schema(source, "9.9.9", "2026-11-29", folder) is False  # already current
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    source.write_text(json.dumps({**newer, "type": 5}))
    with pytest.raises(SchemaError):
        update_schema(source, "9.9.10", "2026-11-30", folder)
    source.write_text(json.dumps({"$schema": newer["$schema"], "title": "Something else"}))
    with pytest.raises(ValueError, match="not the compose-spec schema"):
        update_schema(source, "9.9.10", "2026-11-30", folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_the_task_reports_the_vendored_copy_current() -> None:
    import importlib.metadata

    installed = importlib.metadata.version("check-jsonschema")
    if f"check-jsonschema {installed}:" not in json.loads(ORIGIN_FILE.read_text())["from"]:
        pytest.skip(f"check-jsonschema {installed} is not the recorded one: the task would "
                    "update the package data (Python 3.10 gets an older check-jsonschema)")
    done = inprocess.inv(REPO, "schema.update")
    assert done.returncode == 0, done.stderr
    assert "compose-spec schema already current with check-jsonschema" in done.stdout
