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


# -- integrity: a release runs again only as recorded, validated, under the env's project ---
def _released(make_stack, env: str = "COMPOSE_PROJECT_NAME=mine\n",
              compose: str = "services: {web: {image: 'w:1'}}\n"):
    """A stack whose env ``t`` has release 1 recorded (as a healthy ``up`` records it)."""
    from phoenix_compose.config.pipeline import prepare
    from phoenix_compose.runtime.deploy import Deployer
    from phoenix_compose.runtime.stack import load_stack
    from phoenix_compose.runtime.startup import Clock

    root = make_stack({"envs/t.env": env, "compose/a.yaml": compose})
    outcome = prepare(root, "t")
    state = StateDir(root, "t")
    record(state, load_stack(outcome.compose_file, outcome.project_name), ["web"],
           FakePodman({}))
    fake = FakePodman({})
    return root, state, fake, Deployer(state, fake, lambda *r: None, Clock())


def test_a_release_edited_after_it_was_recorded_is_refused_before_podman_runs(
        make_stack) -> None:
    from phoenix_compose.errors import ConfigurationError

    root, state, fake, deployer = _released(make_stack)
    assert deployer.verified(1).project == "mine"  # as recorded: accepted
    release = state.releases / "1" / "compose.yaml"
    release.write_text(release.read_text().replace(
        "image: w:1", "image: w:1\n    privileged: true\n    volumes: ['/:/host']"))
    with pytest.raises(ConfigurationError) as info:
        deployer.rollback(1, timeout=5)
    assert str(info.value).startswith(
        ".phoenix/t/releases/1/compose.yaml:1:1: error: release 1 was changed after it was "
        "recorded (its MAC does not match the stack key); refusing to run it")
    assert fake.calls == []


def test_an_edited_release_record_is_refused_too(make_stack) -> None:
    from phoenix_compose.errors import ConfigurationError

    _root, state, fake, deployer = _released(make_stack)
    meta_file = state.releases / "1" / "release.json"
    meta = json.loads(meta_file.read_text())
    meta["images"]["web"]["id"] = "sha256:" + "e" * 64  # another image, by id
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ConfigurationError, match="release 1 was changed after it was recorded"):
        deployer.rollback(1, timeout=5)
    assert fake.calls == []


def test_a_release_recorded_without_a_mac_is_refused_with_a_hint(make_stack) -> None:
    from phoenix_compose.errors import ConfigurationError

    _root, state, fake, deployer = _released(make_stack)
    meta_file = state.releases / "1" / "release.json"
    meta = json.loads(meta_file.read_text())
    del meta["mac"]  # as an older phoenix recorded it
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ConfigurationError) as info:
        deployer.rollback(1, timeout=5)
    assert str(info.value) == (".phoenix/t/releases/1/compose.yaml:1:1: error: release 1 has "
                               "no MAC (recorded by an older phoenix): it cannot be verified")
    assert "run `inv up` to record it again" in info.value.hint
    assert fake.calls == []


def test_a_sealed_release_is_validated_again_with_the_production_policy(make_stack) -> None:
    from phoenix_compose.errors import ConfigurationError

    root, _state, fake, deployer = _released(
        make_stack, compose="services: {web: {image: 'w:1', privileged: true}}\n")
    (root / "envs" / "t.env").write_text("COMPOSE_PROJECT_NAME=mine\nPHOENIX_PRODUCTION=true\n")
    with pytest.raises(ConfigurationError) as info:
        deployer.rollback(1, timeout=5)
    lines = str(info.value).splitlines()
    recorded = (root / ".phoenix/t/releases/1/compose.yaml").read_text().splitlines()
    where = next(n for n, line in enumerate(recorded, 1) if "privileged" in line)
    assert f".phoenix/t/releases/1/compose.yaml:{where}:5: error: production policy: service " \
           "'web' must not be privileged" in lines  # located in the recorded file
    assert fake.calls == []


def test_a_sealed_release_of_another_project_is_refused_at_its_name(make_stack) -> None:
    from phoenix_compose.errors import ConfigurationError

    root, _state, fake, deployer = _released(make_stack)
    (root / "envs" / "t.env").write_text("COMPOSE_PROJECT_NAME=theirs\n")
    with pytest.raises(ConfigurationError) as info:
        deployer.rollback(1, timeout=5)
    assert str(info.value) == (".phoenix/t/releases/1/compose.yaml:1:7: error: this file names "
                               "project 'mine', but the environment's project is 'theirs'; "
                               "refusing to act on another project (hint: it was edited after "
                               "phoenix recorded it: do not use it)")
    assert fake.calls == []


