"""A podman >= 5 ``quadlet`` for ``deploy.quadlet --check``, fetched by ``inv doctor --fix``
into the user's cache (``$XDG_CACHE_HOME/phoenix-compose/quadlet``), as ``./dev setup``
does into the venv: Debian trixie's podman package, downloaded with apt under a private
``APT_CONFIG`` (its own sources, lists, cache and status: the system's apt is untouched, no
root), and only the quadlet binary kept.  Every command is an argv list through the runner."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from phoenix_compose.errors import CommandError, ComposeRuntimeError
from phoenix_compose.runtime import argv_deploy, containers

MIRROR = "http://deb.debian.org/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
INSIDE = Path("usr/libexec/podman/quadlet")


def cached() -> Path:
    """Where the fetched quadlet lives: the user's cache, not the repository or the venv."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "phoenix-compose" / "quadlet"


def find() -> str | None:
    """``PHOENIX_QUADLET``; the one ``./dev setup`` fetched into the venv; the one ``inv
    doctor --fix`` fetched into the user's cache; a podman >= 5 package's; or ``quadlet`` on
    PATH."""
    venv = Path(sys.executable).parent.parent / "libexec" / "quadlet"
    for candidate in (os.environ.get("PHOENIX_QUADLET"), str(venv), str(cached()),
                      "/usr/libexec/podman/quadlet", shutil.which("quadlet")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def apt_config(work: Path, mirror: str) -> str:
    """apt's configuration confined to ``work`` (sources, lists, cache, status)."""
    for folder in ("lists/partial", "cache/archives/partial", "parts", "prefs"):
        (work / folder).mkdir(parents=True, exist_ok=True)
    (work / "status").write_text("", encoding="utf-8")
    (work / "sources.list").write_text(f"deb [signed-by={KEYRING}] {mirror} trixie main\n",
                                       encoding="utf-8")
    settings = {"Dir::Etc::SourceList": work / "sources.list", "Dir::Etc::SourceParts":
                work / "parts", "Dir::Etc::Parts": work / "parts",
                "Dir::Etc::PreferencesParts": work / "prefs", "Dir::State": work,
                "Dir::State::Lists": work / "lists", "Dir::State::status": work / "status",
                "Dir::Cache": work / "cache", "Acquire::Languages": "none"}
    path = work / "apt.conf"
    path.write_text("".join(f'{key} "{value}";\n' for key, value in settings.items()),
                    encoding="utf-8")
    return str(path)


def fetch(run: containers.Runner, target: Path | None = None, mirror: str = "") -> Path:
    """Download Debian trixie's podman package and keep its quadlet at ``target``."""
    target = target or cached()
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise ComposeRuntimeError("no apt-get or dpkg-deb here to fetch Debian's quadlet",
                                  hint=f"put a podman >= 5 quadlet at {target} "
                                       "(or set PHOENIX_QUADLET=/path/to/quadlet)")
    mirror = mirror or os.environ.get("PHOENIX_DEBIAN_MIRROR") or MIRROR
    with tempfile.TemporaryDirectory(prefix="phoenix-apt-") as tmp:
        work = Path(tmp)
        env = {"APT_CONFIG": apt_config(work, mirror)}
        try:
            run(argv_deploy.apt_update(), env=env, cwd=work, timeout=600)
            run(argv_deploy.apt_download("podman"), env=env, cwd=work, timeout=600)
            [deb] = sorted(work.glob("podman_*.deb"))
            run(argv_deploy.deb_extract(str(deb), str(work / "root")), timeout=300)
        except (CommandError, ValueError) as exc:
            raise ComposeRuntimeError(f"could not fetch Debian trixie's podman from {mirror}: "
                                      f"{str(exc).splitlines()[0] if str(exc) else exc!r}",
                                      hint="set PHOENIX_DEBIAN_MIRROR, or PHOENIX_QUADLET="
                                           "/path/to/quadlet") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".tmp")
        shutil.copyfile(work / "root" / INSIDE, partial)
        partial.chmod(0o755)
        partial.replace(target)
    return target
