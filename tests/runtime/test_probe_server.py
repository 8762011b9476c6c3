"""The watcher's long-lived probe helper (runtime.probeserver, nsprobe --serve): every
request gets its own answer, many at once; a helper that dies is replaced; as root, the
forked child enters a namespace and answers as the one-shot helper does."""

from __future__ import annotations

import errno
import http.server
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from phoenix_compose.config.probes import NativeProbe
from phoenix_compose.runtime import checks, commands, nsprobe, nsserve
from phoenix_compose.runtime.probeserver import ProbeServer

PROBE = NativeProbe("http", "127.0.0.1", 1, "/")


@pytest.fixture
def server() -> Iterator[ProbeServer]:
    served = ProbeServer(str(checks.HELPER))
    yield served
    served.close()


def test_each_request_gets_its_own_answer_many_at_once(server: ProbeServer) -> None:
    # our own process is no container's: each answer names the id it was asked about
    ids = [f"{i:03d}nosuchcontainer" for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: server.check((os.getpid(), i), PROBE, 5.0), ids))
    assert [a.code for a in answers] == [checks.STALE] * len(ids)
    assert [a.stdout for a in answers] == [
        f"process {os.getpid()} is no longer container {i[:12]}'s" for i in ids]


def test_a_helper_that_died_is_replaced_by_the_next_check(server: ProbeServer) -> None:
    assert server.check((os.getpid(), "nosuchcontainer"), PROBE, 5.0).code == checks.STALE
    first = server.proc
    assert first is not None
    first.kill()
    first.wait()
    assert server.check((os.getpid(), "nosuchcontainer"), PROBE, 5.0).code == checks.STALE
    assert server.proc is not None and server.proc is not first


@pytest.fixture
def site() -> Iterator[int]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.root  # entering even our own network namespace needs CAP_SYS_ADMIN
def test_served_probes_answer_as_the_one_shot_helper(server: ProbeServer, site: int) -> None:
    silent = socket.socket()  # accepts connections (the backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, not listening: refused
    target = (os.getpid(), "")
    try:
        ok = server.check(target, NativeProbe("http", "127.0.0.1", site, "/"), 5.0)
        missing = server.check(target, NativeProbe("http", "127.0.0.1", site, "/none"), 5.0)
        refused = server.check(target, NativeProbe("tcp", "127.0.0.1",
                                                   closed.getsockname()[1], ""), 5.0)
        hung = server.check(target, NativeProbe("http", "127.0.0.1",
                                                silent.getsockname()[1], "/"), 0.3)
    finally:
        silent.close()
        closed.close()
    assert (ok.code, ok.stdout) == (checks.PASSED, "HTTP 200 OK")
    assert (missing.code, missing.stdout) == (checks.FAILED, "HTTP 404 File not found")
    assert refused.code == checks.FAILED and "refused" in refused.stdout.lower()
    assert (hung.code, hung.stdout) == (checks.TIMED_OUT,
                                        "health check timed out after 0.3 s")


def children(server: ProbeServer) -> list[int]:
    """The helper's children now (the per-container probers)."""
    assert server.proc is not None
    path = f"/proc/{server.proc.pid}/task/{server.proc.pid}/children"
    with open(path, encoding="ascii") as text:
        return [int(pid) for pid in text.read().split()]


@pytest.mark.root
def test_a_containers_probes_are_answered_by_one_child_kept_for_it(server: ProbeServer,
                                                                   site: int) -> None:
    ok = NativeProbe("http", "127.0.0.1", site, "/")
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        codes = [server.check((os.getpid(), ""), ok, 5.0).code for _ in range(25)]
        assert codes == [checks.PASSED] * 25
        first = children(server)
        assert len(first) == 1  # one fork for 25 probes of one process
        assert server.check((sleeper.pid, ""), ok, 5.0).code == checks.PASSED
        second = children(server)
        assert len(second) == 2 and first[0] in second  # another process: its own child
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.root
def test_a_child_says_stale_once_its_process_is_gone(server: ProbeServer, site: int) -> None:
    ok = NativeProbe("http", "127.0.0.1", site, "/")
    sleeper = subprocess.Popen(["sleep", "60"])
    with open(f"/proc/{sleeper.pid}/cgroup", encoding="utf-8") as text:
        mark = text.read().strip().splitlines()[-1]  # in its cgroup: it "belongs"
    target = (sleeper.pid, mark)
    assert server.check(target, ok, 5.0).code == checks.PASSED
    sleeper.kill()
    sleeper.wait()
    gone = server.check(target, ok, 5.0)
    assert (gone.code, gone.stdout) == (
        checks.STALE, f"process {sleeper.pid} is no longer container {mark[:12]}'s")


