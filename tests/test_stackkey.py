"""The per-stack key: outside the repository, private, made once, one per stack root."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from phoenix_compose import stackkey
from phoenix_compose.errors import StateError


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


def test_the_key_is_made_once_private_and_outside_the_stack(tmp_path, state) -> None:
    root = tmp_path / "stack"
    root.mkdir()
    key = stackkey.stack_key(root)
    path = stackkey.key_path(root)
    assert path == state / "phoenix-compose" / "keys" / hashlib.sha256(
        str(root.resolve()).encode()).hexdigest()
    assert path.read_bytes() == key and len(key) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert stackkey.stack_key(root) == key  # the same key next time
    assert not list(root.rglob("*"))  # nothing written into the stack


def test_each_stack_root_has_its_own_key_and_a_symlinked_root_shares_it(tmp_path, state
                                                                         ) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (tmp_path / "link").symlink_to(one)
    assert stackkey.stack_key(one) != stackkey.stack_key(two)
    assert stackkey.stack_key(tmp_path / "link") == stackkey.stack_key(one)


def test_sign_and_verify(tmp_path, state) -> None:
    mac = stackkey.sign(tmp_path, b"manifest")
    assert stackkey.verify(tmp_path, b"manifest", mac)
    assert not stackkey.verify(tmp_path, b"manifest!", mac)
    assert not stackkey.verify(tmp_path, b"manifest", "0" * 64)
    assert not stackkey.verify(tmp_path, b"manifest", None)
    assert not stackkey.verify(tmp_path / "other", b"manifest", mac)  # another stack's key


def test_a_second_maker_never_replaces_the_first_key(tmp_path, state) -> None:
    key = stackkey.stack_key(tmp_path)
    stackkey._make(stackkey.key_path(tmp_path))  # a racing first use, a moment late
    assert stackkey.stack_key(tmp_path) == key
    assert [p.name for p in stackkey.key_path(tmp_path).parent.iterdir()] == [
        stackkey.key_path(tmp_path).name]  # its temporary file is gone


def test_a_symlinked_shared_or_damaged_key_is_refused(tmp_path, state) -> None:
    path = stackkey.key_path(tmp_path)
    path.parent.mkdir(parents=True)
    target = tmp_path / "planted"
    target.write_bytes(b"k" * 32)
    target.chmod(0o600)
    path.symlink_to(target)
    with pytest.raises(StateError, match="is a symlink; refusing it"):
        stackkey.stack_key(tmp_path)
    path.unlink()
    path.write_bytes(b"k" * 32)
    path.chmod(0o644)
    with pytest.raises(StateError, match="is not a private file of this user"):
        stackkey.sign(tmp_path, b"x")
    path.chmod(0o600)
    path.write_bytes(b"short")
    with pytest.raises(StateError, match=r"is damaged \(5 bytes, not 32\)"):
        stackkey.stack_key(tmp_path)


def test_a_key_that_cannot_be_made_is_a_clear_error(tmp_path, state) -> None:
    state.write_text("a file where the state folder should be")
    with pytest.raises(StateError, match="cannot (read|make) the stack key .*: Not a directory"):
        stackkey.stack_key(tmp_path)
