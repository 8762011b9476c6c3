"""Alerts as the design's "notifications": an event posted as JSON to a webhook URL, with a
timeout and retries (exponential: 0.5 s, 1 s, 2 s, ...).  Only http and https URLs; the
standard library's client, so no extra dependency."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any


def check_url(url: Any) -> str:
    """The URL, or ValueError when it is not an absolute http(s) URL, or carries a
    ``user:password@`` (it would be sent and logged in clear, and urllib hands it to the
    resolver as part of the host name)."""
    try:
        parts = urllib.parse.urlsplit(str(url))
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise ValueError(f"webhook url {shown(url)!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"webhook url must be http:// or https:// with a host, not "
                         f"{shown(url)!r}")
    if "@" in parts.netloc:
        raise ValueError(f"webhook url {shown(url)!r} must not carry user:password@ (put a "
                         "token in its path instead: only scheme, host and port are logged)")
    return str(url)


def shown(url: Any) -> str:
    """A URL as it may be logged: scheme, host and port only (a path or query often holds
    a token, as in Slack's hooks; userinfo a password)."""
    try:
        parts = urllib.parse.urlsplit(str(url))
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    if not parts.scheme:
        return "<not a url>"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    rest = "/..." if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{host}{port}{rest}"


def post(hook: Mapping[str, Any], event: Mapping[str, Any], default_timeout: float,
         sleep: Any = time.sleep) -> str | None:
    """POST ``event`` to ``hook["url"]``; None when a 2xx came back, else why not (after
    ``hook["retries"]`` more tries, default 2)."""
    try:
        url = check_url(hook.get("url"))
        retries = int(hook.get("retries", 2))
        timeout = float(hook.get("timeout", default_timeout))
    except (TypeError, ValueError) as exc:
        return str(exc)
    body = json.dumps(event).encode()
    why = ""
    for attempt in range(retries + 1):
        if attempt:
            sleep(0.5 * 2 ** (attempt - 1))
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "phoenix-compose"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                if 200 <= response.status < 300:
                    return None
                why = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            why = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            why = str(getattr(exc, "reason", exc))
    return f"POST {shown(url)} failed after {retries + 1} tries: {shown_reason(why, url)}"


def shown_reason(why: str, url: str) -> str:
    """urllib's reason may quote the URL: never its path or query."""
    parts = urllib.parse.urlsplit(url)
    secret = parts.path + (f"?{parts.query}" if parts.query else "")
    return why.replace(secret, "/...") if secret.strip("/") else why
