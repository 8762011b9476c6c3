"""A string ``command`` or ``entrypoint`` split as compose-go splits it (mattn's
go-shellwords): words stop at the first unquoted ``;``, ``&``, ``|``, ``<`` or ``>``, and a
word of digits before a ``>`` (``2>&1``) is a redirection, left out too.  So
``node app.mjs 8090 2>&1`` runs ``node app.mjs 8090`` under docker compose; a string
without those characters is left for podman-compose to split, as it splits it alike."""

from __future__ import annotations

from typing import Any

_STOP = frozenset(";&|<>")


def go_words(line: str) -> list[str] | None:
    """The words of ``line`` when an unquoted operator cuts it short, else None (the
    string means what it says; an unclosed quote is left for the schema's reader)."""
    words: list[str] = []
    buf, got = "", False
    escaped = single = double = False
    for char in line:
        if escaped:
            buf, got, escaped = buf + char, True, False
        elif char == "\\" and not single:
            escaped = True
        elif char in " \t\r\n" and not (single or double):
            if got:
                words.append(buf)
            buf, got = "", False
        elif char == '"' and not single:
            double, got = not double, True
        elif char == "'" and not double:
            single, got = not single, True
        elif char in _STOP and not (single or double):
            if char == ">" and buf[:1].isdigit():
                got = False
            return words + [buf] if got else words
        else:
            buf, got = buf + char, True
    return None


def split_operator_commands(services: Any) -> None:
    """Each service's string ``command``/``entrypoint`` that an operator cuts short
    becomes the list of words docker compose runs (in place)."""
    for svc in services.values() if isinstance(services, dict) else ():
        for key in ("command", "entrypoint"):
            value = svc.get(key) if isinstance(svc, dict) else None
            words = go_words(value) if isinstance(value, str) else None
            if words is not None:
                svc[key] = words
