"""GnuPG's command lines, for the key of the ``pass`` secrets driver (its home under
``.phoenix/``), beside :mod:`.argv`.  Pure functions; run through :mod:`.commands`."""

from __future__ import annotations

from phoenix_compose.runtime.argv import Argv


def fingerprints(home: str) -> Argv:
    return ("gpg", "--homedir", home, "--batch", "--list-secret-keys", "--with-colons")


def generate(home: str, user_id: str) -> Argv:
    """A key without passphrase for the pass driver: protected by its 0700 home."""
    return ("gpg", "--homedir", home, "--batch", "--pinentry-mode", "loopback",
            "--passphrase", "", "--quick-gen-key", "--", user_id, "default", "default",
            "never")


def stop_agent(home: str) -> Argv:
    return ("gpgconf", "--homedir", home, "--kill", "gpg-agent")
