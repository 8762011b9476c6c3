"""The one secret rule: which variable names look secret, and which values are plaintext
secrets.  The production policy, masking, ``config.show``, the Kubernetes and Quadlet
exports and the env-file messages all ask here, so they never disagree.

A name is read as words (split on ``_``, ``-``, ``.`` and camelCase): it looks secret when
one word is PASS, PASSWD, PASSWORD, PASSPHRASE, SECRET, TOKEN, KEY, APIKEY, CREDENTIAL(S)
or PRIVATE, or ends with PASSWORD, PASSWD, PASSPHRASE, SECRET, TOKEN, APIKEY or one of
the glued keys (SECRETKEY, PRIVATEKEY, SIGNINGKEY, ACCESSKEY: ``DJANGO_SECRETKEY``); a
plural (SECRETS, KEYS, TOKENS, PASSWORDS, PASSWDS, CREDENTIALS, APIKEYS) or PWD counts as
the last word of a longer name (``APP_SECRETS``, ``API_KEYS``, ``DB_PWD``).  Whole words, so
``PASSTHROUGH``, ``KEYBOARD``, ``PWD`` (the shell's folder) and ``PHOENIX_SECRETS_PREFIX``
(settings about secrets, not secrets) do not.  A name whose last word is FILE, PATH or DIR
names where a secret lives, not the secret (``POSTGRES_PASSWORD_FILE``).  A value is also a
secret when it holds a URL whose userinfo has a password (``postgres://user:pw@db/x``), or
whose userinfo is a token (16 or more letters and digits, both: ``https://ghp_x1...@host``,
a Sentry DSN's key), whatever its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

MASK = "********"
WORDS = frozenset({"PASS", "PASSWD", "PASSWORD", "PASSPHRASE", "SECRET", "TOKEN", "KEY",
                   "APIKEY", "CREDENTIAL", "CREDENTIALS", "PRIVATE"})
ENDINGS = ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY", "SECRETKEY",
           "PRIVATEKEY", "SIGNINGKEY", "ACCESSKEY")
LAST_WORDS = frozenset({"SECRETS", "KEYS", "TOKENS", "PASSWORDS", "PASSWDS", "APIKEYS", "PWD"})
LOCATIONS = frozenset({"FILE", "PATH", "DIR"})
SECRETS_DIR = "/run/secrets/"  # where compose secrets are mounted: a path there is a reference
# scheme://user:PASSWORD@ (group 2); the password may hold '@' (the last one before the
# host ends it) but no '/' or space.
URL_PASSWORD = re.compile(r"(\b[A-Za-z][\w+.-]*://[^/:@\s]*:)([^/\s]*)@")
# scheme://TOKEN@ (group 2): userinfo with no password that is a token, not a user name
URL_TOKEN = re.compile(r"(\b[A-Za-z][\w+.-]*://)((?=[\w.~%-]*\d)(?=[\w.~%-]*[A-Za-z])"
                       r"[\w.~%-]{16,})@")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def words(name: str) -> list[str]:
    return [w for w in re.split(r"[^A-Za-z0-9]+", _CAMEL.sub("_", name)) if w]


@lru_cache(maxsize=4096)  # config.show asks it of every key of the final file
def looks_secret(name: str) -> bool:
    """Does the variable (or key) ``name`` look like it holds a secret?"""
    parts = [w.upper() for w in words(str(name))]
    if not parts or parts[-1] in LOCATIONS:
        return False
    return any(w in WORDS or w.endswith(ENDINGS) for w in parts) or (
        len(parts) > 1 and parts[-1] in LAST_WORDS)


def url_passwords(text: str) -> list[str]:
    """The passwords (and tokens) of the URLs with userinfo in ``text``."""
    return [m.group(2) for rule in (URL_PASSWORD, URL_TOKEN) for m in rule.finditer(text)
            if m.group(2)]


def mask_url_passwords(text: str, mask: str) -> str:
    for rule in (URL_PASSWORD, URL_TOKEN):
        text = rule.sub(lambda m: f"{m.group(1)}{mask}@" if m.group(2) else m.group(0), text)
    return text


def is_plaintext_secret(name: str, value: object) -> bool:
    """Is ``name=value`` a secret written in plain text: a non-empty value under a name
    that looks secret (a path under /run/secrets/ is a reference to one, not one), or a
    value holding a URL with a password?"""
    if value is None or str(value) == "":
        return False
    text = str(value)
    if url_passwords(text):
        return True
    return looks_secret(name) and not text.startswith(SECRETS_DIR)


def secret_values(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """The secrets among ``name=value`` pairs: the values of plaintext secrets and the
    passwords of URLs."""
    out: list[str] = []
    for name, value in pairs:
        if is_plaintext_secret(name, value):
            out += url_passwords(value) if not looks_secret(name) else \
                [value, *url_passwords(value)]
    return out
