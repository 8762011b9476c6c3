"""An image for native-against-exec probe tests: the busybox toolbox (sh, httpd, wget) plus
the host's curl and OpenBSD nc (busybox's nc has no ``-z``), copied with the libraries
they load, so every recognised form can also run as an exec check.

``serve`` (its command) runs httpd on 8080, where ``/cgi-bin/probe`` answers as
``/tmp/mode`` says: ok (200), 404, 500 or slow (no answer for 30 s); ``down`` stops httpd
(nothing listens: a refused port)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from phoenix_compose.runtime import argv, commands

PROBE_IMAGE = "localhost/phoenix-test/probes:2"
NC_DEB = Path("/var/cache/apt/archives/netcat-openbsd_1.219-1_amd64.deb")
CONTAINERFILE = ("FROM {base}\nCOPY rootfs/ /\n"
                 "ENV PATH=/usr/local/bin:/usr/bin:/bin\nCMD [\"serve\"]\n")
CGI = """#!/bin/sh
case "$(cat /tmp/mode)" in
  ok) printf 'Content-Type: text/plain\\r\\n\\r\\nok\\n' ;;
  404) printf 'Status: 404 Not Found\\r\\n\\r\\n' ;;
  500) printf 'Status: 500 Internal Server Error\\r\\n\\r\\n' ;;
  slow) sleep 30 ;;
esac
"""
SERVE = """#!/bin/sh
echo ok > /tmp/mode
httpd -p 8080 -h /www
exec sleep 1d
"""


def missing() -> str | None:
    """Why the image cannot be built here, or None (``./dev`` installs curl and
    netcat-openbsd; where ``PHOENIX_REQUIRE`` names podman, a missing one fails the test:
    see ``skip_or_fail``)."""
    if shutil.which("curl") is None:
        return "curl is not installed on the host"
    if not NC_DEB.exists() and shutil.which("nc.openbsd") is None:
        return f"no OpenBSD nc on the host (nc.openbsd, or {NC_DEB})"
    return None


def skip_or_fail() -> None:
    """Skip a test that needs the image where it cannot be built, but fail it where the
    run requires podman (``./dev test``): nothing CI should run is silently green."""
    import os

    import pytest

    from support.needs import required

    why = missing()
    if why and "podman" in required(os.environ):
        pytest.fail(f"{why} (PHOENIX_REQUIRE names podman; ./dev setup installs it)")
    if why:
        pytest.skip(why)


def _libraries(binary: Path) -> list[Path]:
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True,
                         check=True).stdout
    return [Path(word) for line in out.splitlines() for word in line.split()
            if word.startswith("/")]


def _place(rootfs: Path, source: Path, target: str) -> None:
    path = rootfs / target.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, path)  # a symlink's target, under the link's name


def ensure_probe_image(base: str) -> str:
    if commands.run(argv.image_exists(PROBE_IMAGE), ok_codes=(0, 1)).code == 0:
        return PROBE_IMAGE
    with tempfile.TemporaryDirectory(prefix="phoenix-probes-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        nc = shutil.which("nc.openbsd")
        if nc is None:
            subprocess.run(["dpkg", "-x", str(NC_DEB), str(Path(tmp) / "deb")], check=True)
            nc = str(Path(tmp) / "deb/bin/nc.openbsd")
            if not Path(nc).exists():
                nc = str(Path(tmp) / "deb/usr/bin/nc.openbsd")
        curl = shutil.which("curl") or "curl"
        _place(rootfs, Path(nc), "/usr/local/bin/nc")
        _place(rootfs, Path(curl), "/usr/local/bin/curl")
        for lib in {*_libraries(Path(nc)), *_libraries(Path(curl))}:
            _place(rootfs, lib, str(lib))
        for target, text in (("/www/cgi-bin/probe", CGI), ("/usr/local/bin/serve", SERVE)):
            path = rootfs / target.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(0o755)
        (Path(tmp) / "Containerfile").write_text(CONTAINERFILE.format(base=base))
        commands.run(argv.build(PROBE_IMAGE, tmp), timeout=300)
    return PROBE_IMAGE
