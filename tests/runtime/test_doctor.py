from __future__ import annotations

import pwd
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from phoenix_compose.runtime import doctor
from phoenix_compose.runtime.commands import Result

from support import REPO, judged

RLIMIT = ("Error: runc: runc create failed: unable to start container process: error during "
          "container init: error setting rlimits for ready process: error setting rlimit type 7:"
          " operation not permitted: OCI permission denied")
HYBRID = ("Error: crun: cgroups in hybrid mode not supported, drop all controllers from "
          "cgroupv2: OCI runtime error")


def fake_run(smoke_stderr: str, code: int = 126):
    def run(argv, ok_codes=(0,), timeout=None, input=None, tolerate=()):
        argv = tuple(argv)
        if argv[:2] == ("podman", "run"):
            return judged(Result(argv, code, "", smoke_stderr), ok_codes, tolerate)
        return Result(argv, 0, "", "")
    return run


@pytest.mark.parametrize(("text", "keys"), [
    (RLIMIT, ["rlimits"]),
    (HYBRID, ["crun-hybrid-cgroups"]),
    (HYBRID + "\n" + RLIMIT, ["crun-hybrid-cgroups", "rlimits"]),
])
def test_known_failures_are_recognised_from_podmans_text(text: str, keys: list[str]) -> None:
    check, causes = doctor.smoke_test(fake_run(text))
    assert check.ok is False
    assert [c.key for c in causes] == keys


def test_an_unknown_failure_is_shown_as_it_is() -> None:
    check, causes = doctor.smoke_test(fake_run("Error: something new"))
    assert (check.ok, causes) == (False, [])
    assert "something new" in check.detail


def test_a_passing_smoke_container() -> None:
    check, causes = doctor.smoke_test(fake_run("", code=0))
    assert (check.ok, causes) == (True, [])


def test_the_drop_in_holds_every_needed_setting_and_keeps_others(tmp_path: Path) -> None:
    path = tmp_path / "containers.conf.d" / "50-phoenix-host.conf"
    path.parent.mkdir()
    path.write_text('[engine]\nevents_logger = "file"\nruntime = "crun"\n')
    text = doctor.apply_fixes(list(doctor.CAUSES), path)
    assert path.read_text() == text
    assert '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]' in text
    assert '[engine]\nevents_logger = "file"\nruntime = "runc"' in text
    assert 'runtime = "crun"' not in text
    assert doctor.apply_fixes(list(doctor.CAUSES), path) == text  # idempotent
    assert path.stat().st_mode & 0o777 == 0o644  # readable: non-root podman reads it too


