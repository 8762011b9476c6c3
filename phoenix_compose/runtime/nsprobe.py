"""Native probes from inside a container's network namespace: a small helper process.

Run as a script with this interpreter (``python -I -S nsprobe.py PID ID KIND HOST PORT PATH
TIMEOUT``: the standard library only, nothing of phoenix imported, so it starts in a few
milliseconds).  It checks that PID is still the container ID's process (its cgroup or its
mounts name the ID), enters the process's user namespace when it is not ours (rootless podman), then
its network namespace (``setns``, through libc: Python 3.11 has no ``os.setns``), so
``127.0.0.1`` is the container's own loopback, and then:

- http: one ``GET PATH`` to HOST:PORT; a 2xx or 3xx answer passes (as ``wget``,
  ``curl -f``: redirects are not followed, as the kubelet's first answer counts);
- tcp: one connect to HOST:PORT (as ``nc -z``).

Each step is held to what is left of TIMEOUT (socket timeouts: a probe makes no call that
could block otherwise).  Exit codes: 0 passed, 1 failed, 124 ran out of TIMEOUT seconds
(as ``timeout(1)``), 2 PID is no longer the container's, 3 the namespace could not be
entered.  One line on stdout says what happened.  A process, not a thread: ``setns`` of a
user namespace needs a single-threaded process, and the watcher's own threads never
change namespace.

``python -I -S nsprobe.py --serve`` serves many probes (the watcher's), each container's by
a child kept for it: :mod:`.nsserve`.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import sys
import time
from errno import EINVAL, ENOENT, ESRCH
from types import ModuleType

CLONE_NEWNET, CLONE_NEWUSER = 0x40000000, 0x10000000
PASSED, FAILED, STALE, NO_NAMESPACE, TIMED_OUT = 0, 1, 2, 3, 124
GONE = (ENOENT, ESRCH, EINVAL)  # reading /proc/PID of a process that ended (EINVAL: a zombie)
MESSAGE_MAX = 600  # characters: a served answer (JSON, at most 6 bytes a character) stays
#                    one atomic pipe write (PIPE_BUF, 4096 bytes) among its siblings'


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


def ran_out(exc: OSError) -> bool:
    """Our time ran out (a socket timeout, or ``left``), not the kernel's (ETIMEDOUT)."""
    return isinstance(exc, TimeoutError) and exc.errno is None


def left(deadline: float) -> float:
    """The seconds left before ``deadline``; out of time raises ``TimeoutError``."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("out of time")
    return remaining


def connect(host: str, port: int, deadline: float) -> socket.socket:
    error: OSError | None = None
    for address in addresses(host):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(left(deadline))
            sock.connect((address, port))
            return sock
        except OSError as exc:
            sock.close()
            if ran_out(exc):
                raise
            error = exc
    assert error is not None
    raise error


def http_get(host: str, port: int, path: str, deadline: float) -> tuple[int, str]:
    with connect(host, port, deadline) as sock:
        name = f"[{host}]" if ":" in host else host
        request = (f"GET {path} HTTP/1.1\r\nHost: {name}:{port}\r\n"
                   "User-Agent: phoenix-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n")
        sock.settimeout(left(deadline))
        sock.sendall(request.encode("latin-1"))
        data = b""
        while b"\r\n" not in data and len(data) < 4096:
            sock.settimeout(left(deadline))
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


def probe(kind: str, host: str, port: int, path: str, timeout: float) -> tuple[int, str]:
    """One probe from the namespace we are in, held to ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    try:
        if kind == "tcp":
            connect(host, port, deadline).close()
            return PASSED, f"connected to {host}:{port}"
        return http_get(host, port, path, deadline)
    except OSError as exc:
        if ran_out(exc):
            return TIMED_OUT, f"health check timed out after {timeout:g} s"
        return FAILED, f"{host}:{port}: {exc.strerror or exc}"


def joined(pid: str, container: str) -> tuple[int, str] | None:
    """Enter the namespaces of ``container``'s process ``pid``: None once in, else why not
    (STALE: the process is gone or another's; NO_NAMESPACE: no permission)."""
    try:
        if refused := moved(pid, container):
            return refused
        enter(int(pid))
    except OSError as exc:
        return (STALE if exc.errno in GONE else NO_NAMESPACE,
                f"cannot enter the network namespace of process {pid}: {exc}")
    return None


def check(args: list[str]) -> tuple[int, str]:
    pid, container, kind, host, port, path, timeout = args
    return joined(pid, container) or probe(kind, host, int(port), path, float(timeout))


def answer(number: int, code: int, message: str) -> None:
    """A served answer: one JSON line naming its request, written at once (see MESSAGE_MAX)."""
    os.write(1, (json.dumps([number, code, message[:MESSAGE_MAX]]) + "\n").encode())


def rejoined(pid: str, container: str) -> tuple[int, str] | None:
    """Enter ``pid``'s network namespace anew when it is not the one we are in (the number
    reused by the container's next run, or the process moved): as a fork per probe would."""
    try:
        ours, its = os.stat("/proc/self/ns/net"), os.stat(f"/proc/{pid}/ns/net")
        if (ours.st_dev, ours.st_ino) == (its.st_dev, its.st_ino):
            return None
    except OSError:
        pass  # joined says why
    return joined(pid, container)


def moved(pid: str, container: str) -> tuple[int, str] | None:
    """STALE when ``pid`` is no longer the container's process (gone, or another's)."""
    try:
        if not container or belongs(pid, container):
            return None
    except OSError as exc:
        if exc.errno not in GONE:
            raise
    return STALE, f"process {pid} is no longer container {container[:12]}'s"


def main(args: list[str]) -> int:
    if args == ["--serve"]:
        return served().serve(sys.modules[__name__])
    code, message = check(args)
    os.write(1, (message + "\n").encode())
    return code


def served() -> ModuleType:
    """``nsserve.py`` beside this file, loaded by its path (``-I -S``: no package here)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nsserve.py")
    spec = importlib.util.spec_from_file_location("nsserve", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
