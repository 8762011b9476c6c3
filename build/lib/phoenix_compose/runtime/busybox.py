"""Tiny offline images from the host's static busybox (no registry needed).

Used by ``inv doctor`` for its smoke container, and by the tests and benchmarks for
services with real healthchecks (busybox has sh, httpd, wget and nc).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.runtime import argv
from phoenix_compose.runtime.containers import Runner

# Copying the binary only: building runs no container, so it works before the host is fixed.
SMOKE = 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "true"]\n'
# With every applet linked, a scratch image that can run shell scripts.
TOOLBOX = ('FROM scratch\nCOPY busybox /bin/busybox\n'
           'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
           'RUN ["/bin/busybox", "mkdir", "-p", "/tmp", "/www", "/data"]\n'
           'CMD ["sh"]\n')


def ensure_image(run: Runner, tag: str, containerfile: str = TOOLBOX) -> str:
    """Build ``tag`` from the host's busybox unless it exists; returns the tag."""
    if run(argv.image_exists(tag), ok_codes=(0, 1)).code == 0:
        return tag
    binary = shutil.which("busybox")
    if binary is None:
        raise ComposeRuntimeError("busybox is not installed",
                                  hint="apt-get install busybox-static (./dev setup does)")
    with tempfile.TemporaryDirectory(prefix="phoenix-busybox-") as tmp:
        shutil.copy(binary, Path(tmp) / "busybox")
        (Path(tmp) / "Containerfile").write_text(containerfile)
        run(argv.build(tag, tmp), timeout=300)
    return tag
