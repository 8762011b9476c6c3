"""The subprocess seam against real cheap commands, and the argv builders by equality."""

from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_compose import podman
from phoenix_compose.podman import CommandError, run

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
    assert podman.stream(("sh", "-c", "echo a; echo b; exit 2"), lines.append) == 2
    assert lines == ["a\n", "b\n"]


def test_compose_always_gets_one_file_a_project_and_no_pod() -> None:
    assert podman.create(F, "phoenix-dev", ["db", "web"], ["full"]) == (
        "podman-compose", "--in-pod", "false", "-f", str(F), "-p", "phoenix-dev",
        "--profile", "full", "up", "--no-start", "--no-deps", "db", "web")


def test_down_keeps_volumes_unless_asked() -> None:
    assert podman.down(F, "p") == ("podman-compose", "--in-pod", "false", "-f", str(F), "-p",
                                   "p", "down", "--remove-orphans")
    assert podman.down(F, "p", volumes=True, timeout=0)[-3:] == ("--volumes", "--timeout", "0")


@pytest.mark.parametrize(("argv", "expected"), [
    (podman.start("a", "b"), ("podman", "start", "a", "b")),
    (podman.stop("a", timeout=3), ("podman", "stop", "--time", "3", "a")),
    (podman.healthcheck_run("c"), ("podman", "healthcheck", "run", "c")),
    (podman.inspect("a", "b"), ("podman", "container", "inspect", "a", "b")),
    (podman.logs("c", 20, True), ("podman", "logs", "--tail", "20", "--follow", "c")),
    (podman.ps("p"), ("podman", "ps", "--all", "--format", "json", "--filter",
                      "label=io.podman.compose.project=p")),
    (podman.build("t", "/ctx", "/ctx/Containerfile", [("A", "1")]),
     ("podman", "build", "-t", "t", "-f", "/ctx/Containerfile", "--build-arg", "A=1", "/ctx")),
])
def test_command_lines_are_data(argv: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert argv == expected


def test_container_names_follow_podman_compose() -> None:
    assert podman.container_name("phoenix-dev", "revenue-db") == "phoenix-dev_revenue-db_1"
