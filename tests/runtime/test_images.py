"""A Debian base image that cannot be pulled is bootstrapped offline (mmdebstrap from the
machine's own Debian archive), as whoever runs the suite: root here, a user in CI's
rootless job.  (Rootless under a root run: tests/runtime/test_rootless.py.)"""

from __future__ import annotations

import os
import uuid

import pytest

from phoenix_compose.runtime import commands
from phoenix_compose.runtime.images import bootstrap_debian

pytestmark = [pytest.mark.podman, pytest.mark.slow]


def test_a_debian_base_is_bootstrapped_and_runs() -> None:
    image = f"localhost/phoenix-test/debian-{uuid.uuid4().hex[:8]}:bookworm"
    reports: list[tuple[str, str, str]] = []
    try:
        bootstrap_debian(image, "bookworm", run=commands.run,
                         report=lambda *report: reports.append(report))
        version = commands.run(("podman", "run", "--rm", "--network", "none", "--", image,
                              "cat", "/etc/debian_version")).stdout.strip()
    finally:
        commands.run(("podman", "rmi", "--ignore", "--", image))
    assert version.startswith("12.")
    mode = "root" if os.geteuid() == 0 else "unshare"
    assert reports[0][1] == "bootstrapping" and reports[0][2].endswith(f"(mmdebstrap, {mode})")
    assert reports[-1] == ("base", "bootstrapped", image)


def test_a_dockerfile_inline_is_built_from_a_file_that_does_not_outlive_the_build(
        make_stack, busybox_image) -> None:
    from phoenix_compose.runtime.images import build_images
    from phoenix_compose.runtime.lifecycle import ComposeManager

    image = f"localhost/phoenix-test/inline-{uuid.uuid4().hex[:8]}:1"
    root = make_stack({"envs/t.env": "", "compose/a.yaml": f"""
        services:
          app:
            image: {image}
            build:
              dockerfile_inline: |
                FROM {busybox_image}
                RUN echo inline > /made
        """})
    tmp = set(os.listdir("/tmp"))
    try:
        built = build_images(ComposeManager(root, "t").stack(), run=commands.run,
                             report=lambda *_: None)
        made = commands.run(("podman", "run", "--rm", "--network", "none", "--", image,
                           "cat", "/made")).stdout.strip()
    finally:
        commands.run(("podman", "rmi", "--ignore", "--", image))
    assert (built, made) == ([image], "inline")
    assert not [n for n in set(os.listdir("/tmp")) - tmp if n.startswith("phoenix-inline-")]
