"""``inv doctor``: is podman usable here, and if not, why and how to fix it.

Known failures are recognised from podman's own error text and get a named cause and a
fix; ``apply_fixes`` writes the safe ones as a containers.conf drop-in (root only).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from phoenix_compose.errors import CommandError, ComposeRuntimeError
from phoenix_compose.fileio import write_files
from phoenix_compose.runtime import argv, argv_deploy, busybox, quadletfetch
from phoenix_compose.runtime.containers import Runner
from phoenix_compose.runtime.rootless import blockers
from phoenix_compose.runtime.secrets import vault_cli
from phoenix_compose.shapes import as_dict

DROP_IN = Path("/etc/containers/containers.conf.d/50-phoenix-host.conf")
SMOKE_IMAGE = "localhost/phoenix/smoke:busybox"


@dataclass(frozen=True)
class Cause:
    key: str
    pattern: str
    title: str
    section: str
    setting: str


CAUSES = (
    Cause("crun-hybrid-cgroups", r"cgroups in hybrid mode not supported|drop all controllers",
          "crun cannot run containers on this host's hybrid cgroups", "engine",
          'runtime = "runc"'),
    Cause("rlimits", r"error setting rlimit type \d+|setrlimit\S*: operation not permitted",
          "podman's default ulimits are above what this host allows", "containers",
          'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]'),
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: information, not a pass or fail
    detail: str
    fix: str = ""


def diagnose(run: Runner) -> tuple[list[Check], list[Cause]]:
    checks = [_version(run, argv.version(), "podman"),
              _version(run, argv.compose_version(), "podman-compose")]
    if checks[0].ok is False:
        return checks, []
    checks += _host(run) + secret_drivers() + drop_in_mode()
    smoke, causes = smoke_test(run)
    return checks + [smoke], causes


def drop_in_mode(path: Path = DROP_IN) -> list[Check]:
    """Our drop-in must be world-readable: at 0600 every non-root podman call fails."""
    if not path.is_file() or path.stat().st_mode & 0o004:
        return []
    return [Check("drop-in mode", False, f"{path} is {path.stat().st_mode & 0o777:04o}: "
                  "rootless podman cannot read it and fails", f"chmod 0644 {path} "
                  "(inv doctor --fix does)")]


def fix_drop_in_mode(path: Path = DROP_IN) -> bool:
    if drop_in_mode(path):
        os.chmod(path, 0o644)
        return True
    return False


def secret_drivers() -> list[Check]:
    """Which podman secrets drivers work here, and why not (``PHOENIX_SECRETS_DRIVER``)."""
    missing = [t for t in ("pass", "gpg") if shutil.which(t) is None]
    return [
        Check("secrets: file", True, "podman's default driver (development)"),
        Check("secrets: pass", None if missing else True,
              f"not usable: {' and '.join(missing)} not installed" if missing else
              "GPG-encrypted at rest (the production default)",
              "apt-get install pass gnupg (./dev setup does)" if missing else ""),
        _vault_driver(),
    ]


def _vault_driver() -> Check:
    cli = vault_cli()
    if cli is None:
        return Check("secrets: shell", None, "not usable: no OpenBao/Vault CLI",
                     "pip install 'phoenix-compose[vault]' (./dev setup does)")
    return Check("secrets: shell", True, f"OpenBao/Vault KV v2 through {cli} "
                 "(PHOENIX_SECRETS_DRIVER=shell, VAULT_ADDR, VAULT_TOKEN_FILE)")


def _version(run: Runner, argv: tuple[str, ...], name: str) -> Check:
    try:
        out = run(argv, timeout=30).stdout
    except CommandError as exc:
        return Check(name, False, str(exc).splitlines()[0],
                     "install it: ./dev setup (apt-get install podman; pip install "
                     "podman-compose)")
    if name == "podman":
        version = json.loads(out).get("Client", {}).get("Version", "?")
    else:
        match = re.search(r"podman-compose version\s+(\S+)", out)
        version = match.group(1) if match else out.strip().splitlines()[0]
    return Check(name, True, version)


def _host(run: Runner) -> list[Check]:
    try:
        info = json.loads(run(argv.info(), timeout=30).stdout)
    except (CommandError, ValueError) as exc:
        return [Check("podman info", False, str(exc).splitlines()[0])]
    host = info.get("host", {})
    rootless = host.get("security", {}).get("rootless")
    systemd = Path("/run/systemd/system").is_dir()
    return [
        Check("mode", None, "rootless" if rootless else "rootful (running as root)"),
        Check("cgroups", None, f"{host.get('cgroupVersion', '?')} "
                               f"({host.get('cgroupManager', '?')} manager)"),
        Check("runtime", None, as_dict(host.get("ociRuntime")).get("name", "?")),
        Check("healthcheck timers", None,
              "systemd runs podman's healthcheck timers" if systemd else
              "no systemd: podman never runs healthchecks by itself; `inv up` and "
              "`inv health.watch` drive them"),
    ]


def smoke_test(run: Runner) -> tuple[Check, list[Cause]]:
    try:
        busybox.ensure_image(run, SMOKE_IMAGE, busybox.SMOKE)
        # Only the failures we know how to fix are tolerated; any other is reported as is.
        result = run(argv.run_once(SMOKE_IMAGE, "/bin/busybox", "true"), timeout=120,
                     tolerate=tuple((code, c.pattern) for c in CAUSES for code in (125, 126, 127)))
    except CommandError as exc:
        hint = "unknown failure: see podman's message above" if exc.code is not None else ""
        return Check("smoke container", False, str(exc), hint), []
    if result.code == 0:
        return Check("smoke container", True, "a container ran and exited 0"), []
    text = result.stderr + result.stdout
    causes = [c for c in CAUSES if re.search(c.pattern, text, re.IGNORECASE)]
    return Check("smoke container", False, "; ".join(c.title for c in causes),
                 "run `inv doctor --fix`" if os.geteuid() == 0 else
                 f"as root, write {DROP_IN}:\n{drop_in_text(causes)}"), causes


def drop_in_text(causes: list[Cause], existing: str = "") -> str:
    """The drop-in with every setting the causes need, keeping what it already had."""
    sections: dict[str, list[str]] = {}
    current = ""
    for line in existing.splitlines():
        header = re.match(r"\s*\[(\w+)\]", line)
        if header:
            current = header.group(1)
        elif line.strip():
            sections.setdefault(current, []).append(line.strip())
    for cause in causes:
        key = cause.setting.split("=")[0].strip()
        lines = [line for line in sections.get(cause.section, [])
                 if line.split("=")[0].strip() != key]
        sections[cause.section] = lines + [cause.setting]
    body = ["# Written by `inv doctor --fix` (phoenix-compose): host quirks, see inv doctor."]
    for section in sorted(s for s in sections if s):
        body += [f"[{section}]", *sections[section]]
    return "\n".join(body) + "\n"


def apply_fixes(causes: list[Cause], path: Path = DROP_IN) -> str:
    """Write the drop-in (root only) and return what was written."""

    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    text = drop_in_text(causes, existing)
    try:
        write_files({path: text})
        os.chmod(path, 0o644)  # 0600 would break every non-root podman call on the host
    except PermissionError:
        raise ComposeRuntimeError(f"cannot write {path}: not root",
                                  hint=f"as root, write {path} with:\n{text}") from None
    return text


def rootless_checks(user: str, fix: bool) -> tuple[list[Check], list[str]]:
    """The rootless blockers of ``user``: fixed where we may (with ``fix``), else named with
    the exact command; returns the checks and what was fixed."""
    fixed = []
    if fix:
        for blocker in blockers(user):
            if blocker.fix is not None:
                blocker.fix()
                fixed.append(f"{blocker.name}: {blocker.command}")
    left = blockers(user)
    checks = [Check(f"rootless: {b.name}", False, b.detail, b.command + (
        "" if b.fix else " (as root)")) for b in left]
    if not left:
        checks.append(Check("rootless", True, f"nothing blocks rootless podman for {user}"))
    if user and cgroups_v1():
        checks.append(Check("rootless limits", None, "cgroups v1: resource limits "
                            "(deploy.resources, mem_limit) are ignored rootless"))
    return checks, fixed


def cgroups_v1() -> bool:
    return not Path("/sys/fs/cgroup/cgroup.controllers").exists()


def quadlet_check(run: Runner, fix: bool) -> tuple[Check, str]:
    """The quadlet ``deploy.quadlet --check`` converts with; with ``fix``, a missing one is
    fetched into the user's cache (:mod:`.quadletfetch`).  Returns the check and what was
    fixed."""
    found, fixed = quadletfetch.find(), ""
    if found is None and fix:
        found = str(quadletfetch.fetch(run))
        fixed = f"fetched quadlet (Debian trixie's podman package) into {found}"
    if found is None:
        return Check("quadlet", None, "none: deploy.quadlet writes the units unconverted and "
                     "--check skips quadlet -dryrun and systemd-analyze verify; `inv doctor "
                     f"--fix` fetches podman 5's into {quadletfetch.cached()}"), fixed
    try:
        version = run(argv_deploy.quadlet_version(found), timeout=30).stdout.strip()
    except CommandError as exc:
        return Check("quadlet", False, f"{found}: {str(exc).splitlines()[0]}",
                     "remove it, then `inv doctor --fix` fetches another"), fixed
    return Check("quadlet", True, f"{version or '?'} ({found})"), fixed


EDGE_MINIMUM = (2, 4)  # ``add server``/``del server`` on the runtime API (dynamic servers)


def edge_check(run: Runner) -> Check:
    """The HAProxy the edge runs (issue 26): found, and recent enough for dynamic servers.
    Missing is information, not a failure, while ``up`` does not start an edge."""
    from phoenix_compose.runtime import argv_edge

    found = argv_edge.haproxy_binary()
    if found is None:
        return Check("haproxy (edge)", None, "none: the edge needs Debian's haproxy (2.6); "
                     "./dev setup installs it, or set PHOENIX_HAPROXY")
    try:
        out = run(argv_edge.haproxy_version(), timeout=30).stdout
    except CommandError as exc:
        return Check("haproxy (edge)", False, f"{found}: {str(exc).splitlines()[0]}",
                     "reinstall it: apt-get install --reinstall haproxy")
    match = re.search(r"HA-?Proxy version (\d+)\.(\d+)\S*", out)
    if match is None:
        return Check("haproxy (edge)", None, f"{found}: no version in {out[:80]!r}")
    if (int(match.group(1)), int(match.group(2))) < EDGE_MINIMUM:
        return Check("haproxy (edge)", False, f"{match.group(0)} ({found}): the edge needs "
                     "2.4 or later (add server/del server)", "apt-get install haproxy from "
                     "Debian 12 or later")
    return Check("haproxy (edge)", True, f"{match.group(0).split()[-1]} ({found})")
