from __future__ import annotations

import re

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import build
from phoenix_compose.config.policy import image_is_pinned, pinned_by_digest
from phoenix_compose.errors import ConfigurationError


def problems(make_stack, files: dict[str, str], env: str = "dev") -> list[str]:
    root = make_stack({f"envs/{env}.env": "", **files})
    try:
        build(load_environment(root, env, {}))
    except ConfigurationError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_a_valid_stack_has_no_problems(make_stack) -> None:
    assert problems(make_stack, {"compose/a.yaml": "services: {web: {image: 'nginx:1'}}\n"}) == []


def test_schema_errors_point_at_the_value_in_the_source(make_stack) -> None:
    out = problems(make_stack, {"compose/a.yaml": """
        services:
          web:
            image: nginx:1
            restart: always
            ports: 80
        """})
    assert out == ["compose/a.yaml:5:12: error: services.web.ports must be of type array"]


def test_unknown_keys_suggest_the_right_one(make_stack) -> None:
    out = problems(make_stack, {"compose/a.yaml": """
        services:
          web:
            imgae: nginx:1
        """})
    assert "compose/a.yaml:3:5: error: unknown key 'imgae' in services.web (hint: did you mean " \
           "'image'?)" in out


def test_an_enum_error_inside_depends_on_is_reported_once_not_as_a_cascade(make_stack) -> None:
    out = problems(make_stack, {"compose/a.yaml": """
        services:
          db: {image: 'pg:1'}
          web:
            image: nginx:1
            ports: ['80:80']
            depends_on:
              db: {condition: service_healty}
        """})
    assert out == ["compose/a.yaml:7:23: error: services.web.depends_on.db.condition must be one "
                   "of: service_started, service_healthy, service_completed_successfully"]


def test_unknown_depends_on_target(make_stack) -> None:
    out = problems(make_stack, {"compose/a.yaml": """
        services:
          web:
            image: nginx:1
            depends_on: [dbb]
          db: {image: 'pg:1'}
        """})
    assert out == ["compose/a.yaml:4:18: error: service 'web' depends on undefined service 'dbb' "
                   "(hint: did you mean 'db'?)"]


def test_dependency_cycles_are_named(make_stack) -> None:
    out = problems(make_stack, {"compose/a.yaml": """
        services:
          a: {image: 'x:1', depends_on: [b]}
          b: {image: 'x:1', depends_on: [c]}
          c: {image: 'x:1', depends_on: [a]}
          d: {image: 'x:1', depends_on: [a]}
        """})
    assert len(out) == 1
    assert "error: dependency cycle: a -> b -> c -> a" in out[0]


def test_a_host_port_published_twice(make_stack) -> None:
    out = problems(make_stack, {"compose/a.yaml": """
        services:
          a: {image: 'x:1', ports: ['8080:80', '127.0.0.1:9000:9000', '53:53/udp']}
          b: {image: 'x:1', ports: ['127.0.0.2:9000:9000', '53:53/tcp']}
          c: {image: 'x:1', ports: [{target: 81, published: 8080}]}
        """})
    assert out == ["compose/a.yaml:4:29: error: host port 8080/tcp is published twice: here and "
                   "by service 'a' at compose/a.yaml:2:30 (hint: publish a different host port)"]


def test_port_ranges_overlap(make_stack) -> None:
    out = problems(make_stack, {"compose/a.yaml": """
        services:
          a: {image: 'x:1', ports: ['8000-8010:8000-8010']}
          b: {image: 'x:1', ports: ['8005:80']}
        """})
    assert len(out) == 1 and "host port 8005/tcp is published twice" in out[0]


@pytest.mark.parametrize("bad", ["10 seconds", "5", "1d", "-1s"])
def test_invalid_durations(make_stack, bad: str) -> None:
    out = problems(make_stack, {"compose/a.yaml": f"""
        services:
          a:
            image: 'x:1'
            healthcheck: {{test: [CMD, 'true'], interval: '{bad}'}}
        """})
    assert len(out) == 1 and f"invalid duration '{bad}' for services.a.healthcheck.interval" \
        in out[0]


def test_valid_durations(make_stack) -> None:
    assert problems(make_stack, {"compose/a.yaml": """
        services:
          a:
            image: 'x:1'
            stop_grace_period: 1m30s
            healthcheck: {test: [CMD, 'true'], interval: 500ms, timeout: 1.5s, start_period: 0s}
        """}) == []


def test_a_service_needs_an_image_or_a_build(make_stack) -> None:
    out = problems(make_stack, {"compose/a.yaml": "services:\n  a:\n    command: [x]\n"})
    assert out == ["compose/a.yaml:2:3: error: service 'a' has neither an image nor a build "
                   "(hint: add `image:` or a `build:` section)"]


def test_undefined_volumes_networks_and_secrets(make_stack) -> None:
    out = problems(make_stack, {"compose/a.yaml": """
        services:
          a:
            image: 'x:1'
            volumes: ['data:/data', './local:/local']
            networks: [back]
            secrets: [pw]
        """})
    assert [o.split(": error: ")[1].split(" (hint")[0] for o in out] == [
        "service 'a' uses undefined volume 'data'",
        "service 'a' uses undefined network 'back'",
        "service 'a' uses undefined secret 'pw'",
    ]


PROD_BASE = {
    "compose/a.yaml": """
        services:
          web:
            image: ${WEB_IMAGE}
            privileged: true
            environment:
              DB_PASSWORD: hunter2
              API_TOKEN: ""
              SIGNING_KEY: abc
              DB_PASSWORD_FILE: /run/secrets/db
              LOG_LEVEL: info
          db:
            image: postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        """,
}


