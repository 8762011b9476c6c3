"""Secrets are masked by value, not only by key name, wherever they would be printed."""

from __future__ import annotations

import pytest

from phoenix_compose.config.files import Roots
from phoenix_compose.config.masking import MASK, Masker
from phoenix_compose.config.pipeline import prepare
from phoenix_compose.config.show import show
from phoenix_compose.errors import ConfigurationError

SECRET = "s3cr3t-hunter2"


def stack(make_stack, compose: str, env_text: str = f"DB_PASSWORD={SECRET}\n"):
    return make_stack({"envs/dev.env": env_text, "compose/a.yaml": compose})


def test_show_masks_a_secret_variable_wherever_it_is_used(make_stack) -> None:
    root = stack(make_stack, "services:\n  web:\n    image: 'w:1'\n"
                             "    command: [serve, '--password', '${DB_PASSWORD}']\n"
                             "    labels: {note: 'pw is ${DB_PASSWORD}'}\n")
    out = show(root, "dev")
    assert SECRET not in out and out.count(MASK) == 2


def test_show_masks_the_content_of_secret_files(make_stack) -> None:
    root = stack(make_stack, "services:\n  web:\n    image: 'w:1'\n"
                             "    healthcheck: {test: [CMD, check, 'file-secret-xyz']}\n"
                             "secrets: {token: {file: ../token.txt}}\n", "")
    (root / "token.txt").write_text("file-secret-xyz\n")
    out = show(root, "dev", "json")
    assert "file-secret-xyz" not in out and MASK in out


@pytest.mark.parametrize("url", ["postgres://phoenix:p@ss@db:5432/revenue",
                                 "https://user:plain@host/path"])
def test_passwords_in_urls_are_masked_even_with_an_at_sign(url) -> None:
    masked = Masker().text(f"DATABASE_URL {url}")
    assert "p@ss" not in masked and "plain" not in masked
    assert masked.endswith(("@db:5432/revenue", "@host/path"))


def test_an_error_that_quotes_a_value_never_prints_the_secret(make_stack) -> None:
    root = stack(make_stack, "services:\n  web:\n    image: 'w:1'\n"
                             "    privileged: ${DB_PASSWORD}\n")
    with pytest.raises(ConfigurationError) as info:
        prepare(root, "dev", process={})
    text = str(info.value)
    assert SECRET not in text and "invalid boolean: ********" in text


def test_short_values_are_masked_only_as_a_whole_value_never_inside_text() -> None:
    masker = Masker(["abcde", "abcdef"])
    assert masker.text("abcde abcdef") == f"abcde {MASK}"
    assert masker.text("abcde") == MASK


def test_the_secrets_of_a_services_env_file_are_masked_in_what_the_watch_prints(
        make_stack) -> None:
    """podman-compose reads a service's env_file at run time; its secret values may come
    back in a health check's output, an error or an event."""
    from phoenix_compose.config.masking import masker_for

    root = stack(make_stack, "services:\n  web:\n    image: 'w:1'\n"
                             "    env_file: [../web.env]\n", "")
    (root / "web.env").write_text("API_TOKEN=env-file-s3cret\nMODE=plain-value\n")
    prepare(root, "dev", process={})
    masker = masker_for(root, "dev")
    assert masker.text("token env-file-s3cret refused, mode plain-value") == \
        f"token {MASK} refused, mode plain-value"


def test_secret_files_outside_the_stack_root_are_never_read_to_mask(make_stack, tmp_path,
                                                                    monkeypatch) -> None:
    """The masker read every secret `file:` and `env_file` the final model names, wherever
    it pointed: a read outside the stack root (the confinement rule allows none)."""
    from pathlib import Path

    from phoenix_compose.config.show import show

    outside = tmp_path / "outside-secret"
    outside.write_text("OUTSIDE-VALUE\n")
    root = make_stack({"envs/dev.env": "", "inside-secret": "INSIDE-VALUE-123\n",
                       "compose/a.yaml": f"""
                           secrets:
                             a: {{file: {outside}}}
                             b: {{file: ../inside-secret}}
                           services: {{web: {{image: 'w:1', secrets: [a, b]}}}}
                           """})
    read: list[str] = []
    real = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: read.append(str(self))
                        or real(self, *a, **k))
    with pytest.raises(ConfigurationError, match="outside-secret is outside the stack root"):
        show(root, "dev")  # (a secret file outside is a validation error now, located)
    model = {"secrets": {"a": {"file": str(outside)}, "b": {"file": str(root / "inside-secret")}}}
    masker = Masker.of({}, model, roots=Roots(root))  # the masker keeps the rule on its own
    assert str(outside) not in read
    assert str(root / "inside-secret") in read  # inside: read, to mask its value
    assert masker.text("INSIDE-VALUE-123 OUTSIDE-VALUE") == f"{MASK} OUTSIDE-VALUE"
