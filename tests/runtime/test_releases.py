"""Releases: every healthy up is recorded, the last N kept, the current one marked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phoenix_compose.runtime.releases import list_releases, record
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.statedir import StateDir

from support import REPO, FakePodman, inv


def test_releases_are_numbered_kept_and_the_current_one_marked(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services: {web: {image: 'w:1'}}\n")
    stack = Stack("p", compose, {"web": ServiceSpec("web", "p_web_1", "w:1", False)})
    state = StateDir(tmp_path, "t")
    numbers = [record(state, stack, ["web"], FakePodman({}), keep=3) for _ in range(5)]
    assert numbers == [1, 2, 3, 4, 5]
    kept = list_releases(state)
    assert [r.number for r in kept] == [3, 4, 5]
    assert [r.current for r in kept] == [False, False, True]
    assert (state.releases / "5" / "compose.yaml").read_text() == compose.read_text()
    assert kept[-1].images == {"web": {"image": "w:1", "id": ""}}


def test_a_damaged_release_is_left_out(tmp_path: Path) -> None:
    state = StateDir(tmp_path, "t")
    (state.releases / "1").mkdir(parents=True)
    (state.releases / "1" / "release.json").write_text("{broken")
    assert list_releases(state) == []


@pytest.mark.podman
def test_every_healthy_up_records_a_release(make_stack, podman_project, busybox_image) -> None:
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/a.yaml": f"services: {{web: {{image: '{busybox_image}', "
                                         "command: [sleep, '1d'], stop_grace_period: 1s}}\n"})
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    assert inv(root, "up", "--env", "t").returncode == 0
    assert inv(root, "up", "--env", "t").returncode == 0  # nothing changed: no release
    compose = root / "compose" / "a.yaml"
    compose.write_text(compose.read_text().replace("'1d'", "'2d'"))
    assert inv(root, "up", "--env", "t").returncode == 0
    compose.write_text(compose.read_text().replace("'2d'", "'3d'"))
    assert inv(root, "up", "--env", "t", "-d").returncode == 0  # not waited for: no release
    found = json.loads(inv(root, "releases", "--env", "t", "--json").stdout)
    assert [(r["number"], r["current"]) for r in found] == [(1, False), (2, True)]
    assert found[1]["images"]["web"]["image"] == busybox_image
    assert found[1]["images"]["web"]["id"]
    listing = inv(root, "releases", "--env", "t").stdout.splitlines()
    assert listing[-1].startswith("*   2  ")


def test_a_change_is_named_by_its_keys_and_files_never_by_values() -> None:
    from phoenix_compose.runtime.fingerprint import Fingerprint

    old = Fingerprint({"image": "a:1", "environment": {"A": "1", "B": "secret-1"}},
                      {"secret token": "x"})
    new = Fingerprint({"image": "a:1", "environment": {"A": "1", "B": "secret-2", "C": "3"},
                       "ports": ["80"]}, {"secret token": "y"})
    assert old.changes(new) == ["config changed: environment.B, environment.C, ports",
                                "secret token changed"]
    assert old.changes(old) == [] and old.digest != new.digest
    assert Fingerprint.from_dict(old.as_dict()) == old
    assert Fingerprint.from_dict({"config": "damaged"}) is None


def test_production_refuses_an_image_without_digest_before_any_podman_call(
        tmp_path: Path) -> None:
    from phoenix_compose.errors import ConfigurationError
    from phoenix_compose.runtime.deploy import Deployer
    from phoenix_compose.runtime.startup import Clock

    stack = Stack("p", tmp_path / "c.yaml", {
        "web": ServiceSpec("web", "p_web_1", "r/web@sha256:" + "a" * 64, False),
        "extra": ServiceSpec("extra", "p_extra_1", "n8n:1.64", False, profiles=("full",))})
    fake = FakePodman({})
    deployer = Deployer(StateDir(tmp_path, "prod"), fake, lambda *r: None, Clock())
    with pytest.raises(ConfigurationError, match=r"not pinned by digest: extra \(n8n:1.64\)"):
        deployer.prepare(stack, ["web", "extra"], production=True)
    assert fake.calls == []
    assert deployer.prepare(stack, ["web"], production=True) == {
        "r/web@sha256:" + "a" * 64: "sha256:x"}


def test_the_ca_issues_certificates_that_verify_for_the_service_and_loopback(
        tmp_path: Path) -> None:
    import ipaddress

    from cryptography import x509

    from phoenix_compose.runtime.certs import _ca, _issue

    ca_key, ca_cert = _ca(tmp_path / "ca")
    assert (tmp_path / "ca" / "ca.key").stat().st_mode & 0o777 == 0o600
    again = _ca(tmp_path / "ca")[1]
    assert again.fingerprint(ca_cert.signature_hash_algorithm) == \
        ca_cert.fingerprint(ca_cert.signature_hash_algorithm)  # kept, not remade
    _key, cert = _issue(ca_key, ca_cert, "phoenix-core")
    cert.verify_directly_issued_by(ca_cert)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["phoenix-core", "localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
