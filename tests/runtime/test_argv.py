"""Every podman and podman-compose command line, compared by equality."""

from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_compose.runtime import argv as argv_

F = Path("/s/.phoenix/dev/compose.yaml")
E = Path("/s/.phoenix/dev/compose.podman-compose.yaml")  # what podman-compose reads of F


def test_compose_always_gets_one_file_a_project_and_no_pod() -> None:
    assert argv_.create(F, "phoenix-dev", ["db", "web"], ["full"]) == (
        "podman-compose", "--in-pod", "false", "-f", str(E), "-p", "phoenix-dev",
        "--profile", "full", "up", "--no-start", "--no-deps", "--", "db", "web")


def test_down_keeps_volumes_unless_asked() -> None:
    assert argv_.down(F, "p") == ("podman-compose", "--in-pod", "false", "-f", str(E), "-p",
                                   "p", "down", "--remove-orphans")
    assert argv_.down(F, "p", volumes=True, timeout=0)[-3:] == ("--volumes", "--timeout", "0")


@pytest.mark.parametrize(("argv", "expected"), [
    (argv_.start("a", "b"), ("podman", "start", "--", "a", "b")),
    (argv_.stop("a", timeout=3), ("podman", "stop", "--time", "3", "--", "a")),
    (argv_.healthcheck_run("c"), ("podman", "healthcheck", "run", "--", "c")),
    (argv_.inspect("a", "b"), ("podman", "container", "inspect", "--", "a", "b")),
    (argv_.logs("c", 20, True), ("podman", "logs", "--tail", "20", "--follow", "--", "c")),
    (argv_.ps("p"), ("podman", "ps", "--all", "--format", "json", "--filter",
                      "label=io.podman.compose.project=p")),
    (argv_.build("t", "/ctx", "/ctx/Containerfile", [("A", "1")]),
     ("podman", "build", "-t", "t", "-f", "/ctx/Containerfile", "--build-arg", "A=1", "--",
      "/ctx")),
])
def test_command_lines_are_data(argv: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert argv == expected


def test_container_names_follow_podman_compose() -> None:
    assert argv_.container_name("phoenix-dev", "revenue-db") == "phoenix-dev_revenue-db_1"


@pytest.mark.parametrize(("argv", "expected"), [
    (argv_.restart("a", timeout=4), ("podman", "restart", "--time", "4", "--", "a")),
    (argv_.remove("a", "b"), ("podman", "rm", "--force", "--depend", "--time", "10", "--", "a",
                                      "b")),
    (argv_.image_id("i:1"), ("podman", "image", "inspect", "--format", "{{.Id}}", "--",
                                   "i:1")),
    (argv_.image_exists("i:1"), ("podman", "image", "exists", "--", "i:1")),
    (argv_.remove_stopped("a"), ("podman", "rm", "--", "a")),
    (argv_.exec_("c", ["ls", "/"], interactive=True, tty=True),
     ("podman", "exec", "--interactive", "--tty", "--", "c", "ls", "/")),
    (argv_.port("c", "80"), ("podman", "port", "--", "c", "80")),
    (argv_.logs("c", 5, since="10m", timestamps=True),
     ("podman", "logs", "--tail", "5", "--since", "10m", "--timestamps", "--", "c")),
    (argv_.labelled("container", "p"), ("podman", "ps", "--all", "--quiet", "--filter",
                                        "label=io.podman.compose.project=p")),
    (argv_.labelled("volume", "p"), ("podman", "volume", "ls", "--quiet", "--filter",
                                     "label=io.podman.compose.project=p")),
    (argv_.remove_kind("network", "n1"), ("podman", "network", "rm", "--force", "--", "n1")),
    (argv_.volume_ls("p"), ("podman", "volume", "ls", "--format", "json", "--filter",
                            "label=io.podman.compose.project=p")),
    (argv_.events("p"), ("podman", "events", "--format", "json", "--filter",
                         "label=io.podman.compose.project=p")),
    (argv_.events("p", since=1764334800.9), ("podman", "events", "--since", "1764334800",
                                             "--format", "json", "--filter",
                                             "label=io.podman.compose.project=p")),
    (argv_.labelled("container", "p", "io.phoenix.verify"), (
        "podman", "ps", "--all", "--quiet", "--filter", "label=io.phoenix.verify=p")),
    (argv_.events_since("c", 12.4), ("podman", "events", "--stream=false", "--since", "12",
                                     "--filter", "container=c", "--format", "{{.Status}}")),
    (argv_.version(), ("podman", "version", "--format", "json")),
    (argv_.compose_version(), ("podman-compose", "version")),
    (argv_.info(), ("podman", "info", "--format", "json")),
    (argv_.run_once("img", "true"), ("podman", "run", "--rm", "--network", "none", "--",
                                     "img", "true")),
    (argv_.pull("i:1"), ("podman", "pull", "--quiet", "--", "i:1")),
    (argv_.import_tarball("/t.tar", "i:1"), ("podman", "import", "--", "/t.tar", "i:1")),
    (argv_.compose(F, "p", "up", "-d", profiles=["a"]),
     ("podman-compose", "--in-pod", "false", "-f", str(E), "-p", "p", "--profile", "a", "up",
      "-d")),
])
def test_every_other_command_line_is_data(argv, expected) -> None:
    assert argv == expected


def test_recreate_starts_the_named_services_without_their_dependencies() -> None:
    assert argv_.recreate(F, "p", ["web"]) == (
        "podman-compose", "--in-pod", "false", "-f", str(E), "-p", "p", "up", "-d",
        "--no-deps", "--", "web")


@pytest.mark.parametrize("build", [
    lambda name: argv_.start(name), lambda name: argv_.stop(name), lambda name: argv_.remove(name),
    lambda name: argv_.inspect(name), lambda name: argv_.logs(name, 5),
    lambda name: argv_.healthcheck_run(name), lambda name: argv_.create(F, "p", [name]),
    lambda name: argv_.image_exists(name), lambda name: argv_.pull(name),
    lambda name: argv_.run_once(name, "true"), lambda name: argv_.untag(name),
    lambda name: argv_.run_detached("n", name, network="x", environment={}),
    lambda name: argv_.tag(name, "t:1"), lambda name: argv_.push(name, "/d"),
    lambda name: argv_.save(name, "/t.tar"), lambda name: argv_.image_id(name),
    lambda name: argv_.network_create(name), lambda name: argv_.secret_create(name, "file", {}),
    lambda name: argv_.build("t:1", name), lambda name: argv_.recreate(F, "p", [name]),
])
def test_a_name_can_never_be_read_as_an_option(build) -> None:
    line = build("--all")
    assert line.index("--") < line.index("--all")
