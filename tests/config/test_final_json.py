"""The final file's JSON form (``.phoenix/<env>/compose.json``): what a command the
validation cache answers reads instead of parsing the YAML (issue 27, a fast CLI).  It
must read as the YAML reads, be used only when the sealed cache entry vouches for its
bytes, and never outlive a run that could not write it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from phoenix_compose.config import services
from phoenix_compose.config.dump import dump_final
from phoenix_compose.config.pipeline import prepare

CORPUS = Path(__file__).parent / "resources" / "corpus"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
STACK = {
    "envs/dev.env": "DB_PASSWORD=s3cr3t-value\n",
    "compose/compose.yaml": """
        services:
          web:
            image: registry.example/web:1.0
            environment: {PRICE: "5$$", DB_PASSWORD: "${DB_PASSWORD}", ON: "yes"}
            labels: {"x.y": "1.0", "z": "0400", "n": "null", "e": "é ✓"}
            secrets: [{source: s, mode: 0400}]
        secrets:
          s: {environment: DB_PASSWORD}
        """,
}


def corpus_files() -> list[Path]:
    entries = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))
    return [CORPUS / e["repo"].replace("/", "__") / f for e in entries for f in e["files"]]


def test_the_json_form_reads_as_the_yaml_form_on_the_corpus() -> None:
    """Every corpus file (YAML 1.1 as libyaml reads it: strings that look like numbers,
    booleans, dates, ``$``, unicode) written both ways: the same data back."""
    compared = 0
    for path in corpus_files():
        try:
            model = yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)  # noqa: S506
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        if not isinstance(model, dict):
            continue
        text, as_json = dump_final(model)
        if as_json is None:  # a value JSON has no form for (a date): the YAML is read
            continue
        assert json.loads(as_json) == yaml.load(text, Loader=LOADER), path  # noqa: S506
        compared += 1
    assert compared > 100


def test_a_value_json_cannot_write_means_no_json_form() -> None:
    import datetime

    text, as_json = dump_final({"name": "p", "x-when": datetime.date(2001, 12, 14)})
    assert as_json is None and "2001-12-14" in text


def test_a_fresh_cache_reads_the_json_form_not_the_yaml(make_stack, monkeypatch) -> None:
    root = make_stack(STACK)
    first = prepare(root, "dev", process={})
    state = root / ".phoenix" / "dev"
    assert json.loads((state / "compose.json").read_text()) == \
        yaml.load((state / "compose.yaml").read_text(), Loader=LOADER)  # noqa: S506
    reads: list[Path] = []
    monkeypatch.setattr(services, "read_yaml", lambda path: reads.append(path) or {})
    again = prepare(root, "dev", process={})
    assert again.cached and reads == []
    assert again.model == first.model and list(again.model) == list(first.model)
    assert again.model["services"]["web"]["environment"]["PRICE"] == "5$$"


def test_a_changed_json_form_is_never_used(make_stack) -> None:
    """Its digest is in the sealed cache entry: a changed file misses the cache, and the
    run writes it again from the config."""
    root = make_stack(STACK)
    prepare(root, "dev", process={})
    planted = root / ".phoenix" / "dev" / "compose.json"
    good = planted.read_text()
    planted.write_text(json.dumps({"name": "stack-dev", "services": {"evil": {}}}))
    again = prepare(root, "dev", process={})
    assert not again.cached and list(again.services) == ["web"]
    assert planted.read_text() == good


def test_a_config_without_a_json_form_leaves_no_stale_one(make_stack) -> None:
    root = make_stack(STACK)
    prepare(root, "dev", process={})
    planted = root / ".phoenix" / "dev" / "compose.json"
    assert planted.is_file()
    compose = root / "compose" / "compose.yaml"
    compose.write_text(compose.read_text() + "x-released: 2001-12-14\n")
    outcome = prepare(root, "dev", process={})
    assert not planted.exists()
    cached = prepare(root, "dev", process={})
    assert cached.cached and cached.model == outcome.model
    assert list(cached.services) == ["web"]


@pytest.mark.parametrize("damage", ["missing", "not json"])
def test_a_damaged_json_form_is_rebuilt(make_stack, damage: str) -> None:
    root = make_stack(STACK)
    prepare(root, "dev", process={})
    planted = root / ".phoenix" / "dev" / "compose.json"
    if damage == "missing":
        planted.unlink()
    else:
        planted.write_text("{")
    again = prepare(root, "dev", process={})
    assert not again.cached and json.loads(planted.read_text())["name"] == "stack-dev"
