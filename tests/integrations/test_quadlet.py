"""Quadlet units from the validated config: golden files for a prod-shaped stack
(ordering, health, secrets, limits carried across), the key check against each podman
version's key list, a real ``quadlet -dryrun`` (Debian trixie's podman 5.4, fetched by
./dev setup) and ``systemd-analyze verify``, whose stderr is read because it exits 0 on
bad values.  Regenerate the golden files with UPDATE_GOLDEN=1."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from invoke import Exit

from phoenix_compose.cli import deploy
from phoenix_compose.config.stackfiles import list_environments
from phoenix_compose.errors import ConfigurationError
from phoenix_compose.integrations.quadlet import WATCH_UNIT, Target, render, units
from phoenix_compose.integrations.quadletcheck import check, dryrun, quadlet_binary
from phoenix_compose.integrations.quadletctr import image_value
from phoenix_compose.integrations.quadletkeys import has, keys_for, problems
from phoenix_compose.runtime import commands
from phoenix_compose.runtime.lifecycle import ComposeManager

from support import REPO, inv, mock_context

HERE = Path(__file__).parent / "resources" / "quadlet"
GOLDEN = HERE / "golden"
TARGET = Target(Path("/srv/hydra"), "/opt/phoenix/bin/phoenix")


def golden_units(version: str = "5.4") -> tuple[dict[str, str], list[str]]:
    stack = ComposeManager(HERE / "stack", "golden").stack()
    return units(stack, "golden", Target(TARGET.root, TARGET.program, version))


def binary() -> str:
    found = quadlet_binary()
    if found is None:
        pytest.fail("no quadlet binary: run ./dev setup (it fetches Debian trixie's); "
                    "a test that calls this is marked quadlet")
    return found


def test_the_golden_units_are_current() -> None:
    files, warnings = golden_units()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(GOLDEN, ignore_errors=True)
        GOLDEN.mkdir()
        for name, text in files.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    assert warnings == []
    assert files == {p.name: p.read_text(encoding="utf-8") for p in GOLDEN.iterdir()}


def test_ordering_health_secrets_and_limits_are_carried_across() -> None:
    files, _ = golden_units()
    app, db = files["hydra-app.container"], files["hydra-db.container"]
    # ordering: after the database is healthy (Notify=healthy), restarted with it
    assert "Requires=hydra-db.service\nAfter=hydra-db.service\nPartOf=hydra-db.service" in app
    assert "Notify=healthy" in db and "HealthOnFailure=kill" in db
    assert "HealthCmd=pg_isready -U postgres || exit 1" in db
    assert "HealthStartPeriod=120s" in db and "HealthRetries=5" in db
    # systemd's 90 s default would kill this start: 120 + 10 x 5 + 60
    assert "TimeoutStartSec=230s" in db
    assert "Secret=db_password,uid=999,gid=999,mode=0400" in db
    assert "Volume=hydra-db-data.volume:/var/lib/postgresql/data" in db
    assert "VolumeName=hydra_db-data" in files["hydra-db-data.volume"]  # compose's volume
    assert "Internal=true" in files["hydra-backend.network"]
    assert "Restart=always\nRestartSec=5s" in db
    assert "StartLimitIntervalSec=900s\nStartLimitBurst=3" in db  # [Unit], not [Service]
    assert db.index("StartLimitBurst") < db.index("[Service]")
    assert "PodmanArgs=--memory=256m\nPodmanArgs=--cpus=0.5" in app  # no key in 5.4
    assert "Environment=PHOENIX=/opt/phoenix/bin/phoenix" in files[WATCH_UNIT]
    assert "ExecStart=/usr/bin/env ${PHOENIX} health.watch --env %i" in files[WATCH_UNIT]


def test_keys_follow_the_targeted_podman_version() -> None:
    assert not has("4.5", "Container", "NetworkAlias") and has("5.2", "Container",
                                                               "NetworkAlias")
    assert has("5.5", "Container", "Memory") and not has("5.4", "Container", "Memory")
    assert keys_for("5.9") == keys_for("5.8")  # newer than the data: the newest known
    files, warnings = golden_units("4.9")
    assert "Notify=healthy" not in files["hydra-db.container"]
    assert "PodmanArgs=--network-alias=db" in files["hydra-db.container"]
    assert any("Notify=healthy (5.0)" in w for w in warnings)
    assert problems(files, "4.9") == []
    with pytest.raises(ValueError, match="4.5"):
        golden_units("4.4")


def test_a_key_the_version_lacks_is_refused_on_its_line() -> None:
    files, _ = golden_units("5.4")
    text = files["hydra-db.container"]
    line = text.splitlines().index("Notify=healthy") + 1
    assert f"hydra-db.container:{line}:1: error: Notify=healthy needs podman 5.0 or later " \
        "(target: 4.9)" in problems({"hydra-db.container": text}, "4.9")
    bad = text.replace("ReadOnly=", "ReadOnyl=") if "ReadOnly=" in text else \
        text.replace("StopTimeout=", "StopTimeuot=")
    (found,) = problems({"x.container": bad}, "5.4")
    assert re.match(r"x\.container:\d+:1: error: \[Container\] StopTimeuot= is not a Quadlet "
                    r"key of podman 5\.4", found)


@pytest.mark.quadlet
def test_real_quadlet_and_systemd_analyze_pass_the_golden_units() -> None:
    files, _ = golden_units()
    services, found = dryrun(files, binary(), commands.run)
    assert found == []
    app = services["hydra-app.service"]
    # a literal $ (compose's $$) stays $$ for systemd; % is escaped; quoting survives
    assert '--env "GREETING=hello \\"world\\" 100%% $$HOME"' in app
    assert '--name "two words"' in app and "--sdnotify=healthy" in app
    program = Path(REPO / ".venv" / "bin" / "phoenix")
    real = Target(REPO, str(program if program.exists() else shutil.which("true")), "5.4")
    stack = ComposeManager(HERE / "stack", "golden").stack()
    assert check(units(stack, "golden", real)[0], "5.4", commands.run) == []


@pytest.mark.quadlet
def test_quadlet_and_systemd_analyze_complaints_point_at_our_unit() -> None:
    files, _ = golden_units()
    real = {**files, WATCH_UNIT: files[WATCH_UNIT].replace("/opt/phoenix/bin/phoenix",
                                                         shutil.which("true") or "/bin/true")}
    bad = dict(real)
    bad["hydra-app.container"] = real["hydra-app.container"].replace("Restart=no",
                                                                     "Restart=sometimes")
    found = check(bad, "5.4", commands.run)
    line = bad["hydra-app.container"].splitlines().index("Restart=sometimes") + 1
    assert len(found) == 1 and found[0].startswith(f"hydra-app.container:{line}:1: error: "
                                                   "systemd-analyze: ")
    assert "sometimes" in found[0]
    missing = dict(real)
    missing[WATCH_UNIT] = files[WATCH_UNIT].replace("/usr/bin/env", "/nonexistent/env")
    found = check(missing, "5.4", commands.run)
    assert len(found) == 1 and found[0].startswith(f"{WATCH_UNIT}:") and \
        "not executable" in found[0]


def deploy_quadlet(root: Path, capsys, **flags) -> tuple[int, str, str]:
    """``inv deploy.quadlet`` in-process: (exit code, stdout, stderr)."""
    try:
        deploy.quadlet(mock_context(root), **flags)
        code = 0
    except Exit as exc:
        code = exc.code
        print(exc.message or "", file=sys.stderr)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.quadlet
@pytest.mark.parametrize("env", ["development", "staging", "prod"])
def test_every_env_passes_the_check(env: str, capsys) -> None:
    code, out, err = deploy_quadlet(REPO, capsys, env=env, check=True)
    assert code == 0, err
    assert "pass the podman 5.4 key check, quadlet -dryrun and systemd-analyze" in out


@pytest.mark.quadlet
def test_written_units_are_checked_and_a_hand_edit_is_caught(tmp_path: Path, capsys) -> None:
    out = tmp_path / "units"
    code, _, err = deploy_quadlet(REPO, capsys, env="prod", out=str(out))
    assert code == 0, err
    assert (out / "phoenix-prod-revenue-db.container").exists()
    assert deploy_quadlet(REPO, capsys, env="prod", out=str(out), check=True)[0] == 0
    assert (out / "phoenix-prod-phoenix-core.target").exists()  # 2 replicas in prod
    unit = out / "phoenix-prod-phoenix-core@.container"
    unit.write_text(unit.read_text().replace("NoNewPrivileges=true", "NoNewPrivilege=true"))
    code, _, err = deploy_quadlet(REPO, capsys, env="prod", out=str(out), check=True)
    assert code == 1
    line = unit.read_text().splitlines().index("NoNewPrivilege=true") + 1
    assert f"{unit}:{line}:1: error: [Container] NoNewPrivilege= is not a Quadlet key" in err
    code, _, err = deploy_quadlet(REPO, capsys, env="prod", podman_version="4.3",
                                  out=str(tmp_path / "old"))
    assert code == 2 and "target 4.5 or later" in err
    assert not (tmp_path / "old").exists()


HOSTILE = r'''
services:
  app:
    image: busybox:1
    environment:
      NOTE: "x\n[Service]\nExecStartPre=/bin/false"
    healthcheck:
      test: ["CMD-SHELL", "test -f /a\ntest -f /b"]
      interval: 5s
'''


@pytest.mark.quadlet
def test_a_line_break_in_a_value_never_becomes_a_unit_line(make_stack, tmp_path,
                                                          capsys) -> None:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=hostile\n",
                       "compose/app.yaml": HOSTILE})
    files, _ = units(ComposeManager(root, "t").stack(), "t", TARGET)
    unit = files["hostile-app.container"]
    assert "\nExecStartPre" not in unit and "\n[Service]\nExecStartPre" not in unit
    assert 'Environment="NOTE=x\\x0a[Service]\\x0aExecStartPre=/bin/false"' in unit
    assert 'HealthCmd=["/bin/sh", "-c", "test -f /a\\ntest -f /b"]' in unit
    services, found = dryrun(files, binary(), commands.run)
    lines = services["hostile-app.service"].splitlines()
    assert found == [] and not any(line.startswith("ExecStartPre") for line in lines)
    # systemd reads the C escape back into the line break, inside one --env argument
    assert any(line.startswith("ExecStart=") and '--env "NOTE=x\\n[Service]' in line
               for line in lines)
    # a value Quadlet passes on whole (an image) cannot be escaped: refused where it was
    # written, by the config's validation, and nothing is written
    (root / "compose" / "app.yaml").write_text(
        HOSTILE.replace("image: busybox:1", 'image: "busybox:1\\n[Service]\\nExecStartPre=/x"'))
    out = tmp_path / "units"
    code, _, err = deploy_quadlet(root, capsys, env="t", out=str(out))
    assert code == 1, err
    assert "compose/app.yaml:4:13: error: image of service 'app' holds a control character " \
           "('\\n')" in err
    assert not out.exists()
    with pytest.raises(ConfigurationError, match=r"\[Container\] Image= would hold a line"):
        render([("Container", [("Image", "busybox:1\n[Service]")])])  # and, at render too


@pytest.mark.podman
def test_quadlet_secrets_creates_what_the_units_read_and_prints_no_value(
        make_stack, podman_project, busybox_image) -> None:
    from phoenix_compose.runtime import argv_deploy

    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n"
                                     "TOKEN=s3cr$$et-from-env\n",
                       "compose/app.yaml": "services:\n  app:\n    image: busybox:1\n"
                                           "    environment:\n      API_TOKEN: ${TOKEN}\n"
                                           "      MODE: plain\n"})
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    name = f"{podman_project}-app-api-token"
    files, warnings = units(ComposeManager(root, "t").stack(), "t", TARGET)
    assert f"Secret={name},type=env,target=API_TOKEN" in files[f"{podman_project}-app.container"]
    assert any("inv deploy.quadlet-secrets creates it" in w for w in warnings)
    try:
        made = inv(root, "deploy.quadlet-secrets", "--env", "t", timeout=120)
        assert made.returncode == 0, made.stderr
        assert f"podman secret {name}" in made.stdout and "s3cr" not in made.stdout + made.stderr
        again = inv(root, "deploy.quadlet-secrets", "--env", "t", timeout=120)  # replaced
        assert again.returncode == 0, again.stderr
        read = commands.run(argv_deploy.read_secret(busybox_image, name), timeout=60)
        assert read.stdout == "s3cr$et-from-env"  # as the container sees it
    finally:
        commands.run(("podman", "secret", "rm", "--", name), ok_codes=(0, 1, 125))


def test_every_secret_looking_name_and_a_url_password_becomes_a_secret_line(make_stack) -> None:
    from phoenix_compose.integrations.quadletctr import secret_values

    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=sec\n", "compose/a.yaml": """
        services:
          app:
            image: app:1
            environment:
              DB_PASSWD: hunter22
              STRIPE_APIKEY: sk_live_1
              DATABASE_URL: postgres://u:pg-s3cret@db/x
              DB_PASSWD_FILE: /run/secrets/db_passwd
              MODE: fast
        """})
    stack = ComposeManager(root, "t").stack()
    files, _ = units(stack, "t", TARGET)
    unit = files["sec-app.container"]
    assert not any(v in unit for v in ("hunter22", "sk_live_1", "pg-s3cret")), unit
    assert [line for line in unit.splitlines() if line.startswith(("Environment=", "Secret="))] \
        == ["Secret=sec-app-database-url,type=env,target=DATABASE_URL",
            "Secret=sec-app-db-passwd,type=env,target=DB_PASSWD",
            "Environment=DB_PASSWD_FILE=/run/secrets/db_passwd",
            "Environment=MODE=fast",
            "Secret=sec-app-stripe-apikey,type=env,target=STRIPE_APIKEY"]
    assert secret_values(stack) == {"sec-app-database-url": "postgres://u:pg-s3cret@db/x",
                                    "sec-app-db-passwd": "hunter22",
                                    "sec-app-stripe-apikey": "sk_live_1"}


BACKSLASHES = r'''
services:
  app:
    image: busybox:1
    cap_drop: [ALL]
    command: ["echo", "x\\"]
    environment: {NOTE: "x\\", "A%nTOKEN": "s"}
'''


@pytest.mark.quadlet
def test_a_trailing_backslash_never_swallows_the_next_unit_line(make_stack) -> None:
    """``Tmpfs=/tmp\\`` joined ``DropCapability=ALL`` to it: the capability was silently
    kept, and quadlet -dryrun and systemd-analyze verify both passed."""
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=hostile\n",
                       "compose/app.yaml": BACKSLASHES.replace("cap_drop", "tmpfs: ['/tmp\\\\']\n"
                                                               "    cap_drop")})
    with pytest.raises(ConfigurationError) as info:  # refused where it was written
        units(ComposeManager(root, "t").stack(), "t", TARGET)
    assert [str(p) for p in info.value.problems] == [
        "compose/app.yaml:4:14: error: tmpfs.0 of service 'app' ends in a backslash (hint: it "
        "would join the next line to it in a unit file: remove it)"]
    with pytest.raises(ConfigurationError, match=r"\[Container\] Tmpfs= would hold a trailing "
                                                 r"backslash, which would join the next unit "
                                                 r"line to it; nothing was written"):
        render([("Container", [("Tmpfs", "/tmp\\"), ("DropCapability", "ALL")])])
    # where the value can be quoted (words: Environment, Exec) it is, and the next
    # line survives the real quadlet
    (root / "compose" / "app.yaml").write_text(BACKSLASHES)
    files, _ = units(ComposeManager(root, "t").stack(), "t", TARGET)
    unit = files["hostile-app.container"]
    assert 'Environment="NOTE=x\\\\"\nDropCapability=ALL\n' in unit
    services, found = dryrun(files, binary(), commands.run)
    assert found == []
    start = next(line for line in services["hostile-app.service"].splitlines()
                 if line.startswith("ExecStart="))
    assert "--cap-drop all" in start and '--env "NOTE=x\\\\"' in start
    assert start.endswith('busybox:1 echo "x\\\\"')


@pytest.mark.quadlet
def test_a_percent_in_any_key_is_escaped_so_systemd_never_expands_it(make_stack) -> None:
    """systemd expands ``%n`` in the generated service: an env named ``q%n`` changed the
    description (such a name is no env any more: the env-name rule refuses it), and a
    variable named ``A%nTOKEN`` became another secret target."""
    root = make_stack({"envs/q.env": "COMPOSE_PROJECT_NAME=hostile\n",
                       "envs/q%n.env": "COMPOSE_PROJECT_NAME=hostile\n",
                       "compose/app.yaml": BACKSLASHES})
    assert list_environments(root) == ["q"]
    files, _ = units(ComposeManager(root, "q").stack(), "q", TARGET)
    unit = files["hostile-app.container"]
    assert "Description=hostile (q): app\n" in unit
    assert "Secret=hostile-app-a-ntoken,type=env,target=A%%nTOKEN\n" in unit
    services, found = dryrun(files, binary(), commands.run)
    assert found == [] and "target=A%%nTOKEN busybox:1" in services["hostile-app.service"]
    # a value that reaches the writer unescaped is refused, not expanded
    with pytest.raises(ConfigurationError, match=r"\[Unit\] Description= would hold an "
                                                 r"unescaped '%' \(a systemd specifier\)"):
        render([("Unit", [("Description", "a %n")])])


@pytest.mark.parametrize("image", ["--privileged",
                                   "--mount=type=bind,source=/,target=/h@sha256:" + "a" * 64])
def test_an_image_that_is_an_option_never_reaches_a_unit(image: str) -> None:
    """Quadlet writes Image= after podman run's options, without ``--``."""
    with pytest.raises(ConfigurationError, match="is not an image reference"):
        image_value(image)
    assert image_value("127.0.0.1:5000/phoenix/app@sha256:" + "a" * 64).endswith("a" * 64)


def test_a_pass_through_variable_the_host_did_not_set_is_no_environment_line(
        make_stack) -> None:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=pass\nFROM_ENV=1\n",
                       "compose/a.yaml": "services:\n  app:\n    image: app:1\n"
                                         "    environment: [FROM_ENV, NOT_SET, MODE=fast]\n"})
    files, _ = units(ComposeManager(root, "t").stack(), "t", TARGET)
    lines = [line for line in files["pass-app.container"].splitlines()
             if line.startswith("Environment=")]
    assert lines == ["Environment=FROM_ENV=1", "Environment=MODE=fast"]
