"""Tiny HTTP backends and a steady client load for the edge's tests (real HAProxy, no
podman): each backend is a threaded HTTP/1.1 server on 127.0.0.1 that answers its own
name; ``kill`` drops it abruptly (listener closed, every open connection reset, as a
killed container does).  The load is N client threads, each a GET every ``interval``
seconds over a keep-alive connection; every failure is kept, with what it was, and every
request's start and latency (``timings``: bench/zero_downtime.py imports this module by
path for its load, so that the tests and the bench share one load generator)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Backend

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = self.server.name.encode()
        if self.path == "/slow":  # held until the test releases it: an in-flight request
            with self.server._lock:
                self.server.held += 1
            self.server.release.wait(60)
        self.server.count()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Backend(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.name, self.hits, self.dead = name, 0, False
        self.held, self.release = 0, threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def count(self) -> None:
        with self._lock:
            if self.dead:  # a handler thread still reading after the kill
                raise ConnectionResetError("killed")
            self.hits += 1

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        with self._lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:  # type: ignore[no-untyped-def]
        with self._lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        pass  # a reset connection (the edge's, or ours in ``kill``) is expected here

    def kill(self) -> None:
        """Abruptly: no more accepts, and every open connection reset (SO_LINGER 0)."""
        self.shutdown()
        self.server_close()
        with self._lock:
            conns = list(self._open)
        for conn in conns:  # shutdown acts on the connection now (a close would wait
            with contextlib.suppress(OSError):  # for the handler's file objects)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.shutdown(socket.SHUT_RDWR)
        self.dead = True

    def stop(self) -> None:
        self.release.set()
        if self._thread.is_alive():
            self.kill()


class Load:
    """``clients`` threads, each a GET of ``path`` every ``interval`` s to ``port``, until
    ``stop``; over HTTPS when given an SSL ``context``."""

    def __init__(self, port: int, clients: int = 4, interval: float = 0.02, path: str = "/",
                 context: ssl.SSLContext | None = None) -> None:
        self.port, self.interval, self.path, self.context = port, interval, path, context
        self.done = 0
        self.failures: list[str] = []
        self.served: dict[str, int] = {}
        self.timings: list[tuple[float, float, bool]] = []  # (start, seconds, failed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True)
                         for _ in range(clients)]
        for thread in self._threads:
            thread.start()

    def _client(self) -> None:
        conn = self._connect()
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                conn.request("GET", self.path)
                response = conn.getresponse()
                body = response.read().decode()
                failure = None if response.status == 200 else f"{response.status} {body!r}"
            except (OSError, http.client.HTTPException) as exc:
                failure, body = f"{type(exc).__name__}: {exc}", ""
                conn.close()
                conn = self._connect()
            with self._lock:
                self.done += 1
                self.timings.append((start, time.monotonic() - start, failure is not None))
                if failure:
                    self.failures.append(failure)
                else:
                    self.served[body] = self.served.get(body, 0) + 1
            self._stop.wait(self.interval)
        conn.close()

    def _connect(self) -> http.client.HTTPConnection:
        if self.context is None:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10,
                                           context=self.context)

    def wait_for(self, more: int, hang_guard: float = 60.0) -> None:
        """Until ``more`` requests more than now are done (a count, not a duration; the
        guard only keeps a broken edge from hanging the suite)."""
        target = self.done + more
        deadline = time.monotonic() + hang_guard
        while self.done < target and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.done >= target, f"the load stalled at {self.done} requests"

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.served)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)