def test_production_policy_on_prod(make_stack) -> None:
    out = problems(make_stack, {**PROD_BASE, "envs/prod.env": "WEB_IMAGE=nginx\n"}, env="prod")
    assert [o.split(" (hint")[0] for o in out] == [
        "compose/a.yaml:4:5: error: production policy: service 'web' must not be privileged",
        "compose/a.yaml:6:7: error: production policy: plaintext secret 'DB_PASSWORD' in the "
        "environment of service 'web'",
        "compose/a.yaml:8:7: error: production policy: plaintext secret 'SIGNING_KEY' in the "
        "environment of service 'web'",
        "envs/prod.env:1:1: error: production policy: image 'nginx' of service 'web' is not "
        "pinned by digest (used at compose/a.yaml:3:12)",
    ]


def test_production_policy_applies_to_any_env_with_the_flag(make_stack) -> None:
    out = problems(make_stack, {**PROD_BASE, "envs/qa.env":
                                "PHOENIX_PRODUCTION=true\nWEB_IMAGE=nginx:latest\n"}, env="qa")
    assert len(out) == 4


def test_no_production_policy_elsewhere(make_stack) -> None:
    assert problems(make_stack, {**PROD_BASE, "envs/dev.env": "WEB_IMAGE=nginx\n"}) == []


@pytest.mark.parametrize(("image", "pinned"), [
    ("nginx", False), ("nginx:latest", False), ("nginx:1.25", True),
    ("localhost:5000/nginx", False), ("localhost:5000/nginx:2", True),
    ("nginx@sha256:abcd", True),
])
def test_image_pinning(image: str, pinned: bool) -> None:
    assert image_is_pinned(image) is pinned


@pytest.mark.parametrize(("image", "pinned"), [
    ("nginx:1.25", False), ("r:5000/phoenix/web@sha256:" + "a" * 64, True),
    ("nginx@sha256:abcd", False), ("nginx:1@sha256:" + "0" * 64, True),
])
def test_a_production_image_is_pinned_only_by_a_full_digest(image: str, pinned: bool) -> None:
    assert pinned_by_digest(image) is pinned


def test_a_service_its_profiles_leave_out_needs_a_fixed_tag_only(make_stack) -> None:
    digest = "sha256:" + "b" * 64
    files = {"compose/a.yaml": f"services:\n  web: {{image: 'w@{digest}'}}\n"
                               "  extra: {image: 'x:1', profiles: [full]}\n"
                               "  bad: {image: 'y:latest', profiles: [full]}\n"}
    out = problems(make_stack, {**files, "envs/prod.env": ""}, env="prod")
    assert [o.split(": error: ")[1].split(" (hint")[0] for o in out] == [
        "production policy: image 'y:latest' of service 'bad' is not pinned"]
    out = problems(make_stack, {**files, "envs/prod.env": "COMPOSE_PROFILES=full\n"},
                   env="prod")
    assert len(out) == 2 and all("not pinned by digest" in o for o in out)


def test_every_problem_of_a_run_is_reported_together(make_stack) -> None:
    out = problems(make_stack, {"compose/a.yaml": """
        services:
          a: {image: 'x:1', depends_on: [nope], stop_grace_period: soon}
          b: {command: [x]}
        """})
    assert len(out) == 3


def test_errors_in_overlays_point_at_the_template_line(make_stack) -> None:
    out = problems(make_stack, {
        "compose/a.yaml": "services:\n  web: {image: 'x:1'}\n",
        "templates/10-o.yaml.j2": """
            {% set svcs = ["web"] %}
            services:
            {% for s in svcs %}
              {{ s }}:
                healthcheck:
                  interval: {{ "ten" }}
            {% endfor %}
            """,
    })
    assert out == ["templates/10-o.yaml.j2:6:17: error: invalid duration 'ten' for "
                   "services.web.healthcheck.interval (hint: use a Go duration such as 10s, 1m30s "
                   "or 500ms)"]


def test_a_missing_required_variable_prints_its_message_and_place(make_stack) -> None:
    out = problems(make_stack, {"compose/a.yaml": """
        services:
          web:
            image: "repo/${TAG:?set TAG in envs/dev.env}"
        """})
    assert out == ["compose/a.yaml:3:18: error: required variable TAG is missing a value: "
                   "set TAG in envs/dev.env"]


def test_an_unset_variable_is_a_located_warning_not_an_error(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": "services:\n  a: {image: 'x:1', "
                       "user: '${WHO}'}\n"})
    built = build(load_environment(root, "dev", {}))
    assert built.warnings == ("compose/a.yaml:2:28: warning: variable WHO is not set; "
                              "substituting an empty string",)


def test_a_missing_build_context_or_containerfile(make_stack) -> None:
    out = problems(make_stack, {
        "compose/a.yaml": """
            services:
              a: {build: ../nowhere}
              b: {build: {context: ../empty}}
              c: {build: {context: ../app, dockerfile: Other}}
            """,
        "empty/README": "",
        "app/Containerfile": "FROM scratch\n",
    })
    root = str(make_stack({}))
    assert [re.sub(r" of service '\w'", "", o.split(": error: ")[1].split(" (hint")[0])
            .replace(root, "ROOT") for o in out] == [
        "build context ROOT/nowhere does not exist",
        "no Containerfile or Dockerfile in build context ROOT/empty",
        "no Other in build context ROOT/app",
    ]
