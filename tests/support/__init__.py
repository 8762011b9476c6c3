"""Shared test helpers: no test module imports another test module, they import these."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import Executor, Future
from pathlib import Path

from phoenix_compose.errors import CommandError
from phoenix_compose.runtime import argv as podman_argv
from phoenix_compose.runtime import commands
from phoenix_compose.runtime.commands import Result

REPO = Path(__file__).resolve().parents[2]
STACK_DIRS = ("compose", "templates", "envs", "images", "tasks")
BUSYBOX_IMAGE = "localhost/phoenix-test/busybox:1"
# rootless podman on cgroups v1 has no memory or cpu controller: limits are not applied
LIMITS_APPLY = os.geteuid() == 0 or Path("/sys/fs/cgroup/cgroup.controllers").exists()


def inv(root: Path, *args: str, env: dict[str, str] | None = None,
        cwd: Path | None = None, timeout: float = 60,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``inv ARGS`` in a subprocess, in the stack at ``root`` (for what needs a process:
    exit codes, signals, real podman); ``stdin``: text piped in."""
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=cwd or root,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, input=stdin)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


LABELS = (podman_argv.PROJECT_LABEL, "io.phoenix.verify")


def remove_project(project: str) -> list[str]:
    """Remove every container, volume and network of a compose project (and the db plugin's
    throwaway verify ones), through the engine's seam; returns what is still there
    afterwards (a cleanup that cannot fail silently)."""
    def listed(kind: str) -> list[str]:
        return [item for label in LABELS for item in commands.run(
            podman_argv.labelled(kind, project, label), timeout=60).stdout.split()]

    ids = listed("container")
    if ids:
        commands.run(podman_argv.remove(*ids, timeout=0), timeout=120)
    for kind in ("volume", "network"):
        names = listed(kind)
        if names:
            commands.run(podman_argv.remove_kind(kind, *names), timeout=60)
    return [item for kind in ("container", "volume", "network") for item in listed(kind)]


class FakeClock:
    """A monotonic clock that only moves when something sleeps."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def sleep_after_creation(self, seconds: float) -> None:
        """``sleep``, once the start's creator thread has finished (against a fake podman
        it is done at once, but a loaded machine may run it late: fake time must not pass
        meanwhile, or a 2 s grace is seen to last 24 s)."""
        for thread in threading.enumerate():
            if thread.name == "phoenix-create":
                thread.join(10)  # a hang guard
        self.sleep(seconds)


class SyncExecutor(Executor):
    """Runs each submitted call at once, so loops are deterministic under a fake clock."""

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[override]
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


class FakePodman:
    """A patched seam: containers whose health passes after ``healthy_after`` checks (None:
    never), and that exited with ``exits`` codes.  Records every command line."""

    def __init__(self, healthy_after: dict[str, int | None],
                 exits: dict[str, int] | None = None) -> None:
        self.healthy_after = healthy_after
        self.exits = dict(exits or {})
        self.checks: dict[str, int] = {}
        self.calls: list[tuple[str, ...]] = []
        self.started: list[str] = []

    def __call__(self, argv, ok_codes=(0,), timeout=None, input=None, tolerate=(),
                 **_kwargs) -> Result:
        argv = tuple(argv)
        self.calls.append(argv)
        names = argv[argv.index("--") + 1:] if "--" in argv else ()
        if argv[:3] == ("podman", "image", "inspect"):
            return Result(argv, 0, "sha256:x\n", "")
        if argv[:2] == ("podman", "start"):
            self.started += list(names)
            return Result(argv, 0, "", "")
        if argv[:3] == ("podman", "healthcheck", "run"):
            name = names[0]
            self.checks[name] = self.checks.get(name, 0) + 1
            need = self.healthy_after.get(name)
            ok = need is not None and self.checks[name] >= need
            return Result(argv, 0 if ok else 1, "healthy" if ok else "unhealthy", "")
        if argv[:3] == ("podman", "container", "inspect"):
            items = [self._inspect(n) for n in names if n in self.started]
            return Result(argv, 0, json.dumps(items), "")
        if argv[:2] == ("podman", "logs"):
            return Result(argv, 0, "log line\n", "")
        return Result(argv, 0, "", "")

    def _inspect(self, name: str) -> dict:
        code = self.exits.get(name)
        return {"Name": name, "State": {"Status": "exited" if code is not None else "running",
                                        "ExitCode": code or 0,
                                        "Health": {"Status": "starting", "Log": [
                                            {"Output": f"{name} says no"}]}},
                "Config": {"Labels": {}}, "Image": "sha256:x"}


def judged(result: Result, ok_codes=(0,), tolerate=()) -> Result:
    """What the real seam does with a result: raise unless its code is accepted or its
    failure tolerated (for fakes that stand in for ``commands.run``)."""
    if result.code not in tuple(ok_codes) and not commands.tolerated(result, tuple(tolerate)):
        raise CommandError(result.argv, result.code, result.stdout, result.stderr)
    return result


def mock_context(root: Path, **phoenix: object):
    """An invoke MockContext whose ``phoenix`` config points at the stack ``root``: for
    running a task function in-process where a subprocess adds nothing."""
    from invoke import Config, MockContext

    from phoenix_compose.cli.common import DEFAULTS

    return MockContext(config=Config(overrides={"phoenix": {**DEFAULTS, "root": str(root),
                                                            **phoenix}}))


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its content: to show that something wrote nothing."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}