@pytest.mark.podman
def test_doctor_on_this_host_runs_a_real_container(busybox_image) -> None:
    result = subprocess.run([sys.executable, "-m", "invoke", "doctor"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok   podman ") and lines[1].startswith("ok   podman-compose ")
    assert any(line.startswith("info healthcheck timers") for line in lines)
    # rootless on cgroups v1, an `info rootless limits` line follows
    assert "ok   smoke container      a container ran and exited 0" in lines


def test_the_secret_drivers_say_which_work_and_why_not(monkeypatch, tmp_path: Path) -> None:
    here = {c.name: c for c in doctor.secret_drivers()}
    assert here["secrets: file"].ok is True
    monkeypatch.setenv("PATH", str(tmp_path))  # neither pass nor gpg
    gone = {c.name: c for c in doctor.secret_drivers()}["secrets: pass"]
    assert (gone.ok, gone.detail) == (None, "not usable: pass and gpg not installed")
    assert gone.fix == "apt-get install pass gnupg (./dev setup does)"


def test_an_unreadable_drop_in_is_named_and_fixed(tmp_path: Path) -> None:
    path = tmp_path / "50-phoenix-host.conf"
    path.write_text("[engine]\n")
    path.chmod(0o600)
    [check] = doctor.drop_in_mode(path)
    assert check.ok is False and "is 0600: rootless podman cannot read it" in check.detail
    assert doctor.fix_drop_in_mode(path) and path.stat().st_mode & 0o777 == 0o644
    assert doctor.drop_in_mode(path) == [] and not doctor.fix_drop_in_mode(path)


def test_rootless_checks_name_a_missing_user_with_the_command() -> None:
    checks, fixed = doctor.rootless_checks("no-such-user-phx", fix=True)
    assert fixed == [] and [(c.name, c.ok, c.fix) for c in checks][0] == (
        "rootless: user", False, "useradd -m no-such-user-phx (as root)")


@pytest.fixture
def bare_user(tmp_path: Path):
    """A throwaway user (root creates it: its tests are marked ``root``) with no home
    directory and no subordinate ids."""
    if shutil.which("useradd") is None:  # a root shell whose PATH lacks /usr/sbin
        pytest.skip("needs useradd on PATH (shadow's tools, in /usr/sbin)")
    name, home = f"phx{uuid.uuid4().hex[:6]}", tmp_path / "home-of-user"
    subprocess.run(["useradd", "-M", "-d", str(home), "--", name], check=True)
    for kind in ("uid", "gid"):
        for row in Path(f"/etc/sub{kind}").read_text().splitlines():
            if row.split(":")[0] == name:
                first, count = map(int, row.split(":")[1:])
                subprocess.run(["usermod", f"--del-sub{kind}s",
                                f"{first}-{first + count - 1}", "--", name], check=True)
    uid = pwd.getpwnam(name).pw_uid
    yield name, home
    subprocess.run(["userdel", "--", name], check=False, capture_output=True)
    shutil.rmtree(f"/run/user/{uid}", ignore_errors=True)  # the doctor's fix made it


def ranges(kind: str) -> dict[str, tuple[int, int]]:
    rows = [r.split(":") for r in Path(f"/etc/sub{kind}").read_text().splitlines()]
    return {r[0]: (int(r[1]), int(r[1]) + int(r[2])) for r in rows if len(r) == 3}


@pytest.mark.root
def test_a_missing_home_and_subordinate_ids_are_named_then_fixed(bare_user) -> None:
    name, home = bare_user
    checks, _ = doctor.rootless_checks(name, fix=False)
    found = {c.name: c for c in checks}
    assert found["rootless: home"].ok is False and f"{home} is missing" in \
        found["rootless: home"].detail
    assert found["rootless: home"].fix.startswith(f"install -d -m 0700 -o {name} -g ")
    assert re.fullmatch(rf"usermod --add-subuids (\d+-\d+) --add-subgids \1 -- {name}",
                        found["rootless: subordinate ids"].fix)
    checks, fixed = doctor.rootless_checks(name, fix=True)
    assert {f.split(":")[0] for f in fixed} >= {"home", "subordinate ids"}
    assert not {"rootless: home", "rootless: subordinate ids"} & {c.name for c in checks}
    assert home.stat().st_uid == pwd.getpwnam(name).pw_uid and \
        home.stat().st_mode & 0o777 == 0o700
    for kind in ("uid", "gid"):  # a range of its own, overlapping no one's
        mine, others = ranges(kind)[name], [r for u, r in ranges(kind).items() if u != name]
        assert mine[1] - mine[0] == 65536
        assert all(mine[1] <= start or end <= mine[0] for start, end in others)


def _version_run(text: str):
    def run(argv, timeout=None, **_: object) -> Result:
        assert argv[1:] == ("-v",)
        return Result(tuple(argv), 0, text, "")
    return run


def test_the_edge_check_names_haproxys_version_or_why_it_cannot_serve(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binary = tmp_path / "haproxy"
    binary.write_text("#!/bin/sh\n")
    monkeypatch.setenv("PHOENIX_HAPROXY", str(binary))
    found = doctor.edge_check(_version_run(
        "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/\n"))
    assert (found.ok, found.detail) == (True, f"2.6.12-1+deb12u4 ({binary})")
    old = doctor.edge_check(_version_run("HA-Proxy version 2.2.9-2+deb11u6 2023/12/19\n"))
    assert old.ok is False and "needs 2.4 or later" in old.detail
    monkeypatch.setenv("PHOENIX_HAPROXY", str(tmp_path / "none"))
    missing = doctor.edge_check(_version_run(""))
    assert missing.ok is None and "./dev setup installs it" in missing.detail


@pytest.mark.haproxy
def test_the_edge_check_on_this_host_runs_the_real_haproxy() -> None:
    from phoenix_compose.runtime.commands import run

    check = doctor.edge_check(run)
    assert check.ok is True, check