MOVER = """import ctypes, sys
sys.stdin.readline()
assert ctypes.CDLL(None, use_errno=True).unshare(0x40000000) == 0  # CLONE_NEWNET
print("moved", flush=True)
sys.stdin.readline()
"""


@pytest.mark.root
def test_a_process_now_in_another_network_namespace_is_probed_there(server: ProbeServer,
                                                                     site: int) -> None:
    """The child kept for a process probes from the namespace it entered; once the process
    is in another (here it moved; or its number was reused by the container's next run)
    the probe is made in that one, as a fork per probe made it, not in the old one."""
    ok = NativeProbe("http", "127.0.0.1", site, "/")
    mover = subprocess.Popen([sys.executable, "-c", MOVER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert mover.stdin is not None and mover.stdout is not None
    try:
        assert server.check((mover.pid, ""), ok, 5.0).code == checks.PASSED
        mover.stdin.write("\n")
        mover.stdin.flush()
        assert mover.stdout.readline() == "moved\n"
        there = server.check((mover.pid, ""), ok, 5.0)
    finally:
        mover.kill()
        mover.wait()
    assert (there.code, there.stdout) == (checks.FAILED,
                                          f"127.0.0.1:{site}: Network is unreachable")


@pytest.mark.root
def test_a_trickling_answer_is_held_to_the_timeout_as_a_whole(server: ProbeServer) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def trickle() -> None:  # one byte at a time, never the end of the status line
        conn, _ = listener.accept()
        with conn:
            while not stop.is_set():
                conn.sendall(b"H")
                stop.wait(0.05)

    threading.Thread(target=trickle, daemon=True).start()
    try:
        slow = server.check((os.getpid(), ""), NativeProbe(
            "http", "127.0.0.1", listener.getsockname()[1], "/"), 0.5)
    finally:
        stop.set()
        listener.close()
    assert (slow.code, slow.stdout) == (checks.TIMED_OUT, "health check timed out after 0.5 s")


def test_children_idle_or_of_a_gone_process_are_let_go(monkeypatch) -> None:
    clock = [1000.0]
    ends: list[int] = []

    def fork(_self, _pid: str, _container: str) -> int:  # a pipe, no child
        read, write = os.pipe()
        ends.append(read)
        return write

    monkeypatch.setattr(nsserve.Workers, "fork", fork)
    monkeypatch.setattr(nsserve, "reap", lambda block=False: None)
    workers = nsserve.Workers(nsprobe, clock=lambda: clock[0])
    live, gone = str(os.getpid()), "999999999"  # above any pid_max: no such process
    workers.send(1, [live, "a", "tcp", "127.0.0.1", "1", "/", "1"])
    workers.send(2, [gone, "b", "tcp", "127.0.0.1", "1", "/", "1"])
    clock[0] += nsserve.Workers.SWEEP_S - 1
    workers.sweep()  # not yet: a sweep every SWEEP_S
    assert set(workers.pipes) == {(live, "a"), (gone, "b")}
    clock[0] += 1
    workers.sweep()
    assert set(workers.pipes) == {(live, "a")}
    assert os.read(ends[1], 4096) == b'[2, "tcp", "127.0.0.1", "1", "/", "1"]\n'
    assert os.read(ends[1], 4096) == b""  # its pipe closed: the child would end
    workers.send(3, [live, "a", "tcp", "127.0.0.1", "1", "/", "1"])
    clock[0] += nsserve.Workers.IDLE_S + 1
    workers.sweep()
    assert workers.pipes == {}  # idle too long
    for end in ends:
        os.close(end)


def test_past_the_most_children_the_least_recently_asked_is_let_go(monkeypatch) -> None:
    clock = [0.0]
    ends: list[int] = []

    def fork(_self, _pid: str, _container: str) -> int:
        read, write = os.pipe()
        ends.append(read)
        return write

    monkeypatch.setattr(nsserve.Workers, "fork", fork)
    monkeypatch.setattr(nsserve.Workers, "MOST", 3)
    workers = nsserve.Workers(nsprobe, clock=lambda: clock[0])
    for number, container in enumerate("abcad"):  # "a" asked again before "d"
        clock[0] += 1
        workers.send(number, [str(os.getpid()), container, "tcp", "127.0.0.1", "1", "/", "1"])
    assert sorted(k[1] for k in workers.pipes) == ["a", "c", "d"]  # "b": least recent
    for end in ends:
        os.close(end)
    for key in list(workers.pipes):
        workers.drop(key)


def test_a_child_that_cannot_be_forked_fails_its_check_not_the_helper(monkeypatch,
                                                                     capfd) -> None:
    def fork(_self, _pid: str, _container: str) -> int:  # e.g. at a pids limit
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(nsserve.Workers, "fork", fork)
    monkeypatch.setattr(nsserve, "reap", lambda block=False: None)  # not this process's
    asked = b"".join(b'[%d, %d, "", "tcp", "127.0.0.1", 1, "/", "1"]\n' % (n, n)
                     for n in (1, 2))
    read, write = os.pipe()
    os.write(write, asked)
    os.close(write)
    assert nsserve.serve(nsprobe, read) == 0
    os.close(read)
    failed = '"probe helper: [Errno 11] Resource temporarily unavailable"'
    assert capfd.readouterr().out == f"[1, 1, {failed}]\n[2, 1, {failed}]\n"


@pytest.mark.root
def test_a_check_asked_while_another_of_its_container_runs_does_not_wait_behind_it(
        server: ProbeServer, site: int) -> None:
    """The child kept for a container answers one check at a time: a second one at once
    (the cascade's wait beside the schedule) runs by a helper of its own, in time."""
    silent = socket.socket()  # accepts and never answers: the first check hangs
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    accepted: list[socket.socket] = []
    took = threading.Event()
    threading.Thread(target=lambda: (accepted.append(silent.accept()[0]), took.set()),
                     daemon=True).start()
    target = (os.getpid(), "")
    hangs = NativeProbe("http", "127.0.0.1", silent.getsockname()[1], "/")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(checks.run_check, commands.run, "c", 60.0, hangs, target, server)
        try:
            assert took.wait(30)  # the first check is in flight
            second, _ = checks.run_check(commands.run, "c", 3.0, NativeProbe(
                "http", "127.0.0.1", site, "/"), target, server)
            still = not first.done()
        finally:
            for conn in accepted:
                conn.close()  # the first check ends (not an HTTP answer)
            silent.close()
    assert (second.code, second.stdout, still) == (checks.PASSED, "HTTP 200 OK", True)


@pytest.mark.root
def test_checks_waiting_on_a_helper_that_died_fail_even_when_another_already_serves(
        server: ProbeServer) -> None:
    silent = socket.socket()  # accepts and never answers: the check waits on the helper
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    hangs = NativeProbe("http", "127.0.0.1", silent.getsockname()[1], "/")
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(server.check, (os.getpid(), ""), hangs, 60.0)
        while not server.waiting:  # asked
            threading.Event().wait(0.01)
        with server.lock:  # it dies, and the next check starts another before we notice
            first = server.proc
            assert first is not None
            first.kill()
            first.wait()
            assert server._started() is not first
        answer = waiting.result(timeout=30)  # not 60 + 10 s later as "no answer"
    silent.close()
    assert (answer.code, answer.stdout) == (checks.FAILED, "the probe helper ended")


def test_the_helper_sweeps_while_no_request_comes() -> None:
    read, write = os.pipe()
    idle: list[int] = []

    def sweep() -> None:  # called only when nothing came in time
        idle.append(1)
        if len(idle) == 1:
            os.write(write, b"one\ntw")
        else:
            os.write(write, b"o\n")
            os.close(write)

    assert list(nsserve.lines(read, 0.01, sweep)) == [b"one", b"two"]
    assert len(idle) == 2
    os.close(read)


def test_a_zombie_is_a_stale_process_not_an_error() -> None:
    ended = subprocess.Popen(["true"])
    while open(f"/proc/{ended.pid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()[0] \
            != "Z":  # exited, not yet waited for
        threading.Event().wait(0.01)
    try:
        assert nsprobe.moved(str(ended.pid), "nosuchcontainer") == (
            checks.STALE, f"process {ended.pid} is no longer container nosuchcontai's")
    finally:
        ended.wait()


def test_only_our_own_time_running_out_is_a_timeout() -> None:
    assert nsprobe.ran_out(TimeoutError("timed out"))
    assert not nsprobe.ran_out(TimeoutError(errno.ETIMEDOUT, "Connection timed out"))
    assert not nsprobe.ran_out(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
