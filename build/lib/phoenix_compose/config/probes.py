"""Health checks phoenix runs itself, as the kubelet runs ``httpGet`` and ``tcpSocket``.

A check whose test is a plain HTTP GET of the container's own address (``wget -q -O- URL``,
``wget --spider URL``, ``curl -fsS URL``...) or a TCP connect (``nc -z HOST PORT``) is
recognised here, once, for everyone: the Kubernetes export turns it into a probe, and the
watcher, ``up``'s health gate and ``health.check`` run it from the container's network
namespace (``runtime/nsprobe.py``) instead of paying for ``podman healthcheck run``.  Anything
else (a pipe, a variable, an option we do not model, another host) is not recognised and
stays an exec check, unchanged.  ``x-phoenix-probe: exec`` on a service keeps it exec.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

PROBE_KEY = "x-phoenix-probe"
MODES = ("native", "exec")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
SHELL_SYNTAX = re.compile(r"[|&;<>()$`\\\"'*?\[\]#~{}\n]")
EXIT_1 = re.compile(r"\s*\|\|\s*exit\s+1\s*$")  # maps the exit code only
_URL = re.compile(r"http://(127\.0\.0\.1|localhost|\[::1\])(?::(\d{1,5}))?(/\S*)?")
# option -> takes a value (True) or not; anything else is not recognised
_WGET = {"-q": False, "--quiet": False, "--spider": False, "-S": False,
         "--server-response": False, "-O": True, "--output-document": True,
         "-T": True, "--timeout": True, "-t": True, "--tries": True}
_CURL = {"-f": False, "--fail": False, "-s": False, "--silent": False, "-S": False,
         "--show-error": False, "-o": True, "--output": True, "-m": True,
         "--max-time": True, "--connect-timeout": True}
_NC = {"-z": False, "-v": False, "-w": True}
_TIMEOUTS = ("-T", "--timeout", "-m", "--max-time", "-w")


@dataclass(frozen=True)
class NativeProbe:
    kind: str  # "http" (a GET: 2xx or 3xx passes) or "tcp" (a connect)
    host: str  # the container's own address, as written
    port: int
    path: str = "/"
    timeout: float | None = None  # the command's own (wget -T, curl -m, nc -w)


def command(test: Any) -> list[str] | None:
    """A healthcheck test as the argv it runs, when it needs no shell to mean it."""
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not isinstance(test, list) or len(test) < 2 or test[0] not in ("CMD", "CMD-SHELL"):
        return None
    if test[0] == "CMD":
        return [str(a) for a in test[1:]]
    line = EXIT_1.sub("", " ".join(str(a) for a in test[1:]))
    return None if SHELL_SYNTAX.search(line) else shlex.split(line)


def recognise(test: Any) -> NativeProbe | None:
    """The native probe a healthcheck test means, or None (it stays an exec check)."""
    args = command(test)
    if not args:
        return None
    program = args[0].rsplit("/", 1)[-1]
    table = {"wget": _WGET, "curl": _CURL, "nc": _NC}.get(program)
    parsed = _options(args[1:], table) if table else None
    if parsed is None:
        return None
    options, operands = parsed
    try:
        timeout = _timeout(options)
    except ValueError:
        return None  # the command itself would fail on it
    if program == "nc":
        return _tcp(options, operands, timeout)
    if program == "curl" and not {"-f", "--fail"} & set(options):
        return None  # without -f any HTTP answer passes: not an httpGet
    if program == "wget" and (options.get("-t", options.get("--tries", "1")) != "1"):
        return None  # retries inside one check: not one GET
    match = _URL.fullmatch(operands[0]) if len(operands) == 1 else None
    if match is None:
        return None
    return NativeProbe("http", match.group(1).strip("[]"), int(match.group(2) or 80),
                       match.group(3) or "/", timeout)


def _tcp(options: dict[str, str], operands: list[str], timeout: float | None
         ) -> NativeProbe | None:
    if "-z" not in options or len(operands) != 2 or operands[0] not in LOCAL_HOSTS \
            or not operands[1].isdigit():
        return None
    return NativeProbe("tcp", operands[0].strip("[]"), int(operands[1]), "", timeout)


def _options(args: list[str], table: dict[str, bool]) -> tuple[dict[str, str], list[str]] | None:
    """Options (clustered short ones split: ``-qO-``, ``-fsS``) and operands, or None when
    one is not in ``table``."""
    options: dict[str, str] = {}
    operands: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if not arg.startswith("-") or arg == "-":
            operands.append(arg)
        elif arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name not in table or (table[name] and not eq and not rest) or \
                    (eq and not table[name]):
                return None
            options[name] = value if eq else rest.pop(0) if table[name] else ""
        else:
            for i, letter in enumerate(arg[1:]):
                name = "-" + letter
                if name not in table:
                    return None
                if table[name]:
                    taken = arg[i + 2:] or (rest.pop(0) if rest else "")
                    if not taken:
                        return None
                    options[name] = taken
                    break
                options[name] = ""
    return options, operands


def _timeout(options: dict[str, str]) -> float | None:
    """The command's own time limit (ValueError: not a number)."""
    given = [float(options[name]) for name in _TIMEOUTS if name in options]
    return min(given) if given else None


def mode(raw: dict[str, Any]) -> str:
    """``x-phoenix-probe`` of a service (validated in :mod:`.extensions`): native, exec or
    "" (not given: native when the test is recognised)."""
    value = raw.get(PROBE_KEY)
    return value if value in MODES else ""


def native_probe(raw: dict[str, Any]) -> NativeProbe | None:
    """The native probe of a service (its raw compose mapping), or None: exec."""
    if mode(raw) == "exec":
        return None
    check = raw.get("healthcheck") or {}
    if not isinstance(check, dict) or check.get("disable"):
        return None
    return recognise(check.get("test"))
