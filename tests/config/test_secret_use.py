"""Where a secret goes (``config/secretuse.py``): a secret-named variable interpolated into
a key that is not a secret (command, entrypoint, healthcheck, a plain environment key,
labels) is written in clear by inspect and the exports.  The production policy refuses it
at the ``$`` that uses it; elsewhere it is a warning.  The existing rule (a plaintext value
under a secret-looking name, a URL with a password) is unchanged."""

from __future__ import annotations

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import build, check
from phoenix_compose.errors import ConfigurationError

from support import REPO

DIGEST = "sha256:" + "b" * 64
PASSWD = "hunter22-value"
TOKEN = "tok-abcdefghijk"
VARS = f"DB_PASSWD={PASSWD}\nAPI_TOKEN={TOKEN}\nLOG_LEVEL=debug\n"
# (the service's lines, the located use, the key it names)
SHAPES = [
    ('    command: ["app", "--pw", "${DB_PASSWD}"]\n', "5:31", "services.app.command[2]",
     "DB_PASSWD"),
    ("    entrypoint: app --pw=${DB_PASSWD}\n", "5:26", "services.app.entrypoint", "DB_PASSWD"),
    ('    healthcheck:\n      test: ["CMD-SHELL", "curl -H \'X: ${API_TOKEN}\' '
     'http://localhost/"]\n', "6:40", "services.app.healthcheck.test[1]", "API_TOKEN"),
    ('    environment:\n      DSN: "host=db password=${DB_PASSWD}"\n', "6:30",
     "services.app.environment.DSN", "DB_PASSWD"),
    ("    environment:\n      - FOO=${DB_PASSWD}\n", "6:13", "services.app.environment.FOO",
     "DB_PASSWD"),
    ('    labels:\n      tok: "${API_TOKEN}"\n', "6:13", "services.app.labels.tok",
     "API_TOKEN"),
]
IDS = ["command", "entrypoint", "healthcheck", "env-dsn", "env-list", "label"]


def stack(make_stack, lines: str, production: bool) -> object:
    env = VARS + ("PHOENIX_PRODUCTION=true\n" if production else "")
    return make_stack({"envs/t.env": env, "compose/a.yaml": (
        f"services:\n  app:\n    image: app@{DIGEST}\n    user: '1000'\n{lines}")})


@pytest.mark.parametrize(("lines", "at", "key", "var"), SHAPES, ids=IDS)
def test_production_refuses_a_secret_variable_in_a_key_that_is_not_a_secret(
        make_stack, lines, at, key, var) -> None:
    root = stack(make_stack, lines, production=True)
    with pytest.raises(ConfigurationError) as info:
        build(load_environment(root, "t", {}))
    text = str(info.value)
    assert f"compose/a.yaml:{at}: error: production policy: the secret variable {var} is " \
           f"interpolated into {key}, which is written in clear" in text, text
    assert "/run/secrets/" in text  # the hint: deliver it as a compose secret
    assert PASSWD not in text and TOKEN not in text


@pytest.mark.parametrize(("lines", "at", "key", "var"), SHAPES, ids=IDS)
def test_outside_production_the_same_use_is_a_warning(make_stack, lines, at, key,
                                                       var) -> None:
    root = stack(make_stack, lines, production=False)
    warnings = build(load_environment(root, "t", {})).warnings
    assert [w.split(" (hint: ")[0] for w in warnings if "secret variable" in w] == [
        f"compose/a.yaml:{at}: warning: the secret variable {var} is interpolated into {key}, "
        "which is written in clear (inspect, the exports)"]
    assert not any(PASSWD in w or TOKEN in w for w in warnings)


def test_secret_keys_and_plain_variables_are_not_secret_uses(make_stack) -> None:
    """A secret-named key is delivered as a secret reference; a URL with a password is
    left to the existing rule; a variable that is not a secret goes anywhere."""
    root = stack(make_stack, "    command: [app, --log, '${LOG_LEVEL}']\n    environment:\n"
                             "      DB_PASSWD: ${DB_PASSWD}\n"
                             "      URL: postgres://u:${DB_PASSWD}@db/x\n", production=False)
    assert not [w for w in build(load_environment(root, "t", {})).warnings
                if "secret variable" in w]


def test_the_existing_rule_is_unchanged_in_production(make_stack) -> None:
    root = stack(make_stack, "    environment:\n      URL: postgres://u:${DB_PASSWD}@db/x\n",
                 production=True)
    with pytest.raises(ConfigurationError) as info:
        build(load_environment(root, "t", {}))
    assert [str(p).split(" (hint: ")[0] for p in info.value.problems] == [
        "compose/a.yaml:6:12: error: production policy: a password in the URL of 'URL' in "
        "the environment of service 'app'"]


def test_the_phoenix_stack_has_no_secret_use() -> None:
    for env in ("development", "staging", "prod"):
        assert not [w for w in check(REPO, env, use_cache=False).warnings
                    if "secret variable" in w], env
