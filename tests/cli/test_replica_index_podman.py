"""``exec --index``, ``logs`` and ``port --index`` on a real two-replica busybox service
(issue 26): the index reaches the replica it names, and logs read every replica."""

from __future__ import annotations

import subprocess

import pytest

from support import inv

pytestmark = pytest.mark.podman


def test_exec_index_2_runs_in_the_second_replica_and_logs_show_both(
        inv_stack, podman_project: str, busybox_image: str) -> None:
    root = inv_stack(f"""
            services:
              web:
                image: {busybox_image}
                command: ["sh", "-c", "echo up on $$(hostname); exec sleep 1d"]
                scale: 2
                stop_grace_period: 1s
            """)
    first, second = f"{podman_project}_web_1", f"{podman_project}_web_2"
    try:
        assert inv(root, "up", "--env", "t").returncode == 0
        ran = inv(root, "exec", "--index", "2", "web", "--env", "t", "--", "sh", "-c",
                  "touch /tmp/index-mark; hostname")
        assert ran.returncode == 0, ran.stderr
        marked = {name: subprocess.run(["podman", "exec", "--", name, "test", "-e",
                                        "/tmp/index-mark"], check=False).returncode
                  for name in (first, second)}
        assert marked == {first: 1, second: 0}  # only the second container has the mark
        hostnames = {name: subprocess.run(["podman", "exec", "--", name, "hostname"],
                                          capture_output=True, text=True,
                                          check=True).stdout.strip()
                     for name in (first, second)}
        assert ran.stdout.strip() == hostnames[second]

        lines = inv(root, "logs", "--env", "t").stdout.splitlines()
        assert sorted(lines) == [f"{first} | up on {hostnames[first]}",
                                 f"{second} | up on {hostnames[second]}"]
        assert inv(root, "logs", "--index", "1", "--env", "t").stdout.splitlines() == \
            [f"{first} | up on {hostnames[first]}"]
        beyond = inv(root, "exec", "--index", "3", "web", "--env", "t", "--", "true")
        assert beyond.returncode == 2
        assert "service 'web' has 2 replica(s)" in beyond.stderr
        assert "Traceback" not in beyond.stderr
    finally:
        assert inv(root, "down", "--env", "t").returncode == 0

