"""Where the edge's socket lives (runtime/edgesocket.py): in the stack when HAProxy's 97
bytes allow it, else in a private folder of the user's, never a link or a shared one."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from phoenix_compose.edge.model import SOCKET_PATH_MAX
from phoenix_compose.errors import EdgeError
from phoenix_compose.runtime import edgesocket


@pytest.fixture
def runtime(monkeypatch) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="pe-", dir="/tmp"))  # short: pytest's tmp is not
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield folder
    shutil.rmtree(folder)


def test_a_short_stack_keeps_its_socket_in_its_edge_folder(runtime: Path) -> None:
    assert edgesocket.socket_path(Path("/srv/app/.phoenix/prod/edge")) == \
        "/srv/app/.phoenix/prod/edge/admin.sock"
    assert not (runtime / "phoenix-edge").exists()


def test_a_deep_stack_gets_a_private_short_socket_of_its_own(runtime: Path) -> None:
    one, two = (Path("/srv") / ("x" * 90) / name / ".phoenix/prod/edge" for name in "ab")
    first, second = edgesocket.socket_path(one), edgesocket.socket_path(two)
    assert Path(first).parent == Path(second).parent == runtime / "phoenix-edge"
    assert first != second and edgesocket.socket_path(one) == first  # stable, not shared
    assert len(first.encode()) <= SOCKET_PATH_MAX
    assert (runtime / "phoenix-edge").stat().st_mode & 0o777 == 0o700


def test_a_planted_link_is_refused(runtime: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (runtime / "phoenix-edge").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(EdgeError, match="not a private folder"):
        edgesocket.socket_path(Path("/srv") / ("x" * 100))


def test_a_folder_open_to_others_is_refused(runtime: Path) -> None:
    (runtime / "phoenix-edge").mkdir()
    os.chmod(runtime / "phoenix-edge", 0o755)
    with pytest.raises(EdgeError, match="not a private folder"):
        edgesocket.socket_path(Path("/srv") / ("x" * 100))


def test_a_runtime_dir_too_long_or_open_to_others_is_passed_over(
        tmp_path: Path, runtime: Path, monkeypatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    deep = tmp_path / ("y" * 80)
    deep.mkdir(mode=0o700)
    monkeypatch.setattr(edgesocket, "_bases", lambda: [shared, deep])
    monkeypatch.setattr(edgesocket, "LAST_RESORT", runtime)
    path = Path(edgesocket.socket_path(Path("/srv") / ("x" * 100)))
    assert path.parent == runtime / f"phoenix-edge-{os.geteuid()}"
    assert not (shared / "phoenix-edge").exists() and not (deep / "phoenix-edge").exists()
