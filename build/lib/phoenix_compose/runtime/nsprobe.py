"""One native probe from inside a container's network namespace: a small helper process.

Run as a script with this interpreter (``python -I -S nsprobe.py PID ID KIND HOST PORT PATH
TIMEOUT``: the standard library only, nothing of phoenix imported, so it starts in a few
milliseconds).  It checks that PID is still the container ID's process (its cgroup or its
mounts name the ID), enters the process's user namespace when it is not ours (rootless podman), then
its network namespace (``setns``, through libc: Python 3.11 has no ``os.setns``), so
``127.0.0.1`` is the container's own loopback, and then:

- http: one ``GET PATH`` to HOST:PORT; a 2xx or 3xx answer passes (as ``wget``,
  ``curl -f``: redirects are not followed, as the kubelet's first answer counts);
- tcp: one connect to HOST:PORT (as ``nc -z``).

Exit codes: 0 passed, 1 failed, 124 ran out of TIMEOUT seconds (as ``timeout(1)``),
2 PID is no longer the container's, 3 the namespace could not be entered.  One line on
stdout says what happened.  A process, not a thread: ``setns`` of a user namespace needs a
single-threaded process, and the watcher's own threads never change namespace.

``python -I -S nsprobe.py --serve`` serves many probes (the watcher's): one request a line
on stdin (JSON: ``[NUMBER, PID, ID, KIND, HOST, PORT, PATH, TIMEOUT]``), each run in a
child forked for it (single-threaded, so it may enter any namespace), whose answer is one
line on stdout (``[NUMBER, CODE, MESSAGE]``); until stdin ends.  A fork of this small
process costs about a millisecond, where starting the interpreter cost most of a check.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import sys

CLONE_NEWNET, CLONE_NEWUSER = 0x40000000, 0x10000000
PASSED, FAILED, STALE, NO_NAMESPACE, TIMED_OUT = 0, 1, 2, 3, 124


def enter(pid: int) -> None:
    """Join PID's user namespace (when another) and network namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    for kind, flag in (("user", CLONE_NEWUSER), ("net", CLONE_NEWNET)):
        target = f"/proc/{pid}/ns/{kind}"
        if kind == "user" and os.stat(target).st_ino == os.stat("/proc/self/ns/user").st_ino:
            continue
        fd = os.open(target, os.O_RDONLY)
        try:
            if libc.setns(fd, flag) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns {kind}: {os.strerror(err)}")
        finally:
            os.close(fd)


def belongs(pid: str, container: str) -> bool:
    """Is PID a process of the container?  Its cgroup names the id (rootful), or, without
    a cgroup of its own (rootless on cgroups v1), its mounts do: podman bind-mounts the
    container's /etc/hosts and /etc/hostname from a folder named after the id."""
    for name in ("cgroup", "mountinfo"):
        with open(f"/proc/{pid}/{name}", encoding="utf-8", errors="replace") as text:
            if container in text.read():
                return True
    return False


def addresses(host: str) -> list[str]:
    """``localhost`` as the container's /etc/hosts has it (IPv4 first); an address as is."""
    return ["127.0.0.1", "::1"] if host == "localhost" else [host]


def connect(host: str, port: int) -> socket.socket:
    error: OSError | None = None
    for address in addresses(host):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.connect((address, port))
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    assert error is not None
    raise error


def http_get(host: str, port: int, path: str) -> tuple[int, str]:
    with connect(host, port) as sock:
        name = f"[{host}]" if ":" in host else host
        request = (f"GET {path} HTTP/1.1\r\nHost: {name}:{port}\r\n"
                   "User-Agent: phoenix-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n")
        sock.sendall(request.encode("latin-1"))
        data = b""
        while b"\r\n" not in data and len(data) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    parts = line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return FAILED, f"not an HTTP answer: {line[:80]!r}"
    code = int(parts[1])
    return (PASSED if 200 <= code < 400 else FAILED), f"HTTP {line[len(parts[0]) + 1:]}"


def probe(kind: str, host: str, port: int, path: str) -> tuple[int, str]:
    try:
        if kind == "tcp":
            connect(host, port).close()
            return PASSED, f"connected to {host}:{port}"
        return http_get(host, port, path)
    except OSError as exc:
        return FAILED, f"{host}:{port}: {exc.strerror or exc}"


def reply(code: int, message: str) -> None:
    """The answer: one line of text, or in a served request a JSON line naming it."""
    number = _request[0]
    line = message if number is None else json.dumps([number, code, message[:1000]])
    os.write(1, (line + "\n").encode())


def _expire(_signum: int, _frame: object) -> None:
    """Out of time: say so and leave at once, whatever the probe was doing."""
    reply(TIMED_OUT, f"health check timed out after {_limit[0]:g} s")
    os._exit(TIMED_OUT if _request[0] is None else 0)


_limit = [0.0]
_request: list[int | None] = [None]  # the number of the served request this child runs


def check(args: list[str]) -> tuple[int, str]:
    pid, container, kind, host, port, path, timeout = args
    try:
        if container and not belongs(pid, container):
            return STALE, f"process {pid} is no longer container {container[:12]}'s"
        enter(int(pid))
    except OSError as exc:
        return (STALE if exc.errno == 2 else NO_NAMESPACE,  # ENOENT: the process is gone
                f"cannot enter the network namespace of process {pid}: {exc}")
    _limit[0] = float(timeout)
    signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, _limit[0])
    code, message = probe(kind, host, int(port), path)
    signal.setitimer(signal.ITIMER_REAL, 0)
    return code, message


def reap(block: bool = False) -> None:
    """Wait for the children that ended (all of them with ``block``): their CPU counts in
    ours, as a watcher's own helpers' does."""
    try:
        while os.waitpid(-1, 0 if block else os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def serve() -> int:
    """Each request line in a child of its own, until stdin ends."""
    for line in iter(sys.stdin.buffer.readline, b""):
        try:
            number, *args = json.loads(line)
            args = [str(arg) for arg in args]
        except (ValueError, TypeError):
            continue
        if os.fork() == 0:
            _request[0] = int(number)
            try:
                reply(*check(args))
            except Exception as exc:  # a child never returns into the loop
                reply(FAILED, f"probe helper: {exc}")
            os._exit(0)
        reap()
    reap(block=True)
    return 0


def main(args: list[str]) -> int:
    if args == ["--serve"]:
        return serve()
    code, message = check(args)
    reply(code, message)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
