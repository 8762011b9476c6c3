"""The one secret rule (``config/secretnames.py``): one definition of a secret-looking name
and of a plaintext secret, the same for the production policy, masking, ``config.show``,
env-file messages and validation errors."""

from __future__ import annotations

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.masking import MASK
from phoenix_compose.config.pipeline import build, prepare
from phoenix_compose.config.secretnames import is_plaintext_secret, looks_secret
from phoenix_compose.config.show import show
from phoenix_compose.errors import ConfigurationError

DIGEST = "sha256:" + "a" * 64
URL = "postgres://app:pg-s3cret@db:5432/x"


@pytest.mark.parametrize("name", [
    "DB_PASSWD", "DB_PASSWORD", "SMTP_PASS", "COMPOSE_PASS", "STRIPE_APIKEY", "API_KEY",
    "PRIVATE_KEY", "SSH_PRIVATE", "AWS_SECRET_ACCESS_KEY", "CLIENT_SECRET", "GITHUB_TOKEN",
    "GCP_CREDENTIALS", "DB_CREDENTIAL", "PGPASSWORD", "GHTOKEN", "dbPassword", "apiKey",
    "KEY", "GPG_PASSPHRASE", "db.password", "x-api-key", "DJANGO_SECRETKEY", "JWT_PRIVATEKEY",
    "SIGNINGKEY", "AWS_ACCESSKEY", "API_KEYS", "APP_SECRETS", "DB_PASSWORDS", "DB_PWD",
    "GH_TOKENS"])
def test_a_name_with_a_secret_word_looks_secret(name) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize("name", [
    "PHOENIX_PASSTHROUGH", "KEYBOARD_LAYOUT", "MONKEY_MODE", "TOKENIZER", "BYPASS_CACHE",
    "PHOENIX_SECRETS_PREFIX", "PHOENIX_SECRETS_DRIVER", "PWD", "POSTGRES_PASSWORD_FILE",
    "SSL_KEY_PATH", "GNUPG_KEY_DIR", "COMPASS_URL", "LOG_LEVEL", "", "OLDPWD", "SECRETS",
    "KEYS_DIR", "HOTKEY", "TURKEY_MODE"])
def test_a_name_only_containing_those_letters_or_naming_a_file_does_not(name) -> None:
    assert not looks_secret(name)


def test_a_url_with_a_password_is_a_secret_whatever_its_name() -> None:
    assert is_plaintext_secret("DATABASE_URL", URL)
    assert is_plaintext_secret("NOTE", f"see {URL} for it")
    assert not is_plaintext_secret("DATABASE_URL", "postgres://app@db:5432/x")  # no password
    token = "https://ghp_0123456789abcdefABCDEF@github.com/o/r.git"  # a token as userinfo
    assert is_plaintext_secret("REPO", token)
    assert is_plaintext_secret("SENTRY_DSN", "https://0f1e2d3c4b5a69788796a5b4c3d2e1f0@o1.i/1")
    assert not is_plaintext_secret("REPO", "ssh://git@github.com/o/r.git")  # a user name
    assert not is_plaintext_secret("URL", "https://administrator_account@h/")  # no digit
    assert not is_plaintext_secret("DB_PASSWORD", "")
    assert not is_plaintext_secret("DB_PASSWORD", "/run/secrets/db_password")  # a reference
    assert is_plaintext_secret("DB_PASSWORD", "hunter2")


def stack(make_stack, environment: str, env_text: str = "PHOENIX_PRODUCTION=true\n"):
    return make_stack({"envs/dev.env": env_text, "compose/a.yaml": (
        f"services:\n  web:\n    image: w@{DIGEST}\n    environment:\n{environment}")})


def test_production_refuses_every_secret_looking_name_and_a_url_password_where_written(
        make_stack) -> None:
    root = stack(make_stack, "      DB_PASSWD: hunter22\n      STRIPE_APIKEY: sk_live_1\n"
                             f"      DATABASE_URL: {URL}\n      DB_PASSWD_FILE: /run/x\n"
                             "      TLS_KEY: /run/secrets/tls_key\n      MODE: fast\n")
    with pytest.raises(ConfigurationError) as info:
        build(load_environment(root, "dev", {}))
    lines = [line.split(" (hint: ")[0] for line in str(info.value).splitlines()]
    assert lines == [
        "compose/a.yaml:5:7: error: production policy: plaintext secret 'DB_PASSWD' in the "
        "environment of service 'web'",
        "compose/a.yaml:6:7: error: production policy: plaintext secret 'STRIPE_APIKEY' in "
        "the environment of service 'web'",
        "compose/a.yaml:7:21: error: production policy: a password in the URL of "
        "'DATABASE_URL' in the environment of service 'web'"]
    assert "hunter22" not in str(info.value) and "pg-s3cret" not in str(info.value)


