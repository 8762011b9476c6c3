"""kubectl's command lines (``inv deploy.kube-secrets --to kubectl``), beside
:mod:`.argv_deploy`.  Pure functions; run through :mod:`.commands`."""

from __future__ import annotations

from phoenix_compose.runtime.argv import Argv


def apply(context: str | None = None, namespace: str | None = None) -> Argv:
    """``kubectl apply`` of the documents on stdin (Secrets: never in a file or argv)."""
    return ("kubectl", *(("--context", context) if context else ()),
            *(("--namespace", namespace) if namespace else ()), "apply", "-f", "-")
