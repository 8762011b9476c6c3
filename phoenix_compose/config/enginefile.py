"""The file podman-compose reads: the final compose file without ``depends_on`` (kept
under an extension key, see :func:`engine_text`).

phoenix orders and health-gates every start itself and asks podman-compose only to create
or recreate named services with ``--no-deps``, so podman-compose needs no dependency.  Yet
it resolves them at each start-up: its ``rec_deps`` walks every dependency path of every
service with no memo (6.5 s of CPU per call for 50 services in 5 levels of 10).  It reads
this copy instead, written with the final file (:func:`files`).  ``links`` stay (they carry
aliases).  Every podman-compose call must read this same file: its ``up`` recreates a
container whose config-hash label differs from the hash of the service in the file it
reads.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from phoenix_compose import fileio  # write_files: the seam tests patch
from phoenix_compose.config.dump import dump_yaml
from phoenix_compose.errors import StateError
from phoenix_compose.statedir import StateDir, engine_file

KEPT_AS = "x-phoenix-depends-on"  # read by no one; keeps the config hashes distinct


def engine_text(compose_text: str) -> str:
    """``compose_text`` (a final file, already escaped) with each service's ``depends_on``
    replaced by its digest under :data:`KEPT_AS`, an extension key podman-compose does not
    resolve.  Dropped, two services equal but for their dependencies would get the same
    config hash, and the fingerprint store (``runtime/fingerprint.py``, keyed by that
    hash) would take one for the other and recreate it at every ``up``."""
    return dump_yaml(engine_model(fileio.load_own_yaml(compose_text) or {}))


def engine_model(model: Any) -> Any:
    """The data of :func:`engine_text` from the final file's data (as read back from it,
    e.g. from its JSON twin), which is left as it was."""
    services = model.get("services") if isinstance(model, dict) else None
    if not services:
        return model
    out = {name: _kept(svc) for name, svc in services.items()}
    return {**model, "services": out}


def _kept(svc: Any) -> Any:
    if not isinstance(svc, dict) or "depends_on" not in svc:
        return svc
    out = {key: value for key, value in svc.items() if key != "depends_on"}
    out[KEPT_AS] = depends_digest(svc["depends_on"])  # where a pop and a set put it
    return out


def depends_digest(depends_on: object) -> str:
    """One string for a service's dependencies: podman-compose interpolates every string of
    the file it reads at each start-up (about 1 ms each here), and a dependency's name,
    condition and ``required`` were three."""
    text = json.dumps(depends_on, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def files(compose_file: Path, compose_text: str, model: Any = None) -> dict[Path, str]:
    """The final file and podman-compose's copy of it, for one ``write_files``; ``model``:
    the final file's data when the caller has it (read back from its JSON twin), so the
    text is not parsed again."""
    engine = engine_text(compose_text) if model is None else dump_yaml(engine_model(model))
    return {compose_file: compose_text, engine_file(compose_file): engine}


def write(compose_file: Path, compose_text: str) -> None:
    """Write podman-compose's copy of a final file that was verified (by its MAC) but may
    have been written without one (by an older phoenix) or beside an edited copy: always
    derived from the verified text, written only when it differs.  Raises OSError."""
    path, text = engine_file(compose_file), engine_text(compose_text)
    try:
        if fileio.read_bytes(path) == text.encode("utf-8"):
            return  # as it must be: nothing to write (a read-only .phoenix/ is fine)
    except OSError:
        pass  # missing, or a link: written (``write_files`` replaces a link, never follows)
    fileio.write_files({path: text})


def cached(state: StateDir, root: Path, outputs: object) -> None:
    """A fresh cache entry recorded by an older phoenix has no podman-compose copy among
    its ``outputs`` (a newer one's are checked by ``cache.is_fresh``): written from the
    final file those outputs vouch for.  Raises StateError."""
    if isinstance(outputs, dict) and str(state.engine_file.relative_to(root)) in outputs:
        return
    try:
        write(state.compose_file, fileio.read_bytes(state.compose_file).decode("utf-8"))
    except OSError as exc:
        raise StateError(f"cannot write {state.engine_file.relative_to(root)}: "
                         f"{exc.strerror or exc}") from None