def test_the_stack_key_is_private_outside_the_stack_and_made_once(make_stack,
                                                                  tmp_path: Path,
                                                                  monkeypatch) -> None:
    from phoenix_compose import stackkey

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state-home"))
    root, _state, _fake, _deployer = _released(make_stack)
    key = stackkey.key_file(root)
    assert key.parent == tmp_path / "state-home" / "phoenix-compose" / "keys"
    assert root not in key.parents
    assert key.stat().st_mode & 0o777 == 0o600 and key.parent.stat().st_mode & 0o777 == 0o700
    assert stackkey.stack_key(root) == stackkey.stack_key(root)
    key.chmod(0o644)  # readable by others: no longer a secret, refused
    from phoenix_compose.errors import StateError

    with pytest.raises(StateError, match="not a private"):
        stackkey.stack_key(root)


def test_a_release_that_cannot_be_written_is_a_clear_error_and_leaves_no_folder(
        tmp_path: Path, monkeypatch) -> None:
    import errno

    from phoenix_compose.errors import StateError
    from phoenix_compose.runtime import releases

    compose = tmp_path / "compose.yaml"
    compose.write_text("name: p\nservices: {web: {image: 'w:1'}}\n")
    stack = Stack("p", compose, {"web": ServiceSpec("web", "p_web_1", "w:1", False)})
    state = StateDir(tmp_path, "t")

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(releases, "write_files", full)
    with pytest.raises(StateError) as info:
        record(state, stack, ["web"], FakePodman({}))
    assert str(info.value).startswith("the stack is up, but release 1 could not be recorded "
                                      "in .phoenix/t/releases: No space left on device")
    assert list(state.releases.iterdir()) == []


def test_a_full_disk_while_recording_leaves_no_empty_release(tiny_tmpfs: Path) -> None:
    from phoenix_compose.errors import StateError

    compose = tiny_tmpfs / "compose.yaml"
    compose.write_text("name: p\nservices: {web: {image: 'w:1'}}\n# " + "x" * 20000 + "\n")
    stack = Stack("p", compose, {"web": ServiceSpec("web", "p_web_1", "w:1", False)})
    state = StateDir(tiny_tmpfs, "t")
    state.releases.mkdir(parents=True)
    with open(tiny_tmpfs / "filler", "wb") as filler:
        try:
            filler.write(b"x" * (1 << 20))
        except OSError:
            pass
    with pytest.raises(StateError, match="No space left on device"):
        record(state, stack, ["web"], FakePodman({}))
    assert list(state.releases.iterdir()) == []
    assert list_releases(state) == []


@pytest.mark.podman
def test_rollback_runs_a_recorded_release_but_never_an_edited_one(make_stack, podman_project,
                                                                  busybox_image) -> None:
    from phoenix_compose.runtime import argv, commands

    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/a.yaml": f"services: {{web: {{image: '{busybox_image}', "
                                         "command: [sleep, '1d'], stop_grace_period: 1s}}\n"})
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    assert inv(root, "up", "--env", "t").returncode == 0
    compose = root / "compose" / "a.yaml"
    compose.write_text(compose.read_text().replace("'1d'", "'2d'"))
    assert inv(root, "up", "--env", "t").returncode == 0
    running = commands.run(argv.labelled("container", podman_project)).stdout.split()
    release = root / ".phoenix" / "t" / "releases" / "1" / "compose.yaml"
    recorded = release.read_text()
    release.write_text(recorded.replace("    command:", "    privileged: true\n    volumes:\n"
                                        "    - /:/host\n    command:"))
    refused = inv(root, "rollback", "--env", "t", "--to", "1")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith(".phoenix/t/releases/1/compose.yaml:1:1: error: release 1 "
                                     "was changed after it was recorded"), refused.stderr
    assert commands.run(argv.labelled("container", podman_project)).stdout.split() == running
    release.write_text(recorded)  # as recorded: it runs
    back = inv(root, "rollback", "--env", "t", "--to", "1")
    assert back.returncode == 0, back.stderr
    assert "rolled back to release 1 (recreated: web)" in back.stdout


def test_a_linked_ca_key_is_never_truncated_or_read(tmp_path: Path) -> None:
    import os

    from phoenix_compose.runtime.certs import _ca

    victim = tmp_path / "precious"
    victim.write_text("keep me\n")
    folder = tmp_path / ".phoenix" / "secrets" / "t"
    folder.mkdir(parents=True)
    os.symlink(victim, folder / "ca.key")
    with pytest.raises(OSError, match="is a symbolic link"):
        _ca(folder)
    assert victim.read_text() == "keep me\n"


def test_a_rollback_that_cannot_mark_its_release_current_says_so(tmp_path: Path,
                                                                monkeypatch) -> None:
    import errno

    from phoenix_compose.errors import StateError
    from phoenix_compose.runtime import releases

    def read_only(*_args, **_kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(releases, "write_files", read_only)
    with pytest.raises(StateError, match="release 2 runs, but .phoenix/t/releases/current "
                                         "could not be updated: Read-only file system"):
        releases.set_current(StateDir(tmp_path, "t"), 2)
