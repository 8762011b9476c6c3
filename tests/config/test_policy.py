"""The production policy, on the typed final model."""

from __future__ import annotations

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import build
from phoenix_compose.errors import ConfigurationError

PROD = "PHOENIX_PRODUCTION=true\n"
DIGEST = "sha256:" + "a" * 64


def problems(make_stack, service: str, env_text: str = PROD) -> list[str]:
    root = make_stack({"envs/dev.env": env_text,
                       "compose/a.yaml": f"services:\n  web:\n    image: w@{DIGEST}\n" + service})
    try:
        build(load_environment(root, "dev", {}))
    except ConfigurationError as exc:
        return [p.message for p in exc.problems]
    return []


@pytest.mark.parametrize("flag", ["true", "TRUE", "yes", "1", "on"])
def test_privileged_in_any_spelling_is_refused(make_stack, flag) -> None:
    assert problems(make_stack, f"    privileged: '{'TRUE' if flag == '1' else flag}'\n",
                    f"PHOENIX_PRODUCTION={flag}\n") == [
        "production policy: service 'web' must not be privileged"]


@pytest.mark.parametrize(("service", "message"), [
    ("    cap_add: [NET_BIND_SERVICE, ALL]\n", "must not add capability ALL"),
    ("    cap_add: [sys_admin]\n", "must not add capability sys_admin"),
    ("    network_mode: host\n", "must not use the host's network_mode namespace"),
    ("    pid: host\n", "must not use the host's pid namespace"),
    ("    ipc: host\n", "must not use the host's ipc namespace"),
    ("    volumes: ['/var/run/docker.sock:/var/run/docker.sock']\n",
     "must not mount the container engine's socket /var/run/docker.sock"),
    ("    volumes: [{type: bind, source: /run/podman/podman.sock, target: /s}]\n",
     "must not mount the container engine's socket /run/podman/podman.sock"),
    ("    volumes: ['/etc:/host-etc:ro']\n", "must not bind-mount the host's /etc"),
    ("    volumes: ['/:/host']\n", "must not bind-mount the host's /"),
    ("    ports: ['8080:80']\n", "publishes port 8080 on every interface"),
    ("    ports: ['0.0.0.0:8080:80']\n", "publishes port 8080 on every interface"),
])
def test_dangerous_settings_are_refused(make_stack, service, message) -> None:
    out = problems(make_stack, service)
    assert len(out) == 1 and message in out[0], out


def test_a_port_on_every_interface_is_allowed_when_listed(make_stack) -> None:
    assert problems(make_stack, "    ports: ['443:443', '127.0.0.1:8080:80']\n"
                                "    x-phoenix-public-ports: [443]\n") == []


def test_outside_production_the_same_settings_pass(make_stack) -> None:
    assert problems(make_stack, "    privileged: true\n    ports: ['8080:80']\n", "") == []


def test_templates_and_policy_agree_on_production(make_stack) -> None:
    root = make_stack({"envs/dev.env": "PHOENIX_PRODUCTION=on\n",
                       "compose/a.yaml": f"services: {{web: {{image: 'w@{DIGEST}'}}}}\n",
                       "templates/10-p.yaml.j2": "{% if production %}services: {web: "
                                                 "{read_only: true}}{% endif %}\n"})
    cfg = load_environment(root, "dev", {})
    assert cfg.production
    assert build(cfg).model["services"]["web"]["read_only"] is True


def test_a_port_published_from_an_internal_network_only_is_refused(make_stack) -> None:
    root = make_stack({"envs/dev.env": PROD,
                       "compose/a.yaml": f"""
                           services:
                             db:
                               image: d@{DIGEST}
                               networks: [backend]
                               ports: ["127.0.0.1:5432:5432"]
                             web:
                               image: w@{DIGEST}
                               networks: [backend, frontend]
                               ports: ["127.0.0.1:8080:80"]
                           networks:
                             backend: {{internal: true}}
                             frontend: {{}}
                           """})
    with pytest.raises(ConfigurationError) as info:
        build(load_environment(root, "dev", {}))
    assert [str(p).split(" (hint")[0] for p in info.value.problems] == [
        "compose/a.yaml:5:5: error: production policy: service 'db' publishes ports but "
        "sits only on internal network(s) backend"]
