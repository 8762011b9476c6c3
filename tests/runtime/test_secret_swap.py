"""A secret is replaced so that the old value stays until podman holds the new one, on real
podman; a value podman cannot store (>= 512,000 bytes) is refused before anything changes,
also by a rotation, whose hook then never runs."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from phoenix_compose.errors import CommandError, ComposeRuntimeError
from phoenix_compose.runtime import argv, commands
from phoenix_compose.runtime.rotate import _store_all, rotate_many
from phoenix_compose.runtime.secret_swap import MAX_VALUE, SPARE, check_value, replace_secret

from support import REPO, inv

BIG = "x" * MAX_VALUE  # podman's limit: it stores less than this


def names() -> set[str]:
    return set(commands.run(argv.secret_names()).stdout.split())


def value_of(name: str, image: str) -> str:
    """What a container that mounts the secret reads (podman 4.3 cannot show a value)."""
    return commands.run(("podman", "run", "--rm", "--secret", name, "--", image, "cat",
                       f"/run/secrets/{name}"), timeout=60).stdout


@pytest.fixture
def secret(busybox_image: str):
    """A podman secret of this test's own, holding ``old-value``; removed afterwards."""
    name = f"pt{uuid.uuid4().hex[:8]}_token"
    commands.run(argv.secret_create(name, "file", {}), input="old-value")
    yield name
    mine = [n for n in names() if n.startswith(name)]
    if mine:
        commands.run(argv.secret_remove(*mine))


@pytest.mark.podman
def test_a_value_podman_refuses_leaves_the_old_secret_as_it_was(secret, busybox_image
                                                                  ) -> None:
    with pytest.raises(CommandError, match="less than 512000 bytes"):
        replace_secret(commands.run, secret, BIG, names(), driver="file", options={})
    assert value_of(secret, busybox_image) == "old-value"
    assert f"{secret}{SPARE}" not in names()


@pytest.mark.podman
def test_a_replacement_holds_the_new_value_and_leaves_no_spare(secret, busybox_image) -> None:
    commands.run(argv.secret_create(f"{secret}{SPARE}", "file", {}), input="a killed run's")
    replace_secret(commands.run, secret, "new-value", names(), driver="file", options={})
    assert value_of(secret, busybox_image) == "new-value"
    assert f"{secret}{SPARE}" not in names()


@pytest.mark.podman
def test_secrets_set_refuses_an_oversized_value_and_keeps_the_old_one(
        make_stack, busybox_image) -> None:
    env = f"pt{uuid.uuid4().hex[:8]}"
    name = f"{env}_token"
    root = make_stack({f"envs/{env}.env": f"COMPOSE_PROJECT_NAME={env}\n",
                       "compose/app.yaml": f"services:\n  app:\n    image: {busybox_image}\n"
                                           f"    secrets: [{name}]\n"
                                           f"secrets:\n  {name}: {{external: true}}\n"})
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    try:
        assert inv(root, "secrets.set", "token", "--env", env, stdin="old-value"
                   ).returncode == 0
        refused = inv(root, "secrets.set", "token", "--env", env, stdin=BIG)
        assert refused.returncode == 1
        assert f"error: refusing the value for secret 'token': it is {MAX_VALUE} bytes, and " \
               "podman stores less than 512000 bytes; the current value was kept" in \
               refused.stderr
        assert value_of(name, busybox_image) == "old-value"
    finally:
        mine = [n for n in names() if n.startswith(name)]
        if mine:
            commands.run(argv.secret_remove(*mine))


def test_the_size_rule_counts_bytes_not_characters() -> None:
    check_value("token", "é" * (MAX_VALUE // 2 - 1))  # 511,998 bytes
    with pytest.raises(ComposeRuntimeError, match="it is 512000 bytes"):
        check_value("token", "é" * (MAX_VALUE // 2))


def test_a_rotation_refuses_an_oversized_value_before_anything_runs() -> None:
    untouched = SimpleNamespace()  # any use of the deployer or the store would fail
    with pytest.raises(ComposeRuntimeError, match="refusing the value for secret 'token'"):
        rotate_many(untouched, untouched, {"token": BIG}, 1.0)  # type: ignore[arg-type]


def test_when_storing_fails_after_the_hook_the_hook_runs_back() -> None:
    hooked: list[str] = []

    def run(command, **kwargs):
        hooked.append(kwargs["input"])
        return SimpleNamespace(code=0, stdout="", stderr="")

    def fail(name: str, value: str) -> str:
        raise ComposeRuntimeError("podman said no")

    stack = SimpleNamespace(services={"db": SimpleNamespace(container="db_1")})
    store = SimpleNamespace(stack=stack, set=fail)
    with pytest.raises(ComposeRuntimeError, match="podman said no"):
        _store_all(SimpleNamespace(run=run), store, {"token": ("db", ["sh"])},  # type: ignore[arg-type]
                   {"token": "old"}, {"token": "new"})
    assert hooked == ["old\nnew\n", "new\nold\n"]  # the database is back on the old value
