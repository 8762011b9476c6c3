"""Podman children die with us, and what a ``kill -9`` of our pid left is reaped by the
next administrative action before it touches a container."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from phoenix_compose.runtime import children
from phoenix_compose.runtime.procs import kill_tree, proc_stat
from phoenix_compose.statedir import StateDir

from support import FakePodman


def _gone(pid: int, within: float = 30.0) -> bool:
    """Has ``pid`` ended (a zombie counts)?  ``within`` is a hang guard, not a measure."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        stat = proc_stat(pid)
        if stat is None or stat[0] == "Z":
            return True
        time.sleep(0.05)
    return False


def _shim(tmp_path: Path, body: str = "") -> Path:
    """A ``podman`` that is a shell script (its command line names podman), never exec'd
    away: ``/bin/sh .../podman``.  By default it blocks opening a FIFO nobody writes: no
    program looked up on PATH (a ``sleep`` not found would end it at once, as a zombie)."""
    shim = tmp_path / "shim" / "podman"
    shim.parent.mkdir(exist_ok=True)
    if not body:
        fifo = tmp_path / "shim" / "never"
        if not fifo.exists():
            os.mkfifo(fifo)
        body = f"read _ < '{fifo}'"
    shim.write_text(f"#!/bin/sh\n{body}\n")
    shim.chmod(0o755)
    return shim


def _alive(proc: subprocess.Popen) -> str:
    """What the left process is now, for an assertion's message."""
    try:
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError as exc:
        cmdline = str(exc).encode()
    return f"stat={proc_stat(proc.pid)} returncode={proc.poll()} cmdline={cmdline!r}"


def _execed(proc: subprocess.Popen, within: float = 30.0) -> None:
    """Wait until ``proc``'s command line is the program's: Popen returns once exec closed
    its error pipe, which the kernel does before it sets up the new command line (a loaded
    CI machine read it empty there).  ``within`` is a hang guard, not a measure."""
    deadline = time.monotonic() + within
    while not Path(f"/proc/{proc.pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline and proc.poll() is None, "never exec'd"
        time.sleep(0.01)


def _record(state: StateDir, *procs: subprocess.Popen) -> None:
    for proc in procs:
        _execed(proc)
    state.path.mkdir(parents=True, exist_ok=True)
    state.children.write_text(json.dumps([{"pid": p.pid, "start": proc_stat(p.pid)[2],
                                           "argv": list(p.args)} for p in procs]))


def test_a_left_podman_call_is_killed_after_the_grace(tmp_path: Path) -> None:
    state = StateDir(tmp_path, "t")
    left = subprocess.Popen([str(_shim(tmp_path))])
    _record(state, left)
    ticks: list[float] = []
    assert children.reap(state, grace=1.0, sleep=ticks.append) == [left.pid], _alive(left)
    assert left.wait(timeout=30) == -signal.SIGKILL
    assert len(ticks) >= 10  # it was given its grace first (fake sleeps: no wall clock)


def test_a_left_podman_call_that_ends_by_itself_is_waited_for_not_killed(tmp_path) -> None:
    state = StateDir(tmp_path, "t")
    gate = tmp_path / "gate"
    left = subprocess.Popen([str(_shim(tmp_path, f"while [ ! -e {gate} ]; do sleep 0.05; "
                                                  "done; exit 7"))])
    _record(state, left)

    def sleep(_seconds: float) -> None:
        gate.touch()  # it finishes while we wait
        left.wait(timeout=30)

    children.reap(state, grace=5.0, sleep=sleep)
    assert left.returncode == 7


def test_a_reused_pid_or_another_program_is_never_killed(tmp_path: Path) -> None:
    state = StateDir(tmp_path, "t")
    other = subprocess.Popen(["sleep", "600"])  # not podman
    shim = subprocess.Popen([str(_shim(tmp_path))])
    try:
        state.path.mkdir(parents=True)
        state.children.write_text(json.dumps([
            {"pid": other.pid, "start": proc_stat(other.pid)[2]},
            {"pid": shim.pid, "start": proc_stat(shim.pid)[2] - 1}]))  # another start: reused
        assert children.reap(state, grace=0) == []
        assert other.poll() is None and shim.poll() is None
    finally:
        for proc in (other, shim):
            kill_tree(proc.pid)  # the shim's own sleep too
            proc.wait()


def test_up_reaps_a_left_podman_call_before_its_first_podman_command(make_stack, tmp_path,
                                                                     monkeypatch) -> None:
    from phoenix_compose.runtime.lifecycle import ComposeManager

    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=mine\n",
                       "compose/a.yaml": "services: {web: {image: 'w:1'}}\n"})
    state = StateDir(root, "t")
    left = subprocess.Popen([str(_shim(tmp_path))])
    _record(state, left)
    seen: list[bool] = []

    class Watching(FakePodman):
        def __call__(self, argv, **kwargs):
            seen.append(left.poll() is None)
            return super().__call__(argv, **kwargs)

    monkeypatch.setattr(children, "GRACE", 0.0)
    ComposeManager(root, "t", run=Watching({"web": 1})).start_services(wait=False,
                                                                      rollback=False)
    assert seen and seen[0] is False  # already gone at the first podman command
    assert json.loads(state.children.read_text()) == []


SEAM = """
import sys
from pathlib import Path
from phoenix_compose.runtime import children, commands
from phoenix_compose.statedir import StateDir
with children.recorded(StateDir(Path(sys.argv[1]), "t")):
    commands.run(sys.argv[2:], timeout=None)
"""


def _podman_below(proc: subprocess.Popen, within: float = 60.0) -> int:
    from phoenix_compose.runtime.procs import descendants

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for pid in descendants(proc.pid):
            try:
                argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if argv0.endswith(b"podman"):
                return pid
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    pytest.fail("podman never started")


def _sleeper(project: str, image: str) -> list[str]:
    return ["podman", "run", "--rm", "--label", f"io.podman.compose.project={project}",
            "--stop-timeout", "1", image, "sleep", "600"]


@pytest.mark.podman
def test_kill_9_of_our_process_group_takes_its_podman_child_with_it(
        tmp_path: Path, podman_project: str, busybox_image: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SEAM), str(tmp_path),
                             *_sleeper(podman_project, busybox_image)],
                            start_new_session=True)  # its own group, as a terminal gives it
    child = _podman_below(proc)
    os.killpg(proc.pid, signal.SIGKILL)  # Ctrl-\ at a terminal, a CI timeout, systemd's stop
    proc.wait()
    assert _gone(child), "the podman child outlived a kill of its process group"


@pytest.mark.podman
def test_what_a_kill_9_of_our_pid_left_is_reaped_by_the_next_action(
        tmp_path: Path, podman_project: str, busybox_image: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SEAM), str(tmp_path),
                             *_sleeper(podman_project, busybox_image)])
    child = _podman_below(proc)
    state = StateDir(tmp_path, "t")
    deadline = time.monotonic() + 30
    while child not in {e["pid"] for e in children.left_over(state.children)}:
        assert time.monotonic() < deadline, "the child was never recorded"
        time.sleep(0.05)
    proc.kill()  # kill -9 of our pid alone: the podman child lives on
    proc.wait()
    assert proc_stat(child) is not None
    assert children.reap(state, grace=0) == [child]
    assert _gone(child)
