"""A string ``command`` or ``entrypoint`` split as compose-go splits it (mattn's
go-shellwords, without backtick or variable parsing): words stop at the first unquoted
``;``, ``&``, ``|``, ``<`` or ``>``, and a word starting with a digit before a ``>``
(``2>&1``) is a redirection, left out too; ``$(...)`` and backticks are kept as one word;
an unclosed quote, a lone parenthesis or a trailing backslash is an invalid command line.
So ``node app.mjs 8090 2>&1`` runs ``node app.mjs 8090`` under docker compose.  A string
that podman-compose (``shlex``) splits alike is left as it is."""

from __future__ import annotations

import shlex
from typing import Any

_STOP = frozenset(";&|<>")
_DIGITS = frozenset("0123456789")


class _Quotes:
    """Which quotes are open (go-shellwords' singleQuoted, doubleQuoted, backQuote,
    dollarQuote)."""

    def __init__(self) -> None:
        self.single = self.double = self.back = self.dollar = False

    def any(self) -> bool:
        return self.single or self.double or self.back or self.dollar

    def step(self, char: str, after_dollar: bool) -> str:
        """What ``char`` does: "skip" (a quote), "add", "stop" (an operator) or "bad"."""
        if char == "`" and not (self.single or self.double or self.dollar):
            self.back = not self.back
        elif char == ")" and not (self.single or self.double or self.back):
            self.dollar = not self.dollar
        elif char == "(" and not (self.single or self.double or self.back):
            if self.dollar or not after_dollar:
                return "bad"
            self.dollar = True
        elif char == '"' and not (self.single or self.dollar):
            self.double = not self.double
            return "skip"
        elif char == "'" and not (self.double or self.dollar):
            self.single = not self.single
            return "skip"
        elif char in _STOP and not self.any():
            return "stop"
        return "add"


def go_split(line: str) -> list[str] | None:
    """The words of ``line`` as go-shellwords parses them, or None when it refuses it.
    Linear in ``line`` (a hostile compose file's command may be megabytes long): a word is
    a list of characters joined once, never a string grown one character at a time."""
    words: list[str] = []
    buf: list[str] = []
    got, escaped, quotes = False, False, _Quotes()
    for char in line:
        if escaped or (char == "\\" and not quotes.single):
            if escaped:
                buf.append(char)
            got, escaped = got or escaped, not escaped
        elif char in " \t\r\n" and not quotes.any():
            if got:
                words.append("".join(buf))
            buf, got = [], False
        else:
            action = quotes.step(char, buf[-1:] == ["$"])
            if action == "bad":
                return None
            if action == "stop":  # 2>&1: a redirection (an ASCII digit first, as Go's byte)
                got = got and not (char == ">" and buf[:1] and buf[0] in _DIGITS)
                break
            if action == "add":
                buf.append(char)
            got = True
    if escaped or quotes.any():
        return None
    return words + ["".join(buf)] if got else words


# shlex grows a word one character at a time (quadratic in a word's length): past this a
# command becomes its word list unasked, which podman-compose runs as it would the string
_SHLEX_MAX = 65536


def _shlex(line: str) -> list[str] | None:
    if len(line) > _SHLEX_MAX:
        return None
    try:
        return shlex.split(line)
    except ValueError:
        return None


def split_operator_commands(services: Any) -> None:
    """Each service's string ``command``/``entrypoint`` that podman-compose would split
    otherwise becomes the list of words docker compose runs (in place)."""
    for svc in services.values() if isinstance(services, dict) else ():
        for key in ("command", "entrypoint"):
            value = svc.get(key) if isinstance(svc, dict) else None
            if not isinstance(value, str):
                continue
            words = go_split(value)
            if words is not None and words != _shlex(value):
                svc[key] = words
