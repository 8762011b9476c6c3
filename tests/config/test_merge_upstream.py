"""Merge cases ported from github.com/compose-spec/compose-go, override/*_test.go (the test
named in each).  compose-go spells extra hosts ``host=ip``; the final file here uses
``host:ip``, the form podman's --add-host reads."""

from __future__ import annotations

import textwrap
from pathlib import Path

from phoenix_compose import api


def merged(tmp_path: Path, base: str, override: str) -> dict:
    files = []
    for name, text in (("base.yaml", base), ("override.yaml", override)):
        (tmp_path / name).write_text(textwrap.dedent(text))
        files.append(tmp_path / name)
    return api.load_project(files, {})["services"]["test"]


DEVICES = """
services:
  test:
    image: foo
    devices: ['/dev/sda:/dev/sda', '/dev/sdb:/dev/sdb', '/dev/sdc:/dev/sdc', '/dev/sdd:/dev/sdd']
"""


def test_merge_yaml_devices(tmp_path) -> None:  # merge_devices_test.go Test_mergeYamlDevices
    got = merged(tmp_path, DEVICES, "services: {test: {devices: ['/dev/sde:/dev/sde', "
                                    "'/dev/sdf:/dev/sdf', '/dev/sdg:/dev/sdg', "
                                    "'/dev/sdh:/dev/sdh']}}")
    assert got["devices"] == [f"/dev/sd{c}:/dev/sd{c}" for c in "abcdefgh"]


def test_merge_yaml_devices_override(tmp_path) -> None:  # Test_mergeYamlDevicesOverride
    got = merged(tmp_path, DEVICES, "services: {test: {devices: ['/dev/nvme0n1p1:/dev/sda', "
                                    "'/dev/nvme1n1p1:/dev/sdb', '/dev/nvme2n1p1:/dev/sdc']}}")
    assert got["devices"] == ["/dev/nvme0n1p1:/dev/sda", "/dev/nvme1n1p1:/dev/sdb",
                              "/dev/nvme2n1p1:/dev/sdc", "/dev/sdd:/dev/sdd"]


def test_merge_extra_hosts_sequence(tmp_path) -> None:  # TestMergeExtraHostsSequence
    got = merged(tmp_path, "services: {test: {image: foo, extra_hosts: [example.com=1.2.3.4]}}",
                 "services: {test: {extra_hosts: [localhost=127.0.0.1, example.com=1.2.3.4, "
                 "example.com=4.3.2.1]}}")
    assert got["extra_hosts"] == ["example.com:1.2.3.4", "localhost:127.0.0.1",
                                  "example.com:4.3.2.1"]


def test_merge_extra_hosts_mapping(tmp_path) -> None:  # TestMergeExtraHostsMapping
    got = merged(tmp_path, "services: {test: {image: foo, extra_hosts: "
                           "{example.com: 1.2.3.4}}}",
                 "services: {test: {extra_hosts: {localhost: 127.0.0.1, "
                 "example.com: [1.2.3.4, 4.3.2.1]}}}")
    assert got["extra_hosts"] == ["example.com:1.2.3.4", "example.com:4.3.2.1",
                                  "localhost:127.0.0.1"]


def test_merge_extra_hosts_mixed(tmp_path) -> None:  # TestMergeExtraHostsMixed
    got = merged(tmp_path, "services: {test: {image: foo, extra_hosts: "
                           "{example.com: 1.2.3.4}}}",
                 "services: {test: {extra_hosts: [localhost=127.0.0.1, example.com=1.2.3.4, "
                 "example.com=4.3.2.1]}}")
    assert got["extra_hosts"] == ["example.com:1.2.3.4", "localhost:127.0.0.1",
                                  "example.com:4.3.2.1"]
