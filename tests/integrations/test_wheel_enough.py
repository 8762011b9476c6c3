"""Issue 25, item 6: what a wheel install needs without ./dev.  The quadlet that `inv
doctor --fix` fetches (a fake runner: no network here), deploy.quadlet and --check without
one, `ci --skip`, and units that hold no path of this machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from invoke import Exit

from phoenix_compose.cli import deploy
from phoenix_compose.errors import CommandError, ComposeRuntimeError, StepFailed
from phoenix_compose.integrations import ci as pipeline
from phoenix_compose.runtime import commands, doctor, quadletfetch

from support import mock_context

COMPOSE = "services:\n  web:\n    image: localhost/web:1\n    command: [sleep, '1d']\n"


class FakeApt:
    """apt-get and dpkg-deb as the runner sees them: argv lists, the private APT_CONFIG."""

    def __init__(self, fail: str = "") -> None:
        self.calls: list[tuple[tuple[str, ...], dict[str, str]]] = []
        self.fail = fail

    def __call__(self, argv, *, env=None, cwd=None, **_kw) -> commands.Result:
        self.calls.append((tuple(argv), dict(env or {})))
        if self.fail and self.fail in argv:
            raise CommandError("apt-get: could not resolve deb.debian.org", code=100)
        if argv[:2] == ("apt-get", "-qq") and argv[2] == "download":
            (Path(cwd) / "podman_5.4.2+ds1-2_amd64.deb").write_bytes(b"!<arch>\n")
        if argv[0] == "dpkg-deb":
            binary = Path(argv[-1]) / "usr" / "libexec" / "podman" / "quadlet"
            binary.parent.mkdir(parents=True)
            binary.write_text("#!/bin/sh\necho quadlet 5.4.2\n")
        return commands.Result(tuple(argv), 0, "quadlet 5.4.2\n", "")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's cache in tmp_path; no PHOENIX_QUADLET, no venv quadlet, none on PATH."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PHOENIX_QUADLET", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    monkeypatch.setattr(quadletfetch.shutil, "which",
                        lambda name: f"/usr/bin/{name}" if name in ("apt-get", "dpkg-deb")
                        else None)
    return tmp_path / "cache" / "phoenix-compose" / "quadlet"


def test_fetch_keeps_only_quadlet_in_the_users_cache_with_apt_confined(cache: Path) -> None:
    if Path("/usr/libexec/podman/quadlet").exists():
        pytest.skip("a podman >= 5 package's quadlet is installed here")
    assert quadletfetch.find() is None
    apt = FakeApt()
    assert quadletfetch.fetch(apt, mirror="http://mirror.test/debian") == cache
    assert os.access(cache, os.X_OK) and quadletfetch.find() == str(cache)
    argvs = [argv for argv, _ in apt.calls]
    assert argvs[:2] == [("apt-get", "-qq", "update"), ("apt-get", "-qq", "download", "--",
                                                        "podman")]
    assert argvs[2][:3] == ("dpkg-deb", "--extract", "--")
    config = Path(apt.calls[0][1]["APT_CONFIG"])
    assert not config.exists()  # the whole apt state was temporary
    assert list(cache.parent.iterdir()) == [cache]  # nothing but the binary is kept


def test_fetch_failure_names_the_mirror_and_the_way_around(cache: Path) -> None:
    with pytest.raises(ComposeRuntimeError, match="mirror.test") as raised:
        quadletfetch.fetch(FakeApt(fail="update"), mirror="http://mirror.test/debian")
    assert "PHOENIX_QUADLET" in raised.value.hint and not cache.exists()


def test_the_apt_configuration_is_private(tmp_path: Path) -> None:
    text = Path(quadletfetch.apt_config(tmp_path, "http://m.test/debian")).read_text()
    for key in ("Dir::State", "Dir::State::status", "Dir::Cache", "Dir::Etc::SourceList",
                "Dir::Etc::SourceParts"):
        assert f'{key} "{tmp_path}' in text
    assert "trixie main" in (tmp_path / "sources.list").read_text()


def test_doctor_fix_fetches_a_missing_quadlet(cache: Path, monkeypatch) -> None:
    monkeypatch.setattr(quadletfetch, "find", lambda: None)
    check, fixed = doctor.quadlet_check(FakeApt(), fix=False)
    assert check.ok is None and "inv doctor --fix" in check.detail and fixed == ""
    monkeypatch.setattr(quadletfetch, "fetch", lambda run: cache)
    check, fixed = doctor.quadlet_check(FakeApt(), fix=True)
    assert check.ok is True and check.detail == f"quadlet 5.4.2 ({cache})"
    assert fixed.startswith("fetched quadlet") and str(cache) in fixed


def _quadlet(root: Path, capsys, **flags) -> tuple[int, str, str]:
    try:
        deploy.quadlet(mock_context(root), env="staging", **flags)
        code = 0
    except Exit as exc:
        code = int(exc.code)
    out, err = capsys.readouterr()
    return code, out, err


def test_without_quadlet_the_units_are_written_and_check_says_what_it_skipped(
        make_stack, monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setattr(quadletfetch, "find", lambda: None)
    root = make_stack({"envs/staging.env": "", "compose/app.yaml": COMPOSE})
    code, out, err = _quadlet(root, capsys)
    assert code == 0, err
    assert "warning: skipped quadlet -dryrun and systemd-analyze verify: no quadlet" in err
    assert "phoenix doctor --fix" in err and "(not converted)" in out
    folder = root / "deploy" / "quadlet" / "staging"
    assert (folder / "phoenix-health-watch@.service").is_file()
    code, out, err = _quadlet(root, capsys, check=True)
    assert code == 0 and "skipped quadlet -dryrun" in err and "(not converted)" in out
    # the units hold no path of this checkout or venv: another clone finds them current
    for unit in folder.iterdir():
        assert str(root) not in unit.read_text() and sys.prefix not in unit.read_text()
    clone = tmp_path / "elsewhere" / root.name  # the folder names the project
    shutil.copytree(root, clone)
    code, out, err = _quadlet(clone, capsys, check=True)
    assert code == 0 and "stale" not in err, err


def test_ci_needs_quadlet_unless_told_to_skip_it(make_stack, monkeypatch, capsys) -> None:
    monkeypatch.setattr(quadletfetch, "find", lambda: None)
    root = make_stack({"envs/staging.env": "", "compose/app.yaml": COMPOSE})
    with pytest.raises(StepFailed):
        pipeline.check_exports(root)
    assert "ci --skip quadlet" in capsys.readouterr().err
    pipeline.check_exports(root, convert=False)
    assert pipeline.skipped("quadlet, tests") == {"quadlet", "tests"}
    with pytest.raises(ValueError, match="no step quadlets"):
        pipeline.skipped("quadlets")


def test_ci_can_leave_the_kube_schema_out_and_has_no_tests_to_run_without_tests(
        make_stack, monkeypatch) -> None:
    from phoenix_compose.errors import IntegrationError
    from phoenix_compose.integrations import kubecheck

    def missing() -> None:
        raise IntegrationError("needs kubernetes-validate", hint="pip install 'x[kube]'")

    monkeypatch.setattr(quadletfetch, "find", lambda: None)
    monkeypatch.setattr(kubecheck, "_validator", missing)
    root = make_stack({"envs/staging.env": "", "compose/app.yaml": COMPOSE})
    with pytest.raises(IntegrationError):
        pipeline.check_exports(root, convert=False)
    pipeline.check_exports(root, convert=False, kube_schema=False)
    said: list[str] = []
    pipeline.run_pytest(root, out=said.append)  # no tests/, no pytest.ini: nothing to run
    assert said == ["ci: tests: none in this repository (no tests/ folder, no pytest.ini): "
                    "nothing to run"]


def test_the_watcher_unit_runs_phoenix_from_path_or_its_variable(make_stack) -> None:
    from phoenix_compose.integrations.quadlet import Target, default_program, watch_unit

    unit = watch_unit(Target(Path("/srv/stack"), default_program()))
    assert "Environment=PHOENIX=phoenix\n" in unit
    assert "EnvironmentFile=-%E/phoenix-compose/%i.env\n" in unit
    assert "ExecStart=/usr/bin/env ${PHOENIX} health.watch --env %i\n" in unit
    assert "/srv/stack" not in unit and "WorkingDirectory" not in unit


def test_phoenix_stack_root_names_the_stack_from_anywhere(make_stack, tmp_path) -> None:
    root = make_stack({"envs/staging.env": "", "compose/app.yaml": COMPOSE})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    done = subprocess.run([sys.executable, "-m", "phoenix_compose.cli.program", "envs"],
                          cwd=elsewhere, capture_output=True, text=True, timeout=60,
                          env={**env, "PHOENIX_STACK_ROOT": str(root),
                               "PYTHONPATH": str(Path(__file__).parents[2])})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "staging"
