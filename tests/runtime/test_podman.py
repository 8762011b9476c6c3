"""The subprocess seam against real cheap commands, and the argv builders by equality."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from phoenix_compose.runtime import commands
from phoenix_compose.runtime.commands import CommandError, run

F = Path("/s/.phoenix/dev/compose.yaml")


def test_run_returns_output_and_exit_code() -> None:
    result = run(("sh", "-c", "echo out; echo err >&2"))
    assert (result.code, result.stdout, result.stderr) == (0, "out\n", "err\n")


def test_a_failing_command_raises_one_typed_error_with_its_tail() -> None:
    with pytest.raises(CommandError) as info:
        run(("sh", "-c", "for i in $(seq 1 30); do echo line$i >&2; done; exit 3"))
    error = info.value
    assert error.code == 3 and error.argv[0] == "sh"
    assert "failed: exit code 3" in str(error)
    assert "line30" in str(error) and "line15" not in str(error)


def test_accepted_codes_do_not_raise() -> None:
    assert run(("sh", "-c", "exit 1"), ok_codes=(0, 1)).code == 1


def test_a_missing_executable_has_the_same_shape() -> None:
    with pytest.raises(CommandError) as info:
        run(("phoenix-no-such-tool", "x"))
    assert info.value.code is None
    assert "phoenix-no-such-tool is not installed" in str(info.value)


def test_a_hanging_command_times_out() -> None:
    with pytest.raises(CommandError, match="timed out after 0.3 s"):
        run(("sleep", "5"), timeout=0.3)


def test_arguments_are_never_interpreted_by_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    result = run(("echo", f"; touch {marker}", "$(id)"))
    assert result.stdout == f"; touch {marker} $(id)\n"
    assert not marker.exists()


def test_stream_hands_over_lines() -> None:
    lines: list[str] = []
    assert commands.stream(("sh", "-c", "echo a; echo b; exit 2"), lines.append) == 2
    assert lines == ["a\n", "b\n"]


def test_a_tolerated_failure_needs_its_code_and_its_message() -> None:
    missing = ((125, r"no such container"),)
    script = "echo 'Error: no such container x' >&2; exit 125"
    assert run(("sh", "-c", script), tolerate=missing).code == 125
    with pytest.raises(CommandError):  # the same code with another message is a failure
        run(("sh", "-c", "echo 'Error: something else' >&2; exit 125"), tolerate=missing)
    with pytest.raises(CommandError):  # the message under another code is a failure too
        run(("sh", "-c", "echo 'no such container' >&2; exit 1"), tolerate=missing)


def test_a_command_this_user_cannot_run_is_a_typed_error_not_a_traceback(tmp_path) -> None:
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)  # present, but no execute bit: PermissionError from the kernel
    with pytest.raises(CommandError) as info:
        run((str(script), "--version"))
    assert f"{script} cannot be run: Permission denied" in str(info.value)


RACE = ("Error: cannot remove container 1f as it could not be stopped: sending SIGKILL to "
        "container 1f: container state improper: stopped")


def _fake_podman(tmp_path: Path, monkeypatch, first_stderr: str) -> Path:
    """A ``podman`` on PATH that fails its first call with ``first_stderr`` (exit 2), then
    succeeds; each call is counted in ``calls``."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    (bin_dir / "podman").write_text(
        f"#!/bin/sh\necho \"$*\" >> {calls}\n"
        f"if [ $(wc -l < {calls}) -eq 1 ]; then echo '{first_stderr}' >&2; exit 2; fi\n")
    (bin_dir / "podman").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return calls


@pytest.mark.parametrize("verb", ["rm", "stop"])
def test_a_removal_that_lost_podmans_stop_race_is_run_once_more(
        tmp_path, monkeypatch, verb) -> None:
    """podman 4.3: a container that stops between the SIGTERM timeout and the SIGKILL fails
    ``rm --force`` ("container state improper: stopped"); asked again it is removed."""
    calls = _fake_podman(tmp_path, monkeypatch, RACE)
    assert run(("podman", verb, "--force", "--time", "1", "--", "x")).code == 0
    assert calls.read_text().splitlines() == [f"{verb} --force --time 1 -- x"] * 2


