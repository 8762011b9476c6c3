"""The exports write secret references, never values (``config/exportsecrets.py``):
``deploy.kube`` and ``deploy.quadlet`` refuse a value known to be secret in a key they would
write in clear (command, entrypoint, healthcheck, a plain environment key, labels), with a
located error at the use, and write nothing; the value is never printed.  Outside
production (where the policy only warns), this is what keeps it out of ``deploy/``."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke import Exit

from phoenix_compose.cli import deploy

from support import mock_context, tree

PASSWD = "hunter22-value"
TOKEN = "tok-abcdefghijk"
FILE_SECRET = "from-a-secret-file-0123"
ENV = f"COMPOSE_PROJECT_NAME=sx\nDB_PASSWD={PASSWD}\nAPI_TOKEN={TOKEN}\n"
# (the service's lines, where the use is, the key, what it holds)
SHAPES = [
    ('    command: ["app", "--pw", "${DB_PASSWD}"]\n', "4:31", "services.app.command[2]",
     "the secret variable DB_PASSWD"),
    ("    entrypoint: app --pw=${DB_PASSWD}\n", "4:26", "services.app.entrypoint",
     "the secret variable DB_PASSWD"),
    ('    healthcheck:\n      test: ["CMD-SHELL", "curl -H \'X: ${API_TOKEN}\' '
     'http://localhost/"]\n', "5:40", "services.app.healthcheck.test[1]",
     "the secret variable API_TOKEN"),
    ('    environment:\n      DSN: "host=db password=${DB_PASSWD}"\n', "5:30",
     "services.app.environment.DSN", "the secret variable DB_PASSWD"),
    ("    environment:\n      - FOO=${DB_PASSWD}\n", "5:13", "services.app.environment.FOO",
     "the secret variable DB_PASSWD"),
    ('    labels:\n      tok: "${API_TOKEN}"\n', "5:13", "services.app.labels.tok",
     "the secret variable API_TOKEN"),
    # a copy of a secret file's content: no variable, found by its value
    (f"    secrets: [db]\n    labels:\n      note: {FILE_SECRET}\n", "6:13",
     "services.app.labels.note",
     "a secret value (a URL password, or one from a secret file or env_file)"),
]
IDS = ["command", "entrypoint", "healthcheck", "env-dsn", "env-list", "label", "file-copy"]
EXPORTS = {"kube": deploy.kube, "quadlet": deploy.quadlet, "kube-play": deploy.kube_play}


def make(make_stack, lines: str, extra: dict[str, str] | None = None) -> Path:
    return make_stack({"envs/t.env": ENV, "secrets/db.txt": FILE_SECRET + "\n",
                       "compose/a.yaml": "services:\n  app:\n    image: app:1\n" + lines +
                                         "secrets:\n  db:\n    file: ../secrets/db.txt\n",
                       **(extra or {})})


def export(kind: str, root: Path, capsys, **flags) -> tuple[int, str]:
    """``inv deploy.<kind>`` in-process: (exit code, stdout + stderr)."""
    try:
        EXPORTS[kind](mock_context(root), env="t", **flags)
        code = 0
    except Exit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out + out.err


def deploy_tree(root: Path) -> dict[str, bytes]:
    return tree(root / "deploy") if (root / "deploy").exists() else {}


@pytest.mark.parametrize("kind", ["kube", "quadlet"])
@pytest.mark.parametrize(("lines", "at", "key", "what"), SHAPES, ids=IDS)
def test_an_export_refuses_a_secret_value_where_it_would_be_written_in_clear(
        make_stack, capsys, kind, lines, at, key, what) -> None:
    root = make(make_stack, lines)
    old = root / "deploy" / kind / "t" / "old.txt"  # what was there before stays as it was
    old.parent.mkdir(parents=True)
    old.write_text("before\n")
    before = deploy_tree(root)
    code, out = export(kind, root, capsys)
    assert code == 1
    assert f"compose/a.yaml:{at}: error: {key} holds {what}: deploy.kube and " \
           f"deploy.quadlet of env 't' would write it in clear; nothing was written" in out, out
    assert "/run/secrets/" in out  # the hint: deliver it as a compose secret
    assert not any(v in out for v in (PASSWD, TOKEN, FILE_SECRET)), out
    assert deploy_tree(root) == before


def test_kube_play_refuses_it_before_podman_is_asked(make_stack, capsys, monkeypatch) -> None:
    """``deploy.kube-play`` plays the same manifests: refused the same way, and nothing of
    a previous play is taken down (podman is never asked)."""
    from phoenix_compose.runtime import commands

    def asked(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"podman asked: {args}")

    monkeypatch.setattr(commands, "run", asked)
    root = make(make_stack, SHAPES[0][0])
    code, out = export("kube-play", root, capsys)
    assert code == 1 and "services.app.command[2] holds the secret variable DB_PASSWD" in out
    assert PASSWD not in out


@pytest.mark.parametrize("kind", ["kube", "quadlet"])
def test_a_secret_a_template_renders_into_a_command_is_refused_at_the_template_line(
        make_stack, capsys, kind) -> None:
    root = make(make_stack, "", {"templates/50-app.yaml.j2":
                                 "services:\n  app:\n    command:\n"
                                 "      - app\n      - '{{ vars.API_TOKEN }}'\n"})
    code, out = export(kind, root, capsys)
    assert code == 1
    assert "templates/50-app.yaml.j2:5:" in out and "services.app.command[1] holds the " \
           "secret variable API_TOKEN" in out, out
    assert TOKEN not in out and not (root / "deploy").exists()


@pytest.mark.parametrize("kind", ["kube", "quadlet"])
def test_a_secret_looking_process_variable_is_refused_too(make_stack, capsys, monkeypatch,
                                                          kind) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_process0123456789")
    root = make(make_stack, "    command: [app, '${GITHUB_TOKEN}']\n")
    code, out = export(kind, root, capsys)
    assert code == 1
    assert "compose/a.yaml:4:" in out and "holds the secret variable GITHUB_TOKEN" in out, out
    assert "ghp_process0123456789" not in out and not (root / "deploy").exists()


def test_secret_references_still_export(make_stack, capsys) -> None:
    """A secret-looking name and a URL with a password are written as references (a
    Secret, a podman secret): the exports go on, and no value is in what they wrote."""
    root = make(make_stack, "    environment:\n      DB_PASSWD: ${DB_PASSWD}\n"
                            "      URL: postgres://u:${DB_PASSWD}@db/x\n      MODE: fast\n")
    code, out = export("kube", root, capsys)
    assert code == 0, out
    written = b"".join(deploy_tree(root).values()).decode()
    assert "secretKeyRef" in written and "MODE: fast" in written
    assert PASSWD not in written and PASSWD not in out


def test_a_short_secret_is_not_looked_for_in_other_values(make_stack, capsys,
                                                          monkeypatch) -> None:
    """A secret is looked for by its value from 6 characters on, as masking does: a
    process ``RETRY_KEY=1`` refuses no ``1``; its interpolation is still found."""
    monkeypatch.setenv("RETRY_KEY", "1")
    root = make(make_stack, "    command: [app, --retries, '1']\n")
    assert export("kube", root, capsys)[0] == 0
    root = make(make_stack, "    command: [app, --retries, '${RETRY_KEY}']\n")
    code, out = export("kube", root, capsys)
    assert code == 1 and "holds the secret variable RETRY_KEY" in out, out


@pytest.mark.quadlet  # deploy.check also runs quadlet -dryrun on the units
def test_deploy_check_and_ci_report_the_same_located_error(make_stack) -> None:
    from phoenix_compose.integrations.ci import export_problems

    root = make(make_stack, SHAPES[0][0])
    found = export_problems(root, ["t"])
    assert any(line.startswith("compose/a.yaml:4:31: error: services.app.command[2] holds "
                               "the secret variable DB_PASSWD") for line in found), found
    assert not any(PASSWD in line for line in found) and not (root / "deploy").exists()
