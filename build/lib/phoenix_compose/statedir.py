"""StateDir: the one owner of ``.phoenix/<env>/``.

Nothing else spells out the generated layout: the final compose file and its overlays, the
validation cache, the env lock, the audit and event logs, and the watcher's state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FOLDER = ".phoenix"
# an env name is a path component under .phoenix/ and deploy/: never ``.``/``..``, a ``/``
# or a leading ``-`` (an option).  One rule where envs are listed (an ``envs/*.env`` with
# another name is no env), where ``--env`` is read, and here.
ENV_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
ENV_NAME_RULE = ("lowercase letters, digits, '_' and '-', starting with a letter or a digit, "
                 "at most 63 characters")


def valid_env_name(name: str) -> bool:
    return ENV_NAME.fullmatch(name) is not None


LAST_VALID = "phoenix-last-valid/1"  # the seal's domain (see stackkey)


def engine_file(compose_file: Path) -> Path:
    """The copy of a final file that podman-compose reads (no ``depends_on``: see
    :mod:`phoenix_compose.config.enginefile`), beside it: ``compose.yaml`` ->
    ``compose.podman-compose.yaml``."""
    return compose_file.with_name(f"{compose_file.stem}.podman-compose.yaml")


@dataclass(frozen=True)
class StateDir:
    root: Path  # the stack root
    env: str

    def __post_init__(self) -> None:
        if not valid_env_name(self.env):  # defensive: --env and the env list refuse it first
            raise ValueError(f"not an environment name: {self.env!r} ({ENV_NAME_RULE})")

    @property
    def path(self) -> Path:
        return self.root / FOLDER / self.env

    @property
    def compose_file(self) -> Path:
        """The single validated file: what ``config.show``, plan and the exports read."""
        return self.path / "compose.yaml"

    @property
    def compose_json(self) -> Path:
        """``compose_file``'s model as JSON (what reading it gives), written beside it: a
        command the validation cache answers reads it instead of parsing the YAML (its
        digest is in the sealed cache entry, checked like the YAML's)."""
        return self.path / "compose.json"

    @property
    def engine_file(self) -> Path:
        """The file podman-compose receives: ``compose_file`` without ``depends_on``."""
        return engine_file(self.compose_file)

    @property
    def compose_seal(self) -> Path:
        """The MAC of ``compose_file`` under the stack key: ``down`` with a broken config
        uses the last valid file only when it matches."""
        return self.path / "compose.yaml.mac"

    @property
    def overlays(self) -> Path:
        return self.path / "overlays"

    @property
    def cache_file(self) -> Path:
        return self.path / "cache.json"

    @property
    def lock_file(self) -> Path:
        return self.path / "lock"

    @property
    def audit_log(self) -> Path:
        return self.path / "audit.jsonl"

    @property
    def events_log(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def stops_log(self) -> Path:
        """Each stop we are about to make (written before podman is asked): the watcher's
        evidence that the exit it then sees was meant."""
        return self.path / "stops.jsonl"

    @property
    def health_state(self) -> Path:
        return self.path / "health-state.json"

    @property
    def probe_health(self) -> Path:
        """The health of the containers whose checks phoenix runs itself (native probes)."""
        return self.path / "probe-health.json"

    @property
    def health_lock(self) -> Path:
        return self.path / "health-state.lock"

    @property
    def children(self) -> Path:
        """The podman children of the running administrative action (pid, start time,
        command): what a killed run left is reaped by the next one."""
        return self.path / "children.json"

    @property
    def releases(self) -> Path:
        """One folder per healthy ``up``: ``releases/<n>/`` (compose.yaml, release.json)."""
        return self.path / "releases"

    @property
    def applied(self) -> Path:
        """What each container was created from, keyed by podman-compose's config hash."""
        return self.path / "applied.json"

    @property
    def kube_play(self) -> Path:
        """``inv deploy.kube-play``: the podman 4.3 variant of the manifests, and what was
        made (``played.json``) so that ``--down`` removes exactly that."""
        return self.path / "kube-play"

    @property
    def edge(self) -> Path:
        """The edge proxy of this env: haproxy.cfg, its stats socket (the runtime API),
        edge.json (pid and start time) and edge.log."""
        return self.path / "edge"

    def unusable(self) -> str | None:
        """Why ``.phoenix/<env>/`` must not hold state (a symlink, or a file, among its
        folders), or None.  Checked before the first write: a repository can ship a
        ``.phoenix`` that links elsewhere."""
        # lazy: fileio costs ~20 ms of import (-X importtime) on every start-up, --help too
        from phoenix_compose.fileio import check_folders

        try:
            check_folders(self.lock_file)
        except OSError as exc:
            return exc.strerror or str(exc)
        return None
