"""The edge's runtime API: HAProxy's stats socket (a UNIX socket, level admin), one
command per connection, over the standard library's ``socket`` (no shell, no socat).

Every name in a command is checked by :mod:`.model` first, so no value can add a command
(the CLI splits on ';') or a line.  HAProxy answers a successful ``set server`` with an
empty line, and a refusal with text; ``add server``/``del server`` with a sentence."""

from __future__ import annotations

import csv
import socket
from dataclasses import dataclass

from phoenix_compose.edge.haproxycfg import server_line
from phoenix_compose.edge.model import Server, State, check_name, check_weight
from phoenix_compose.errors import EdgeError

FMAINT, IMAINT, CMAINT, FDRAIN, IDRAIN, RMAINT = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
MAINT_BITS, DRAIN_BITS = FMAINT | IMAINT | CMAINT | RMAINT, FDRAIN | IDRAIN
MAX_ANSWER = 16 << 20  # a dump larger than this is not ours to read


@dataclass(frozen=True)
class ServerState:
    """One row of ``show servers state``."""

    backend: str
    server: str
    address: str
    port: int
    operational: int  # 0 stopped, 1 starting, 2 running, 3 stopping
    admin: int  # the SRV_ADMF_* mask
    weight: int

    @property
    def state(self) -> State:
        if self.admin & MAINT_BITS:
            return State.MAINT
        return State.DRAIN if self.admin & DRAIN_BITS else State.READY


@dataclass(frozen=True)
class StatRow:
    """One server row of ``show stat`` (the figures phoenix reads)."""

    backend: str
    server: str
    sessions: int  # scur: current sessions
    total: int  # stot: sessions since start
    status: str  # UP, MAINT, DRAIN, "no check", ...
    weight: int
    retries: int  # wretr: retries on this server
    redispatches: int  # wredis
    connect_errors: int  # econ
    response_errors: int  # eresp
    idle_connections: int  # idle_conn_cur: kept for reuse (``del server`` waits for 0)


class RuntimeAPI:
    def __init__(self, path: str, timeout: float = 5.0) -> None:
        self.path, self.timeout = path, timeout

    def command(self, text: str) -> str:
        """Send one command; HAProxy's whole answer."""
        if "\n" in text or ";" in text:
            raise EdgeError(f"edge: not one command: {text!r}")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(self.timeout)
                conn.connect(self.path)
                conn.sendall(text.encode() + b"\n")
                return _read_all(conn).decode("utf-8", "replace")
        except OSError as exc:
            raise EdgeError(f"edge: the runtime API at {self.path} did not answer "
                            f"{text.split()[0]!r}: {exc.strerror or exc}") from None

    def answers(self) -> bool:
        try:
            return self.command("show info").startswith("Name:")
        except EdgeError:
            return False

    def _expect(self, text: str, success: str) -> None:
        answer = self.command(text).strip()
        if answer != success:
            raise EdgeError(f"edge: {text!r} was refused: {answer or 'no answer'}")

    def add_server(self, backend: str, server: Server) -> None:
        """A new server starts in maintenance (HAProxy 2.6 makes every dynamic server so,
        and so do we): ``set_state(..., READY)`` once our checks pass."""
        check_name("the backend name", backend)
        line = server_line(server).removeprefix("server ")
        self._expect(f"add server {backend}/{line}", "New server registered.")
        if server.state is State.READY:
            self.set_state(backend, server.name, State.READY)

    def del_server(self, backend: str, server: str) -> None:
        """HAProxy refuses unless the server is in maintenance with no session, queue or
        idle connection (:func:`.drain.remove` waits for that)."""
        self._expect(f"del server {_target(backend, server)}", "Server deleted.")

    def set_state(self, backend: str, server: str, state: State) -> None:
        self._expect(f"set server {_target(backend, server)} state {State(state).value}", "")

    def set_weight(self, backend: str, server: str, weight: int) -> None:
        self._expect(f"set server {_target(backend, server)} weight {check_weight(weight)}",
                     "")

    def servers_state(self, backend: str | None = None) -> list[ServerState]:
        text = self.command("show servers state" +
                            (f" {check_name('the backend name', backend)}" if backend else ""))
        return parse_servers_state(text)

    def stats(self) -> list[StatRow]:
        return parse_stat(self.command("show stat"))


def _target(backend: str, server: str) -> str:
    return f"{check_name('the backend name', backend)}/{check_name('the server name', server)}"


def _read_all(conn: socket.socket) -> bytes:
    chunks, size = [], 0
    while block := conn.recv(65536):
        chunks.append(block)
        size += len(block)
        if size > MAX_ANSWER:
            raise OSError(0, f"an answer over {MAX_ANSWER} bytes")
    return b"".join(chunks)


def parse_servers_state(text: str) -> list[ServerState]:
    """Format version 1 (management.txt, "show servers state"); other versions refused."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "1":
        raise EdgeError(f"edge: 'show servers state' answered format {lines[:1]!r}, not 1")
    rows = []
    for line in lines[1:]:
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        rows.append(ServerState(backend=fields[1], server=fields[3], address=fields[4],
                                operational=int(fields[5]), admin=int(fields[6]),
                                weight=int(fields[7]), port=int(fields[18])))
    return rows


def parse_stat(text: str) -> list[StatRow]:
    """The server rows of the CSV (the FRONTEND and BACKEND rows are left out)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("# "):
        raise EdgeError("edge: 'show stat' answered no CSV header")
    rows = []
    for row in csv.DictReader([lines[0][2:], *lines[1:]]):
        if row["svname"] in ("FRONTEND", "BACKEND"):
            continue
        rows.append(StatRow(backend=row["pxname"], server=row["svname"],
                            sessions=_int(row["scur"]), total=_int(row["stot"]),
                            status=row["status"], weight=_int(row["weight"]),
                            retries=_int(row["wretr"]), redispatches=_int(row["wredis"]),
                            connect_errors=_int(row["econ"]),
                            response_errors=_int(row["eresp"]),
                            idle_connections=_int(row.get("idle_conn_cur") or "")))
    return rows


def _int(value: str) -> int:
    return int(value) if value and value.strip().isdigit() else 0