def test_a_stop_noted_during_a_lost_race_starts_no_second_podman_call(
        tmp_path, monkeypatch) -> None:
    """A stop (SIGTERM) noted while the first ``rm`` ran: the stop is the answer, not a
    second podman call (``commands.run`` starts none after a stop)."""
    import signal

    from phoenix_compose.errors import Interrupted
    from phoenix_compose.runtime import stopping

    calls = _fake_podman(tmp_path, monkeypatch, RACE)
    real = commands._communicate

    def stopped_meanwhile(*args, **kwargs):
        out = real(*args, **kwargs)
        stopping.note(signal.SIGTERM)  # the signal came while podman ran
        return out

    monkeypatch.setattr(commands, "_communicate", stopped_meanwhile)
    try:
        with pytest.raises(Interrupted):
            run(("podman", "rm", "--force", "--time", "1", "--", "x"))
    finally:
        stopping.clear()
    assert calls.read_text().splitlines() == ["rm --force --time 1 -- x"]


@pytest.mark.parametrize("argv,stderr", [
    (("podman", "rm", "--", "x"), "Error: no such container x"),
    (("podman", "start", "--", "x"), RACE),  # only rm and stop are asked again
])
def test_other_failures_are_not_run_again(tmp_path, monkeypatch, argv, stderr) -> None:
    calls = _fake_podman(tmp_path, monkeypatch, stderr)
    with pytest.raises(CommandError, match="exit code 2"):
        run(argv)
    assert len(calls.read_text().splitlines()) == 1


@pytest.mark.podman
def test_events_from_a_time_include_what_happened_before_the_follower_started(
        busybox_image, podman_project) -> None:
    """The watcher follows events from its own start: a crash while ``podman events`` is
    still starting up (seconds, on a loaded machine) is not lost."""
    import json
    import threading
    import time

    from phoenix_compose.runtime import argv

    since = time.time()
    name = f"{podman_project}_web_1"
    commands.run(("podman", "run", "--name", name, "--label",
                f"{argv.PROJECT_LABEL}={podman_project}", "--", busybox_image, "sh", "-c",
                "exit 3"), ok_codes=(3,), timeout=60)  # died before anyone followed
    lines: list[dict] = []
    seen = threading.Event()

    def on_line(line: str) -> None:
        lines.append(json.loads(line))
        if lines[-1]["Status"] == "died":
            seen.set()

    follower = commands.follow(argv.events(podman_project, since=since), on_line)
    try:
        assert seen.wait(20), lines
    finally:
        follower.stop()
    died = [e for e in lines if e["Status"] == "died"]
    assert died[0]["Name"] == name and died[0]["ContainerExitCode"] == 3


def test_a_follower_passes_on_stderr_lines_too_in_the_order_they_come() -> None:
    """``logs -f`` dropped everything a container wrote to stderr (podman logs -f passes it
    on as its own stderr)."""
    lines: list[str] = []
    script = "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three >&2; sleep 0.1; echo four"
    follower = commands.follow(["sh", "-c", script], lambda line: lines.append(line.rstrip()))
    follower.proc.wait()
    follower.stop()
    assert lines == ["one", "two", "three", "four"]


def test_a_follower_that_ignores_sigterm_is_killed_after_its_grace() -> None:
    """``logs -f`` after Ctrl-C waited for podman to leave on SIGTERM, however long (a
    podman waiting on a lock): now SIGKILL follows the grace."""
    ready = threading.Event()
    follower = commands.follow(["sh", "-c", "trap '' TERM; echo ready; exec sleep 60"],
                               lambda line: ready.set())
    assert ready.wait(30)
    follower.stop(grace=0.2)
    assert not follower.alive()
