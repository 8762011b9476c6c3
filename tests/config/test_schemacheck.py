"""The compose-spec schema compiled to Python (config/schemacheck.py, schemacode.py): it
never passes a model jsonschema rejects, passes the valid ones (so jsonschema is not
needed for them), and is compiled once, cached by the schema's hash."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from phoenix_compose import api
from phoenix_compose.config import schema, schemacheck, schemacode
from phoenix_compose.errors import ConfigurationError

CORPUS = Path(__file__).parent / "resources" / "corpus"
ODD = [None, True, False, 0, 1, -1, 1.5, 2.0, "", "x", "80:80", [], {}, ["a", "a"], [1, 1],
       [1, True], [1, 1.0], {"a": 1}, [{"a": 1}, {"a": 1}], [{"a": 1}, {"a": True}],
       "on-failure", {"x-y": 1}, 65536, -5, "bogus"]


def corpus_models(part: int, parts: int) -> list[dict[str, Any]]:
    """The models of one share of the corpus (each ``parts``-th project from ``part``)."""
    models = []
    for entry in json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))[part::parts]:
        files = [CORPUS / entry["repo"].replace("/", "__") / f for f in entry["files"]]
        try:
            models.append(api.load_project(files, {"HOME": "/nonexistent"},
                                           project_dir=files[0].parent, validate=False))
        except ConfigurationError:
            continue
    return models


def paths(node: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, value in items:
        found += paths(value, path + (key,))
    return found


def mutated(model: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One to three random edits: a value replaced by an odd one, a key added, an item
    repeated, a key removed."""
    model = copy.deepcopy(model)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(paths(model)[1:] or [("services",)])
        parent: Any = model
        for key in path[:-1]:
            parent = parent[key]
        roll, last = rng.random(), path[-1]
        if roll < 0.6:
            parent[last] = copy.deepcopy(rng.choice(ODD))
        elif roll < 0.8 and isinstance(parent, dict):
            parent[rng.choice(["bogus", "x-ok", "image", "ports", f"{last}s"])] = \
                copy.deepcopy(rng.choice(ODD))
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif isinstance(parent, dict):
            parent.pop(last, None)
    return model


PARTS = 8  # the corpus in eight shares: the first in the fast tier, all of them in CI's run


@pytest.mark.parametrize("part", [pytest.param(p, marks=() if p == 0 else pytest.mark.slow)
                                  for p in range(PARTS)])
def test_it_agrees_with_jsonschema_on_the_corpus_and_its_mutations(part: int) -> None:
    check, validator = schema.compiled_check(), schema.compose_schema_validator()
    assert check is not None
    rng, unsound, missed, valid = random.Random(27 + part), [], 0, 0
    for model in corpus_models(part, PARTS):
        for n in range(8):
            candidate = model if n == 0 else mutated(model, rng)
            ours = schemacheck.passes(check, candidate)
            theirs = not any(True for _ in validator.iter_errors(candidate))
            unsound += [candidate] if ours and not theirs else []
            missed += theirs and not ours
            valid += theirs
    assert unsound == []  # never passes what jsonschema rejects
    assert valid > 100 // PARTS and missed == 0  # and needs jsonschema for none of the valid ones


@pytest.mark.parametrize(("schema_", "value", "valid"), [
    ({"uniqueItems": True}, [1, True], True),  # jsonschema: bool is not 1
    ({"uniqueItems": True}, [1, 1.0], False),
    ({"uniqueItems": True}, [{"a": [1]}, {"a": [1]}], False),
    ({"uniqueItems": True}, [{"a": 1}, {"a": True}], True),
    ({"enum": [1, None]}, True, False),
    ({"type": "integer"}, 2.0, True),
    ({"type": "number", "minimum": 0}, -0.5, False),
    ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, 3, False),  # both match
    ({"patternProperties": {"^x-": {"type": "string"}}, "additionalProperties": False},
     {"x-a": "s", "y": 1}, False),
])
def test_each_keyword_means_what_it_means_to_jsonschema(schema_, value, valid) -> None:
    from jsonschema import Draft202012Validator

    check = schemacheck.compiled(f"t{json.dumps(schema_)}", schema_)
    assert schemacheck.passes(check, value) is valid
    assert Draft202012Validator(schema_).is_valid(value) is valid


def test_a_schema_with_a_keyword_it_does_not_implement_is_not_compiled() -> None:
    with pytest.raises(schemacode.Unsupported):
        schemacode.source({"type": "object", "not": {"required": ["a"]}})
    assert schemacheck.compiled("with-not", {"not": {"type": "string"}}) is None
    for odd in ({"$ref": 3}, {"$ref": "#/definitions/a"}, {"maximum": float("inf")},
                {"enum": [float("nan")]}, {"items": [{}]}):
        with pytest.raises(schemacode.Unsupported):
            schemacode.source(odd)
    assert schemacheck.passes(None, {}) is False  # so jsonschema decides


def test_values_that_are_not_json_go_to_jsonschema() -> None:
    import datetime

    check = schemacheck.compiled("any", {})
    assert schemacheck.passes(check, {"a": [1, "b", None, 2.5, True]})
    assert not schemacheck.passes(check, {"a": datetime.date(2024, 1, 1)})
    assert not schemacheck.passes(check, {1: "a"})


def test_compiled_once_and_cached_by_the_schema_hash(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    file = tmp_path / "s.json"
    file.write_text(json.dumps({"type": "object", "required": ["a"]}))
    assert schemacheck.load(file, lambda s: s)({"a": 1}) is True
    [cached] = (tmp_path / "cache" / "phoenix-compose").iterdir()

    def no_compile(_: Any) -> str:
        raise AssertionError("compiled again")
    monkeypatch.setattr(schemacode, "source", no_compile)
    assert schemacheck.load(file, lambda s: s)({}) is False  # from the cache
    file.write_text(json.dumps({"type": "object"}))  # another schema: another key
    with pytest.raises(AssertionError, match="compiled again"):
        schemacheck.load(file, lambda s: s)
    monkeypatch.undo()
    cached.write_bytes(b"not marshal data")  # a broken cache file is compiled afresh
    file.write_text(json.dumps({"type": "object", "required": ["a"]}))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert schemacheck.load(file, lambda s: s)({}) is False


def test_a_cache_file_others_may_write_is_never_run(tmp_path: Path, monkeypatch) -> None:
    import marshal

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    file = tmp_path / "s.json"
    file.write_text(json.dumps({"type": "string"}))
    schemacheck.load(file, lambda s: s)
    [cached] = (tmp_path / "cache" / "phoenix-compose").iterdir()
    cached.write_bytes(marshal.dumps(compile("check = lambda x: 'planted'", "p", "exec")))
    cached.chmod(0o666)
    assert schemacheck.load(file, lambda s: s)("x") is True  # compiled afresh
    cached.unlink()
    (tmp_path / "planted").write_bytes(marshal.dumps(compile("check = 1", "p", "exec")))
    cached.symlink_to(tmp_path / "planted")
    assert schemacheck.load(file, lambda s: s)(3) is False


def test_an_unwritable_cache_costs_only_the_compile(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # not a folder
    file = tmp_path / "s.json"
    file.write_text(json.dumps({"type": "string"}))
    assert schemacheck.load(file, lambda s: s)("x") is True
