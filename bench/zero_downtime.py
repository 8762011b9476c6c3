"""Benchmark: zero-downtime operations behind the edge (issue 26, item 6), in one run.

A generated stack: one busybox httpd service ``web``, two replicas, ``deploy.update_config.
order: start-first``, a health check, a published port (so the edge owns it), and a secret
it reads.  Load: 4 clients, each a GET every 20 ms through the edge (the tests' own load
generator, tests/support/edgeload.py, imported by path).  Each operation runs under that
load, in this order, once per round:
- ``inv up`` of a changed config (the page's version);
- ``inv up`` of a broken config (never healthy: rolled back, exit 3);
- ``inv rollback --to N`` (N: the release before the change);
- ``inv secrets.rotate`` of the secret the service reads;
- under the watcher (``inv health.watch`` in a process of its own): ``kill -9`` of one
  replica's main process (the time: until that replica passes its check again and is
  ready in the edge, or 60 s),
  and separately ``podman kill`` of one replica (deliberate: it stays stopped; the time:
  until the edge has it in maintenance).
Figures, per operation: failed requests; the p99 latency during the operation / the
steady-state p99 (the load before the first operation); the operation's time / today's
stop-first deploy time (the same change, ``order: stop-first``, one replica, ``inv up``).
The peer, in the same run: the same change through ``podman-compose up -d`` (a stop-first
recreate of one published container), under the same load: its failed requests and time
(the command, then until the new container passes its check).
What the operations do is what this branch does: the watcher taking a dead replica out of
the edge, and restart/rotate/rollback through start-first, may be elsewhere.
  python bench/zero_downtime.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, table, tool

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
from phoenix_compose.edge.model import State  # noqa: E402
from phoenix_compose.runtime import argv, argv_compose, busybox, commands  # noqa: E402
from phoenix_compose.runtime.edgeproc import Edge  # noqa: E402
from phoenix_compose.statedir import StateDir  # noqa: E402

from support.edgeload import Load  # noqa: E402  (the tests' load generator: one copy)

IMAGE = "localhost/phoenix-bench/busybox:1"
PROJECT, STOPFIRST, PEER = "phoenixzdbench", "phoenixzdstop", "phoenixzdpeer"
HTTPD = "exec httpd -f -p 8000 -h /www"
STOP_ROW = "inv up, stop-first, 1 replica (today)"
PEER_ROW = "podman-compose up -d (peer: stop-first, 1 container)"
WEB = """
services:
  web:
    image: {image}
    command: [sh, -c, 'mkdir -p /www && echo {version} > /www/index.html && {serve}']
    stop_grace_period: 2s
    healthcheck:
      test: [CMD, wget, -q, -O, /dev/null, "http://127.0.0.1:8000/"]
      interval: 1s
      timeout: 2s
      retries: 3
    deploy: {{replicas: {replicas}, update_config: {{order: {order}}}}}
    ports: ["127.0.0.1:{port}:8000"]
{secrets}"""
SECRET = """    secrets: [{{source: {env}_token, target: token}}]
secrets:
  {env}_token: {{external: true}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """A generated stack in ``root``: env = project (its secret is ``<project>_token``)."""

    def __init__(self, root: Path, project: str, replicas: int, order: str,
                 secret: bool) -> None:
        self.root, self.project, self.port = root, project, free_port()
        self.replicas, self.order, self.secret = replicas, order, secret
        for sub in ("compose", "envs"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
        (root / "envs" / f"{project}.env").write_text(f"COMPOSE_PROJECT_NAME={project}\n")

    def text(self, version: str, serve: str = HTTPD) -> str:
        secrets = SECRET.format(env=self.project) if self.secret else ""
        return WEB.format(image=IMAGE, version=version, serve=serve, replicas=self.replicas,
                          order=self.order, port=self.port, secrets=secrets)

    def write(self, version: str, serve: str = HTTPD) -> None:
        (self.root / "compose" / "app.yaml").write_text(self.text(version, serve))

    def inv(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([tool("inv"), *args, "--env", self.project], cwd=self.root,
                              input=stdin, capture_output=True, text=True, timeout=600)

    def replica(self, i: int = 1) -> str:
        return f"{self.project}_web_{i}"


def timed(call) -> tuple[float, object]:
    start = time.monotonic()
    result = call()
    return time.monotonic() - start, result


def expect(done: subprocess.CompletedProcess, code: int, what: str) -> None:
    if done.returncode != code:
        raise SystemExit(f"bench: {what}: exit {done.returncode}, expected {code}:\n"
                         f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}")


def p99(load: Load, start: float, end: float) -> float:
    window = sorted(s for t, s, _ in list(load.timings) if start <= t <= end)
    return window[min(len(window) - 1, int(0.99 * len(window)))] if window else float("nan")


def under_load(load: Load, call) -> dict[str, float]:
    """``call`` while ``load`` runs: its seconds, the failed requests and p99 meanwhile
    (and for 40 requests after it: a failure right at the end counts)."""
    load.wait_for(40)
    failed, start = len(load.failures), time.monotonic()
    seconds, result = timed(call)
    end = time.monotonic()
    load.wait_for(40)
    return {"seconds": seconds, "failed": len(load.failures) - failed,
            "p99": p99(load, start, end), "back": float(result is not False)}


def healthy_again(container: str, since: str, guard: float = 60.0) -> bool:
    """Until ``container`` was started after ``since`` (its StartedAt) and passes its check;
    False when it was not within ``guard`` seconds."""
    deadline = time.monotonic() + guard
    while time.monotonic() < deadline:
        found = commands.run(argv.inspect(container), ok_codes=(0, 1, 125))
        state = json.loads(found.stdout)[0]["State"] if found.code == 0 else {}
        if state.get("StartedAt", since) != since and state.get("Running") and commands.run(
                argv.healthcheck_run(container), ok_codes=(0, 1, 125)).code == 0:
            return True
        time.sleep(0.1)
    return False


def back(container: str, since: str) -> None:
    if not healthy_again(container, since):
        raise SystemExit(f"bench: {container} was not started again and healthy")


def started_at(container: str) -> tuple[str, int]:
    state = json.loads(commands.run(argv.inspect(container)).stdout)[0]["State"]
    return state["StartedAt"], int(state["Pid"])


def kill_main(stack: Stack, container: str) -> bool:
    """The time: until the replica passes its check again and serves (``ready`` again in
    the edge: the watcher's ``edge_in``)."""
    since, pid = started_at(container)
    os.kill(pid, signal.SIGKILL)
    return healthy_again(container, since) and at_edge(stack, container, State.READY)


def at_edge(stack: Stack, container: str, state: State, guard: float = 60.0) -> bool:
    api, deadline = Edge(StateDir(stack.root, stack.project)).api(), time.monotonic() + guard
    while time.monotonic() < deadline:
        if any(s.server == container and s.state is state for s in api.servers_state()):
            return True
        time.sleep(0.05)
    return False


def podman_kill(stack: Stack, container: str, guard: float = 60.0) -> bool:
    """``podman kill`` is deliberate (issue 27): the replica stays stopped; the time is
    until the edge has it in maintenance (the watcher's ``edge_out``)."""
    commands.run(argv_compose.kill(container))
    return at_edge(stack, container, State.MAINT, guard)


def last_release(stack: Stack) -> int:
    done = stack.inv("releases", "--json")
    expect(done, 0, "releases")
    return max(int(r["number"]) for r in json.loads(done.stdout))


def ours(stack: Stack, load: Load, round_: int) -> dict[str, dict[str, float]]:
    """One round of the operations on the edged stack, each under ``load``."""
    ops: dict[str, dict[str, float]] = {}
    before = last_release(stack)
    stack.write(f"v{round_}-changed")
    ops["up (changed config)"] = under_load(load, lambda: expect(
        stack.inv("up", "--timeout", "120"), 0, "up of a changed config"))
    stack.write(f"v{round_}-broken", serve="exec sleep 1000")
    ops["up (broken config, exit 3)"] = under_load(load, lambda: expect(
        stack.inv("up", "--timeout", "30"), 3, "up of a broken config"))
    stack.write(f"v{round_}-changed")
    ops["rollback --to N"] = under_load(load, lambda: expect(
        stack.inv("rollback", "--to", str(before), "--timeout", "120"), 0, "rollback"))
    stack.write(f"v{round_ - 1}-base")  # the source of what runs again: rotate checks it
    ops["secrets.rotate"] = under_load(load, lambda: expect(
        stack.inv("secrets.rotate", "token", stdin=f"rotated-{round_}"), 0, "rotate"))
    watcher = subprocess.Popen([tool("inv"), "health.watch", "--env", stack.project],
                               cwd=stack.root, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)  # the watcher has seen the stack healthy (a bench, not a test)
        ops["kill -9 of a replica's main process (watched)"] = under_load(
            load, lambda: kill_main(stack, stack.replica(1)))
        if not ops["kill -9 of a replica's main process (watched)"]["back"]:
            expect(stack.inv("up", "--timeout", "120"), 0, "up (the killed replica back)")
        ops["podman kill of a replica (watched): until out of the edge"] = under_load(
            load, lambda: podman_kill(stack, stack.replica(2)))
    finally:
        watcher.send_signal(signal.SIGINT)
        try:
            watcher.wait(30)
        except subprocess.TimeoutExpired:
            watcher.kill()
            watcher.wait()
    stack.write(f"v{round_}-base")  # the next round starts from a release of its own
    expect(stack.inv("up", "--timeout", "120"), 0, "up of the next round's base")
    return ops


def stop_first(stack: Stack, load: Load, round_: int) -> dict[str, float]:
    stack.write(f"v{round_}-changed")
    return under_load(load, lambda: expect(stack.inv("up", "--timeout", "120"), 0,
                                           "stop-first up"))


def peer(root: Path, stack: Stack, load: Load, round_: int) -> dict[str, float]:
    """The same change by podman-compose: ``up -d`` of the plain compose file (it recreates
    a container whose config changed), then until the new container passes its check."""
    compose = [tool("podman-compose"), "--in-pod", "false", "-p", PEER, "-f",
               str(root / "peer.yaml")]
    container = f"{PEER}_web_1"
    since, _ = started_at(container)

    def change() -> None:
        (root / "peer.yaml").write_text(stack.text(f"v{round_}-changed"))
        subprocess.run([*compose, "up", "-d"], check=True, capture_output=True)
        back(container, since)

    return under_load(load, change)


def remove(project: str) -> None:
    """Whatever is left of ``project``: containers, then networks (bench/up.py's way)."""
    ids = commands.run(argv.labelled("container", project), timeout=60).stdout.split()
    if ids:
        commands.run(argv.remove(*ids, timeout=0), timeout=300, ok_codes=(0, 1, 2, 125))
    nets = commands.run(argv.labelled("network", project), timeout=60).stdout.split()
    if nets:
        commands.run(argv.remove_kind("network", *nets), timeout=60, ok_codes=(0, 1, 2, 125))
    left = commands.run(argv.labelled("container", project), timeout=60).stdout.split()
    if left:
        raise SystemExit(f"bench: cleanup left containers of {project}: {left}")


def cleanup(edged: Stack, plain: Stack, loads: list[Load]) -> None:
    """In dependency order: the clients, the stacks (the edge stops first, in ``down``),
    the peer's containers, the secret, and anything a failed step left behind."""
    for load in loads:
        load.stop()
    for stack in (edged, plain):
        stack.inv("down")
    for project in (PROJECT, STOPFIRST, PEER):
        remove(project)
    names = commands.run(argv.secret_names()).stdout.split()
    mine = [n for n in names if n.startswith(f"{PROJECT}_")]
    if mine:
        commands.run(argv.secret_remove(*mine))


def setup(root: Path) -> tuple[Stack, Stack, Stack]:
    edged = Stack(root / "edged", PROJECT, 2, "start-first", secret=True)
    plain = Stack(root / "plain", STOPFIRST, 1, "stop-first", secret=False)
    for project in (PROJECT, STOPFIRST, PEER):
        remove(project)
    for stack in (edged, plain):
        stack.write("v0-base")
    expect(edged.inv("secrets.set", "token", stdin="first"), 0, "secrets.set")
    for stack in (edged, plain):
        expect(stack.inv("up", "--timeout", "120"), 0, f"up of {stack.project}")
    peer_stack = Stack(root / "peer", PEER, 1, "stop-first", secret=False)
    (root / "peer.yaml").write_text(peer_stack.text("v0-base"))
    subprocess.run([tool("podman-compose"), "--in-pod", "false", "-p", PEER, "-f",
                    str(root / "peer.yaml"), "up", "-d"], check=True, capture_output=True)
    back(f"{PEER}_web_1", "")
    return edged, plain, peer_stack


def rows(samples: dict[str, list[dict[str, float]]], stop: float) -> list[tuple[str, ...]]:
    out = [("operation (under 4 clients x GET/20 ms)", "failed requests",
            "p99 during / steady p99", "time", "time / stop-first up")]
    for name, runs in samples.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        missing = sum(1 for r in runs if not r["back"])
        late = f" ({missing} of {len(runs)} not done in 60 s)" if missing else ""
        out.append((name, str(sum(int(r["failed"]) for r in runs)),
                    f"{statistics.median(r['p99'] for r in runs):.2f}x",
                    f"{seconds:.2f} s{late}", f"{seconds / stop:.2f}x"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    busybox.ensure_image(commands.run, IMAGE)
    samples: dict[str, list[dict[str, float]]] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        loads: list[Load] = []
        edged, plain, peer_stack = setup(root)
        try:
            loads = [Load(s.port, clients=4, interval=0.02) for s in (edged, plain, peer_stack)]
            loads[0].wait_for(400)  # about 2 s of steady load, before any operation
            steady = [p99(load, 0.0, time.monotonic()) for load in loads]  # each its own
            for n in range(1, args.rounds + 1):
                for name, figures in ours(edged, loads[0], n).items():
                    samples.setdefault(name, []).append({**figures, "p99": figures["p99"]
                                                         / steady[0]})
                for name, figures, i in (
                        (STOP_ROW, stop_first(plain, loads[1], n), 1),
                        (PEER_ROW, peer(root, peer_stack, loads[2], n), 2)):
                    samples.setdefault(name, []).append({**figures, "p99": figures["p99"]
                                                         / steady[i]})
        finally:
            cleanup(edged, plain, loads)
    stop = statistics.median(r["seconds"] for r in samples[STOP_ROW])
    print(table(rows(samples, stop)))
    print(f"\n{args.rounds} round(s); steady p99 (ms): through the edge "
          f"{steady[0] * 1000:.1f}, stop-first stack {steady[1] * 1000:.1f}, peer "
          f"{steady[2] * 1000:.1f} (each operation's p99 is divided by its own load's); "
          f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
