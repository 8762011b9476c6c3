"""A real local registry as a component of the stack: Debian's ``docker-registry``
(distribution 2.8) run as a plain process on a loopback address, storing under
``.phoenix/registry/``, with a pid file and a log.  Podman reaches it over plain HTTP
through a per-process ``CONTAINERS_REGISTRIES_CONF`` that marks only this address
insecure; the host's registries configuration is never changed."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from phoenix_compose.config.registry import DEFAULT_ADDRESS, Address, parse_address
from phoenix_compose.errors import ComposeRuntimeError, ConfigurationError
from phoenix_compose.fileio import read_bytes, write_files
from phoenix_compose.runtime import argv, commands
from phoenix_compose.statedir import FOLDER


def config_text(data: Path, address: Address) -> str:
    """The registry's own config, as YAML from data (no value is spliced into YAML text)."""
    return yaml.safe_dump({
        "version": "0.1",
        "log": {"level": "info", "fields": {"service": "phoenix-registry"}},
        "storage": {"filesystem": {"rootdirectory": str(data)}, "delete": {"enabled": True}},
        "http": {"addr": str(address), "headers": {"X-Content-Type-Options": ["nosniff"]}},
    }, sort_keys=False)


def registries_text(address: Address) -> str:
    """podman's registries.conf: only this registry is reached over plain HTTP.  The
    location is a TOML basic string (JSON's escaping is TOML's); the address is already a
    strict HOST:PORT, so this is belt and braces."""
    return ("# Written by phoenix-compose: only this registry is reached over plain HTTP.\n"
            f"[[registry]]\nlocation = {json.dumps(str(address))}\ninsecure = true\n")


@dataclass(frozen=True)
class Registry:
    root: Path  # the stack root
    address: str = DEFAULT_ADDRESS

    def __post_init__(self) -> None:
        """A bad address (from ``--address``) is refused before any file is written."""
        try:
            parsed = parse_address(self.address)
        except ValueError as exc:
            raise ConfigurationError(f"error: the registry address: {exc}",
                                     hint=f"e.g. --address {DEFAULT_ADDRESS}") from None
        object.__setattr__(self, "address", str(parsed))

    @property
    def parsed(self) -> Address:
        return parse_address(self.address)

    @property
    def folder(self) -> Path:
        return self.root / FOLDER / "registry"

    @property
    def pid_file(self) -> Path:
        return self.folder / "registry.pid"

    @property
    def log(self) -> Path:
        return self.folder / "registry.log"

    @property
    def registries_conf(self) -> Path:
        return self.folder / "registries.conf"

    def env(self) -> dict[str, str]:
        """The environment podman needs to push to and pull from this registry (its
        registries.conf is written when missing: a registry this stack did not start)."""
        write_files({self.registries_conf: registries_text(self.parsed)})
        return {"CONTAINERS_REGISTRIES_CONF": str(self.registries_conf)}

    def up(self, wait: float = 15.0) -> int:
        """Start it unless it runs; returns its pid once it answers."""
        running = self.pid()
        if running and self.answers():
            return running
        config = self.folder / "config.yml"
        write_files({config: config_text(self.folder / "data", self.parsed),
                     self.registries_conf: registries_text(self.parsed)})
        pid = commands.spawn(argv.registry_serve(str(config)), self.log)
        write_files({self.pid_file: f"{pid}\n"})
        deadline = time.monotonic() + wait
        while not self.answers():
            if time.monotonic() > deadline or not _alive(pid):
                self.down()
                tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
                raise ComposeRuntimeError("the registry did not start:\n  " + "\n  ".join(tail),
                                          hint=f"see {self.log}")
            time.sleep(0.1)
        return pid

    def down(self, wait: float = 10.0) -> bool:
        """Stop it; True when it was running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def pid(self) -> int | None:
        """The pid of a live registry process of ours, else None."""
        try:
            pid = int(read_bytes(self.pid_file).decode().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) and self._serves(pid) else None

    def _serves(self, pid: int) -> bool:
        """Is ``pid`` the registry serving this folder's config?  A pid file can be planted
        (a repository shipping .phoenix/registry/): `registry.down` must never signal
        another process."""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                args = handle.read().decode(errors="replace").split("\0")[:-1]
        except OSError:
            return False
        return args[1:] == list(argv.registry_serve(str(self.folder / "config.yml"))[1:])

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        finished, _status = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:
        return True
