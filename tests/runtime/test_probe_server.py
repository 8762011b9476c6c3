"""The watcher's long-lived probe helper (runtime.probeserver, nsprobe --serve): every
request gets its own answer, many at once; a helper that dies is replaced; as root, the
forked child enters a namespace and answers as the one-shot helper does."""

from __future__ import annotations

import http.server
import os
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from phoenix_compose.config.probes import NativeProbe
from phoenix_compose.runtime import checks
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
