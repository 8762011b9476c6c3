"""docs/guide/trust.md says exactly which service values validation refuses and how the
Quadlet export escapes the rest (it once said every line break in a service was an error,
while multi-line ``command:`` scripts are valid and written as ``\\x0a``)."""

from __future__ import annotations

import re
from pathlib import Path

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import build
from phoenix_compose.config.values import FREE_TEXT
from phoenix_compose.integrations.quadletctr import word

DOC = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "trust.md").read_text()


def test_the_doc_names_every_free_text_key_and_no_blanket_rule() -> None:
    excepted = DOC.split("**except**", 1)[1].split("extensions", 1)[0]
    assert set(re.findall(r"`([a-z_]+)`", excepted)) == set(FREE_TEXT)
    assert "In service\nvalues a line break" not in DOC


def test_what_the_doc_says_is_what_the_code_does(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": """
        services:
          web:
            image: 'w:1'
            command: ["sh", "-c", "echo a\\necho b\\\\"]
            labels: {note: "two\\nlines"}
        """})
    build(load_environment(root, "dev", {}))  # valid: multi-line scripts and free text
    assert word("echo a\necho 50%") == '"echo a\\x0aecho 50%%"'
    assert "(a line break is `\\x0a`)" in DOC and "(`%%`" in DOC