def test_config_show_masks_every_secret_looking_name_and_a_url_password(make_stack) -> None:
    root = stack(make_stack, "      DB_PASSWD: hunter22\n      STRIPE_APIKEY: sk_live_1\n"
                             f"      DATABASE_URL: {URL}\n      MODE: fast\n", "")
    out = show(root, "dev")
    assert "hunter22" not in out and "sk_live_1" not in out and "pg-s3cret" not in out
    assert f"DB_PASSWD: '{MASK}'" in out and f"STRIPE_APIKEY: '{MASK}'" in out
    assert f"postgres://app:{MASK}@db:5432/x" in out and "MODE: fast" in out


def test_a_common_word_password_masks_no_image_or_url_and_show_and_images_agree(
        make_stack) -> None:
    """With the password ``phoenix``, a substring replace showed ``********/app``, so
    comparing ``config.show`` with ``config.show --images`` told the password."""
    root = make_stack({"envs/dev.env": "DB_PASSWORD=phoenix\n", "compose/a.yaml": """
        services:
          web:
            image: phoenix/app:1
            environment:
              API: https://phoenix.example.com/phoenix/v1
              DB_URL: postgres://phoenix@db:5432/app
              PASS_ON: ${DB_PASSWORD}
            labels: {note: 'the password is ${DB_PASSWORD}.'}
            command: [serve, --password, '${DB_PASSWORD}']
          tagged:
            image: local/tagged:${DB_PASSWORD}
        """})
    out = show(root, "dev", "json")
    images = show(root, "dev", part="images").split()
    assert images == [f"local/tagged:{MASK}", "phoenix/app:1"]
    assert all(f'"{image}"' in out for image in images)  # the same mask in both
    assert '"https://phoenix.example.com/phoenix/v1"' in out
    assert '"postgres://phoenix@db:5432/app"' in out
    assert f'"PASS_ON": "{MASK}"' in out and f'"the password is {MASK}."' in out
    assert f'"{MASK}"' in out.split('"command"')[1] and '"phoenix"' not in out


def test_validation_errors_mask_process_secrets_and_values_of_included_env_files(
        make_stack) -> None:
    root = make_stack({
        "envs/dev.env": "",
        "compose/a.yaml": """
            include:
              - path: ../sub/compose.yaml
                env_file: ../sub/.env
            services:
              web:
                image: w:1
                privileged: ${GITHUB_TOKEN}
            """,
        "sub/compose.yaml": "services:\n  db:\n    image: d:1\n    read_only: ${DB_PASSWD}\n",
        "sub/.env": "DB_PASSWD=included-s3cret\n",
    })
    with pytest.raises(ConfigurationError) as info:
        prepare(root, "dev", process={"GITHUB_TOKEN": "ghp_process_token"})
    text = str(info.value)
    assert "ghp_process_token" not in text and "included-s3cret" not in text, text
    assert text.count(f"invalid boolean: {MASK}") == 2, text


@pytest.mark.parametrize("line", ['STRIPE_APIKEY="sk_live_unterminated',
                                  "DB_PASSWD='unterminated", "DATABASE_URL='postgres://u:pw@h"])
def test_an_env_file_line_that_cannot_be_parsed_is_quoted_with_its_secret_masked(
        make_stack, line) -> None:
    root = make_stack({"envs/dev.env": f"{line}\n", "compose/a.yaml": "services: {}\n"})
    with pytest.raises(ConfigurationError) as info:
        load_environment(root, "dev", {})
    text = str(info.value)
    assert f"envs/dev.env:1:1: error: cannot parse '{line.split('=')[0]}={MASK}'" in text
    assert "unterminated" not in text and ":pw@" not in text


def test_a_long_secret_glued_to_other_text_is_masked_in_errors(make_stack) -> None:
    """`${GITHUB_TOKEN}:80` in a port, or `x${GITHUB_TOKEN}` in a number: the message
    quotes the whole value, and the token was printed in clear beside its neighbours."""
    from phoenix_compose.config.environment import load_environment
    from phoenix_compose.config.pipeline import build
    from phoenix_compose.errors import ConfigurationError

    token = "ghp_" + "A1b2C3d4" * 4
    for field in ("ports: ['${GITHUB_TOKEN}:80']", "cpus: 'x${GITHUB_TOKEN}'"):
        root = make_stack({"envs/dev.env": "", "compose/a.yaml": (
            f"services:\n  web:\n    image: w:1\n    {field}\n")})
        with pytest.raises(ConfigurationError) as caught:
            build(load_environment(root, "dev", {"GITHUB_TOKEN": token}))
        text = str(caught.value)
        assert token[:12] not in text and "********" in text, text
