"""Top-level ``secrets:`` / ``configs:`` ``file:``: confined and type-checked at validation
like a service's env_file (a located error at the ``file:`` line, an outside file never
opened), and read by ``plan``'s fingerprint without following a link, never waiting on a
FIFO, and never more than the limit (a refusal is a ConfigurationError, never a hang)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.mountfiles import LIMITS
from phoenix_compose.config.pipeline import build, check, prepare
from phoenix_compose.errors import ConfigurationError
from phoenix_compose.runtime.fingerprint import digest, file_digests, fingerprint
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.watch.drift import _fingerprint_diff


def compose(section: str, file: str) -> str:
    return (f"services:\n  web:\n    image: 'w:1'\n    {section}: [c1]\n"
            f"{section}:\n  c1:\n    file: {file}\n")


def errors(root: Path) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        build(load_environment(root, "dev", {}))
    return [str(p).split(" (hint: ")[0] for p in info.value.problems if p.severity == "error"]


@pytest.mark.parametrize("section", ["secrets", "configs"])
def test_a_file_outside_or_a_device_is_refused_at_its_line_unopened(
        make_stack, outside, opened, section) -> None:
    for target in (str(outside / "secret.env"), "/dev/zero", "../../outside/secret.env"):
        root = make_stack({"envs/dev.env": "", "compose/a.yaml": compose(section, target)})
        out = errors(root)
        assert len(out) == 1 and out[0].startswith("compose/a.yaml:7:11: error: "), out
        assert "is outside the stack root; refusing to read it" in out[0]
    assert opened == []


@pytest.mark.parametrize("section", ["secrets", "configs"])
def test_a_fifo_a_folder_or_a_symlink_is_an_error_at_the_file_line(make_stack,
                                                                  section) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": compose(section, "./c.txt"),
                       "compose/real.txt": "x\n"})
    what = f"{section[:-1]} file {root / 'compose' / 'c.txt'} of 'c1'"
    os.mkfifo(root / "compose" / "c.txt")
    assert errors(root) == [f"compose/a.yaml:7:11: error: {what} is not a regular file"]
    (root / "compose" / "c.txt").unlink()
    (root / "compose" / "c.txt").mkdir()
    assert errors(root) == [f"compose/a.yaml:7:11: error: {what} is not a regular file"]
    (root / "compose" / "c.txt").rmdir()
    (root / "compose" / "c.txt").symlink_to("real.txt")
    assert errors(root) == [f"compose/a.yaml:7:11: error: {what} is a symlink: plan reads "
                            "secret and config files without following one"]


def test_a_secret_larger_than_podmans_limit_is_an_error_and_a_regular_file_is_valid(
        make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": compose("secrets", "./s.txt"),
                       "compose/s.txt": "x" * (LIMITS["secrets"] + 1)})
    assert "is larger than 512000 bytes" in errors(root)[0]
    (root / "compose" / "s.txt").write_text("x" * LIMITS["secrets"])
    build(load_environment(root, "dev", {}))  # valid


def test_a_file_swapped_for_a_fifo_after_validation_misses_the_cache(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": compose("configs", "./c.txt"),
                       "compose/c.txt": "x\n"})
    prepare(root, "dev", process={})
    assert check(root, "dev").cached is True
    (root / "compose" / "c.txt").unlink()
    os.mkfifo(root / "compose" / "c.txt")
    with pytest.raises(ConfigurationError, match="is not a regular file"):
        check(root, "dev")


@contextmanager
def fed(fifo: Path) -> Iterator[None]:
    """A writer on ``fifo``, so the old blocking read got data instead of hanging."""
    def feed() -> None:
        try:
            with open(fifo, "w") as pipe:
                pipe.write("fed\n")
        except OSError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        yield
    finally:
        release = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a writer still waiting goes on
        writer.join(timeout=30)
        os.close(release)


def stack_with(section: str, path: Path) -> Stack:
    spec = ServiceSpec("web", "p-web-1", "w:1", False, raw={"image": "w:1", section: ["c1"]})
    return Stack("p", path.parent / "compose.yaml", {"web": spec},
                 {section: {"c1": {"file": str(path)}}})


@pytest.mark.parametrize("section", ["secrets", "configs"])
def test_plan_refuses_a_fifo_a_link_or_a_device_clearly_and_never_waits(tmp_path,
                                                                       section) -> None:
    fifo = tmp_path / "c.txt"
    os.mkfifo(fifo)
    with fed(fifo), pytest.raises(ConfigurationError, match="not a regular file"):
        file_digests(stack_with(section, fifo), ["web"])  # what plan and up read
    (tmp_path / "real.txt").write_text("x\n")
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "real.txt")
    with pytest.raises(ConfigurationError, match="is a symlink"):
        fingerprint(stack_with(section, link), "web")
    (tmp_path / "dev").symlink_to("/dev/zero")
    with pytest.raises(ConfigurationError, match="is a symlink"):
        digest(tmp_path / "dev", f"{section[:-1]} c1")
    assert digest(tmp_path / "absent", "secret c1") == "missing"


def test_the_size_caps_are_podmans_for_a_secret_and_four_mib_for_a_config(tmp_path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * (LIMITS["secrets"] + 1))
    with pytest.raises(ConfigurationError, match="larger than 512000 bytes"):
        digest(big, "secret c1")
    assert len(digest(big, "config c1")) == 64
    assert LIMITS["configs"] == 4 * 1024 * 1024


def test_the_watchers_drift_reports_an_unreadable_file_instead_of_failing(tmp_path) -> None:
    real = tmp_path / "c.txt"
    real.write_text("x\n")
    stack = stack_with("configs", real)
    stored = fingerprint(stack, "web")
    assert _fingerprint_diff(stack, "web", stored) == []
    real.unlink()
    os.mkfifo(real)
    with fed(real):
        diff = _fingerprint_diff(stack, "web", stored)
    assert len(diff) == 1 and "not a regular file" in diff[0]["changes"][0]
